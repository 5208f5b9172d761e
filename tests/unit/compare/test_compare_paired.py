"""compare_runs on synthetic run directories: verdicts, tolerances, pairing, exit codes."""

from __future__ import annotations

from pathlib import Path

import pytest
from compare_builders import CellSpec, ones_then_zeros, write_run

from harness.compare import IncompatibleRunsError, compare_runs, gated_metrics
from harness.config import GateConfig
from harness.errors import ConfigError, HarnessError

N = 200


def _check(comparison, cell: str, metric: str):  # type: ignore[no-untyped-def]
    [found] = [c for c in comparison.checks if c.cell_id == cell and c.metric == metric]
    return found


def _pair(
    tmp_path: Path, base: dict[str, CellSpec], cur: dict[str, CellSpec], **kw: object
) -> tuple[Path, Path]:
    return write_run(tmp_path / "base", base, **kw), write_run(tmp_path / "cur", cur, **kw)  # type: ignore[arg-type]


def test_identical_runs_pass_with_zero_difference(tmp_path: Path) -> None:
    cells = {"a": CellSpec(ones_then_zeros(N, 160)), "b": CellSpec(ones_then_zeros(N, 120))}
    base, cur = _pair(tmp_path, cells, cells)
    comparison = compare_runs(cur, base)
    assert comparison.exit_code == 0
    assert comparison.mode == "paired"
    assert comparison.pairing.matched == 2 * N
    acc = _check(comparison, "a", "accuracy")
    assert (acc.estimate, acc.ci_low, acc.ci_high, acc.p_value) == (0.0, 0.0, 0.0, 1.0)
    assert acc.verdict == "pass"
    assert comparison.flips == []
    assert {c.metric for c in comparison.checks} == {
        "accuracy",
        "p50_latency_s",
        "p95_latency_s",
        "cost_per_trial_usd",
    }


def test_drop_at_one_cell_is_a_regression_naming_that_cell(tmp_path: Path) -> None:
    base_cells = {"a": CellSpec(ones_then_zeros(N, 160)), "b": CellSpec(ones_then_zeros(N, 160))}
    dropped = ones_then_zeros(N, 160)
    for i in range(140, 160):  # 20 of 200 items (10 points) go from right to wrong
        dropped[i] = 0
    base, cur = _pair(tmp_path, base_cells, {"a": CellSpec(dropped), "b": base_cells["b"]})
    comparison = compare_runs(cur, base)
    assert comparison.exit_code == 1
    acc = _check(comparison, "a", "accuracy")
    assert acc.verdict == "regression"
    assert acc.estimate == pytest.approx(-0.10)
    assert acc.ci_high is not None
    assert acc.ci_high < -0.02
    assert acc.p_value == pytest.approx(2 * 0.5**20)
    assert _check(comparison, "b", "accuracy").verdict == "pass"
    assert [c.cell_id for c in comparison.regressions] == ["a"]
    assert "'a'" in comparison.headline()
    assert len(comparison.flips) == 20
    flip = comparison.flips[0]
    assert (flip.cell_id, flip.item_id, flip.direction) == ("a", "q140", "right_to_wrong")
    assert (flip.reference, flip.baseline_answer, flip.current_answer) == ("140", "140", "1409")
    assert flip.current_text == "The answer is 1409"


def test_small_drop_within_tolerance_passes(tmp_path: Path) -> None:
    base = ones_then_zeros(N, 160)
    cur = list(base)
    cur[150] = cur[151] = cur[152] = 0  # 1.5 points
    b, c = _pair(tmp_path, {"a": CellSpec(base)}, {"a": CellSpec(cur)})
    acc = _check(compare_runs(c, b), "a", "accuracy")
    assert acc.estimate == pytest.approx(-0.015)
    assert acc.verdict == "pass"
    assert "within tolerance" in acc.message


def test_per_cell_tolerance_overrides_the_global_one(tmp_path: Path) -> None:
    base = ones_then_zeros(N, 160)
    cur = ones_then_zeros(N, 130)
    gate = {"tolerance": 0.02, "cells": {"a": {"tolerance": 0.5}}}
    b, c = _pair(
        tmp_path,
        {"a": CellSpec(base), "b": CellSpec(base)},
        {"a": CellSpec(cur), "b": CellSpec(cur)},
        gate=gate,
    )
    comparison = compare_runs(c, b)
    assert _check(comparison, "a", "accuracy").verdict == "pass"
    assert _check(comparison, "a", "accuracy").limit == 0.5
    assert _check(comparison, "b", "accuracy").verdict == "regression"


def test_per_metric_tolerance_applies_when_no_cell_override(tmp_path: Path) -> None:
    base = ones_then_zeros(N, 160)
    b, c = _pair(tmp_path, {"a": CellSpec(base)}, {"a": CellSpec(ones_then_zeros(N, 130))})
    gate = GateConfig(metrics={"accuracy": {"tolerance": 0.3}})  # type: ignore[dict-item]
    assert _check(compare_runs(c, b, gate=gate), "a", "accuracy").verdict == "pass"


