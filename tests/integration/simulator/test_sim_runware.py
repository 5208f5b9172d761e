"""Conformance of POST /v1 with runware-protocol.md, over real HTTP on 127.0.0.1: one behaviour per test."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import orjson
import pytest
from sim_client import MODEL, SimFactory, make_task, post, stream

from harness.pricing import cost_usd, load_prices
from harness.simulator import RunningSimulator


async def test_sync_item_has_protocol_fields_and_no_usage_by_default(
    sim: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    task = make_task(seed=42)
    status, body = await post(session, sim.runware_url, [task])
    assert status == 200
    [item] = body["data"]
    assert item["taskType"] == "textInference"
    assert item["taskUUID"] == task["taskUUID"]
    assert item["finishReason"] == "stop"
    assert item["seed"] == 42
    assert "391" in item["text"]
    assert isinstance(item["reasoningContent"], list)
    assert "usage" not in item
    assert "cost" not in item
    assert "status" not in item
    assert "errors" not in body


async def test_usage_totals_are_consistent_and_cost_follows_price_table(
    sim: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    _, body = await post(session, sim.runware_url, [make_task(seed=3, includeUsage=True, includeCost=True)])
    item = body["data"][0]
    usage = item["usage"]
    assert usage["totalTokens"] == usage["promptTokens"] + usage["completionTokens"]
    assert usage["thinkingTokens"] == usage["completionTokensDetails"]["reasoningTokens"] > 0
    completion = usage["costBreakdown"]["tokens"]["completion"]
    assert completion["textTokens"] + completion["reasoningTokens"] == usage["completionTokens"]
    expected = cost_usd(
        load_prices(MODEL),
        prompt_tokens=usage["promptTokens"],
        completion_tokens=usage["completionTokens"],
        thinking_tokens=usage["thinkingTokens"],
    )
    assert item["cost"] == pytest.approx(expected, rel=1e-9)
    assert usage["costBreakdown"]["total"] == item["cost"]


async def test_stream_sends_reasoning_then_text_then_final_chunk_then_done(
    sim: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    status, events, _ = await stream(
        session,
        sim.runware_url,
        make_task(seed=5, deliveryMethod="stream", includeUsage=True, includeCost=True),
    )
    assert status == 200
    assert events[-1] == "[DONE]"
    final = events[-2]
    assert final["delta"] == {}
    assert final["finishReason"] == "stop"
    assert (
        final["usage"]["totalTokens"] == final["usage"]["promptTokens"] + final["usage"]["completionTokens"]
    )
    assert final["cost"] > 0
    kinds = [next(iter(e["delta"])) for e in events[:-2]]
    assert kinds[0] == "reasoningContent"
    assert kinds[-1] == "text"
    assert kinds == sorted(kinds, key=lambda k: k != "reasoningContent")  # all reasoning before any text
    assert all(e["finishReason"] is None for e in events[:-2] if "text" in e["delta"])


async def test_stream_with_thinking_low_has_no_reasoning(
    sim: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    task = make_task(seed=5, deliveryMethod="stream", includeUsage=True, settings={"thinkingLevel": "low"})
    _, events, _ = await stream(session, sim.runware_url, task)
    assert all("reasoningContent" not in e["delta"] for e in events[:-1])
    assert events[-2]["usage"]["thinkingTokens"] == 0


async def test_async_ack_then_get_response_success(
    sim: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    task = make_task(seed=9, deliveryMethod="async", includeUsage=True)
    status, ack = await post(session, sim.runware_url, [task])
    assert status == 200
    assert ack == {"data": [{"taskType": "textInference", "taskUUID": task["taskUUID"]}]}
    _, polled = await post(
        session, sim.runware_url, [{"taskType": "getResponse", "taskUUID": task["taskUUID"]}]
    )
    [item] = polled["data"]
    assert item["status"] == "success"
    assert item["taskType"] == "textInference"
    assert "391" in item["text"]
    assert "usage" in item


async def test_async_reports_processing_until_ready(
    start_sim: SimFactory, session: aiohttp.ClientSession
) -> None:
    async with start_sim(latency="ttft=0.3,tps=1000") as sim:
        task = make_task(deliveryMethod="async")
        await post(session, sim.runware_url, [task])
        poll = [{"taskType": "getResponse", "taskUUID": task["taskUUID"]}]
        _, first = await post(session, sim.runware_url, poll)
        assert first["data"][0]["status"] == "processing"
        for _ in range(100):
            await asyncio.sleep(0.05)
            _, later = await post(session, sim.runware_url, poll)
            if later["data"][0]["status"] == "success":
                break
        assert later["data"][0]["status"] == "success"


async def test_async_number_results_returns_cumulative_items_with_distinct_seeds(
    sim: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    task = make_task(seed=100, deliveryMethod="async", numberResults=3)
    await post(session, sim.runware_url, [task])
    poll = [{"taskType": "getResponse", "taskUUID": task["taskUUID"]}]
    _, first = await post(session, sim.runware_url, poll)
    _, second = await post(session, sim.runware_url, poll)
    assert [i["seed"] for i in first["data"]] == [100, 101, 102]
    assert first == second  # the full state each time, in a stable order
    assert {i["taskUUID"] for i in first["data"]} == {task["taskUUID"]}


async def test_sync_number_results_gives_n_items_sharing_the_task_uuid(
    sim: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    task = make_task(seed=7, numberResults=4)
    _, body = await post(session, sim.runware_url, [task])
    assert len(body["data"]) == 4
    assert {i["taskUUID"] for i in body["data"]} == {task["taskUUID"]}
    assert len({i["seed"] for i in body["data"]}) == 4


async def test_same_seed_gives_same_text_across_sync_stream_and_async(
    sim: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    _, sync_body = await post(session, sim.runware_url, [make_task(seed=1234)])
    _, events, _ = await stream(session, sim.runware_url, make_task(seed=1234, deliveryMethod="stream"))
    task = make_task(seed=1234, deliveryMethod="async")
    await post(session, sim.runware_url, [task])
    _, polled = await post(
        session, sim.runware_url, [{"taskType": "getResponse", "taskUUID": task["taskUUID"]}]
    )
    streamed = "".join(e["delta"].get("text", "") for e in events[:-2])
    reasoning = "".join(e["delta"].get("reasoningContent", "") for e in events[:-2])
    assert sync_body["data"][0]["text"] == streamed == polled["data"][0]["text"]
    assert sync_body["data"][0]["reasoningContent"] == [reasoning]


async def test_different_seeds_give_different_answers(
    sim: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    texts = set()
    for seed in range(6):
        _, body = await post(session, sim.runware_url, [make_task(seed=seed)])
        texts.add(body["data"][0]["text"])
    assert len(texts) >= 3


async def test_seedless_request_gets_a_seed_reported(
    sim: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    _, body = await post(session, sim.runware_url, [make_task()])
    assert 0 <= body["data"][0]["seed"] < 2**32


async def test_authentication_task_is_accepted_without_header(
    sim: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    status, body = await post(
        session, sim.runware_url, [{"taskType": "authentication", "apiKey": "abc"}, make_task()], key=None
    )
    assert status == 200
    assert len(body["data"]) == 1
    assert body["data"][0]["taskType"] == "textInference"


async def test_missing_key_is_401_missing_api_key(
    sim: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    status, body = await post(session, sim.runware_url, [make_task()], key=None)
    assert status == 401
    assert body["data"] == []
    assert body["errors"][0]["code"] == "missingApiKey"
    assert body["errors"][0]["taskType"] == "authentication"


async def test_wrong_key_is_401_invalid_api_key(
    start_sim: SimFactory, session: aiohttp.ClientSession
) -> None:
    async with start_sim(api_key="right") as sim:
        status, body = await post(session, sim.runware_url, [make_task()], key="wrong")
        ok_status, _ = await post(session, sim.runware_url, [make_task()], key="right")
        task_status, _ = await post(
            session,
            sim.runware_url,
            [{"taskType": "authentication", "apiKey": "wrong"}, make_task()],
            key=None,
        )
    assert status == 401
    assert body["errors"][0]["code"] == "invalidApiKey"
    assert body["errors"][0]["parameter"] == "apiKey"
    assert ok_status == 200
    assert task_status == 401


async def test_batch_returns_successes_beside_per_task_errors(
    sim: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    good1, bad, good2 = make_task(seed=1), make_task(settings={"temperature": 9}), make_task(seed=2)
    status, body = await post(session, sim.runware_url, [good1, bad, good2])
    assert status == 200
    assert [i["taskUUID"] for i in body["data"]] == [good1["taskUUID"], good2["taskUUID"]]
    assert [e["taskUUID"] for e in body["errors"]] == [bad["taskUUID"]]


async def test_batch_where_every_task_fails_is_400(
    sim: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    status, body = await post(
        session, sim.runware_url, [make_task(settings={"topK": 0}), make_task(messages=[])]
    )
    assert status == 400
    assert body["data"] == []
    assert [e["code"] for e in body["errors"]] == ["invalidTopK", "invalidMessages"]


BAD_TASKS: list[tuple[str, dict[str, Any], str, str]] = [
    ("out of range", {"settings": {"temperature": 2.5}}, "invalidTemperature", "settings.temperature"),
    ("wrong type", {"settings": {"topK": "20"}}, "invalidTopK", "settings.topK"),
    ("float for int", {"settings": {"maxTokens": 10.5}}, "invalidMaxTokens", "settings.maxTokens"),
    ("unknown setting", {"settings": {"top_p": 0.9}}, "unknownParameter", "settings.top_p"),
    ("unknown task field", {"temperature": 0.6}, "unknownParameter", "temperature"),
    (
        "bad role",
        {"messages": [{"role": "system", "content": "x"}, {"role": "user", "content": "hi"}]},
        "invalidMessages",
        "messages",
    ),
    (
        "last not user",
        {"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}]},
        "invalidMessages",
        "messages",
    ),
    ("empty content", {"messages": [{"role": "user", "content": "  "}]}, "invalidMessages", "messages"),
    ("bad enum", {"settings": {"thinkingLevel": "medium"}}, "invalidThinkingLevel", "settings.thinkingLevel"),
    ("bad delivery", {"deliveryMethod": "push"}, "invalidDeliveryMethod", "deliveryMethod"),
    ("too many results", {"numberResults": 5}, "invalidNumberResults", "numberResults"),
    (
        "stream with n>1",
        {"deliveryMethod": "stream", "numberResults": 2},
        "unsupportedParameter",
        "numberResults",
    ),
    ("bad image", {"inputs": {"images": ["not an image"]}}, "invalidImages", "inputs.images"),
    ("bad uuid", {"taskUUID": "123"}, "invalidTaskUUID", "taskUUID"),
    (
        "too many stops",
        {"settings": {"stopSequences": ["a", "b", "c", "d", "e", "f"]}},
        "invalidStopSequences",
        "settings.stopSequences",
    ),
]


@pytest.mark.parametrize(("case", "fields", "code", "parameter"), BAD_TASKS, ids=[c[0] for c in BAD_TASKS])
async def test_invalid_task_gets_400_with_code_and_parameter(
    sim: RunningSimulator,
    session: aiohttp.ClientSession,
    case: str,
    fields: dict[str, Any],
    code: str,
    parameter: str,
) -> None:
    task = make_task(**fields)
    status, body = await post(session, sim.runware_url, [task])
    assert status == 400
    [error] = body["errors"]
    assert (error["code"], error["parameter"]) == (code, parameter)
    assert error["taskUUID"] == task["taskUUID"]
    assert error["taskType"] == "textInference"


async def test_out_of_range_error_carries_min_and_max(
    sim: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    _, body = await post(session, sim.runware_url, [make_task(settings={"temperature": 3})])
    error = body["errors"][0]
    assert (error["type"], error["min"], error["max"]) == ("float", 0, 2)


async def test_enum_error_carries_allowed_values(
    sim: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    _, body = await post(session, sim.runware_url, [make_task(settings={"thinkingLevel": "max"})])
    assert body["errors"][0]["allowedValues"] == ["low", "high"]


async def test_missing_messages_is_missing_messages(
    sim: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    task = make_task()
    del task["messages"]
    _, body = await post(session, sim.runware_url, [task])
    assert body["errors"][0]["code"] == "missingMessages"


async def test_unknown_model_is_invalid_model(sim: RunningSimulator, session: aiohttp.ClientSession) -> None:
    status, body = await post(session, sim.runware_url, [make_task(model="acme:nope@1")])
    assert status == 400
    assert body["errors"][0]["code"] == "invalidModel"
    assert MODEL in body["errors"][0]["allowedValues"]


async def test_reused_task_uuid_is_conflict(sim: RunningSimulator, session: aiohttp.ClientSession) -> None:
    task = make_task()
    first, _ = await post(session, sim.runware_url, [task])
    status, body = await post(session, sim.runware_url, [task])
    assert first == 200
    assert status == 400
    assert body["errors"][0]["code"] == "conflictTaskUUID"


async def test_duplicate_task_uuid_within_one_batch_is_conflict(
    sim: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    task = make_task()
    status, body = await post(session, sim.runware_url, [task, dict(task)])
    assert status == 200
    assert len(body["data"]) == 1
    assert body["errors"][0]["code"] == "conflictTaskUUID"


async def test_get_response_for_unknown_uuid_is_empty_data(
    sim: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    status, body = await post(
        session,
        sim.runware_url,
        [{"taskType": "getResponse", "taskUUID": "5f0c1b9e-2a51-4c47-9d1e-6f3a2b7c8d90"}],
    )
    assert (status, body) == (200, {"data": []})


async def test_malformed_request_body_is_400(sim: RunningSimulator, session: aiohttp.ClientSession) -> None:
    async with session.post(
        sim.runware_url, data=b"{not json", headers={"Authorization": "Bearer k"}
    ) as resp:
        body = orjson.loads(await resp.read())
    assert resp.status == 400
    assert body["errors"][0]["code"] == "invalidRequestBody"


async def test_max_tokens_truncates_with_finish_reason_length(
    sim: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    task = make_task(seed=1, includeUsage=True, settings={"maxTokens": 12, "thinkingLevel": "low"})
    _, body = await post(session, sim.runware_url, [task])
    item = body["data"][0]
    assert item["finishReason"] == "length"
    assert item["usage"]["completionTokens"] == 12


async def test_max_tokens_smaller_than_reasoning_leaves_no_text(
    sim: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    _, body = await post(
        session, sim.runware_url, [make_task(seed=1, includeUsage=True, settings={"maxTokens": 5})]
    )
    item = body["data"][0]
    assert (item["finishReason"], item["text"], item["usage"]["thinkingTokens"]) == ("length", "", 5)


async def test_stop_sequence_cuts_the_text(sim: RunningSimulator, session: aiohttp.ClientSession) -> None:
    _, full = await post(session, sim.runware_url, [make_task(seed=2)])
    text = full["data"][0]["text"]
    stop = text[len(text) // 2 : len(text) // 2 + 3]
    _, cut = await post(session, sim.runware_url, [make_task(seed=2, settings={"stopSequences": [stop]})])
    assert cut["data"][0]["text"] == text[: text.index(stop)]
    assert cut["data"][0]["finishReason"] == "stop"


async def test_images_and_videos_add_prompt_tokens_by_the_card_rule(
    sim: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    data_uri = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUg=="
    _, plain = await post(session, sim.runware_url, [make_task(seed=1, includeUsage=True)])
    inputs = {
        "images": ["https://example.com/a.png", data_uri],
        "videos": ["5f0c1b9e-2a51-4c47-9d1e-6f3a2b7c8d90"],
    }
    _, media = await post(session, sim.runware_url, [make_task(seed=1, includeUsage=True, inputs=inputs)])
    extra = media["data"][0]["usage"]["promptTokens"] - plain["data"][0]["usage"]["promptTokens"]
    assert extra == 2 * 258 + (128 * 10 + 2)


async def test_stream_must_be_alone_in_its_request(
    sim: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    status, body = await post(session, sim.runware_url, [make_task(deliveryMethod="stream"), make_task()])
    assert status == 200
    assert body["errors"][0]["code"] == "incompatibleParameters"
    assert len(body["data"]) == 1


async def test_stream_validation_error_is_json_not_sse(
    sim: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    async with session.post(
        sim.runware_url,
        data=orjson.dumps([make_task(deliveryMethod="stream", settings={"topP": 2})]),
        headers={"Authorization": "Bearer k"},
    ) as resp:
        assert resp.status == 400
        assert resp.content_type == "application/json"
        body = orjson.loads(await resp.read())
    assert body["errors"][0]["code"] == "invalidTopP"


async def test_stream_sends_ping_comments_during_long_waits(
    start_sim: SimFactory, session: aiohttp.ClientSession
) -> None:
    async with start_sim(latency="ttft=0.3,tps=2000,ping=0.05") as sim:
        _, events, comments = await stream(session, sim.runware_url, make_task(deliveryMethod="stream"))
    assert comments
    assert set(comments) == {": ping"}
    assert events[-1] == "[DONE]"


async def test_ping_task_is_answered_with_pong(sim: RunningSimulator, session: aiohttp.ClientSession) -> None:
    _, body = await post(session, sim.runware_url, [{"taskType": "ping", "ping": True}])
    assert body == {"data": [{"taskType": "ping", "pong": True}]}


async def test_stream_chunk_events_are_separated_by_blank_lines(
    sim: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    async with session.post(
        sim.runware_url,
        data=orjson.dumps([make_task(deliveryMethod="stream")]),
        headers={"Authorization": "Bearer k"},
    ) as resp:
        raw = (await resp.read()).decode()
        assert resp.headers["Content-Type"].startswith("text/event-stream")
    blocks = raw.strip("\n").split("\n\n")
    assert all(b.startswith("data: ") and "\n" not in b for b in blocks)
    assert blocks[-1] == "data: [DONE]"
