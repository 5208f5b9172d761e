"""Open-loop load: the achieved rate at 200 requests/s, and coordinated omission made visible (a stall
of the client shows up in schedule-based latency, not hidden in send-based latency)."""

from __future__ import annotations

import itertools
import time
from pathlib import Path

import pytest
from engine_helpers import make_trials, quick_run, sim_target

from harness.progress import BaseObserver
from harness.records import Record
from harness.rundir import read_manifest, read_records
from harness.runner import run_trials
from harness.simulator import SimulatorOptions, SimulatorProcess, serve_simulator


@pytest.mark.slow
async def test_200_rps_for_10_s_achieves_98_percent(tmp_path: Path) -> None:
    with SimulatorProcess(SimulatorOptions(latency="ttft=0.02,tps=2000,jitter=0.1")) as sim:
        result = await run_trials(
            make_trials(2000, max_tokens=32),
            sim_target(sim.runware_url, delivery="stream"),
            quick_run(rate_rps=200.0, concurrency=128),
            tmp_path,
        )
    assert result.n_done == 2000
    assert result.target_rps == 200.0
    assert result.achieved_rps is not None
    assert result.achieved_rps >= 0.98 * 200.0
    manifest = read_manifest(tmp_path)
    assert manifest["achieved_rps"] >= 196.0
    assert manifest["target_rps"] == 200.0


class Staller(BaseObserver):
    """Blocks the event loop once, for `stall_s`, when the `after`-th record is written."""

    def __init__(self, after: int, stall_s: float) -> None:
        self.after = after
        self.stall_s = stall_s
        self.seen = 0

    def on_trial_done(self, record: Record) -> None:
        self.seen += 1
        if self.seen == self.after:
            time.sleep(self.stall_s)  # the artificial stall: nothing is sent meanwhile


async def test_a_client_stall_shows_in_schedule_based_latency(tmp_path: Path) -> None:
    stall_s = 0.5
    async with serve_simulator(SimulatorOptions(latency="0")) as sim:
        await run_trials(
            make_trials(80, max_tokens=16),
            sim_target(sim.runware_url),
            quick_run(rate_rps=100.0, concurrency=32),
            tmp_path,
            observer=Staller(after=10, stall_s=stall_s),
        )
    records = sorted(read_records(tmp_path), key=lambda r: r.timing.scheduled_at_s)
    lag = [r.timing.sent_at_s - r.timing.scheduled_at_s for r in records]  # type: ignore[operator]
    from_schedule = [r.timing.done_at_s - r.timing.scheduled_at_s for r in records]  # type: ignore[operator]
    from_send = [r.timing.done_at_s - r.timing.sent_at_s for r in records]  # type: ignore[operator]
    stalled = [i for i, x in enumerate(lag) if x >= 0.6 * stall_s]
    # Arrivals due during the stall (~100/s x 0.5 s) went out late, all at once.
    assert len(stalled) >= 20
    assert max(from_schedule) >= 0.8 * stall_s
    # Measured from the send, the same requests look fast: that is the omission being corrected.
    assert max(from_send[i] for i in stalled) < max(from_schedule[i] for i in stalled) - 0.5 * stall_s
    # The schedule itself never moved: arrivals stay exactly 10 ms apart.
    gaps = {
        round(b.timing.scheduled_at_s - a.timing.scheduled_at_s, 6) for a, b in itertools.pairwise(records)
    }
    assert gaps == {0.01}
