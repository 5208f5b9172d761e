"""Nothing paid for is lost in parsing: each well-formed result of a reply is kept (with its usage and
cost) whatever its siblings or the envelope hold, once; malformed results (invalid UTF-8, negative
usage) are errors, never answers, but keep what they reported as billed."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from provider_fixtures import Reply, ScriptedServer, fast_timeouts, make_target, make_trial, sse

from harness.errors import ServerError
from harness.providers import MalformedResponseError, get_provider
from harness.providers.openai_compat import OpenAIProvider
from harness.providers.runware import RunwareProvider

USAGE = {"promptTokens": 10, "completionTokens": 20, "totalTokens": 30, "thinkingTokens": 5}


def item(task: dict[str, Any], text: str, cost: float, **kw: Any) -> dict[str, Any]:
    out = {
        "taskType": "textInference",
        "taskUUID": task["taskUUID"],
        "text": text,
        "finishReason": "stop",
        "cost": cost,
        "usage": USAGE,
    }
    out.update(kw)
    return out


def provider(server: ScriptedServer, **kw: Any) -> RunwareProvider:
    kw.setdefault("timeouts", fast_timeouts())
    made = get_provider(make_target(server.url, **kw))
    assert isinstance(made, RunwareProvider)
    server.providers.append(made)
    return made


def trials(n: int) -> list[Any]:
    return [make_trial(f"k{i}") for i in range(n)]


async def test_invalid_utf8_in_one_result_keeps_its_siblings_and_its_cost(server: ScriptedServer) -> None:
    def reply(tasks: list[dict[str, Any]]) -> Reply:
        body = orjson.dumps(
            {"data": [item(t, f"answer {i} MARK", 0.1 * (i + 1)) for i, t in enumerate(tasks)]}
        )
        first = body.index(b"MARK")
        second = body.index(b"MARK", first + 1)  # the second task's text gets bytes that are not UTF-8
        return Reply(body=body[:second] + b"\xff\xfe" + body[second + 4 :])

    server.add(reply)
    outs = await provider(server, batch_size=3).send(trials(3))
    assert [o.error is None for o in outs] == [True, False, True]
    assert [o.results[0].text for o in (outs[0], outs[2])] == ["answer 0 MARK", "answer 2 MARK"]
    assert isinstance(outs[1].error, MalformedResponseError)
    assert "UTF-8" in str(outs[1].error)
    assert outs[1].results == []
    assert [o.cost_usd for o in outs] == pytest.approx([0.1, 0.2, 0.3])  # billed, so recorded


async def test_a_result_sent_twice_counts_once(server: ScriptedServer) -> None:
    server.add(lambda tasks: Reply(json={"data": [item(tasks[0], "once", 0.25)] * 2}))
    [out] = await provider(server).send(trials(1))
    assert out.error is None
    assert [r.text for r in out.results] == ["once"]
    assert out.cost_usd == pytest.approx(0.25)
    assert out.usage is not None
    assert out.usage.prompt_tokens == 10


async def test_a_result_next_to_an_error_for_its_task_is_kept(server: ScriptedServer) -> None:
    server.add(
        lambda tasks: Reply(
            json={
                "data": [item(tasks[0], "kept", 0.5)],
                "errors": [{"code": "timeoutProvider", "message": "late", "taskUUID": tasks[0]["taskUUID"]}],
            }
        )
    )
    [out] = await provider(server).send(trials(1))
    assert out.error is None
    assert out.results[0].text == "kept"
    assert out.cost_usd == pytest.approx(0.5)


@pytest.mark.parametrize(
    "bad", [{"cost": -0.01}, {"usage": {**USAGE, "promptTokens": -10}}], ids=["cost", "usage"]
)
async def test_negative_usage_or_cost_is_an_error_not_an_answer(
    server: ScriptedServer, bad: dict[str, Any]
) -> None:
    server.add(lambda tasks: Reply(json={"data": [{**item(tasks[0], "looks fine", 0.5), **bad}]}))
    [out] = await provider(server).send(trials(1))
    assert isinstance(out.error, MalformedResponseError)
    assert "negative" in str(out.error)
    assert (out.results, out.cost_usd, out.usage) == ([], None, None)


def stream_of(task: dict[str, Any], *middle: Any, final: dict[str, Any] | None = None) -> list[bytes]:
    base = {"taskType": "textInference", "taskUUID": task["taskUUID"]}
    last = final or {**base, "delta": {}, "finishReason": "stop", "usage": USAGE, "cost": 0.4}
    return sse(
        {**base, "delta": {"text": "Hel"}},
        *middle,
        {**base, "delta": {"text": "lo"}},
        last,
        b"data: [DONE]\n\n",
    )


async def test_a_stream_chunk_of_an_unknown_task_is_ignored(server: ScriptedServer) -> None:
    stray = {"taskType": "textInference", "taskUUID": "not-ours", "delta": {"text": " STRAY"}}
    server.add(lambda tasks: Reply(sse=stream_of(tasks[0], stray)))
    [out] = await provider(server, delivery="stream").send(trials(1))
    assert out.error is None
    assert out.results[0].text == "Hello"


async def test_an_undecodable_stream_chunk_fails_the_task_but_keeps_the_billed_cost(
    server: ScriptedServer,
) -> None:
    server.add(lambda tasks: Reply(sse=stream_of(tasks[0], b'data: {"delta":{"text":"\xff\xfe"}}\n\n')))
    [out] = await provider(server, delivery="stream").send(trials(1))
    assert isinstance(out.error, MalformedResponseError)
    assert out.cost_usd == pytest.approx(0.4)


async def test_negative_cost_on_the_final_stream_chunk_is_an_error(server: ScriptedServer) -> None:
    def reply(tasks: list[dict[str, Any]]) -> Reply:
        base = {"taskType": "textInference", "taskUUID": tasks[0]["taskUUID"]}
        return Reply(sse=stream_of(tasks[0], final={**base, "delta": {}, "finishReason": "stop", "cost": -1}))

    server.add(reply)
    [out] = await provider(server, delivery="stream").send(trials(1))
    assert isinstance(out.error, MalformedResponseError)
    assert out.cost_usd is None


async def test_a_json_error_envelope_answering_a_stream_is_classified(server: ScriptedServer) -> None:
    server.add(
        lambda tasks: Reply(
            json={
                "data": [],
                "errors": [
                    {"code": "providerInternalError", "message": "boom", "taskUUID": tasks[0]["taskUUID"]}
                ],
            }
        )
    )
    [out] = await provider(server, delivery="stream").send(trials(1))
    assert isinstance(out.error, ServerError)
    assert out.error.code == "providerInternalError"


async def test_async_results_that_arrived_survive_failing_polls(server: ScriptedServer) -> None:
    def ack(tasks: list[dict[str, Any]]) -> Reply:
        return Reply(json={"data": [{"taskType": "textInference", "taskUUID": t["taskUUID"]} for t in tasks]})

    def one_done(tasks: list[dict[str, Any]]) -> Reply:
        done = item(tasks[0], "paid", 0.3, status="success")
        return Reply(json={"data": [done, {"taskUUID": tasks[1]["taskUUID"], "status": "processing"}]})

    failing = [lambda tasks: Reply(status=500, json={"errors": [{"code": "internalServerError"}]})] * 6
    server.add(ack, one_done, *failing)
    outs = await provider(server, delivery="async", batch_size=2, poll_initial_s=0.01, poll_max_s=0.01).send(
        trials(2)
    )
    assert outs[0].error is None
    assert outs[0].results[0].text == "paid"
    assert outs[0].cost_usd == pytest.approx(0.3)
    assert isinstance(outs[1].error, ServerError)


async def test_async_polls_again_for_a_malformed_finished_item(server: ScriptedServer) -> None:
    def ack(tasks: list[dict[str, Any]]) -> Reply:
        return Reply(json={"data": [{"taskType": "textInference", "taskUUID": tasks[0]["taskUUID"]}]})

    def bad(tasks: list[dict[str, Any]]) -> Reply:
        return Reply(json={"data": [item(tasks[0], "x", -1.0, status="success")]})

    def good(tasks: list[dict[str, Any]]) -> Reply:
        return Reply(json={"data": [item(tasks[0], "clean", 0.3, status="success")]})

    server.add(ack, bad, good)
    [out] = await provider(server, delivery="async", poll_initial_s=0.01, poll_max_s=0.01).send(trials(1))
    assert out.error is None
    assert out.results[0].text == "clean"
    assert len(server.requests) == 3


async def test_async_a_billed_malformed_result_keeps_its_cost_when_the_task_then_fails(
    server: ScriptedServer,
) -> None:
    """The poll that brought the result spoiled its bytes (billed all the same), the next poll says
    the task failed: the outcome is an error that still carries the cost, so the record has it."""

    def ack(tasks: list[dict[str, Any]]) -> Reply:
        return Reply(json={"data": [{"taskType": "textInference", "taskUUID": tasks[0]["taskUUID"]}]})

    def spoiled(tasks: list[dict[str, Any]]) -> Reply:
        body = orjson.dumps({"data": [item(tasks[0], "MARK", 0.3, status="success")]})
        return Reply(body=body.replace(b"MARK", b"\xff\xfe"))

    def failed(tasks: list[dict[str, Any]]) -> Reply:
        error = {"code": "providerInternalError", "message": "failed", "taskUUID": tasks[0]["taskUUID"]}
        return Reply(json={"data": [], "errors": [error]})

    server.add(ack, spoiled, failed)
    [out] = await provider(server, delivery="async", poll_initial_s=0.01, poll_max_s=0.01).send(trials(1))
    assert out.error is not None
    assert out.results == []  # never an answer
    assert out.cost_usd == pytest.approx(0.3)
    assert out.usage is not None
    assert out.usage.completion_tokens == USAGE["completionTokens"]
    assert len(server.requests) == 3


def _ack(tasks: list[dict[str, Any]]) -> Reply:
    return Reply(json={"data": [{"taskType": "textInference", "taskUUID": tasks[0]["taskUUID"]}]})


def _spoiled(tasks: list[dict[str, Any]]) -> Reply:
    """The result, billed 0.3, with bytes that are not UTF-8 in its text."""
    body = orjson.dumps({"data": [item(tasks[0], "MARK", 0.3, status="success")]})
    return Reply(body=body.replace(b"MARK", b"\xff\xfe"))


def _whole_without_usage(tasks: list[dict[str, Any]]) -> Reply:
    whole = item(tasks[0], "clean", 0.0, status="success")
    del whole["usage"], whole["cost"]
    return Reply(json={"data": [whole]})


def _failed(tasks: list[dict[str, Any]]) -> Reply:
    error = {"code": "providerInternalError", "message": "failed", "taskUUID": tasks[0]["taskUUID"]}
    return Reply(json={"data": [], "errors": [error]})


async def test_async_a_whole_copy_without_usage_keeps_the_spoiled_copys_cost(server: ScriptedServer) -> None:
    """The service bills a result once, in the reply that first carried it (spoiled here); the whole
    copy of a later poll says nothing of usage: the answer is the whole copy, the cost the first's."""
    server.add(_ack, _spoiled, _whole_without_usage)
    [out] = await provider(server, delivery="async", poll_initial_s=0.01, poll_max_s=0.01).send(trials(1))
    assert out.error is None
    assert out.results[0].text == "clean"
    assert out.cost_usd == pytest.approx(0.3)
    assert out.usage is not None
    assert out.usage.completion_tokens == USAGE["completionTokens"]


