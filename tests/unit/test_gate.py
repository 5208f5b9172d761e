"""Suite thresholds evaluated against hand-built summaries (typed, as summary.json is read)."""

from __future__ import annotations

from typing import Any

import pytest

from harness.config import ThresholdConfig
from harness.errors import ConfigError
from harness.gate import (
    ThresholdResult,
    evaluate_thresholds,
    is_known_metric,
    thresholds_passed,
    validate_thresholds,
)
from harness.rundir.summary import Summary


def _stat(mean: float | None, low: float | None = None, high: float | None = None) -> dict[str, Any]:
    return {"mean": mean, "ci_low": low, "ci_high": high, "se": None, "n": 100, "method": "wilson"}


def _pct(p50: float, p95: float) -> dict[str, Any]:
    return {"p50": p50, "p90": p95, "p95": p95, "p99": p95, "mean": p50, "max": p95, "n": 100}


def _cell(
    cell_id: str,
    accuracy: float,
    *,
    p95: float = 2.0,
    errors: int = 0,
    n_trials: int = 100,
    per_correct: float | None = 0.001,
) -> dict[str, Any]:
    latency = {k: None for k in ("ttft_s", "ttft_answer_s", "itl_s", "output_tps")}
    pct = _pct(1.0, p95)
    return {
        "cell_id": cell_id,
        "cell": {},
        "n_trials": n_trials,
        "n_ok": n_trials - errors,
        "n_error": errors,
        "n_results": n_trials,
        "n_items": n_trials,
        "metrics": {"accuracy": _stat(accuracy, accuracy - 0.05, accuracy + 0.05)},
        "outcomes": {"correct": 0, "wrong": 0, "no_answer": 0, "truncated": 0, "error": errors, "invalid": 0},
        "latency": {"e2e_s": pct, **latency, "e2e_from_schedule_s": pct, "queue_s": pct},
        "tokens": {
            "prompt": 0,
            "completion": 0,
            "thinking": 0,
            "per_trial_prompt": 0.0,
            "per_trial_completion": 0.0,
            "per_trial_thinking": 0.0,
        },
        "cost": {
            "total_usd": 0.1,
            "per_trial_usd": 0.001,
            "per_correct_usd": per_correct,
            "service_usd": None,
            "price_table_usd": 0.1,
            "mismatch": False,
        },
        "errors": {
            "count": errors,
            "rate": errors / n_trials,
            "by_kind": {},
            "retries": 0,
            "truncations": 0,
            "rate_limit_wait_s": 0.0,
            "retry_wait_s": 0.0,
        },
    }


def _summary(*cells: dict[str, Any], overall: dict[str, Any] | None = None) -> Summary:
    return Summary.model_validate(
        {
            "schema_version": 1,
            "suite": "t",
            "primary_metric": "accuracy",
            "scorers": ["numeric"],
            "swept_axes": [],
            "overall": overall or cells[0],
            "cells": list(cells),
            "comparisons": [],
            "main_effects": {},
            "rate": {"target_rps": None, "achieved_rps": None},
            "cost": {"total_usd": 0.1, "service_usd": None, "price_table_usd": 0.1, "mismatch": False},
        }
    )


def _rule(text: str, **kw: Any) -> ThresholdConfig:
    metric, op, value = text.split()
    return ThresholdConfig(metric=metric, op=op, value=float(value), **kw)  # type: ignore[arg-type]


def test_each_cell_gives_one_result_per_cell_with_observed_values() -> None:
    summary = _summary(_cell("t=0", 0.85), _cell("t=1", 0.75))
    results = evaluate_thresholds(summary, [_rule("accuracy >= 0.8")])
    assert [(r.cell_id, r.observed, r.passed) for r in results] == [("t=0", 0.85, True), ("t=1", 0.75, False)]
    assert "0.75 >= 0.8" in results[1].message
    assert "FAILED" in results[1].message


