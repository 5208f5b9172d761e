"""Suite thresholds: evaluate `thresholds:` rules (`accuracy >= 0.8`, `p95_latency_s <= 8`) against a
typed `Summary` (harness.rundir.summary). Owns the metric names and their place in a summary cell, and
the pass/fail verdict; it never reads a run directory, computes statistics or prints (the report and
the CLI do that with its results).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from harness.config import ThresholdConfig
from harness.errors import ConfigError
from harness.rundir.layout import SUMMARY
from harness.stats.ci import wilson_ci

if TYPE_CHECKING:  # the process that sends validates thresholds; only the one that scores reads a summary
    from harness.rundir.summary import Cell, Pct, Stat, Summary

# Latency metrics: "<percentile>_<name>" -> summary cell["latency"][<key>][<percentile>].
_LATENCY_KEYS = {
    "latency_s": "e2e_s",
    "ttft_s": "ttft_s",
    "ttft_answer_s": "ttft_answer_s",
    "itl_s": "itl_s",
    "output_tps": "output_tps",
    "queue_s": "queue_s",
}
_PERCENTILES = ("p50", "p90", "p95", "p99", "mean", "max")
# Flat metrics: name -> its value in a summary cell.
_PATHS: dict[str, Callable[[Cell], float | None]] = {
    "error_rate": lambda cell: cell.errors.rate,
    "cost_per_correct_usd": lambda cell: cell.cost.per_correct_usd,
    "cost_per_trial_usd": lambda cell: cell.cost.per_trial_usd,
    "total_cost_usd": lambda cell: cell.cost.total_usd,
}
_STAT_METRIC = re.compile(r"^(accuracy|score:.+|diversity|(pass@|maj@|pass\^)(k|\d+))$")
# pass@3 / maj@3 / pass^3: the summary's pass@k / maj@k / pass^k STAT when its `k` is 3.
_MULTI_SAMPLE_N = re.compile(r"^(pass@|maj@|pass\^)(\d+)$")
# Metrics the summary has per cell only (harness.stats.multisample.MULTI_SAMPLE_METRICS).
_MULTI_SAMPLE = re.compile(r"^((pass@|maj@|pass\^)(k|\d+)|diversity)$")
_LATENCY_METRIC = re.compile(r"^(" + "|".join(_PERCENTILES) + r")_(" + "|".join(_LATENCY_KEYS) + r")$")

KNOWN_METRICS = (
    "accuracy",
    "score:<scorer>",
    "pass@k",
    "maj@k",
    "pass^k",
    "pass@<n>",
    "maj@<n>",
    "pass^<n>",
    "diversity",
    "error_rate",
    *(f"{p}_{name}" for name in _LATENCY_KEYS for p in ("p50", "p95", "p99")),
    "cost_per_correct_usd",
    "cost_per_trial_usd",
    "total_cost_usd",
    "goodput_rps",
    "max_rate_at_slo",
    "knee_rps",
)
# Load-sweep metrics: one value per run, from summary.json's "load" key (harness.stats.load).
_LOAD_METRICS = ("goodput_rps", "max_rate_at_slo", "knee_rps")


@dataclass(slots=True, frozen=True)
class ThresholdResult:
    """The verdict of one threshold on one cell (or the pooled run)."""

    metric: str
    op: str
    value: float
    on: str
    scope: str
    cell_id: str | None  # None for scope "overall"
    observed: float | None  # None when the metric is missing from the summary
    passed: bool
    message: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def is_known_metric(metric: str) -> bool:
    """True when `metric` names something evaluate_thresholds can find in a summary."""
    return bool(
        _STAT_METRIC.match(metric)
        or _LATENCY_METRIC.match(metric)
        or metric in _PATHS
        or metric in _LOAD_METRICS
    )


def validate_thresholds(thresholds: Sequence[ThresholdConfig], *, file: str | None = None) -> None:
    """Refuse unknown metric names and CI bounds on metrics that have none, before a run starts."""
    for index, rule in enumerate(thresholds):
        field = f"thresholds[{index}].metric"
        if not is_known_metric(rule.metric):
            raise ConfigError(
                f"unknown metric {rule.metric!r}", file=file, field=field, allowed=KNOWN_METRICS
            )
        if rule.scope == "overall" and _MULTI_SAMPLE.match(rule.metric):
            # summarize pools every sample of an item per cell; the pooled run mixes cells, so it has none.
            raise ConfigError(
                f"{rule.metric} is computed per cell (from each item's samples within a cell), so the "
                "summary's overall has no such metric and this threshold could never pass; use scope "
                "each_cell or best_cell",
                file=file,
                field=f"thresholds[{index}].scope",
                allowed=["each_cell", "best_cell"],
            )
        if rule.on != "point" and not _has_ci(rule.metric):
            raise ConfigError(
                f"metric {rule.metric!r} has no confidence interval, so on: {rule.on} cannot apply",
                file=file,
                field=f"thresholds[{index}].on",
                allowed=["point"],
            )


def evaluate_thresholds(summary: Summary, thresholds: Sequence[ThresholdConfig]) -> list[ThresholdResult]:
    """One result per threshold and cell (scope each_cell), or one per threshold (best_cell, overall).

    A metric missing from the summary is a failed result saying so, never an exception.
    """
    results: list[ThresholdResult] = []
    cells = list(summary.cells)
    for rule in thresholds:
        if rule.metric in _LOAD_METRICS:
            results.append(_evaluate_load(rule, summary))
        elif rule.scope == "overall":
            results.append(_evaluate(rule, summary.overall, None))
        elif not cells:
            results.append(_fail(rule, None, None, f"{SUMMARY} has no cells to evaluate"))
        elif rule.scope == "each_cell":
            results.extend(_evaluate(rule, cell, cell.cell_id) for cell in cells)
        else:
            results.append(_best_cell(rule, cells))
    return results


def thresholds_passed(results: Sequence[ThresholdResult]) -> bool:
    """True when every threshold result passed (also for no thresholds at all)."""
    return all(r.passed for r in results)


def _evaluate(rule: ThresholdConfig, cell: Cell, cell_id: str | None) -> ThresholdResult:
    where = "the pooled run" if cell_id is None else f"cell {cell_id!r}"
    observed, problem = _observe(rule, cell)
    if observed is None:
        return _fail(rule, cell_id, None, f"{rule.metric}: {problem} for {where}")
    passed = _compare(observed, rule.op, rule.value)
    label = rule.metric if rule.on == "point" else f"{rule.metric} ({rule.on})"
    verdict = "ok" if passed else "FAILED"
    message = f"{label} = {_fmt(observed)} {rule.op} {_fmt(rule.value)}: {verdict} ({where})"
    return ThresholdResult(
        rule.metric, rule.op, rule.value, rule.on, rule.scope, cell_id, observed, passed, message
    )


def _best_cell(rule: ThresholdConfig, cells: Sequence[Cell]) -> ThresholdResult:
    """The cell whose value is most favourable for this rule decides (largest for >=/>, else smallest)."""
    observed = [(value, cell) for cell in cells if (value := _observe(rule, cell)[0]) is not None]
    if not observed:
        return _fail(rule, None, None, f"{rule.metric}: no cell of {SUMMARY} has this metric")
    pick = max if rule.op in (">=", ">") else min
    _, best = pick(observed, key=lambda pair: pair[0])
    result = _evaluate(rule, best, best.cell_id)
    return ThresholdResult(
        result.metric,
        result.op,
        result.value,
        result.on,
        result.scope,
        result.cell_id,
        result.observed,
        result.passed,
        result.message.replace("(cell ", "(best cell ", 1),
    )


def _observe(rule: ThresholdConfig, cell: Cell) -> tuple[float | None, str]:
    """The number this rule compares, or None and why it is missing."""
    metric = rule.metric
    if _STAT_METRIC.match(metric):
        stat: Stat | None = cell.metrics.get(metric)
        if stat is None and (fixed := _MULTI_SAMPLE_N.match(metric)):
            prefix, wanted = fixed.groups()
            stat = cell.metrics.get(f"{prefix}k")
            if stat is not None and stat.k != int(wanted):
                return None, (
                    f"this run's {prefix}k has k={stat.k}, not {wanted} (k is the samples per "
                    f"item: numberResults x repeats x seeds; write {prefix}k to take whatever k the run has)"
                )
        if stat is None:
            available = sorted(cell.metrics)
            return None, f"metric not in {SUMMARY} (available: {', '.join(available) or 'none'})"
        key = {"point": "mean", "ci_low": "ci_low", "ci_high": "ci_high"}[rule.on]
        return _number(getattr(stat, key), f"its {key} is empty")
    if match := _LATENCY_METRIC.match(metric):
        percentile, name = match.groups()
        pct: Pct | None = getattr(cell.latency, _LATENCY_KEYS[name])
        if pct is None:
            return None, f"no {_LATENCY_KEYS[name]} latency in {SUMMARY} (none measured?)"
        return _number(getattr(pct, percentile), f"{_LATENCY_KEYS[name]}.{percentile} is empty")
    if metric == "error_rate":
        return _error_rate(rule, cell)
    if metric in _PATHS:
        return _number(_PATHS[metric](cell), f"not in {SUMMARY} (no cost or no correct answer?)")
    return None, f"unknown metric (known: {', '.join(KNOWN_METRICS)})"


def _error_rate(rule: ThresholdConfig, cell: Cell) -> tuple[float | None, str]:
    rate, why = _number(cell.errors.rate, f"errors.rate not in {SUMMARY}")
    if rule.on == "point" or rate is None:
        return rate, why
    if cell.n_trials <= 0:
        return None, "no trials, so no CI"
    low, high = wilson_ci(cell.errors.count, cell.n_trials)
    return (low if rule.on == "ci_low" else high), ""


def _has_ci(metric: str) -> bool:
    return bool(_STAT_METRIC.match(metric)) or metric in ("error_rate", "max_rate_at_slo")


def _evaluate_load(rule: ThresholdConfig, summary: Summary) -> ThresholdResult:
    """A load-sweep metric: the run's, whatever the rule's scope (load points are not cells)."""
    from harness.stats.load import load_metric

    observed, problem = load_metric(
        {"load": summary.load} if summary.load is not None else {}, rule.metric, rule.on
    )
    if observed is None:
        return _fail(rule, None, None, f"{rule.metric}: {problem}")
    passed = _compare(observed, rule.op, rule.value)
    label = rule.metric if rule.on == "point" else f"{rule.metric} ({rule.on})"
    message = f"{label} = {_fmt(observed)} {rule.op} {_fmt(rule.value)}: {'ok' if passed else 'FAILED'} (load sweep)"
    return ThresholdResult(
        rule.metric, rule.op, rule.value, rule.on, rule.scope, None, observed, passed, message
    )


def _number(raw: Any, why: str) -> tuple[float | None, str]:
    if isinstance(raw, bool) or not isinstance(raw, int | float) or math.isnan(raw):
        return None, why
    return float(raw), ""


def _compare(observed: float, op: str, bound: float) -> bool:
    if op == ">=":
        return observed >= bound
    if op == "<=":
        return observed <= bound
    if op == ">":
        return observed > bound
    return observed < bound


def _fail(
    rule: ThresholdConfig, cell_id: str | None, observed: float | None, message: str
) -> ThresholdResult:
    return ThresholdResult(
        rule.metric, rule.op, rule.value, rule.on, rule.scope, cell_id, observed, False, f"FAILED: {message}"
    )


def _fmt(value: float) -> str:
    return f"{value:.4g}"