async def test_async_a_negative_copy_does_not_displace_a_spoiled_copy_with_sound_figures(
    server: ScriptedServer,
) -> None:
    def negative(tasks: list[dict[str, Any]]) -> Reply:
        return Reply(json={"data": [item(tasks[0], "x", -1.0, status="success")]})

    server.add(_ack, _spoiled, negative, _whole_without_usage)
    [out] = await provider(server, delivery="async", poll_initial_s=0.01, poll_max_s=0.01).send(trials(1))
    assert out.error is None
    assert out.cost_usd == pytest.approx(0.3)


def _cut(tasks: list[dict[str, Any]]) -> Reply:
    """A poll reply whose connection closes mid-body (aiohttp: ClientPayloadError)."""
    return Reply(sse=[b'{"data":[{"taskType":"textInference",'], cut=True)


async def test_async_a_poll_cut_mid_body_is_polled_through(server: ScriptedServer) -> None:
    server.add(_ack, _spoiled, _cut, _whole_without_usage)
    [out] = await provider(server, delivery="async", poll_initial_s=0.01, poll_max_s=0.01).send(trials(1))
    assert out.error is None
    assert out.results[0].text == "clean"
    assert out.cost_usd == pytest.approx(0.3)  # the spoiled copy's: the one the service billed
    assert len(server.requests) == 4