def test_improvement_is_not_a_regression(tmp_path: Path) -> None:
    b, c = _pair(tmp_path, {"a": CellSpec(ones_then_zeros(N, 100))}, {"a": CellSpec(ones_then_zeros(N, 150))})
    comparison = compare_runs(c, b)
    assert _check(comparison, "a", "accuracy").verdict == "improvement"
    assert comparison.exit_code == 0
    assert {f.direction for f in comparison.flips} == {"wrong_to_right"}


def test_latency_slowdown_is_caught_per_cell(tmp_path: Path) -> None:
    lat = [1.0 + (i % 50) / 25 for i in range(N)]
    values = ones_then_zeros(N, 160)
    base_cells = {"a": CellSpec(values, latency_s=lat), "b": CellSpec(values, latency_s=lat)}
    slow = [x * 1.3 for x in lat]
    b, c = _pair(tmp_path, base_cells, {"a": CellSpec(values, latency_s=slow), "b": base_cells["b"]})
    comparison = compare_runs(c, b)
    p95 = _check(comparison, "a", "p95_latency_s")
    assert p95.estimate == pytest.approx(1.3)
    assert p95.ci_low is not None
    assert p95.ci_low > 1.2
    assert p95.verdict == "regression"
    assert _check(comparison, "a", "p50_latency_s").verdict == "regression"
    assert _check(comparison, "b", "p95_latency_s").verdict == "pass"
    assert comparison.exit_code == 1


def test_cost_ratio_uses_cost_per_trial(tmp_path: Path) -> None:
    values = ones_then_zeros(N, 160)
    b, c = _pair(tmp_path, {"a": CellSpec(values, cost_usd=0.001)}, {"a": CellSpec(values, cost_usd=0.0015)})
    cost = _check(compare_runs(c, b), "a", "cost_per_trial_usd")
    assert cost.estimate == pytest.approx(1.5)
    assert cost.verdict == "regression"
    assert cost.limit == 1.2


def test_zero_baseline_cost_is_skipped_not_failed(tmp_path: Path) -> None:
    values = ones_then_zeros(N, 160)
    b, c = _pair(tmp_path, {"a": CellSpec(values, cost_usd=0.0)}, {"a": CellSpec(values, cost_usd=0.0)})
    comparison = compare_runs(c, b)
    assert _check(comparison, "a", "cost_per_trial_usd").verdict == "skipped"
    assert comparison.exit_code == 0


def test_interrupted_run_exits_3_even_with_a_regression(tmp_path: Path) -> None:
    base = write_run(tmp_path / "base", {"a": CellSpec(ones_then_zeros(N, 160))})
    cur = write_run(
        tmp_path / "cur", {"a": CellSpec(ones_then_zeros(N, 100))}, status="interrupted", planned=300
    )
    comparison = compare_runs(cur, base)
    assert comparison.verdict == "incomplete"
    assert comparison.exit_code == 3
    assert "not complete" in comparison.problems[0]
    assert "200 of 300" in comparison.problems[0]


def test_error_rate_over_the_limit_exits_3_naming_the_cell(tmp_path: Path) -> None:
    values = ones_then_zeros(N, 160)
    base = write_run(tmp_path / "base", {"a": CellSpec(values), "b": CellSpec(values)})
    errors = set(range(0, 40, 2))  # 20 of 200 = 10% in cell b only
    cur = write_run(tmp_path / "cur", {"a": CellSpec(values), "b": CellSpec(values, errors=errors)})
    comparison = compare_runs(cur, base)
    assert comparison.exit_code == 3
    assert any("b (10.0%)" in p for p in comparison.problems)
    # Errored pairs are left out of the quality test instead of counting as wrong answers.
    assert comparison.pairing.error_pairs == 20
    assert _check(comparison, "b", "accuracy").n == 180


def test_different_suites_are_incompatible(tmp_path: Path) -> None:
    cells = {"a": CellSpec(ones_then_zeros(10, 5))}
    base = write_run(tmp_path / "base", cells, suite="one")
    cur = write_run(tmp_path / "cur", cells, suite="two")
    with pytest.raises(
        IncompatibleRunsError, match="different suites: baseline is 'one', current is 'two'"
    ) as info:
        compare_runs(cur, base)
    assert info.value.exit_code == 2


def test_changed_reference_answers_are_incompatible(tmp_path: Path) -> None:
    base = write_run(tmp_path / "base", {"a": CellSpec([1, 0], references=["4", "5"])})
    cur = write_run(tmp_path / "cur", {"a": CellSpec([1, 0], references=["4", "6"])})
    with pytest.raises(IncompatibleRunsError, match=r"the data differ: 1 shared item.*'q001'.*'5'.*'6'"):
        compare_runs(cur, base)


