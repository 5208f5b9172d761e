"""How long `harness report` takes (re-score, summarise, thresholds, summary.json, report.html) for
10,000 and 100,000 records. Target: under 30 s for 100,000 on the 2-core CI machine. Run with
`nox -s bench`; never part of the pass/fail test run.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

import pytest

from harness.report import build_outputs
from harness.report.worker import figure_jobs

AXES = {"temperature": [0.0, 0.6, 1.0], "topK": [20, 40, 80], "thinkingLevel": ["low", "high"]}  # 18 cells


def _fixtures() -> Any:
    path = Path(__file__).resolve().parents[1] / "unit" / "report" / "report_fixtures.py"
    spec = importlib.util.spec_from_file_location("report_fixtures_for_bench", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _run(tmp_path_factory: pytest.TempPathFactory, n_items: int) -> Path:
    run_dir = tmp_path_factory.mktemp(f"bench-{n_items * 18}")
    # ~1 kB answers and reasoning, 100 inter-token gaps: a streamed run of short maths answers.
    _fixtures().write_run(run_dir, axes=AXES, n_items=n_items, text_len=500, itl_len=100, with_summary=False)
    return run_dir


def _bench(benchmark: Any, run_dir: Path) -> None:
    # As `harness report` runs it: the performance figures drawn in a forked copy on a second core.
    outputs = benchmark.pedantic(
        build_outputs,
        args=(run_dir,),
        kwargs={"jobs": figure_jobs()},
        rounds=1,
        iterations=1,
        warmup_rounds=0,
    )
    benchmark.extra_info["jobs"] = figure_jobs()
    report = run_dir / "report.html"
    benchmark.extra_info["records"] = sum(cell["n_trials"] for cell in outputs.summary["cells"])
    benchmark.extra_info["report_mb"] = round(report.stat().st_size / 1e6, 2)
    benchmark.extra_info["records_mb"] = round((run_dir / "records.jsonl").stat().st_size / 1e6, 1)
    assert report.stat().st_size < 15 * 1024 * 1024


def test_report_10k_records(benchmark: Any, tmp_path_factory: pytest.TempPathFactory) -> None:
    _bench(benchmark, _run(tmp_path_factory, 556))  # 10,008 records


@pytest.mark.slow
def test_report_100k_records(benchmark: Any, tmp_path_factory: pytest.TempPathFactory) -> None:
    _bench(benchmark, _run(tmp_path_factory, 5556))  # 100,008 records
