"""Against the simulator: every delivery method, batching and numberResults > 1 give the same texts
for the same seeds."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from engine_helpers import make_trials, quick_run, sim_target

from harness.rundir import read_records
from harness.runner import run_trials
from harness.simulator import SimulatorOptions, serve_simulator

N = 12


async def texts(
    tmp_path: Path, name: str, url: str, *, number_results: int = 1, seed_shift: int = 0, **target: Any
) -> dict[str, list[tuple[str, str | None, str | None]]]:
    trials = make_trials(N, number_results=number_results, max_tokens=4096)
    if seed_shift:
        from dataclasses import replace

        trials = [replace(t, seed=t.seed + seed_shift) for t in trials]  # type: ignore[operator]
    run_dir = tmp_path / name
    result = await run_trials(trials, sim_target(url, **target), quick_run(), run_dir)
    assert (result.n_ok, result.n_error) == (N, 0)
    return {
        r.trial_key: [(x.text, x.reasoning, x.finish_reason) for x in r.results]
        for r in read_records(run_dir)
    }


async def test_delivery_methods_and_batching_agree(tmp_path: Path) -> None:
    async with serve_simulator(SimulatorOptions(latency="0")) as sim:
        base = await texts(tmp_path, "sync", sim.runware_url, delivery="sync")
        assert all(r[0][0] for r in base.values())
        assert await texts(tmp_path, "sync-batch", sim.runware_url, delivery="sync", batch_size=5) == base
        assert await texts(tmp_path, "stream", sim.runware_url, delivery="stream") == base
        assert await texts(tmp_path, "async", sim.runware_url, delivery="async") == base
        assert await texts(tmp_path, "async-batch", sim.runware_url, delivery="async", batch_size=4) == base


@pytest.mark.parametrize("delivery", ["sync", "async"])
async def test_number_results_match_single_results_with_the_next_seeds(tmp_path: Path, delivery: str) -> None:
    async with serve_simulator(SimulatorOptions(latency="0")) as sim:
        first = await texts(tmp_path, "s0", sim.runware_url, delivery=delivery)
        second = await texts(tmp_path, "s1", sim.runware_url, delivery=delivery, seed_shift=1)
        both = await texts(tmp_path, "n2", sim.runware_url, delivery=delivery, number_results=2, batch_size=3)
    assert both == {k: [first[k][0], second[k][0]] for k in first}


async def test_stream_records_token_timing(tmp_path: Path) -> None:
    async with serve_simulator(SimulatorOptions(latency="ttft=0.01,tps=2000,jitter=0")) as sim:
        await run_trials(
            make_trials(4, max_tokens=4096),
            sim_target(sim.runware_url, delivery="stream"),
            quick_run(),
            tmp_path,
        )
    for record in read_records(tmp_path):
        t = record.timing
        assert t.sent_at_s is not None
        assert t.first_token_at_s is not None
        assert t.first_answer_token_at_s is not None
        assert t.done_at_s is not None
        assert (
            t.scheduled_at_s <= t.sent_at_s <= t.first_token_at_s <= t.first_answer_token_at_s <= t.done_at_s
        )
        assert record.itl_s
        assert record.usage is not None
        assert record.cost_usd is not None
        assert record.client_completion_tokens is None  # counted only when the service reports no usage


async def test_openai_endpoint_stream_and_plain_agree(tmp_path: Path) -> None:
    async with serve_simulator(SimulatorOptions(latency="0")) as sim:
        plain = await texts(tmp_path, "oa", sim.openai_base_url, provider="openai", delivery="sync")
        streamed = await texts(
            tmp_path, "oa-stream", sim.openai_base_url, provider="openai", delivery="stream"
        )
        runware = await texts(tmp_path, "rw", sim.runware_url, delivery="sync")
    assert plain == streamed
    assert [v[0][0] for v in plain.values()] == [v[0][0] for v in runware.values()]