def test_no_shared_cell_is_incompatible(tmp_path: Path) -> None:
    base = write_run(tmp_path / "base", {"a": CellSpec([1, 0])})
    cur = write_run(tmp_path / "cur", {"z": CellSpec([1, 0])})
    with pytest.raises(IncompatibleRunsError, match="no trial in common"):
        compare_runs(cur, base)


def test_unmatched_trials_and_cells_are_reported(tmp_path: Path) -> None:
    base = write_run(tmp_path / "base", {"a": CellSpec(ones_then_zeros(20, 10)), "old": CellSpec([1])})
    cur = write_run(tmp_path / "cur", {"a": CellSpec(ones_then_zeros(25, 10)), "new": CellSpec([1])})
    comparison = compare_runs(cur, base)
    assert comparison.pairing.matched == 20
    assert comparison.pairing.only_current[:2] == [("a", "q020", 0), ("a", "q021", 0)]
    assert len(comparison.pairing.only_current) == 6
    assert len(comparison.pairing.only_baseline) == 1
    assert comparison.pairing.cells_only_baseline == ["old"]
    assert comparison.pairing.cells_only_current == ["new"]
    assert {c.cell_id for c in comparison.checks} == {"a"}
    assert any("no partner" in n for n in comparison.notes)


def test_run_dir_without_summary_json_still_compares(tmp_path: Path) -> None:
    cells = {"a": CellSpec(ones_then_zeros(30, 20))}
    base = write_run(tmp_path / "base", cells, summary=False)
    cur = write_run(tmp_path / "cur", cells, summary=False)
    comparison = compare_runs(cur, base)
    assert comparison.suite == "gate-test"
    assert comparison.exit_code == 0


def test_current_must_be_a_run_directory(tmp_path: Path) -> None:
    run = write_run(tmp_path / "run", {"a": CellSpec([1, 0])})
    with pytest.raises(ConfigError, match="current side must be a run directory"):
        compare_runs(run / "summary.json", run)


def test_missing_baseline_path_is_a_usage_error(tmp_path: Path) -> None:
    run = write_run(tmp_path / "run", {"a": CellSpec([1, 0])})
    with pytest.raises(HarnessError, match="no such run directory or summary file") as info:
        compare_runs(run, tmp_path / "nope")
    assert getattr(info.value, "exit_code", None) == 2


def test_gated_metrics_adds_configured_extras_and_refuses_unknown() -> None:
    gate = GateConfig(metrics={"score:f1": {"tolerance": 0.05}, "p95_ttft_s": {"ratio": 1.5}})  # type: ignore[dict-item]
    quality, perf = gated_metrics(gate)
    assert quality == ["accuracy", "score:f1"]
    assert perf == ["p50_latency_s", "p95_latency_s", "p95_ttft_s", "cost_per_trial_usd"]
    with pytest.raises(ConfigError, match=r"gate\.metrics\.latency"):
        gated_metrics(GateConfig(metrics={"latency": {"ratio": 2.0}}))  # type: ignore[dict-item]


def test_to_dict_has_the_documented_shape(tmp_path: Path) -> None:
    base_cells = {"a": CellSpec(ones_then_zeros(N, 160))}
    b, c = _pair(tmp_path, base_cells, {"a": CellSpec(ones_then_zeros(N, 120))})
    data = compare_runs(c, b).to_dict()
    assert set(data) == {
        "schema_version", "mode", "suite", "verdict", "exit_code", "headline", "baseline", "current", "gate",
        "checks", "flips", "flip_counts", "pairing", "problems", "notes",
    }  # fmt: skip
    assert data["verdict"] == "regression"
    assert data["exit_code"] == 1
    assert data["flip_counts"] == {"right_to_wrong": 40, "wrong_to_right": 0, "shown": 40}
    assert data["baseline"]["kind"] == "run"
    assert data["baseline"]["git_commit"] == "abc123"
    assert set(data["checks"][0]) >= {
        "cell_id",
        "metric",
        "estimate",
        "ci_low",
        "ci_high",
        "p_holm",
        "verdict",
    }
    assert set(data["flips"][0]) >= {"baseline_answer", "current_answer", "reference", "direction"}


def test_millisecond_latency_changes_are_noise_not_regressions(tmp_path: Path) -> None:
    values = ones_then_zeros(N, 160)
    fast = [0.010 + (i % 10) / 1000 for i in range(N)]
    b, c = _pair(
        tmp_path,
        {"a": CellSpec(values, latency_s=fast)},
        {"a": CellSpec(values, latency_s=[2 * x for x in fast])},
    )
    p50 = _check(compare_runs(c, b), "a", "p50_latency_s")
    assert p50.estimate == pytest.approx(2.0)
    assert p50.ci_low is not None
    assert p50.ci_low > 1.2
    assert p50.verdict == "pass"
    assert "noise floor" in p50.message
