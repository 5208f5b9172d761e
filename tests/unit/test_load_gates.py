"""Load-sweep metrics in suite thresholds (harness.gate) and in `harness compare` (harness.compare.sweep)."""

from __future__ import annotations

from typing import Any

import pytest

from harness.compare.sweep import sweep_checks
from harness.config import GateConfig, ThresholdConfig
from harness.errors import ConfigError
from harness.gate import evaluate_thresholds, validate_thresholds


def summary(
    max_rate: float | None, low: float | None = None, high: float | None = None, goodput: float = 3.5
) -> dict[str, Any]:
    return {
        "cells": [{"cell_id": "default"}],
        "load": {
            "knee_rps": 12.0,
            "slo": {
                "max_rate_at_slo": max_rate,
                "max_rate_ci_low": low,
                "max_rate_ci_high": high,
                "goodput_rps": goodput,
            },
        },
    }


def rule(text: str) -> ThresholdConfig:
    return ThresholdConfig.model_validate(text)


def test_goodput_threshold_reads_the_load_block_once_whatever_the_scope() -> None:
    (result,) = evaluate_thresholds(summary(8.0), [rule("goodput_rps >= 3")])
    assert result.passed is True
    assert result.observed == 3.5
    assert result.cell_id is None
    assert "(load sweep)" in result.message


def test_max_rate_threshold_on_ci_low_uses_the_bootstrap_bound() -> None:
    (result,) = evaluate_thresholds(summary(8.0, 6.0, 9.0), [rule("max_rate_at_slo >= 7 on ci_low")])
    assert result.observed == 6.0
    assert result.passed is False


def test_load_metric_without_a_load_block_fails_with_the_reason() -> None:
    (result,) = evaluate_thresholds({"cells": [{"cell_id": "default"}]}, [rule("knee_rps >= 1")])
    assert result.passed is False
    assert "no load points" in result.message


def test_load_metrics_are_known_and_goodput_has_no_ci() -> None:
    validate_thresholds(
        [rule("goodput_rps >= 3"), rule("max_rate_at_slo >= 2 on ci_low"), rule("knee_rps > 1")]
    )
    with pytest.raises(ConfigError, match="no confidence interval"):
        validate_thresholds([rule("goodput_rps >= 3 on ci_low")])


def test_compare_flags_a_drop_whose_whole_ci_is_below_the_ratio() -> None:
    (check,) = sweep_checks(summary(10.0), summary(6.0, 5.0, 7.0), GateConfig(latency_ratio=1.2))
    assert check.verdict == "regression"
    assert check.estimate == pytest.approx(0.6)
    assert (check.ci_low, check.ci_high) == (pytest.approx(0.5), pytest.approx(0.7))
    assert check.kind == "load"


def test_compare_passes_a_drop_within_the_ratio() -> None:
    (check,) = sweep_checks(summary(10.0), summary(9.0, 8.0, 10.0), GateConfig(latency_ratio=1.2))
    assert check.verdict == "pass"


def test_compare_uses_the_per_metric_ratio() -> None:
    gate = GateConfig.model_validate({"metrics": {"max_rate_at_slo": {"ratio": 2.0}}})
    (check,) = sweep_checks(summary(10.0), summary(6.0, 5.0, 7.0), gate)
    assert check.verdict == "pass"  # CI high 0.7 is above 1 / 2


def test_compare_skips_when_a_side_has_no_rate_at_slo() -> None:
    (check,) = sweep_checks(summary(10.0), summary(None), GateConfig())
    assert check.verdict == "skipped"
    assert sweep_checks({"cells": []}, {"cells": []}, GateConfig()) == []
