"""The `harness run` command line the whole-run benchmarks time: suites/gsm8k.yaml against a target file."""

from __future__ import annotations

import sys
from pathlib import Path

from harness.paths import suites_dir


def gsm8k_run_command(target: Path, out: Path, *, items: int, concurrency: int) -> list[str]:
    """`python -m harness run` of `items` gsm8k items at `concurrency`, into `out`, without progress."""
    return [
        sys.executable,
        "-m",
        "harness",
        "run",
        str(suites_dir() / "gsm8k.yaml"),
        "--target",
        str(target),
        "--limit",
        str(items),
        "--concurrency",
        str(concurrency),
        "--out",
        str(out),
        "--no-progress",
    ]
