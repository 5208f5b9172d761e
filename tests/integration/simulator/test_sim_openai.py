"""The OpenAI-compatible face of the simulator (POST /v1/chat/completions, GET /v1/models) over real HTTP."""

from __future__ import annotations

from typing import Any

import aiohttp
import orjson
from sim_client import MODEL, SimFactory, make_task, post, read_sse

from harness.simulator import RunningSimulator


async def chat(session: aiohttp.ClientSession, sim: RunningSimulator, **body: Any) -> tuple[int, Any]:
    body.setdefault("model", MODEL)
    body.setdefault("messages", [{"role": "user", "content": "What is 6 * 7?"}])
    async with session.post(sim.openai_base_url + "/chat/completions", data=orjson.dumps(body)) as resp:
        if body.get("stream"):
            events, _ = await read_sse(resp)
            return resp.status, events
        return resp.status, orjson.loads(await resp.read())


async def test_non_stream_completion_shape(sim: RunningSimulator, session: aiohttp.ClientSession) -> None:
    status, body = await chat(session, sim, seed=1)
    assert status == 200
    assert body["object"] == "chat.completion"
    [choice] = body["choices"]
    assert choice["message"]["role"] == "assistant"
    assert "42" in choice["message"]["content"]
    assert choice["message"]["reasoning_content"]
    assert choice["finish_reason"] == "stop"
    usage = body["usage"]
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]


async def test_n_gives_n_choices(sim: RunningSimulator, session: aiohttp.ClientSession) -> None:
    _, body = await chat(session, sim, n=3, seed=2)
    assert [c["index"] for c in body["choices"]] == [0, 1, 2]


async def test_enable_thinking_false_turns_reasoning_off(
    sim: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    _, body = await chat(session, sim, seed=1, chat_template_kwargs={"enable_thinking": False})
    assert "reasoning_content" not in body["choices"][0]["message"]
    assert body["usage"]["completion_tokens_details"]["reasoning_tokens"] == 0


async def test_reasoning_effort_low_turns_reasoning_off(
    sim: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    _, body = await chat(session, sim, seed=1, reasoning_effort="low")
    assert "reasoning_content" not in body["choices"][0]["message"]


async def test_stream_sends_reasoning_and_content_deltas_then_usage(
    sim: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    status, events = await chat(session, sim, seed=3, stream=True, stream_options={"include_usage": True})
    assert status == 200
    assert events[-1] == "[DONE]"
    usage_chunk = events[-2]
    assert usage_chunk["choices"] == []
    assert usage_chunk["usage"]["completion_tokens"] > 0
    deltas = [e["choices"][0]["delta"] for e in events[:-2] if e["choices"]]
    assert any("reasoning_content" in d for d in deltas)
    assert any("content" in d and d["content"] for d in deltas)
    assert events[-3]["choices"][0]["finish_reason"] == "stop"


async def test_stream_without_include_usage_has_no_usage_chunk(
    sim: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    _, events = await chat(session, sim, seed=3, stream=True)
    assert all("usage" not in e for e in events[:-1])


async def test_vllm_extra_fields_stop_and_max_tokens_are_honoured(
    sim: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    _, body = await chat(
        session,
        sim,
        seed=4,
        top_k=10,
        min_p=0.05,
        repetition_penalty=1.05,
        max_completion_tokens=7,
        chat_template_kwargs={"enable_thinking": False},
    )
    assert body["choices"][0]["finish_reason"] == "length"
    assert body["usage"]["completion_tokens"] == 7


async def test_same_seed_gives_same_text_as_the_runware_endpoint(
    sim: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    _, chat_body = await chat(session, sim, seed=77)
    _, runware = await post(session, sim.runware_url, [make_task("What is 6 * 7?", seed=77)])
    assert chat_body["choices"][0]["message"]["content"] == runware["data"][0]["text"]


async def test_out_of_range_setting_is_400_with_param(
    sim: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    status, body = await chat(session, sim, temperature=3.5)
    assert status == 400
    assert body["error"]["param"] == "temperature"
    assert body["error"]["type"] == "invalid_request_error"


async def test_wrong_key_is_401_when_a_key_is_required(
    start_sim: SimFactory, session: aiohttp.ClientSession
) -> None:
    async with start_sim(api_key="s3cret") as sim:
        status, body = await chat(session, sim)
    assert status == 401
    assert body["error"]["code"] == "invalid_api_key"


async def test_models_lists_the_served_model(sim: RunningSimulator, session: aiohttp.ClientSession) -> None:
    async with session.get(sim.openai_base_url + "/models") as resp:
        body = orjson.loads(await resp.read())
    assert body["object"] == "list"
    assert [m["id"] for m in body["data"]] == [MODEL]


async def test_openai_faults_use_openai_error_bodies(
    start_sim: SimFactory, session: aiohttp.ClientSession
) -> None:
    async with start_sim(faults="429=1") as sim:
        status, body = await chat(session, sim)
    assert status == 429
    assert body["error"]["type"] == "rate_limit_error"
