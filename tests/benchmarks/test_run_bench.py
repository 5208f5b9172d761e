"""Wall time of a whole `harness run` (process start, validation, plan, 500 requests at concurrency 64,
scoring, summary, report) against the embedded simulator with a fixed 50 ms latency. The send phase alone
cannot beat 500 / 64 * 50 ms = 0.4 s; the target for the whole command is 2 s."""

from __future__ import annotations

import subprocess
import sys
from itertools import count
from pathlib import Path

import pytest

from harness.paths import suites_dir

TARGET = """\
provider: simulator
model: alibaba:qwen@3.5-397b
capability: qwen3.5-397b
simulator:
  latency: "ttft=0.05,per_ktok=0"
"""


@pytest.fixture
def bench_files(tmp_path: Path) -> tuple[Path, Path]:
    target = tmp_path / "sim-50ms.yaml"
    target.write_text(TARGET)
    return tmp_path, target


def test_whole_run_500_items_concurrency_64(
    benchmark: pytest.FixtureRequest, bench_files: tuple[Path, Path]
) -> None:
    tmp_path, target = bench_files
    runs = count()

    def run_once() -> subprocess.CompletedProcess[str]:
        out = tmp_path / f"run-{next(runs)}"
        return subprocess.run(
            [
                sys.executable,
                "-m",
                "harness",
                "run",
                str(suites_dir() / "gsm8k.yaml"),
                "--target",
                str(target),
                "--limit",
                "500",
                "--concurrency",
                "64",
                "--out",
                str(out),
                "--no-progress",
            ],
            capture_output=True,
            text=True,
            check=False,
        )

    result = benchmark.pedantic(run_once, rounds=3, iterations=1, warmup_rounds=0)  # type: ignore[attr-defined]
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "run-0" / "report.html").exists()