def test_ci_low_uses_the_lower_bound() -> None:
    summary = _summary(_cell("a", 0.82))
    [result] = evaluate_thresholds(summary, [_rule("accuracy >= 0.8", on="ci_low")])
    assert result.observed == pytest.approx(0.77)
    assert result.passed is False


def test_best_cell_picks_the_largest_for_lower_bounds() -> None:
    summary = _summary(_cell("a", 0.70), _cell("b", 0.90), _cell("c", 0.60))
    [result] = evaluate_thresholds(summary, [_rule("accuracy >= 0.8", scope="best_cell")])
    assert (result.cell_id, result.observed, result.passed) == ("b", 0.90, True)
    assert "best cell 'b'" in result.message


def test_best_cell_picks_the_smallest_for_upper_bounds() -> None:
    summary = _summary(_cell("a", 0.7, p95=9.0), _cell("b", 0.7, p95=7.5))
    [result] = evaluate_thresholds(summary, [_rule("p95_latency_s <= 8", scope="best_cell")])
    assert (result.cell_id, result.observed, result.passed) == ("b", 7.5, True)


def test_overall_scope_reads_the_pooled_cell() -> None:
    summary = _summary(_cell("a", 0.9), overall=_cell("overall", 0.6))
    [result] = evaluate_thresholds(summary, [_rule("accuracy >= 0.8", scope="overall")])
    assert (result.cell_id, result.observed, result.passed) == (None, 0.6, False)


def test_latency_cost_and_error_metrics_are_read_from_their_sections() -> None:
    summary = _summary(_cell("a", 0.9, p95=3.5, errors=3))
    rules = [_rule("p95_latency_s <= 3"), _rule("cost_per_correct_usd <= 0.002"), _rule("error_rate <= 0.02")]
    results = evaluate_thresholds(summary, rules)
    assert [(r.metric, r.observed, r.passed) for r in results] == [
        ("p95_latency_s", 3.5, False),
        ("cost_per_correct_usd", 0.001, True),
        ("error_rate", 0.03, False),
    ]


def test_error_rate_ci_high_is_the_wilson_upper_bound() -> None:
    summary = _summary(_cell("a", 0.9, errors=0, n_trials=100))
    [result] = evaluate_thresholds(summary, [_rule("error_rate <= 0.02", on="ci_high")])
    # Wilson upper bound of 0/100 is z^2/(n+z^2) = 3.8415/103.8415.
    assert result.observed == pytest.approx(0.036994, abs=1e-5)
    assert result.passed is False


def test_missing_metric_fails_with_a_clear_message_instead_of_raising() -> None:
    summary = _summary(_cell("a", 0.9))
    [result] = evaluate_thresholds(summary, [_rule("pass@4 >= 0.9")])
    assert result.passed is False
    assert result.observed is None
    assert "pass@4" in result.message
    assert "available: accuracy" in result.message


def test_missing_ttft_fails_with_a_message() -> None:
    [result] = evaluate_thresholds(_summary(_cell("a", 0.9)), [_rule("p95_ttft_s <= 1")])
    assert result.passed is False
    assert "ttft_s" in result.message


def test_null_cost_per_correct_fails() -> None:
    summary = _summary(_cell("a", 0.0, per_correct=None))
    [result] = evaluate_thresholds(summary, [_rule("cost_per_correct_usd <= 0.01")])
    assert (result.passed, result.observed) == (False, None)


def test_summary_without_cells_fails_each_cell_rules() -> None:
    [result] = evaluate_thresholds(_summary(overall=_cell("overall", 0.9)), [_rule("accuracy >= 0.5")])
    assert result.passed is False
    assert "no cells" in result.message


def test_strict_operators() -> None:
    summary = _summary(_cell("a", 0.8))
    results = evaluate_thresholds(summary, [_rule("accuracy > 0.8"), _rule("accuracy >= 0.8")])
    assert [r.passed for r in results] == [False, True]


