"""harness.power: the suite's plan: section, the assumptions it resolves (given, measured in a previous
run, or the cautious defaults), the dry run's lines, the verdict's tied set and summary.json's power
block."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from harness.config import SuiteConfig
from harness.errors import ConfigError
from harness.power import (
    PlanConfig,
    comparison_count,
    measure_scores,
    plan_power,
    power_lines,
    power_section,
    resolve_assumptions,
    verdict,
)
from harness.records import Score
from harness.scoring import write_scores
from harness.stats.power import paired_items_needed, paired_mde


def scores_for(table: Mapping[str, Sequence[float]]) -> list[Score]:
    return [
        Score(f"{cell}-{i}", 0, "numeric", v, "correct" if v else "wrong", cell_id=cell, item_id=f"q{i}")
        for cell, values in table.items()
        for i, v in enumerate(values)
    ]


def test_plan_section_is_validated_with_its_field_path() -> None:
    base = {"name": "s", "dataset": {"path": "x.jsonl"}}
    assert SuiteConfig.model_validate({**base, "plan": {"detect": 0.03}}).plan.detect == 0.03
    with pytest.raises(ValidationError, match=r"plan\.detect"):
        SuiteConfig.model_validate({**base, "plan": {"detect": 1.5}})
    with pytest.raises(ValidationError, match=r"plan\.accuarcy"):
        SuiteConfig.model_validate({**base, "plan": {"accuarcy": 0.8}})


def test_defaults_are_the_cautious_choices() -> None:
    found = resolve_assumptions(PlanConfig())
    assert (found.accuracy, found.correlation) == (0.5, 0.0)
    assert found.source == (
        "accuracy 0.50 (default, the cautious choice), correlation 0.00 (default, the cautious choice)"
    )


def test_measured_in_a_previous_run(tmp_path: Path) -> None:
    # Two cells on four items: accuracy 5/8; their outcomes agree on 3 of 4 items (phi = 0.577).
    write_scores(tmp_path, scores_for({"a": [1, 1, 0, 0], "b": [1, 1, 1, 0]}))
    found = resolve_assumptions(PlanConfig(from_run=str(tmp_path), correlation=0.3))
    assert found.accuracy == pytest.approx(5 / 8)
    assert found.correlation == 0.3  # a value written in the suite wins over the measured one
    assert f"accuracy 0.62 (measured in {tmp_path})" in found.source
    measured = measure_scores(scores_for({"a": [1, 1, 0, 0], "b": [1, 1, 1, 0]}), "numeric")
    assert measured.correlation == pytest.approx(1 / 3**0.5)


def test_a_bad_from_run_names_the_field(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"suite.yaml: plan.from_run: .* is not a run directory"):
        resolve_assumptions(PlanConfig(from_run=str(tmp_path / "nope")), file="suite.yaml")
    with pytest.raises(ConfigError, match="has no scores"):
        resolve_assumptions(PlanConfig(from_run=str(tmp_path)), file="suite.yaml")


def test_comparison_count_follows_the_summary() -> None:
    assert comparison_count(2) == 1
    assert comparison_count(10) == 45
    assert comparison_count(12) == 21  # beyond 10 cells: each against the first and the best


def test_plan_power_and_its_lines() -> None:
    config = PlanConfig(accuracy=0.7, correlation=0.0, detect=0.2)
    plan = plan_power(84, 2, resolve_assumptions(config), config)
    assert plan.items_for_detect == 84 == paired_items_needed(0.2, 0.7, 0.0)
    assert plan.mde is not None
    assert plan.mde == pytest.approx(paired_mde(84, 0.7, 0.0))
    lines = power_lines(plan, n_cells=2)
    assert (
        lines[0] == "  power     assuming accuracy 0.70 (plan.accuracy), correlation 0.00 (plan.correlation)"
    )
    assert "each cell: 84 items -> accuracy +-9.6 points" in lines[1]
    assert f"{plan.mde * 100:.1f} points for one comparison" in lines[2]
    assert lines[3].endswith("this plan has 84 (enough)")


def _summary(cells: dict[str, float], comparisons: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "scorers": ["numeric"],
        "cells": [
            {"cell_id": c, "n_items": 30, "metrics": {"accuracy": {"mean": m, "ci_low": m - 0.1}}, "cost": {}}
            for c, m in cells.items()
        ],
        "comparisons": comparisons,
        "overall": {"n_trials": 90},
    }


def _cmp(a: str, b: str, low: float, high: float, p: float) -> dict[str, Any]:
    return {"a": a, "b": b, "n_pairs": 30, "ci_low": low, "ci_high": high, "p_holm": p}


def test_verdict_ties_the_cells_whose_comparison_with_the_best_is_not_significant() -> None:
    summary = _summary(
        {"x": 0.9, "y": 0.85, "z": 0.4},
        [_cmp("x", "y", -0.05, 0.15, 0.4), _cmp("x", "z", 0.3, 0.7, 0.001), _cmp("y", "z", 0.2, 0.6, 0.01)],
    )
    decided = verdict(summary, 0.05)
    assert decided is not None
    assert decided["best"] == "x"
    assert decided["tied"] == ["y"]
    assert decided["distinguishable"] is False


def test_verdict_needs_both_the_test_and_the_ci() -> None:
    summary = _summary({"x": 0.9, "y": 0.6}, [_cmp("x", "y", -0.01, 0.5, 0.001)])
    assert verdict(summary, 0.05)["tied"] == ["y"]  # type: ignore[index]
    summary = _summary({"x": 0.9, "y": 0.6}, [_cmp("x", "y", 0.1, 0.5, 0.001)])
    assert verdict(summary, 0.05)["distinguishable"] is True  # type: ignore[index]
    assert verdict(_summary({"x": 0.9}, []), 0.05) is None


def test_power_section_measures_this_run() -> None:
    scores = scores_for({"x": [1] * 27 + [0] * 3, "y": [1] * 15 + [0] * 15})
    summary = _summary({"x": 0.9, "y": 0.5}, [_cmp("x", "y", 0.2, 0.6, 0.0001)])
    manifest = {"suite": {"plan": {"detect": 0.1}, "gate": {"alpha": 0.01}}}
    block = power_section(summary, scores, manifest, None)
    assert block["alpha"] == 0.01
    assert block["measured"]["accuracy"] == pytest.approx(42 / 60)
    assert block["verdict"]["best"] == "x"
    assert block["verdict"]["tied"] == []
    assert block["cells"][0]["mde_vs_best"] is None
    rho = block["measured"]["correlation"]
    assert block["cells"][1]["mde_vs_best"] == pytest.approx(paired_mde(30, 0.7, rho, alpha=0.01))
    assert block["detect"]["items"] == paired_items_needed(0.1, 0.7, rho, alpha=0.01)
    assert "racing" not in block
