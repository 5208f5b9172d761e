"""RunwareProvider against a scripted server replaying runware-protocol.md's wire examples."""

from __future__ import annotations

from typing import Any

import pytest
from provider_fixtures import Reply, ScriptedServer, fast_timeouts, make_target, make_trial, sse

from harness.errors import (
    AuthError,
    BadRequestError,
    PaymentError,
    ProviderError,
    ProviderTimeoutError,
    RateLimitedError,
    ServerError,
)
from harness.providers import ConnectError, MalformedResponseError, StreamCutError, get_provider
from harness.providers.runware import RunwareProvider, build_task

USAGE = {"promptTokens": 61, "completionTokens": 48, "totalTokens": 109, "thinkingTokens": 31}


def item(task: dict[str, Any], text: str = "Phobos is larger.", **kw: Any) -> dict[str, Any]:
    out = {"taskType": "textInference", "taskUUID": task["taskUUID"], "text": text, "finishReason": "stop"}
    out.update(kw)
    return out


def provider(server: ScriptedServer, **kw: Any) -> RunwareProvider:
    kw.setdefault("timeouts", fast_timeouts())
    made = get_provider(make_target(server.url, **kw))
    assert isinstance(made, RunwareProvider)
    server.providers.append(made)
    return made


async def test_sync_reads_the_documented_result_item(server: ScriptedServer) -> None:
    server.add(
        lambda tasks: Reply(
            json={
                "data": [
                    item(
                        tasks[0],
                        seed=42,
                        reasoningContent=["Compare Phobos ", "with Deimos."],
                        cost=0.000731,
                        usage=USAGE,
                    )
                ]
            }
        )
    )
    p = provider(server)
    [out] = await p.send([make_trial()])
    await p.aclose()
    assert out.error is None
    assert [(r.text, r.reasoning, r.finish_reason, r.seed) for r in out.results] == [
        ("Phobos is larger.", "Compare Phobos with Deimos.", "stop", 42)
    ]
    assert (out.usage.prompt_tokens, out.usage.completion_tokens, out.usage.thinking_tokens) == (61, 48, 31)  # type: ignore[union-attr]
    assert out.cost_usd == pytest.approx(0.000731)
    assert out.sent_at_s <= out.first_byte_at_s <= out.done_at_s  # type: ignore[operator]
    assert out.first_token_at_s is None


