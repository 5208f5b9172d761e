"""Client honesty at the highest load point: the request rate the harness achieves in an open-loop load
phase (`run_load_phases`, one point at each of RATES requests/s) next to a bare aiohttp client sending the same
requests on the same constant schedule, against a zero-latency simulator in its own process (so the
service never limits either one). Rounds alternate bare / harness; medians are printed and stored in
extra_info: the achieved (sent) rate of each, the harness's share of the bare client's, and the
harness's p95 scheduling lag.

Run with `nox -s bench` (or `pytest tests/benchmarks/test_load_bench.py --benchmark-only -s`).
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest

from harness.config import RunConfig, TargetConfig
from harness.loadsweep import LoadConfig
from harness.records import Message, Trial
from harness.runner import run_event_loop
from harness.runner.phases import run_load_phases
from harness.simulator import SimulatorOptions, SimulatorProcess
from harness.stats.load import point_stats
from harness.store import read_manifest, read_records

# requests/s: load points up to about what the simulator's one core serves on a 2-core machine
RATES = (600.0, 1000.0)
SECONDS = 3.0
IN_FLIGHT = 512  # both clients: at most this many requests in flight (the harness's max_concurrency)
ROUNDS = 3
MODEL = "alibaba:qwen@3.5-397b"


def _trials(n: int, salt: str) -> list[Trial]:
    return [
        Trial(
            key=f"{salt}-{i}",
            cell_id="c",
            cell={},
            item_id=str(i),
            repeat=0,
            target="sim",
            model=MODEL,
            messages=(Message("user", f"What is {i % 97} + {i % 13}?"),),
            settings={"maxTokens": 48},
            seed=i % 50,
        )
        for i in range(n)
    ]


async def _bare(url: str, trials: list[Trial], rate: float) -> float:
    """Achieved send rate of a bare client: one dispatcher sleeping to each arrival time; a request is
    sent (and its time taken) once it has one of IN_FLIGHT slots, as the harness's limiter does."""
    headers = {"Content-Type": "application/json", "Authorization": "Bearer bench"}
    sends: list[float] = []
    slots = asyncio.Semaphore(IN_FLIGHT)

    async def one(session: aiohttp.ClientSession, trial: Trial) -> None:
        async with slots:
            await post(session, trial)

    async def post(session: aiohttp.ClientSession, trial: Trial) -> None:
        body = {
            "taskType": "textInference",
            "taskUUID": f"00000000-0000-4000-8000-{len(sends):012d}",
            "model": trial.model,
            "deliveryMethod": "sync",
            "includeCost": True,
            "includeUsage": True,
            "messages": [{"role": m.role, "content": m.content} for m in trial.messages],
            "seed": trial.seed,
            "settings": dict(trial.settings),
        }
        sends.append(time.perf_counter())
        async with session.post(url, data=orjson.dumps([body]), headers=headers) as resp:
            await resp.read()

    connector = aiohttp.TCPConnector(limit=IN_FLIGHT)
    async with aiohttp.ClientSession(connector=connector) as session, asyncio.TaskGroup() as group:
        start = time.perf_counter()
        for i, trial in enumerate(trials):
            delay = start + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            group.create_task(one(session, trial))
    return (len(sends) - 1) / (max(sends) - min(sends))


async def _harness(url: str, trials: list[Trial], rate: float, run_dir: Path) -> dict[str, Any]:
    target = TargetConfig(name="sim", provider="simulator", endpoint=url, model=MODEL)
    load = LoadConfig(rate=[rate], requests=len(trials), max_concurrency=IN_FLIGHT)
    await run_load_phases(trials, {"sim": target}, RunConfig(), run_dir, load)
    (point,) = read_manifest(run_dir)["load"]["points"]
    phase = read_manifest(run_dir)["load"]["phases"][point["id"]]
    return point_stats(read_records(run_dir), point, phase=phase)


@pytest.fixture(scope="module")
def simulator() -> Iterator[SimulatorProcess]:
    with SimulatorProcess(SimulatorOptions(latency="0")) as sim:
        run_event_loop(_bare(sim.runware_url, _trials(300, "warm"), 300.0))
        yield sim


@pytest.mark.parametrize("rate", RATES)
def test_load_point_achieved_rate_vs_bare_client(
    benchmark: Any, simulator: SimulatorProcess, rate: float
) -> None:
    url = simulator.runware_url
    requests = round(rate * SECONDS)
    names = iter(range(1000))
    bare: list[float] = []
    harness: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="load-bench-") as tmp:

        def bare_round() -> None:
            bare.append(run_event_loop(_bare(url, _trials(requests, f"bare-{next(names)}"), rate)))

        def harness_round() -> None:
            trials = _trials(requests, f"harness-{next(names)}")
            harness.append(run_event_loop(_harness(url, trials, rate, Path(tmp) / trials[0].key)))

        bare_round()  # warm-up of both paths
        harness_round()
        bare.clear()
        harness.clear()
        benchmark.pedantic(harness_round, setup=bare_round, rounds=ROUNDS, iterations=1)
    assert all(h["n_ok"] == requests for h in harness)
    harness_rps = statistics.median(h["achieved_rps"] for h in harness)
    bare_rps = statistics.median(bare)
    lag_ms = 1000 * statistics.median(h["lag_s"]["p95"] for h in harness)
    cpu = statistics.median(h["client"]["cpu_share"] or 0.0 for h in harness)
    ratio = harness_rps / bare_rps
    benchmark.extra_info.update(
        {
            "offered_rps": rate,
            "harness_achieved_rps": round(harness_rps),
            "bare_achieved_rps": round(bare_rps),
            "ratio_vs_bare": round(ratio, 3),
            "harness_p95_lag_ms": round(lag_ms, 1),
            "harness_cpu_share": round(cpu, 3),
        }
    )
    print(
        f"\nload point {rate:g} req/s offered: harness sent {harness_rps:.0f} req/s (p95 lag {lag_ms:.1f} ms, "
        f"CPU {cpu:.0%}) vs bare aiohttp {bare_rps:.0f} req/s: ratio {ratio:.2f}"
    )
