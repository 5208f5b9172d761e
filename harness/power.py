"""What a sweep can conclude: the suite's `plan:` section (assumed accuracy and item correlation, the
difference to detect), the --dry-run lines on precision and detectable differences, and summary.json's
`power` block (this run's detectable differences, the verdict's set of cells tied with the best, and
the race when the run raced). Owns the wording of those numbers; the formulas are stats/power.py's.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

DEFAULT_ACCURACY = 0.5  # p(1-p) is largest there: the cautious guess when nothing is known
DEFAULT_CORRELATION = 0.0  # no shared item difficulty: the most discordant pairs, the cautious guess


class PlanConfig(BaseModel):
    """The `plan:` section: what sample-size planning assumes and what difference matters."""

    model_config = ConfigDict(defer_build=True, frozen=True, extra="forbid")

    accuracy: float | None = Field(
        default=None,
        gt=0.0,
        lt=1.0,
        description="Expected accuracy of the cells (default: measured in from_run, else 0.5, the cautious choice).",
    )
    correlation: float | None = Field(
        default=None,
        gt=-1.0,
        lt=1.0,
        description="Correlation of two cells' right/wrong outcomes on the same item (default: measured "
        "in from_run, else 0, the cautious choice; LLM settings sweeps often measure 0.3-0.7).",
    )
    detect: float | None = Field(
        default=None,
        gt=0.0,
        lt=1.0,
        description="A difference in accuracy that matters (0.03 = 3 points): the dry run says how many items detect it.",
    )
    power: float = Field(
        default=0.8, ge=0.5, lt=1.0, description="Wanted chance of detecting a real difference."
    )
    alpha: float = Field(default=0.05, gt=0.0, lt=1.0, description="Significance level of one comparison.")
    from_run: str | None = Field(
        default=None,
        description="A previous run directory whose scores give the accuracy and item correlation "
        "(relative to the current directory).",
    )


@dataclass(frozen=True, slots=True)
class Assumptions:
    accuracy: float
    correlation: float
    source: str  # "accuracy 0.80 (suite), correlation 0.42 (measured in DIR)"

    def to_dict(self) -> dict[str, Any]:
        return {"accuracy": self.accuracy, "correlation": self.correlation, "source": self.source}


@dataclass(frozen=True, slots=True)
class Measured:
    accuracy: float | None
    correlation: float | None
    n_items: int


def measure_scores(scores: Sequence[Any], scorer: str) -> Measured:
    """Accuracy (mean of the cells' per-item values) and mean pairwise item correlation of `scorer`."""
    from harness.racing import item_values
    from harness.stats.power import item_correlation

    values = item_values(scores, scorer)
    cells = sorted(values)
    items = sorted({i for by_item in values.values() for i in by_item})
    flat = [v for c in cells for v in values[c].values()]
    accuracy = math.fsum(flat) / len(flat) if flat else None
    matrix = [[values[c].get(i, math.nan) for i in items] for c in cells]
    correlation = item_correlation(matrix) if len(cells) > 1 else None
    return Measured(accuracy, correlation, len(items))


def measure_run(run_dir: Path, *, file: str | None = None) -> Measured:
    """Measure accuracy and item correlation in a finished run directory (its scores.jsonl)."""
    from harness.errors import ConfigError, HarnessError
    from harness.scoring import read_scores

    if not run_dir.is_dir():
        raise ConfigError(f"{run_dir} is not a run directory", file=file, field="plan.from_run")
    try:
        scores = read_scores(run_dir)
    except HarnessError as exc:
        raise ConfigError(f"cannot read its scores: {exc}", file=file, field="plan.from_run") from exc
    if not scores:
        raise ConfigError(
            f"{run_dir} has no scores (run `harness report {run_dir}` to score it)",
            file=file,
            field="plan.from_run",
        )
    return measure_scores(scores, scores[0].scorer)


def resolve_assumptions(config: PlanConfig, *, file: str | None = None) -> Assumptions:
    """The accuracy and correlation to plan with: the suite's, else measured in from_run, else defaults."""
    measured = measure_run(Path(config.from_run), file=file) if config.from_run else None
    parts = []
    values = []
    for name, given, found, default in (
        ("accuracy", config.accuracy, measured.accuracy if measured else None, DEFAULT_ACCURACY),
        ("correlation", config.correlation, measured.correlation if measured else None, DEFAULT_CORRELATION),
    ):
        if given is not None:
            value, why = given, "plan." + name
        elif found is not None:
            value, why = found, f"measured in {config.from_run}"
        else:
            value, why = default, "default, the cautious choice"
        values.append(value)
        parts.append(f"{name} {value:.2f} ({why})")
    accuracy = min(0.99, max(0.01, values[0]))
    return Assumptions(accuracy, values[1], ", ".join(parts))


def comparison_count(n_cells: int) -> int:
    """How many paired comparisons summary.json makes (and Holm corrects over) for n cells."""
    from harness.stats.paired import comparison_pairs

    ids = [str(i) for i in range(n_cells)]
    return len(comparison_pairs(ids, ids[-1] if ids else None))


@dataclass(frozen=True, slots=True)
class PowerPlan:
    """What a plan of n items per cell can tell apart."""

    n_items: int
    n_comparisons: int
    half_width: float
    mde: float | None  # one comparison at alpha
    mde_holm: float | None  # Holm's first step: alpha / n_comparisons
    detect: float | None
    items_for_detect: int | None
    items_for_detect_holm: int | None
    assumptions: Assumptions
    alpha: float
    power: float


def plan_power(n_items: int, n_cells: int, assumptions: Assumptions, config: PlanConfig) -> PowerPlan:
    """Precision of one cell and the paired design's detectable difference, for n items per cell."""
    from harness.stats.power import paired_items_needed, paired_mde, proportion_half_width

    p, rho = assumptions.accuracy, assumptions.correlation
    m = max(1, comparison_count(n_cells))
    n = max(1, n_items)
    detect_n = detect_holm = None
    if config.detect is not None:
        try:
            detect_n = paired_items_needed(config.detect, p, rho, alpha=config.alpha, power=config.power)
            detect_holm = paired_items_needed(
                config.detect, p, rho, alpha=config.alpha / m, power=config.power
            )
        except ValueError:  # no two cells at this accuracy and correlation differ that much
            detect_n = detect_holm = None
    return PowerPlan(
        n_items=n,
        n_comparisons=m,
        half_width=proportion_half_width(p, n),
        mde=paired_mde(n, p, rho, alpha=config.alpha, power=config.power),
        mde_holm=paired_mde(n, p, rho, alpha=config.alpha / m, power=config.power),
        detect=config.detect,
        items_for_detect=detect_n,
        items_for_detect_holm=detect_holm,
        assumptions=assumptions,
        alpha=config.alpha,
        power=config.power,
    )


def _pts(value: float | None) -> str:
    return "none (not even the largest possible difference)" if value is None else f"{value * 100:.1f} points"


def power_lines(plan: PowerPlan, *, n_cells: int) -> list[str]:
    """The --dry-run block: precision per cell, detectable differences, items needed for `detect`."""
    power = f"{plan.power:.0%} power"
    lines = [
        f"  power     assuming {plan.assumptions.source}",
        f"    each cell: {plan.n_items} items -> accuracy +-{plan.half_width * 100:.1f} points (95% CI half-width)",
    ]
    if n_cells > 1:
        lines.append(
            f"    paired difference detectable at {power}: {_pts(plan.mde)} for one comparison "
            f"(alpha {plan.alpha:g}); {_pts(plan.mde_holm)} at Holm's strictest step over "
            f"{plan.n_comparisons} comparisons (alpha {plan.alpha:g}/{plan.n_comparisons})"
        )
    if plan.detect is not None:
        if plan.items_for_detect is None:
            lines.append(
                f"    to detect {plan.detect * 100:g} points: impossible at accuracy {plan.assumptions.accuracy:.2f} "
                f"and correlation {plan.assumptions.correlation:.2f}"
            )
        else:
            enough = "enough" if plan.n_items >= (plan.items_for_detect_holm or 0) else "NOT enough"
            lines.append(
                f"    to detect {plan.detect * 100:g} points at {power}: {plan.items_for_detect} items per cell "
                f"(one comparison), {plan.items_for_detect_holm} with Holm over {plan.n_comparisons}; "
                f"this plan has {plan.n_items} ({enough})"
            )
    return lines


def verdict(summary: Mapping[str, Any], alpha: float) -> dict[str, Any] | None:
    """The cell with the highest primary metric and the cells not distinguishable from it: those
    whose paired comparison with it is not significant after Holm (p_holm >= alpha) or whose
    difference CI contains 0. None with fewer than two scored cells."""
    cells = [c for c in summary.get("cells") or [] if _mean(c) is not None]
    if len(cells) < 2:
        return None

    def key(cell: Mapping[str, Any]) -> tuple[float, float, float]:
        stat = cell["metrics"]["accuracy"]
        low = stat.get("ci_low")
        cost = (cell.get("cost") or {}).get("per_trial_usd")
        return (float(stat["mean"]), float(low) if low is not None else -math.inf, -(cost or 0.0))

    best = max(cells, key=key)
    best_id = best["cell_id"]
    by_pair: dict[frozenset[str], Mapping[str, Any]] = {}
    for comparison in summary.get("comparisons") or []:
        by_pair[frozenset((comparison["a"], comparison["b"]))] = comparison
    tied = []
    for cell in cells:
        cid = cell["cell_id"]
        if cid == best_id:
            continue
        found = by_pair.get(frozenset((best_id, cid)))
        if found is None or not found.get("n_pairs") or not _separated(found, alpha):
            tied.append(cid)
    return {
        "best": best_id,
        "tied": tied,
        "distinguishable": not tied,
        "alpha": alpha,
        "rule": "paired comparison with the best cell on shared items: Holm-corrected McNemar p < alpha "
        "and a 95% CI of the difference that excludes 0",
    }


def _mean(cell: Mapping[str, Any]) -> float | None:
    stat = (cell.get("metrics") or {}).get("accuracy") or {}
    mean = stat.get("mean")
    return float(mean) if isinstance(mean, int | float) else None


def _separated(comparison: Mapping[str, Any], alpha: float) -> bool:
    low, high = comparison.get("ci_low"), comparison.get("ci_high")
    if low is None or high is None or low <= 0.0 <= high:
        return False
    p = comparison.get("p_holm")
    return p is None or p < alpha


def power_section(
    summary: Mapping[str, Any],
    scores: Sequence[Any],
    manifest: Mapping[str, Any],
    race_log: Mapping[str, Any] | None,
) -> dict[str, Any]:
    """summary.json's `power`: this run's measured accuracy and correlation, each cell's precision and
    the difference its comparison with the best could detect, the verdict, and the race if any."""
    from harness.stats.power import paired_mde, proportion_half_width

    suite = manifest.get("suite") if isinstance(manifest.get("suite"), Mapping) else {}
    plan = PlanConfig.model_validate((suite or {}).get("plan") or {})
    alpha = float(((suite or {}).get("gate") or {}).get("alpha", 0.05))
    names = list(summary.get("scorers") or [])
    measured = measure_scores(scores, names[0]) if names else Measured(None, None, 0)
    p = min(0.99, max(0.01, measured.accuracy if measured.accuracy is not None else DEFAULT_ACCURACY))
    rho = measured.correlation if measured.correlation is not None else DEFAULT_CORRELATION
    cells = list(summary.get("cells") or [])
    m = max(1, len(summary.get("comparisons") or []))
    decided = verdict(summary, alpha)
    best = decided["best"] if decided else None
    n_best = next((c.get("n_items") or 0 for c in cells if c.get("cell_id") == best), 0)
    per_cell = []
    for cell in cells:
        n = int(cell.get("n_items") or 0)
        mean = _mean(cell)
        shared = min(n, int(n_best)) if best and cell.get("cell_id") != best else 0
        per_cell.append(
            {
                "cell_id": cell.get("cell_id"),
                "n_items": n,
                "half_width": proportion_half_width(min(1.0, max(0.0, mean)), n)
                if n and mean is not None
                else None,
                "mde_vs_best": paired_mde(shared, p, rho, alpha=alpha / m, power=plan.power)
                if shared
                else None,
            }
        )
    out: dict[str, Any] = {
        "alpha": alpha,
        "power": plan.power,
        "comparisons": m,
        "measured": {
            "accuracy": measured.accuracy,
            "correlation": measured.correlation,
            "n_items": measured.n_items,
        },
        "cells": per_cell,
        "verdict": decided,
    }
    if plan.detect is not None:
        from harness.stats.power import paired_items_needed

        try:
            out["detect"] = {
                "difference": plan.detect,
                "items": paired_items_needed(plan.detect, p, rho, alpha=alpha / m, power=plan.power),
                "items_one": paired_items_needed(plan.detect, p, rho, alpha=alpha, power=plan.power),
            }
        except ValueError:  # two cells at this accuracy and correlation cannot differ that much
            out["detect"] = {"difference": plan.detect, "items": None, "items_one": None}
    if race_log is not None:
        from harness.racing import race_summary

        trials = int((summary.get("overall") or {}).get("n_trials") or 0)
        grid = (manifest.get("grid_plan") or manifest.get("plan") or {}).get("trials")
        out["racing"] = race_summary(
            race_log, trials_done=trials, grid_trials=grid if isinstance(grid, int) else None
        )
    return out


def plan_lines(prepared: Any) -> list[str]:
    """The dry run's power block (and the race's schedule under run.strategy: racing) for a
    preflight.PreparedRun: n items per cell, the suite's plan: assumptions."""
    plan = prepared.plan
    config: PlanConfig = prepared.suite.plan
    assumptions = resolve_assumptions(config, file=prepared.source.file)
    lines = power_lines(plan_power(plan.n_items, plan.n_cells, assumptions, config), n_cells=plan.n_cells)
    if prepared.run.strategy == "racing":
        lines += race_lines(plan.trials, prepared.run.racing)
    return lines


def race_lines(trials: Sequence[Any], config: Any) -> list[str]:
    """What a race over `trials` can cost: its looks, their level, the fewest and most trials."""
    from harness.racing import Race

    cells = list(dict.fromkeys(t.cell_id for t in trials))
    race = Race(config, cells, [t.item_id for t in trials])
    first = set(race.order[: race.schedule[0]]) if race.schedule else set()
    fewest = sum(t.item_id in first for t in trials)
    shown = ", ".join(str(n) for n in race.schedule[:8]) + (", ..." if len(race.schedule) > 8 else "")
    return [
        f"  strategy  racing: {len(race.schedule)} looks at {shown} items; each look tests at alpha "
        f"{config.alpha:g}/{len(race.schedule)} = {race.alpha_per_look:.4g} (Bonferroni over looks, Holm across cells)",
        f"    trials: at most {len(trials)} (no cell dropped), at least {fewest} (every cell through the first look)",
    ]