async def test_request_body_carries_every_field(
    server: ScriptedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RW_KEY", "sk-test-123")
    server.add(lambda tasks: Reply(json={"data": [item(tasks[0])]}))
    p = provider(server, api_key_env="RW_KEY")
    trial = make_trial(system_prompt="Answer briefly.", inputs={"images": ["https://example.com/a.jpg"]})
    await p.send([trial])
    await p.aclose()
    [task] = server.requests[0]["body"]
    assert server.requests[0]["headers"]["Authorization"] == "Bearer sk-test-123"
    assert task["taskType"] == "textInference"
    assert task["deliveryMethod"] == "sync"
    assert task["includeCost"] is True
    assert task["includeUsage"] is True
    assert task["seed"] == 42
    assert task["numberResults"] == 1
    assert task["messages"] == [{"role": "user", "content": "Name two moons of Mars."}]
    assert task["settings"] == {"temperature": 0.6, "maxTokens": 64, "systemPrompt": "Answer briefly."}
    assert task["inputs"] == {"images": ["https://example.com/a.jpg"]}


def test_build_task_leaves_out_absent_seed_and_settings() -> None:
    task = build_task(make_trial(seed=None, settings={}), "u", "stream", False)
    assert "seed" not in task
    assert "settings" not in task
    assert task["includeCost"] is False


async def test_batch_items_are_matched_by_task_uuid(server: ScriptedServer) -> None:
    server.add(
        lambda tasks: Reply(
            json={"data": [item(t, text=f"answer {i}") for i, t in reversed(list(enumerate(tasks)))]}
        )
    )
    p = provider(server, batch_size=3)
    outs = await p.send([make_trial("a"), make_trial("b"), make_trial("c")])
    await p.aclose()
    assert len(server.requests) == 1
    assert [o.results[0].text for o in outs] == ["answer 0", "answer 1", "answer 2"]
    assert len({o.task_uuid for o in outs}) == 3


async def test_number_results_gives_several_items_under_one_uuid(server: ScriptedServer) -> None:
    server.add(
        lambda tasks: Reply(
            json={
                "data": [
                    item(tasks[0], text=f"r{i}", seed=100 + i, usage=USAGE, cost=0.001) for i in range(3)
                ]
            }
        )
    )
    p = provider(server)
    [out] = await p.send([make_trial(number_results=3)])
    await p.aclose()
    assert [r.text for r in out.results] == ["r0", "r1", "r2"]
    assert [r.seed for r in out.results] == [100, 101, 102]
    assert out.usage.completion_tokens == 3 * 48  # type: ignore[union-attr]
    assert out.cost_usd == pytest.approx(0.003)


async def test_missing_results_are_a_transient_malformed_reply(server: ScriptedServer) -> None:
    server.add(lambda tasks: Reply(json={"data": [item(tasks[0])]}))
    p = provider(server)
    [out] = await p.send([make_trial(number_results=2)])
    await p.aclose()
    assert isinstance(out.error, MalformedResponseError)
    assert out.error.failure == "transient"


async def test_mixed_batch_fails_only_the_task_named_in_errors(server: ScriptedServer) -> None:
    server.add(
        lambda tasks: Reply(
            json={
                "data": [item(tasks[0])],
                "errors": [
                    {
                        "code": "invalidTemperature",
                        "message": "Invalid value for temperature. Must be between 0 and 2.",
                        "parameter": "settings.temperature",
                        "taskUUID": tasks[1]["taskUUID"],
                    }
                ],
            }
        )
    )
    p = provider(server, batch_size=2)
    ok, bad = await p.send([make_trial("a"), make_trial("b")])
    await p.aclose()
    assert ok.error is None
    assert isinstance(bad.error, BadRequestError)
    assert bad.error.code == "invalidTemperature"
    assert bad.error.parameter == "settings.temperature"


@pytest.mark.parametrize(
    ("status", "payload", "headers", "expected", "code"),
    [
        (
            401,
            {
                "data": [],
                "errors": [{"code": "invalidApiKey", "message": "Invalid API key.", "parameter": "apiKey"}],
            },
            {},
            AuthError,
            "invalidApiKey",
        ),
        (
            402,
            {"errors": [{"code": "insufficientCredits", "message": "no money"}]},
            {},
            PaymentError,
            "insufficientCredits",
        ),
        (
            400,
            {
                "errors": [
                    {
                        "code": "incompatibleParameters",
                        "message": "x",
                        "parameter": ["settings.topK", "settings.minP"],
                    }
                ]
            },
            {},
            BadRequestError,
            "incompatibleParameters",
        ),
        (
            500,
            {"error": {"code": "internalServerError", "message": "boom"}},
            {},
            ServerError,
            "internalServerError",
        ),
        (
            429,
            {"errors": [{"code": "rateLimitExceeded", "message": "slow down"}]},
            {"Retry-After": "3"},
            RateLimitedError,
            "rateLimitExceeded",
        ),
        (
            408,
            {"errors": [{"code": "timeoutProvider", "message": "late"}]},
            {},
            ProviderTimeoutError,
            "timeoutProvider",
        ),
    ],
)
async def test_error_envelopes_become_classified_errors(
    server: ScriptedServer, status: int, payload: Any, headers: dict[str, str], expected: Any, code: str
) -> None:
    server.add(lambda tasks: Reply(status=status, json=payload, headers=headers))
    p = provider(server)
    with pytest.raises(ProviderError) as info:
        await p.send([make_trial()])
    await p.aclose()
    error = info.value
    assert type(error) is expected
    assert error.status == status  # type: ignore[attr-defined]
    assert error.code == code  # type: ignore[attr-defined]
    if status == 429:
        assert error.retry_after_s == 3.0  # type: ignore[attr-defined]
    if status == 400:
        assert error.parameter == "settings.topK,settings.minP"  # type: ignore[attr-defined]
        assert error.failure == "permanent"  # type: ignore[attr-defined]


async def test_a_5xx_without_body_is_a_server_error(server: ScriptedServer) -> None:
    server.add(lambda tasks: Reply(status=503, body=b""))
    p = provider(server)
    with pytest.raises(ServerError, match="HTTP 503"):
        await p.send([make_trial()])
    await p.aclose()


async def test_malformed_json_is_transient(server: ScriptedServer) -> None:
    server.add(lambda tasks: Reply(body=b'{"data": [{"taskUUID": '))
    p = provider(server)
    with pytest.raises(MalformedResponseError) as info:
        await p.send([make_trial()])
    await p.aclose()
    assert info.value.failure == "transient"


STREAM_FINAL_USAGE = {"promptTokens": 9, "completionTokens": 12, "totalTokens": 21, "thinkingTokens": 7}


def stream_reply(tasks: list[dict[str, Any]]) -> Reply:
    u = tasks[0]["taskUUID"]
    head = {"taskType": "textInference", "taskUUID": u}
    return Reply(
        sse=sse(
            b": ping\n\n",
            {**head, "delta": {"reasoningContent": "User greets; reply."}},
            {**head, "delta": {"text": "Hello"}, "finishReason": None},
            b": ping\n\n",
            {**head, "delta": {"text": " there!"}, "finishReason": None},
            {**head, "delta": {}, "finishReason": "stop", "usage": STREAM_FINAL_USAGE, "cost": 0.0000467},
            b"data: [DONE]\n\n",
        ),
        chunk_delay_s=0.002,
    )


async def test_stream_parses_the_documented_wire_example(server: ScriptedServer) -> None:
    server.add(stream_reply)
    p = provider(server, delivery="stream")
    [out] = await p.send([make_trial()])
    await p.aclose()
    assert out.error is None
    assert server.requests[0]["headers"]["Accept"] == "text/event-stream"
    assert server.requests[0]["body"][0]["deliveryMethod"] == "stream"
    [result] = out.results
    assert (result.text, result.reasoning, result.finish_reason) == (
        "Hello there!",
        "User greets; reply.",
        "stop",
    )
    assert out.usage.thinking_tokens == 7  # type: ignore[union-attr]
    assert out.cost_usd == pytest.approx(0.0000467)
    assert out.first_token_at_s is not None
    assert out.first_answer_token_at_s is not None
    assert out.first_byte_at_s <= out.first_token_at_s < out.first_answer_token_at_s <= out.done_at_s  # type: ignore[operator]
    assert out.itl_s is not None
    assert len(out.itl_s) == 2  # three deltas, two gaps
    assert all(g >= 0 and round(g, 4) == g for g in out.itl_s)


async def test_stream_accepts_the_legacy_wrapper_and_delta_content(server: ScriptedServer) -> None:
    def reply(tasks: list[dict[str, Any]]) -> Reply:
        head = {"taskType": "textInference", "taskUUID": tasks[0]["taskUUID"]}
        return Reply(
            sse=sse(
                {"data": {**head, "delta": {"content": "Hi"}}},
                {"data": {**head, "delta": {"reasoningContent": ["a", "b"]}}},
                {"data": {**head, "delta": {}, "finishReason": "length", "usage": STREAM_FINAL_USAGE}},
            )
        )

    server.add(reply)
    p = provider(server, delivery="stream")
    [out] = await p.send([make_trial()])
    await p.aclose()
    assert out.error is None
    assert (out.results[0].text, out.results[0].reasoning, out.results[0].finish_reason) == (
        "Hi",
        "ab",
        "length",
    )


async def test_stream_mid_stream_error_fails_the_task(server: ScriptedServer) -> None:
    def reply(tasks: list[dict[str, Any]]) -> Reply:
        u = tasks[0]["taskUUID"]
        return Reply(
            sse=sse(
                {"taskType": "textInference", "taskUUID": u, "delta": {"text": "Hel"}},
                {
                    "errors": [
                        {
                            "code": "timeoutProvider",
                            "message": "provider late",
                            "taskType": "textInference",
                            "taskUUID": u,
                        }
                    ]
                },
                b"data: [DONE]\n\n",
            )
        )

    server.add(reply)
    p = provider(server, delivery="stream")
    [out] = await p.send([make_trial()])
    await p.aclose()
    assert isinstance(out.error, ProviderTimeoutError)
    assert out.error.code == "timeoutProvider"


async def test_stream_cut_before_finish_is_transient(server: ScriptedServer) -> None:
    def reply(tasks: list[dict[str, Any]]) -> Reply:
        u = tasks[0]["taskUUID"]
        return Reply(
            sse=sse({"taskType": "textInference", "taskUUID": u, "delta": {"text": "Hel"}}), cut=True
        )

    server.add(reply)
    p = provider(server, delivery="stream")
    try:
        [out] = await p.send([make_trial()])
        error: Exception | None = out.error
    except ServerError as exc:  # a cut chunked body may surface as a payload error instead
        error = exc
    await p.aclose()
    assert isinstance(error, StreamCutError)
    assert error.failure == "transient"


async def test_stream_error_before_the_stream_starts(server: ScriptedServer) -> None:
    server.add(
        lambda tasks: Reply(
            status=401, json={"error": {"code": "invalidApiKey", "message": "bad key"}, "taskUUID": "x"}
        )
    )
    p = provider(server, delivery="stream")
    with pytest.raises(AuthError):
        await p.send([make_trial()])
    await p.aclose()


async def test_stream_number_results_one_after_another(server: ScriptedServer) -> None:
    def reply(tasks: list[dict[str, Any]]) -> Reply:
        head = {"taskType": "textInference", "taskUUID": tasks[0]["taskUUID"]}
        return Reply(
            sse=sse(
                {**head, "delta": {"text": "one"}},
                {**head, "delta": {}, "finishReason": "stop", "usage": STREAM_FINAL_USAGE, "cost": 0.5},
                {**head, "delta": {"text": "two"}},
                {**head, "delta": {}, "finishReason": "stop", "usage": STREAM_FINAL_USAGE, "cost": 0.25},
                b"data: [DONE]\n\n",
            )
        )

    server.add(reply)
    p = provider(server, delivery="stream")
    [out] = await p.send([make_trial(number_results=2)])
    await p.aclose()
    assert out.error is None
    assert [r.text for r in out.results] == ["one", "two"]
    assert out.cost_usd == pytest.approx(0.75)
    assert out.usage.completion_tokens == 24  # type: ignore[union-attr]


async def test_async_acks_then_polls_until_success(server: ScriptedServer) -> None:
    server.add(
        lambda tasks: Reply(json={"data": [{"taskType": "textInference", "taskUUID": tasks[0]["taskUUID"]}]}),
        lambda tasks: Reply(
            json={
                "data": [
                    {"taskType": "textInference", "taskUUID": tasks[0]["taskUUID"], "status": "processing"}
                ]
            }
        ),
        lambda tasks: Reply(
            json={"data": [item(tasks[0], text="Hello!", status="success", usage=USAGE, cost=0.002)]}
        ),
    )
    p = provider(server, delivery="async", poll_initial_s=0.01, poll_max_s=0.02)
    [out] = await p.send([make_trial()])
    await p.aclose()
    assert out.error is None
    assert out.results[0].text == "Hello!"
    assert out.cost_usd == pytest.approx(0.002)
    assert [r["body"][0]["taskType"] for r in server.requests] == [
        "textInference",
        "getResponse",
        "getResponse",
    ]
    assert server.requests[1]["body"] == [
        {"taskType": "getResponse", "taskUUID": server.requests[0]["body"][0]["taskUUID"]}
    ]


@pytest.mark.parametrize("shape", ["data_item", "top_level"])
async def test_async_both_error_shapes(server: ScriptedServer, shape: str) -> None:
    def failed(tasks: list[dict[str, Any]]) -> Reply:
        u = tasks[0]["taskUUID"]
        if shape == "data_item":
            payload: Any = {
                "data": [
                    {
                        "taskType": "textInference",
                        "taskUUID": u,
                        "status": "error",
                        "error": {"code": "contentPolicyViolation", "message": "no"},
                    }
                ]
            }
        else:
            payload = {
                "data": [],
                "errors": [
                    {"status": "error", "code": "contentPolicyViolation", "message": "no", "taskUUID": u}
                ],
            }
        return Reply(json=payload)

    server.add(
        lambda tasks: Reply(json={"data": [{"taskType": "textInference", "taskUUID": tasks[0]["taskUUID"]}]}),
        failed,
    )
    p = provider(server, delivery="async", poll_initial_s=0.01)
    [out] = await p.send([make_trial()])
    await p.aclose()
    assert isinstance(out.error, BadRequestError)
    assert out.error.code == "contentPolicyViolation"


async def test_async_number_results_reads_cumulative_state(server: ScriptedServer) -> None:
    def poll(n: int) -> Any:
        return lambda tasks: Reply(
            json={
                "data": [item(tasks[0], text=f"r{i}", status="success") for i in range(n)]
                + [{"taskUUID": tasks[0]["taskUUID"], "status": "processing"}] * (2 - n)
            }
        )

    server.add(
        lambda tasks: Reply(json={"data": [{"taskType": "textInference", "taskUUID": tasks[0]["taskUUID"]}]}),
        poll(1),
        poll(2),
    )
    p = provider(server, delivery="async", poll_initial_s=0.01)
    [out] = await p.send([make_trial(number_results=2)])
    await p.aclose()
    assert [r.text for r in out.results] == ["r0", "r1"]
    assert len(server.requests) == 3


async def test_first_byte_timeout(server: ScriptedServer) -> None:
    server.add(lambda tasks: Reply(json={"data": [item(tasks[0])]}, delay_s=0.5))
    p = provider(server, timeouts=fast_timeouts(first_byte_s=0.05))
    with pytest.raises(ProviderTimeoutError, match="first-byte"):
        await p.send([make_trial()])
    await p.aclose()


async def test_idle_timeout_between_stream_chunks(server: ScriptedServer) -> None:
    def reply(tasks: list[dict[str, Any]]) -> Reply:
        head = {"taskType": "textInference", "taskUUID": tasks[0]["taskUUID"]}
        return Reply(
            sse=sse({**head, "delta": {"text": "a"}}, {**head, "delta": {"text": "b"}}), chunk_delay_s=0.5
        )

    server.add(reply)
    p = provider(server, delivery="stream", timeouts=fast_timeouts(idle_s=0.05))
    with pytest.raises(ProviderTimeoutError, match="idle"):
        await p.send([make_trial()])
    await p.aclose()


async def test_unreachable_endpoint_is_a_connect_error() -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    p = get_provider(make_target(f"http://127.0.0.1:{port}/v1", timeouts=fast_timeouts()))
    with pytest.raises(ConnectError) as info:
        await p.send([make_trial()])
    await p.aclose()
    assert info.value.failure == "transient"
    assert info.value.__cause__ is not None
