"""The CI regression gate behind `harness compare`: reads two runs (or a run and a committed
summary.json), pairs their trials by (cell_id, item_id, repeat), tests quality, latency and cost per
cell against the current suite's `gate:` section, and renders the verdict (terminal table, JUnit,
Markdown, pytest-benchmark JSON). It never sends a request and never changes a run's records.

`Comparison.to_dict()` is the `comparison` handed to `harness.report.build_outputs`:

    {"schema_version": 1, "mode": "paired" | "unpaired", "suite": str,
     "verdict": "pass" | "regression" | "incomplete", "exit_code": 0 | 1 | 3, "headline": str,
     "baseline": SIDE, "current": SIDE, "gate": GateConfig as JSON,
     "checks": [{"cell_id", "metric": "accuracy" | "score:<name>" | "p50_latency_s" | "p95_latency_s"
                 | "p50_ttft_s" | "p95_ttft_s" | "cost_per_trial_usd",
                 "kind": "quality" | "latency" | "cost" | "load", "test": str, "n": int,
                 "baseline": float|null, "current": float|null,
                 "estimate": float|null,   # quality: current - baseline; latency/cost: current / baseline
                 "ci_low": float|null, "ci_high": float|null,   # 95% CI of the estimate
                 "p_value": float|null, "p_holm": float|null,   # McNemar / z-test; null for ratios
                 "limit": float,           # quality: tolerance (absolute); latency/cost: largest ratio
                 "verdict": "pass" | "regression" | "improvement" | "skipped", "message": str}],
     "flips": [{"cell_id", "item_id", "repeat", "direction": "right_to_wrong" | "wrong_to_right",
                "reference", "baseline_value", "current_value", "baseline_answer", "current_answer",
                "baseline_text", "current_text"}],          # right_to_wrong first; at most 200
     "flip_counts": {"right_to_wrong": int, "wrong_to_right": int, "shown": int},
     "pairing": {"matched", "only_baseline", "only_current": int, "only_baseline_examples",
                 "only_current_examples": [{"cell_id", "item_id", "repeat"}], "cells_only_baseline",
                 "cells_only_current": [str], "error_pairs": int},
     "problems": [str],   # why the result is incomplete (exit 3)
     "notes": [str]}      # e.g. that an unpaired comparison was all the baseline allowed
    SIDE = {"path", "kind": "run" | "summary", "suite", "status", "started_at", "git_commit",
            "harness_version", "targets": [str], "n_trials", "primary_scorer"}
"""

from __future__ import annotations

from pathlib import Path

from harness.compare.load import (
    IncompatibleRunsError,
    RunSide,
    check_compatible,
    completeness_problems,
    gate_of,
    load_side,
)
from harness.compare.model import Check, Comparison, Flip, Mode, Pairing
from harness.config import GateConfig
from harness.errors import ConfigError

__all__ = [
    "Check",
    "Comparison",
    "Flip",
    "IncompatibleRunsError",
    "Pairing",
    "compare_runs",
    "compare_sides",
    "gated_metrics",
    "load_current",
    "load_side",
]

DEFAULT_QUALITY = ("accuracy",)
DEFAULT_PERF = ("p50_latency_s", "p95_latency_s", "cost_per_trial_usd")
_OPTIONAL_PERF = ("p50_ttft_s", "p95_ttft_s")


def gated_metrics(gate: GateConfig) -> tuple[list[str], list[str]]:
    """(quality metrics, perf metrics): the defaults plus what `gate.metrics` names."""
    quality = list(DEFAULT_QUALITY)
    perf = list(DEFAULT_PERF)
    for name in gate.metrics:
        if name.startswith("score:") and name not in quality:
            quality.append(name)
        elif name in _OPTIONAL_PERF and name not in perf:
            perf.insert(-1, name)
        elif name == "max_rate_at_slo":  # load sweeps: harness.compare.sweep, from the summaries
            continue
        elif name not in quality and name not in perf:
            raise ConfigError(
                f"the gate cannot compare {name!r}",
                field=f"gate.metrics.{name}",
                allowed=[
                    "accuracy",
                    "score:<scorer>",
                    *DEFAULT_PERF[:-1],
                    *_OPTIONAL_PERF,
                    DEFAULT_PERF[-1],
                    "max_rate_at_slo",
                ],
            )
    return quality, perf


def compare_runs(current: Path, baseline: Path, *, gate: GateConfig | None = None) -> Comparison:
    """Compare a run directory with a baseline run directory or summary file.

    Raises IncompatibleRunsError (exit 2) when they measure different things; an incomplete or
    error-ridden side gives a Comparison whose exit_code is 3.
    """
    cur = load_current(current)
    return compare_sides(load_side(baseline, role="baseline"), cur, gate=gate)


def load_current(path: Path) -> RunSide:
    """The current side, which must be a run directory with records (the baseline may be a summary)."""
    side = load_side(path, role="current")
    if side.kind != "run":
        raise ConfigError(
            f"{path} has no records.jsonl; the current side must be a run directory", field="RUN_DIR"
        )
    return side


def compare_sides(baseline: RunSide, current: RunSide, *, gate: GateConfig | None = None) -> Comparison:
    """The comparison of two loaded sides (see compare_runs)."""
    from harness.compare.perf import perf_checks
    from harness.compare.quality import flips, paired_quality, unpaired_quality

    check_compatible(baseline, current)
    gate = gate if gate is not None else gate_of(current)
    quality_metrics, perf_metrics = gated_metrics(gate)
    mode: Mode = "paired" if baseline.kind == "run" else "unpaired"
    base_cells, cur_cells = baseline.cell_ids(), current.cell_ids()
    cells = [c for c in cur_cells if c in set(base_cells)]
    pairing = Pairing(
        cells_only_baseline=[c for c in base_cells if c not in set(cur_cells)],
        cells_only_current=[c for c in cur_cells if c not in set(base_cells)],
    )
    comparison = Comparison(
        mode=mode,
        suite=current.suite_name or baseline.suite_name or "",
        baseline=baseline.describe(),
        current=current.describe(),
        gate=gate,
        pairing=pairing,
    )
    comparison.problems += completeness_problems(baseline, "baseline", gate)
    comparison.problems += completeness_problems(current, "current", gate)
    if mode == "paired":
        shared = baseline.trials.keys() & current.trials.keys()
        pairing.matched = len(shared)
        pairing.only_baseline = sorted(baseline.trials.keys() - shared)
        pairing.only_current = sorted(current.trials.keys() - shared)
        for metric in quality_metrics:
            checks, error_pairs = paired_quality(baseline, current, cells, metric, gate)
            comparison.checks += checks
            pairing.error_pairs = error_pairs
        comparison.flips = flips(baseline, current, cells)
    else:
        comparison.notes.append(
            "unpaired: the baseline is a summary without records, so cells are compared as independent "
            "samples (weaker than a paired test); latency and cost ratios treat the baseline's values as exact"
        )
        for metric in quality_metrics:
            comparison.checks += unpaired_quality(baseline, current, cells, metric, gate)
    comparison.checks += perf_checks(baseline, current, cells, perf_metrics, gate)
    from harness.compare.sweep import sweep_checks

    comparison.checks += sweep_checks(baseline.summary, current.summary, gate)
    if pairing.only_baseline or pairing.only_current:
        comparison.notes.append(
            f"{len(pairing.only_baseline)} baseline and {len(pairing.only_current)} current trial(s) have no partner"
        )
    if pairing.error_pairs:
        comparison.notes.append(
            f"{pairing.error_pairs} matched pair(s) left out of quality tests: a side errored"
        )
    return comparison
