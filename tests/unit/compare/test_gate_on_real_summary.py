"""evaluate_thresholds against a summary.json written by harness.stats.summarize, so the metric paths
the gate reads are the ones the stats layer writes."""

from __future__ import annotations

import pytest
from compare_builders import CellSpec, ones_then_zeros, write_run

from harness.config import ThresholdConfig
from harness.gate import evaluate_thresholds
from harness.rundir import RunDir, Summary


@pytest.fixture(scope="module")
def summary(tmp_path_factory: pytest.TempPathFactory) -> Summary:
    run = write_run(
        tmp_path_factory.mktemp("gate") / "run",
        {
            "a": CellSpec(
                ones_then_zeros(50, 40), latency_s=[1.0 + i / 100 for i in range(50)], cost_usd=0.002
            ),
            "b": CellSpec(ones_then_zeros(50, 30), errors={0, 1}),
        },
    )
    return RunDir(run).summary()


@pytest.mark.parametrize(
    ("rule", "cell", "observed"),
    [
        ("accuracy >= 0.7", "a", 0.8),
        ("score:numeric >= 0.7", "a", 0.8),
        ("error_rate <= 0.02", "b", 0.04),
        ("p50_latency_s <= 2", "a", 1.245),
        ("cost_per_trial_usd <= 0.01", "a", 0.002),
        ("cost_per_correct_usd <= 0.01", "a", 0.1 / 40),
        ("total_cost_usd <= 1", "a", 0.1),
    ],
)
def test_each_metric_is_found_in_a_real_summary(
    summary: Summary, rule: str, cell: str, observed: float
) -> None:
    results = evaluate_thresholds(summary, [ThresholdConfig.model_validate(rule)])
    [result] = [r for r in results if r.cell_id == cell]
    assert result.observed == pytest.approx(observed, rel=1e-6), result.message


def test_ci_bounds_and_scopes_on_a_real_summary(summary: Summary) -> None:
    [low] = evaluate_thresholds(
        summary, [ThresholdConfig.model_validate("accuracy >= 0.7 on ci_low in best_cell")]
    )
    assert low.cell_id == "a"
    assert low.observed is not None
    assert 0.6 < low.observed < 0.8
    [pooled] = evaluate_thresholds(summary, [ThresholdConfig.model_validate("error_rate <= 0 in overall")])
    assert (pooled.cell_id, pooled.observed, pooled.passed) == (None, 0.02, False)