async def test_async_an_attempt_whose_polls_fail_keeps_the_spoiled_copys_cost(server: ScriptedServer) -> None:
    """Found by the async SIGKILL test: a billed spoiled copy, then polls that fail until the attempt
    gives up. The attempt is an error outcome with that cost, not a whole-request failure."""
    server.add(_ack, _spoiled, *[_cut] * 6)
    [out] = await provider(server, delivery="async", poll_initial_s=0.01, poll_max_s=0.01).send(trials(1))
    assert out.error is not None
    assert out.results == []
    assert out.cost_usd == pytest.approx(0.3)


async def test_collect_a_task_that_fails_after_its_spoiled_result_is_an_error_with_its_cost(
    server: ScriptedServer,
) -> None:
    """Collecting a killed session's task: the result comes spoiled (billed), then the task fails.
    Not None (\"unknown, send again, nothing paid\"), but an error outcome that carries the cost."""
    server.add(_spoiled, _failed, _failed, _failed)
    made = provider(server, delivery="async", poll_initial_s=0.01, poll_max_s=0.01)
    [out] = await made.collect(trials(1), ["u-1"])
    assert out is not None
    assert out.error is not None
    assert out.results == []
    assert out.cost_usd == pytest.approx(0.3)
    assert out.task_uuid == "u-1"


