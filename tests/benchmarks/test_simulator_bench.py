"""Throughput of the simulator with `--latency 0`, served from its own process (SimulatorProcess) and
driven by an aiohttp client over loopback. Run with `nox -s bench` (or pytest tests/benchmarks)."""

from __future__ import annotations

import asyncio
import uuid

import aiohttp
import orjson
import pytest

from harness.simulator import SimulatorOptions, SimulatorProcess

REQUESTS = 2000
CONCURRENCY = 32


def _bodies(n: int, delivery: str) -> list[bytes]:
    return [
        orjson.dumps(
            [
                {
                    "taskType": "textInference",
                    "taskUUID": str(uuid.uuid4()),
                    "model": "alibaba:qwen@3.5-397b",
                    "deliveryMethod": delivery,
                    "seed": i % 50,
                    "includeUsage": True,
                    "includeCost": True,
                    "messages": [{"role": "user", "content": f"What is {i % 97} + {i % 13}?"}],
                }
            ]
        )
        for i in range(n)
    ]


async def _drive(url: str, bodies: list[bytes]) -> int:
    queue = iter(bodies)
    done = 0

    async def worker(session: aiohttp.ClientSession) -> None:
        nonlocal done
        for body in queue:
            async with session.post(url, data=body, headers={"Authorization": "Bearer k"}) as resp:
                await resp.read()
                done += resp.status == 200

    connector = aiohttp.TCPConnector(limit=CONCURRENCY)
    async with aiohttp.ClientSession(connector=connector) as session:
        await asyncio.gather(*(worker(session) for _ in range(CONCURRENCY)))
    return done


@pytest.mark.parametrize("delivery", ["sync", "stream"])
def test_simulator_throughput(benchmark: pytest.FixtureRequest, delivery: str) -> None:
    with SimulatorProcess(SimulatorOptions(latency="0")) as sim:
        asyncio.run(_drive(sim.runware_url, _bodies(200, delivery)))  # warm-up: tokenizer, caches
        sim.reset_stats()
        rounds: list[list[bytes]] = [_bodies(REQUESTS, delivery) for _ in range(3)]

        def one_round() -> int:
            return asyncio.run(_drive(sim.runware_url, rounds.pop()))

        ok = benchmark.pedantic(one_round, rounds=3, iterations=1)  # type: ignore[attr-defined]
        stats = sim.stats()
    assert ok == REQUESTS
    assert stats["results"] == 3 * REQUESTS
    mean_s = benchmark.stats.stats.mean  # type: ignore[attr-defined]
    benchmark.extra_info["requests_per_s"] = round(REQUESTS / mean_s)  # type: ignore[attr-defined]
