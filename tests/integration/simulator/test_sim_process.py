"""`harness simulator` as a child process: first stdout line, answering requests, clean SIGTERM/SIGINT exit."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import urllib.request

from sim_client import make_task

from harness.simulator import SimulatorOptions, SimulatorProcess


def _post(url: str, tasks: object) -> dict[str, object]:
    req = urllib.request.Request(
        url, data=json.dumps(tasks).encode(), headers={"Authorization": "Bearer k"}, method="POST"
    )
    with urllib.request.urlopen(req, timeout=10) as resp:
        result: dict[str, object] = json.loads(resp.read())
        return result


def test_simulator_process_serves_and_stops_cleanly_on_sigterm() -> None:
    with SimulatorProcess(SimulatorOptions(seed=1, skill="fixed=1.0")) as sim:
        body = _post(sim.runware_url, [make_task(seed=1)])
        stats = sim.stats()
        code = sim.stop()
    assert "391" in body["data"][0]["text"]  # type: ignore[index]
    assert stats["results"] == 1
    assert code == 0


def test_simulator_process_exits_cleanly_on_sigint() -> None:
    with SimulatorProcess() as sim:
        assert sim.port > 0
        code = sim.stop(signal.SIGINT)
    assert code == 0


def test_bad_latency_spec_exits_2_with_a_clear_message() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "harness", "simulator", "--port", "0", "--latency", "ttft=fast"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 2
    assert "--latency" in proc.stderr
    assert "ttft" in proc.stderr