async def test_collect_a_whole_copy_without_usage_keeps_the_spoiled_copys_cost(
    server: ScriptedServer,
) -> None:
    server.add(_spoiled, _whole_without_usage)
    made = provider(server, delivery="async", poll_initial_s=0.01, poll_max_s=0.01)
    [out] = await made.collect(trials(1), ["u-1"])
    assert out is not None
    assert out.error is None
    assert out.results[0].text == "clean"
    assert out.cost_usd == pytest.approx(0.3)


def _whole(tasks: list[dict[str, Any]]) -> Reply:
    return Reply(json={"data": [item(tasks[0], "clean", 0.3, status="success")]})


async def test_collect_a_copy_without_usage_is_polled_for_again_then_taken(server: ScriptedServer) -> None:
    """The killed session may have been billed for the copy that had usage: ask again a few times
    (the second copy has it); a task whose copies never have it is collected without figures. Until
    a copy with usage is seen, the service may not report usage at all: no extra polls."""
    made = provider(server, delivery="async", poll_initial_s=0.01, poll_max_s=0.01)
    server.add(_whole_without_usage)
    [first] = await made.collect(trials(1), ["u-0"])
    assert first is not None
    assert first.cost_usd is None
    assert len(server.requests) == 1  # no usage seen yet: taken at once
    server.replies.clear()
    server.add(_whole, _whole_without_usage, _whole)
    # Each reply answers only the first task asked for: u-1 whole (usage seen), then u-2 twice.
    outs = await made.collect(trials(2), ["u-1", "u-2"])
    assert [o is not None and o.cost_usd for o in outs] == [pytest.approx(0.3), pytest.approx(0.3)]
    assert len(server.requests) == 1 + 3
    server.replies.clear()
    server.add(*[_whole_without_usage] * 6)
    [never] = await made.collect(trials(1), ["u-3"])
    assert never is not None
    assert never.error is None
    assert never.cost_usd is None
    assert never.results[0].text == "clean"
    assert len(server.requests) == 4 + 6


async def test_collect_a_task_never_heard_of_is_none(server: ScriptedServer) -> None:
    server.add(*[lambda tasks: Reply(json={"data": []})] * 3)
    made = provider(server, delivery="async", poll_initial_s=0.01, poll_max_s=0.01)
    assert await made.collect(trials(1), ["u-1"]) == [None]
    assert len(server.requests) == 3


def openai(server: ScriptedServer, **kw: Any) -> OpenAIProvider:
    made = get_provider(make_target(server.url, provider="openai", timeouts=fast_timeouts(), **kw))
    assert isinstance(made, OpenAIProvider)
    server.providers.append(made)
    return made


def completion(text: str, usage: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        "usage": usage,
    }


async def test_openai_invalid_utf8_is_an_error_that_keeps_its_usage(server: ScriptedServer) -> None:
    body = orjson.dumps(completion("MARK", {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7}))
    server.add(lambda tasks: Reply(body=body.replace(b"MARK", b"\xff")))
    [out] = await openai(server).send(trials(1))
    assert isinstance(out.error, MalformedResponseError)
    assert out.usage is not None
    assert (out.usage.prompt_tokens, out.usage.completion_tokens) == (3, 4)


async def test_openai_negative_usage_is_an_error(server: ScriptedServer) -> None:
    usage = {"prompt_tokens": -3, "completion_tokens": 4, "total_tokens": 1}
    server.add(lambda tasks: Reply(json=completion("fine", usage)))
    [out] = await openai(server).send(trials(1))
    assert isinstance(out.error, MalformedResponseError)
    assert (out.results, out.usage) == ([], None)


async def test_openai_undecodable_stream_chunk_keeps_the_usage_chunk(server: ScriptedServer) -> None:
    chunk = {"id": "c", "choices": [{"index": 0, "delta": {"content": "hi"}, "finish_reason": None}]}
    end = {"id": "c", "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
    usage = {"id": "c", "choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": 4}}
    events = sse(
        chunk, b'data: {"choices":[{"delta":{"content":"\xff"}}]}\n\n', end, usage, b"data: [DONE]\n\n"
    )
    server.add(lambda tasks: Reply(sse=events))
    [out] = await openai(server, delivery="stream").send(trials(1))
    assert isinstance(out.error, MalformedResponseError)
    assert out.usage is not None
    assert out.usage.completion_tokens == 4
