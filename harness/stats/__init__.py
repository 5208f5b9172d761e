"""Pure statistics over a run's records and scores: frames, confidence intervals, percentiles, paired
comparisons, summary.json, and notebook access. pandas/numpy/scipy are imported inside functions, so
importing this package is cheap; it never sends a request or rewrites records.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from harness.stats.ci import (
        Stat,
        bootstrap_ci,
        cluster_bootstrap_ci,
        mean_stat,
        proportion_stat,
        wilson_ci,
    )
    from harness.stats.frames import METRIC_DEFINITIONS, itl_frame, records_frame, scores_frame
    from harness.stats.notebook import RunData, export_parquet, load_run, read_run_records, read_run_scores
    from harness.stats.paired import (
        PairedDiff,
        flipped_items,
        holm,
        main_effects,
        mcnemar_exact,
        paired_bootstrap_diff,
    )
    from harness.stats.percentiles import percentiles
    from harness.stats.summary import summarize

# Where each name lives, loaded on first use: the process that sends imports harness.stats.ci (for the
# gate's validation) and so this package, and must not pay for the notebook and summary modules (~40 ms).
_HOMES = {
    "harness.stats.ci": (
        "Stat",
        "bootstrap_ci",
        "cluster_bootstrap_ci",
        "mean_stat",
        "proportion_stat",
        "wilson_ci",
    ),
    "harness.stats.frames": ("METRIC_DEFINITIONS", "itl_frame", "records_frame", "scores_frame"),
    "harness.stats.notebook": (
        "RunData",
        "export_parquet",
        "load_run",
        "read_run_records",
        "read_run_scores",
    ),
    "harness.stats.paired": (
        "PairedDiff",
        "flipped_items",
        "holm",
        "main_effects",
        "mcnemar_exact",
        "paired_bootstrap_diff",
    ),
    "harness.stats.percentiles": ("percentiles",),
    "harness.stats.summary": ("summarize",),
}
_HOME_OF = {name: module for module, names in _HOMES.items() for name in names}


def __getattr__(name: str) -> Any:
    module = _HOME_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


__all__ = [
    "METRIC_DEFINITIONS",
    "PairedDiff",
    "RunData",
    "Stat",
    "bootstrap_ci",
    "cluster_bootstrap_ci",
    "export_parquet",
    "flipped_items",
    "holm",
    "itl_frame",
    "load_run",
    "main_effects",
    "mcnemar_exact",
    "mean_stat",
    "paired_bootstrap_diff",
    "percentiles",
    "proportion_stat",
    "read_run_records",
    "read_run_scores",
    "records_frame",
    "scores_frame",
    "summarize",
    "wilson_ci",
]