def test_to_dict_and_thresholds_passed() -> None:
    results = evaluate_thresholds(_summary(_cell("a", 0.9)), [_rule("accuracy >= 0.8")])
    assert results[0].to_dict() == {
        "metric": "accuracy",
        "op": ">=",
        "value": 0.8,
        "on": "point",
        "scope": "each_cell",
        "cell_id": "a",
        "observed": 0.9,
        "passed": True,
        "message": results[0].message,
    }
    assert thresholds_passed(results) is True
    assert (
        thresholds_passed([*results, ThresholdResult("x", "<", 1, "point", "overall", None, None, False, "")])
        is False
    )
    assert thresholds_passed([]) is True


@pytest.mark.parametrize(
    "metric",
    ["accuracy", "score:numeric", "pass@4", "maj@8", "pass^3", "p95_latency_s", "p50_ttft_s", "error_rate"],
)
def test_known_metrics(metric: str) -> None:
    assert is_known_metric(metric)


def test_validate_refuses_unknown_metric_naming_the_field() -> None:
    with pytest.raises(ConfigError, match=r"suite\.yaml: thresholds\[1\]\.metric: unknown metric 'latency'"):
        validate_thresholds([_rule("accuracy >= 0.5"), _rule("latency <= 2")], file="suite.yaml")


def test_validate_refuses_ci_bounds_on_latency() -> None:
    with pytest.raises(ConfigError, match=r"thresholds\[0\]\.on"):
        validate_thresholds([_rule("p95_latency_s <= 2", on="ci_high")])


def _multi_sample_cell(k: int) -> dict[str, Any]:
    cell = _cell("seed=1", 0.6)
    cell["metrics"]["pass@k"] = {**_stat(0.9, 0.8, 0.95), "k": k}
    cell["metrics"]["maj@k"] = {**_stat(0.7, 0.6, 0.8), "k": k}
    return cell


@pytest.mark.parametrize("metric", ["pass@k", "maj@k", "pass^k", "diversity", "pass@3", "maj@5"])
def test_validate_accepts_the_documented_multi_sample_names(metric: str) -> None:
    # Regression: 'pass@k' was refused as "unknown metric 'pass@k' (allowed: ..., 'pass@k', ...)".
    validate_thresholds([_rule(f"{metric} >= 0.5", on="ci_low")], file="suite.yaml")


def test_pass_at_k_reads_the_summary_stat_whatever_its_k() -> None:
    results = evaluate_thresholds(
        _summary(_multi_sample_cell(6)), [_rule("pass@k >= 0.85"), _rule("maj@k >= 0.75")]
    )
    assert [(r.observed, r.passed) for r in results] == [(0.9, True), (0.7, False)]


def test_pass_at_n_reads_pass_at_k_when_k_matches() -> None:
    # Regression: 'pass@3' passed validation but was never found, as the summary names it 'pass@k'.
    [result] = evaluate_thresholds(_summary(_multi_sample_cell(3)), [_rule("pass@3 >= 0.8", on="ci_low")])
    assert (result.observed, result.passed) == (0.8, True)


def test_pass_at_n_with_another_k_fails_saying_the_runs_k() -> None:
    [result] = evaluate_thresholds(_summary(_multi_sample_cell(6)), [_rule("pass@3 >= 0.8")])
    assert (result.observed, result.passed) == (None, False)
    assert "k=6, not 3" in result.message
    assert "write pass@k" in result.message


@pytest.mark.parametrize("metric", ["maj@k", "pass@k", "pass^3", "diversity"])
def test_multi_sample_metrics_are_refused_in_overall(metric: str) -> None:
    with pytest.raises(ConfigError) as info:
        validate_thresholds(
            [_rule("accuracy >= 0.5"), _rule(f"{metric} >= 0.5", scope="overall")], file="s.yaml"
        )
    assert info.value.field == "thresholds[1].scope"
    assert "computed per cell" in info.value.message
    assert "could never pass" in info.value.message
    assert info.value.allowed == ["each_cell", "best_cell"]


def test_multi_sample_metrics_are_accepted_per_cell() -> None:
    validate_thresholds([_rule("maj@k >= 0.5", scope="best_cell"), _rule("accuracy >= 0.5", scope="overall")])
