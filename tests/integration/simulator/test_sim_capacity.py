"""The simulator's capacity model over real HTTP: slots, the FIFO queue, refusals when it is full."""

from __future__ import annotations

import asyncio

import aiohttp
from sim_client import SimFactory, make_task, post

# A fixed service time (no jitter, no decode): every admitted request holds its slot 0.2 s.
LATENCY = "ttft=0.2,tps=0,jitter=0,per_ktok=0"


async def test_requests_beyond_the_slots_wait_in_the_queue(
    start_sim: SimFactory, session: aiohttp.ClientSession
) -> None:
    async with start_sim(latency=LATENCY, capacity="slots=2") as sim:
        results = await asyncio.gather(*(post(session, sim.runware_url, [make_task()]) for _ in range(5)))
        stats = await sim.stats()
    assert [status for status, _ in results] == [200] * 5
    capacity = stats["capacity"]
    assert capacity["admitted"] == 5
    assert capacity["refused"] == 0
    assert capacity["max_queue"] == 3  # 5 arrivals, 2 slots
    # waits of 0.2, 0.2, 0.4 s (queue positions 1-3): at least 0.8 s in all, whatever the client's pace
    assert capacity["queue_wait_s"] >= 0.75
    assert capacity["busy"] == 0


async def test_a_full_queue_refuses_with_the_configured_status(
    start_sim: SimFactory, session: aiohttp.ClientSession
) -> None:
    async with start_sim(latency=LATENCY, capacity="slots=1,queue=1,full=503") as sim:
        results = await asyncio.gather(*(post(session, sim.runware_url, [make_task()]) for _ in range(4)))
        stats = await sim.stats()
    statuses = sorted(status for status, _ in results)
    assert statuses == [200, 200, 503, 503]
    refused = next(body for status, body in results if status == 503)
    assert refused["errors"][0]["code"] == "serviceUnavailable"
    assert stats["capacity"]["refused"] == 2


async def test_openai_route_refuses_with_429_in_its_own_envelope(
    start_sim: SimFactory, session: aiohttp.ClientSession
) -> None:
    body = {"model": "alibaba:qwen@3.5-397b", "messages": [{"role": "user", "content": "What is 2 + 2?"}]}

    async def chat() -> tuple[int, dict[str, object]]:
        async with session.post(
            sim.openai_base_url + "/chat/completions", json=body, headers={"Authorization": "Bearer k"}
        ) as resp:
            return resp.status, await resp.json()

    async with start_sim(latency=LATENCY, capacity="slots=1,queue=0,full=429") as sim:
        results = await asyncio.gather(chat(), chat())
    statuses = sorted(status for status, _ in results)
    assert statuses == [200, 429]
    refused = next(payload for status, payload in results if status == 429)
    assert refused["error"]["type"] == "rate_limit_error"  # type: ignore[index]


async def test_without_a_capacity_model_nothing_queues(
    start_sim: SimFactory, session: aiohttp.ClientSession
) -> None:
    async with start_sim(latency=LATENCY) as sim:
        results = await asyncio.gather(*(post(session, sim.runware_url, [make_task()]) for _ in range(4)))
        stats = await sim.stats()
    assert [status for status, _ in results] == [200] * 4
    assert "capacity" not in stats
