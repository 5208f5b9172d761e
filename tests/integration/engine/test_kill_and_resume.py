"""Kill the engine's process at random moments (SIGKILL, twice) and resume: the run ends with exactly
the plan's trial keys, none twice. SIGINT leaves status "interrupted" and exit code 130."""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from engine_helpers import make_trials

from harness.rundir import read_manifest, read_records, scan_records
from harness.simulator import SimulatorOptions, SimulatorProcess

SCRIPT = Path(__file__).with_name("resume_script.py")
N = 300


@pytest.fixture(scope="module")
def simulator() -> Iterator[SimulatorProcess]:
    with SimulatorProcess(SimulatorOptions(latency="ttft=0.01,tps=600,jitter=0.2", seed=5)) as sim:
        yield sim


def start(run_dir: Path, url: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, str(SCRIPT), str(run_dir), url, str(N)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def wait_for_records(
    run_dir: Path, at_least: int, proc: subprocess.Popen[bytes], timeout_s: float = 30.0
) -> None:
    deadline = time.monotonic() + timeout_s
    path = run_dir / "records.jsonl"
    while time.monotonic() < deadline:
        if path.exists() and path.read_bytes().count(b"\n") >= at_least:
            return
        if proc.poll() is not None:
            _, err = proc.communicate()
            raise AssertionError(f"the run exited early: {err.decode()}")
        time.sleep(0.01)
    raise AssertionError(f"fewer than {at_least} records after {timeout_s} s")


@pytest.mark.slow
def test_sigkill_twice_then_resume_gives_the_full_key_set(
    tmp_path: Path, simulator: SimulatorProcess
) -> None:
    rng = random.Random(20260101)
    run_dir = tmp_path / "run"
    seen_before_kill = 0
    for _ in range(2):
        proc = start(run_dir, simulator.runware_url)
        wait_for_records(run_dir, seen_before_kill + 1, proc)
        time.sleep(rng.uniform(0.05, 0.6))
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=10)
        scan = scan_records(run_dir)
        assert scan.duplicates == 0
        assert scan.n_lines < N  # really killed mid-run
        seen_before_kill = scan.n_lines
    done = subprocess.run(
        [sys.executable, str(SCRIPT), str(run_dir), simulator.runware_url, str(N)],
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode()
    status, n_done, skipped = done.stdout.decode().split()
    assert status == "complete"
    assert int(n_done) + int(skipped) == N
    keys = [r.trial_key for r in read_records(run_dir)]
    assert len(keys) == len(set(keys))
    assert set(keys) == {t.key for t in make_trials(N)}
    manifest = read_manifest(run_dir)
    assert manifest["status"] == "complete"
    assert len(manifest["resumed"]) == 2


@pytest.mark.slow
def test_sigint_finishes_writes_and_exits_130(tmp_path: Path, simulator: SimulatorProcess) -> None:
    run_dir = tmp_path / "run"
    proc = start(run_dir, simulator.runware_url)
    wait_for_records(run_dir, 5, proc)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err.decode()
    manifest = read_manifest(run_dir)
    assert manifest["status"] == "interrupted"
    assert manifest["ended_at"] is not None
    scan = scan_records(run_dir)
    assert scan.torn_line is None
    assert scan.duplicates == 0
    assert 5 <= scan.n_lines < N
