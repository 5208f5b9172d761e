"""OpenAIProvider: setting names, plain and streamed replies, errors."""

from __future__ import annotations

from typing import Any

import pytest
from provider_fixtures import Reply, ScriptedServer, fast_timeouts, make_target, make_trial, sse

from harness.errors import BadRequestError, ConfigError, RateLimitedError
from harness.providers import StreamCutError, get_provider
from harness.providers.openai_compat import OpenAIProvider, build_body


def provider(server: ScriptedServer, **kw: Any) -> OpenAIProvider:
    kw.setdefault("timeouts", fast_timeouts())
    made = get_provider(make_target(server.url, provider="openai", model="qwen3.5", **kw))
    assert isinstance(made, OpenAIProvider)
    server.providers.append(made)
    return made


def test_settings_map_to_chat_completion_names() -> None:
    trial = make_trial(
        system_prompt="Be brief.",
        settings={
            "temperature": 0.7,
            "topP": 0.9,
            "topK": 20,
            "minP": 0.05,
            "maxTokens": 256,
            "presencePenalty": 0.1,
            "frequencyPenalty": 0.2,
            "repetitionPenalty": 1.05,
            "stopSequences": ["\n\n"],
            "thinkingLevel": "low",
        },
        number_results=2,
    )
    body = build_body(
        trial, stream=True, reasoning_switch={"low": {"chat_template_kwargs": {"enable_thinking": False}}}
    )
    assert body["messages"][0] == {"role": "system", "content": "Be brief."}
    assert {k: body[k] for k in ("temperature", "top_p", "top_k", "min_p", "max_tokens")} == {
        "temperature": 0.7,
        "top_p": 0.9,
        "top_k": 20,
        "min_p": 0.05,
        "max_tokens": 256,
    }
    assert (body["presence_penalty"], body["frequency_penalty"], body["repetition_penalty"]) == (
        0.1,
        0.2,
        1.05,
    )
    assert body["stop"] == ["\n\n"]
    assert body["seed"] == 42
    assert body["n"] == 2
    assert body["chat_template_kwargs"] == {"enable_thinking": False}
    assert "thinkingLevel" not in body
    assert body["stream_options"] == {"include_usage": True}


def test_thinking_level_without_a_switch_is_not_sent() -> None:
    body = build_body(make_trial(settings={"thinkingLevel": "high"}), stream=False, reasoning_switch=None)
    assert "thinkingLevel" not in body
    assert "stream" not in body


def test_async_delivery_is_refused() -> None:
    with pytest.raises(ConfigError, match="delivery"):
        OpenAIProvider(make_target("http://127.0.0.1:1/v1", provider="openai", delivery="async"))


async def test_plain_completion(server: ScriptedServer) -> None:
    server.add(
        lambda body: Reply(
            json={
                "id": "cmpl-1",
                "choices": [
                    {"index": 1, "message": {"content": "B"}, "finish_reason": "length"},
                    {
                        "index": 0,
                        "message": {"content": "A", "reasoning_content": "think"},
                        "finish_reason": "stop",
                    },
                ],
                "usage": {
                    "prompt_tokens": 5,
                    "completion_tokens": 9,
                    "total_tokens": 14,
                    "completion_tokens_details": {"reasoning_tokens": 3},
                },
            }
        )
    )
    p = provider(server)
    [out] = await p.send([make_trial(number_results=2)])
    assert server.requests[0]["path"] == "/v1/chat/completions"
    assert [(r.text, r.reasoning, r.finish_reason) for r in out.results] == [
        ("A", "think", "stop"),
        ("B", None, "length"),
    ]
    assert (out.usage.prompt_tokens, out.usage.completion_tokens, out.usage.thinking_tokens) == (5, 9, 3)  # type: ignore[union-attr]
    assert out.task_uuid == "cmpl-1"


async def test_stream_with_usage_chunk(server: ScriptedServer) -> None:
    def reply(body: Any) -> Reply:
        def chunk(index: int, **delta: Any) -> dict[str, Any]:
            return {"id": "c1", "choices": [{"index": index, "delta": delta, "finish_reason": None}]}

        return Reply(
            sse=sse(
                chunk(0, role="assistant"),
                chunk(0, reasoning_content="hmm"),
                chunk(0, content="4"),
                chunk(1, content="5"),
                {"id": "c1", "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]},
                {"id": "c1", "choices": [{"index": 1, "delta": {}, "finish_reason": "stop"}]},
                {
                    "id": "c1",
                    "choices": [],
                    "usage": {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7},
                },
                b"data: [DONE]\n\n",
            )
        )

    server.add(reply)
    p = provider(server, delivery="stream")
    [out] = await p.send([make_trial(number_results=2)])
    assert server.requests[0]["body"]["stream"] is True
    assert out.error is None
    assert [(r.text, r.reasoning) for r in out.results] == [("4", "hmm"), ("5", None)]
    assert out.usage.total_tokens == 7  # type: ignore[union-attr]
    assert out.itl_s is not None
    assert len(out.itl_s) == 2
    assert out.first_token_at_s is not None
    assert out.first_answer_token_at_s is not None
    assert out.first_token_at_s <= out.first_answer_token_at_s


async def test_stream_without_finish_is_cut(server: ScriptedServer) -> None:
    server.add(
        lambda body: Reply(
            sse=sse({"id": "c", "choices": [{"index": 0, "delta": {"content": "x"}}]}, b"data: [DONE]\n\n")
        )
    )
    p = provider(server, delivery="stream")
    [out] = await p.send([make_trial()])
    assert isinstance(out.error, StreamCutError)


async def test_openai_error_envelope(server: ScriptedServer) -> None:
    server.add(
        lambda body: Reply(
            status=400,
            json={
                "error": {"message": "max_tokens too large", "type": "invalid_request_error", "code": None}
            },
        )
    )
    p = provider(server)
    with pytest.raises(BadRequestError, match="max_tokens too large"):
        await p.send([make_trial()])


async def test_openai_429_with_retry_after(server: ScriptedServer) -> None:
    server.add(
        lambda body: Reply(
            status=429,
            json={"error": {"message": "slow", "code": "rate_limit_exceeded"}},
            headers={"Retry-After": "1.5"},
        )
    )
    p = provider(server)
    with pytest.raises(RateLimitedError) as info:
        await p.send([make_trial()])
    assert info.value.retry_after_s == 1.5
