"""The issue's fault-injection criterion: 2,000 trials against a simulator failing a quarter of all
attempts end with every trial recorded exactly once, errors only at the retry cap, and recorded cost
equal to what the simulator billed."""

from __future__ import annotations

import collections
from pathlib import Path

import pytest
from engine_helpers import make_trials, quick_run, sim_target

from harness.config import RetryConfig, TimeoutConfig
from harness.progress import ProgressCounts
from harness.rundir import read_manifest, read_records
from harness.runner import run_trials
from harness.simulator import SimulatorOptions, serve_simulator

FAULTS = "429=0.1,500=0.05,timeout=0.02,drop_stream=0.05,bad_json=0.02,hang_s=5"
MAX_ATTEMPTS = 4


@pytest.mark.slow
@pytest.mark.parametrize("delivery", ["stream", "sync"])
async def test_faulty_run_records_every_trial_once_and_reconciles_cost(tmp_path: Path, delivery: str) -> None:
    trials = make_trials(2000, max_tokens=48)
    run = quick_run(
        concurrency=64, retries=RetryConfig(max_attempts=MAX_ATTEMPTS, base_s=0.001, max_backoff_s=0.005)
    )
    # Timeouts well above a healthy response's time even on a loaded 2-core CI machine: a response the
    # simulator finished (and billed) after the client had given up would be paid for but never seen,
    # which is real but is not what this test measures. Hangs (hang_s=5) still time out.
    timeouts = TimeoutConfig(connect_s=2, first_byte_s=1.0, idle_s=1.0, total_s=4.5)
    counts = ProgressCounts()
    async with serve_simulator(SimulatorOptions(latency="0", faults=FAULTS, seed=3)) as sim:
        result = await run_trials(
            trials,
            sim_target(sim.runware_url, delivery=delivery, timeouts=timeouts),
            run,
            tmp_path,
            observer=counts,
        )
        stats = await sim.stats()
    records = read_records(tmp_path)
    keys = [r.trial_key for r in records]
    assert len(keys) == len(set(keys)) == 2000
    assert set(keys) == {t.key for t in trials}
    errors = [r for r in records if r.status == "error"]
    assert all(r.attempts == MAX_ATTEMPTS for r in errors)
    assert all(r.error is not None and r.error.failure != "permanent" for r in errors)
    assert result.n_ok == 2000 - len(errors)
    assert sum(r.attempts - 1 for r in records) == counts.retries > 300  # the faults really fired
    kinds = collections.Counter(stats["faults"])
    assert set(kinds) == {"429", "500", "timeout", "drop_stream", "bad_json"}
    recorded_cost = sum(r.cost_usd or 0.0 for r in records)
    assert recorded_cost == pytest.approx(stats["billed_cost_usd"], rel=1e-9, abs=1e-12)
    assert sum(r.status == "ok" for r in records) == stats["successful_tasks"]
    manifest = read_manifest(tmp_path)
    assert manifest["status"] == "complete"
    assert min(limit for _, limit in manifest["concurrency_history"]) < 64  # 429s shrank the limit
