"""`harness run` as its own process, the way users start it: outputs are built by the child worker
(harness.report.worker) and the process ends without teardown, yet the run directory is the one
`harness report` rebuilds byte for byte, and a failed threshold still exits 1."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from harness.paths import configs_dir, suites_dir

FILES = ("scores.jsonl", "summary.json", "report.html")


def _fast_sim(tmp_path: Path) -> Path:
    data = yaml.safe_load((configs_dir() / "targets" / "sim.yaml").read_text())
    data["simulator"] = {"latency": "0", "seed": 0}
    path = tmp_path / "fast-sim.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def _harness(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "HARNESS_OUTPUTS_WORKER"}
    return subprocess.run(
        [sys.executable, "-m", "harness", *args],
        capture_output=True,
        text=True,
        check=False,
        env=env,
        timeout=120,
    )


def test_a_run_process_writes_what_harness_report_rebuilds(tmp_path: Path) -> None:
    out = tmp_path / "run"
    args = ["run", str(suites_dir() / "gsm8k.yaml"), "--target", str(_fast_sim(tmp_path))]
    result = _harness(*args, "--limit", "12", "--out", str(out), "--no-progress")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [f"run directory: {out}", f"report: {out / 'report.html'}"]
    first = {name: (out / name).read_bytes() for name in FILES}
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    for name in FILES:
        (copy / name).unlink()
    rebuilt = _harness("report", str(copy))
    assert rebuilt.returncode == 0, rebuilt.stderr
    for name in FILES:
        assert (copy / name).read_bytes() == first[name], name


def test_a_failed_threshold_still_exits_1(tmp_path: Path) -> None:
    out = tmp_path / "run"
    result = _harness(
        "run",
        str(suites_dir() / "gsm8k.yaml"),
        "--target",
        str(_fast_sim(tmp_path)),
        "--limit",
        "5",
        "--set",
        "thresholds=['accuracy >= 1.01 in overall']",
        "--out",
        str(out),
        "--no-progress",
    )
    assert result.returncode == 1, result.stderr
    assert "threshold failed" in result.stderr
    assert result.stderr.count("accuracy = ") == 1, result.stderr  # each failure printed once
    assert (out / "report.html").exists()
