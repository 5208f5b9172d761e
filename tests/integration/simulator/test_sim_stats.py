"""GET /stats and POST /stats/reset: what the simulator billed reconciles exactly with what a client got."""

from __future__ import annotations

import aiohttp
import orjson
import pytest
from sim_client import SimFactory, make_task, post, stream

from harness.simulator import RunningSimulator


async def test_billed_cost_and_tokens_reconcile_with_client_results(
    sim: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    costs: list[float] = []
    tokens = {"prompt": 0, "completion": 0, "thinking": 0}

    def record(item: dict[str, object]) -> None:
        costs.append(item["cost"])  # type: ignore[arg-type]
        usage = item["usage"]
        tokens["prompt"] += usage["promptTokens"]  # type: ignore[index]
        tokens["completion"] += usage["completionTokens"]  # type: ignore[index]
        tokens["thinking"] += usage["thinkingTokens"]  # type: ignore[index]

    flags = {"includeCost": True, "includeUsage": True}
    _, body = await post(
        session, sim.runware_url, [make_task(seed=1, numberResults=2, **flags), make_task(seed=2, **flags)]
    )
    for item in body["data"]:
        record(item)
    _, events, _ = await stream(session, sim.runware_url, make_task(seed=3, deliveryMethod="stream", **flags))
    record({"cost": events[-2]["cost"], "usage": events[-2]["usage"]})
    task = make_task(seed=4, deliveryMethod="async", **flags)
    await post(session, sim.runware_url, [task])
    for _ in range(2):  # polled twice: billed once
        _, polled = await post(
            session, sim.runware_url, [{"taskType": "getResponse", "taskUUID": task["taskUUID"]}]
        )
    record(polled["data"][0])
    stats = await sim.stats()
    assert stats["results"] == 5
    assert stats["successful_tasks"] == 4
    assert stats["billed_cost_usd"] == pytest.approx(sum(costs), rel=1e-12)
    assert {k: stats["billed_tokens"][k] for k in tokens} == tokens
    assert stats["tasks_by_delivery"] == {"sync": 2, "async": 1, "stream": 1}
    assert stats["polls"] == 2


async def test_faulted_responses_are_not_billed(
    start_sim: SimFactory, session: aiohttp.ClientSession
) -> None:
    billed = 0.0
    async with start_sim(faults="500=0.2,bad_json=0.2,drop_stream=0.2", seed=5) as sim:
        for i in range(25):
            async with session.post(
                sim.runware_url,
                data=orjson.dumps([make_task(seed=i, includeCost=True)]),
                headers={"Authorization": "Bearer k"},
            ) as resp:
                try:
                    body = orjson.loads(await resp.read())
                except (aiohttp.ClientPayloadError, orjson.JSONDecodeError):
                    continue
            if resp.status == 200:
                billed += body["data"][0]["cost"]
        stats = await sim.stats()
    assert sum(stats["faults"].values()) > 0
    assert stats["requests"] == 25
    assert stats["results"] == 25 - sum(stats["faults"].values())
    assert stats["billed_cost_usd"] == pytest.approx(billed, rel=1e-12)


async def test_openai_billing_counts_the_prompt_once_per_request(
    sim: RunningSimulator, session: aiohttp.ClientSession
) -> None:
    body = {
        "model": "alibaba:qwen@3.5-397b",
        "messages": [{"role": "user", "content": "What is 1+1?"}],
        "n": 2,
        "seed": 1,
    }
    async with session.post(sim.openai_base_url + "/chat/completions", data=orjson.dumps(body)) as resp:
        usage = orjson.loads(await resp.read())["usage"]
    stats = (await sim.stats())["openai"]
    assert stats["results"] == 2
    assert stats["billed_tokens"]["prompt"] == usage["prompt_tokens"]
    assert stats["billed_tokens"]["completion"] == usage["completion_tokens"]
    assert stats["by_mode"] == {"stream": 0, "non_stream": 1}


async def test_stats_endpoint_and_reset(sim: RunningSimulator, session: aiohttp.ClientSession) -> None:
    await post(session, sim.runware_url, [make_task()])
    async with session.get(sim.base_url + "/stats") as resp:
        before = orjson.loads(await resp.read())
    async with session.post(sim.base_url + "/stats/reset") as resp:
        assert resp.status == 200
    after = await sim.stats()
    assert before["requests"] == 1
    assert before["results"] == 1
    assert after["requests"] == 0
    assert after["results"] == 0
    assert after["billed_cost_usd"] == 0.0


async def test_answer_key_endpoint_and_set_answer_key(
    start_sim: SimFactory, session: aiohttp.ClientSession
) -> None:
    question = "Janet has three apples and buys some more; how many does she have now?"
    async with start_sim(skill="fixed=1.0") as sim:
        sim.set_answer_key({question: "17"})
        _, body = await post(session, sim.runware_url, [make_task(f"Question: {question}\nAnswer:", seed=1)])
        async with session.post(sim.base_url + "/answer-key", data=orjson.dumps({question: "C"})) as resp:
            assert resp.status == 200
        _, mc = await post(
            session, sim.runware_url, [make_task(f"{question}\nA) 1\nB) 2\nC) 3\nD) 4", seed=1)]
        )
    assert "17" in body["data"][0]["text"]
    assert "C" in mc["data"][0]["text"]
