"""compare_runs against a committed summary.json: unpaired tests, said so in the result."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import pytest
from compare_builders import CellSpec, ones_then_zeros, write_run

from harness.compare import compare_runs
from harness.compare.quality import UNPAIRED_TEST
from harness.errors import HarnessError

N = 400


def _baseline_file(tmp_path: Path, cells: dict[str, CellSpec]) -> Path:
    run = write_run(tmp_path / "base-run", cells)
    committed = tmp_path / "baselines" / "gate-test.json"
    committed.parent.mkdir()
    shutil.copy(run / "summary.json", committed)
    shutil.rmtree(run)
    return committed


def test_unpaired_mode_is_used_and_announced(tmp_path: Path) -> None:
    cells = {"a": CellSpec(ones_then_zeros(N, 300))}
    comparison = compare_runs(write_run(tmp_path / "cur", cells), _baseline_file(tmp_path, cells))
    assert comparison.mode == "unpaired"
    assert comparison.exit_code == 0
    assert comparison.flips == []
    assert any(n.startswith("unpaired:") for n in comparison.notes)
    acc = next(c for c in comparison.checks if c.metric == "accuracy")
    assert acc.test == UNPAIRED_TEST
    assert (acc.estimate, acc.p_value) == (0.0, 1.0)
    assert comparison.to_dict()["baseline"]["kind"] == "summary"


def test_unpaired_ci_is_newcombe_from_the_two_wilson_intervals(tmp_path: Path) -> None:
    base = _baseline_file(tmp_path, {"a": CellSpec(ones_then_zeros(N, 320))})
    comparison = compare_runs(write_run(tmp_path / "cur", {"a": CellSpec(ones_then_zeros(N, 260))}), base)
    acc = next(c for c in comparison.checks if c.metric == "accuracy")
    # Wilson 95% intervals of 320/400 and 260/400, combined by Newcombe's hybrid score method.
    l1, u1 = _wilson(320, N)
    l2, u2 = _wilson(260, N)
    d = 0.65 - 0.80
    assert acc.estimate == pytest.approx(d)
    assert acc.ci_low == pytest.approx(d - math.sqrt((0.65 - l2) ** 2 + (u1 - 0.80) ** 2))
    assert acc.ci_high == pytest.approx(d + math.sqrt((u2 - 0.65) ** 2 + (0.80 - l1) ** 2))
    pooled = 580 / 800
    z = 0.15 / math.sqrt(pooled * (1 - pooled) * (2 / N))
    assert acc.p_value == pytest.approx(math.erfc(z / math.sqrt(2)))
    assert acc.verdict == "regression"
    assert comparison.exit_code == 1


def test_unpaired_small_drop_passes(tmp_path: Path) -> None:
    base = _baseline_file(tmp_path, {"a": CellSpec(ones_then_zeros(N, 320))})
    comparison = compare_runs(write_run(tmp_path / "cur", {"a": CellSpec(ones_then_zeros(N, 312))}), base)
    assert comparison.exit_code == 0


def test_unpaired_latency_takes_the_baseline_percentile_as_exact(tmp_path: Path) -> None:
    lat = [1.0 + (i % 40) / 20 for i in range(N)]
    values = ones_then_zeros(N, 320)
    base = _baseline_file(tmp_path, {"a": CellSpec(values, latency_s=lat)})
    cur = write_run(tmp_path / "cur", {"a": CellSpec(values, latency_s=[1.4 * x for x in lat])})
    comparison = compare_runs(cur, base)
    p50 = next(c for c in comparison.checks if c.metric == "p50_latency_s")
    assert p50.estimate == pytest.approx(1.4)
    assert p50.verdict == "regression"
    assert p50.test.startswith("unpaired")


def test_summary_directory_without_records_is_a_baseline_too(tmp_path: Path) -> None:
    cells = {"a": CellSpec(ones_then_zeros(N, 300))}
    committed = _baseline_file(tmp_path, cells)
    folder = tmp_path / "baseline-dir"
    folder.mkdir()
    shutil.copy(committed, folder / "summary.json")
    assert compare_runs(write_run(tmp_path / "cur", cells), folder).mode == "unpaired"


def test_unpaired_different_suite_is_refused(tmp_path: Path) -> None:
    cells = {"a": CellSpec(ones_then_zeros(20, 10))}
    base = write_run(tmp_path / "b", cells, suite="other")
    with pytest.raises(HarnessError, match="different suites") as info:
        compare_runs(write_run(tmp_path / "c", cells), base / "summary.json")
    assert getattr(info.value, "exit_code", None) == 2


def test_a_json_file_that_is_not_a_summary_is_refused(tmp_path: Path) -> None:
    run = write_run(tmp_path / "c", {"a": CellSpec([1, 0])})
    with pytest.raises(HarnessError, match=r"not a summary\.json") as info:
        compare_runs(run, run / "manifest.json")
    assert getattr(info.value, "exit_code", None) == 2


def _wilson(k: int, n: int) -> tuple[float, float]:
    z = 1.959963984540054
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return centre - half, centre + half
