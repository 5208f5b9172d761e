"""Pure statistics over a run's records and scores: frames, confidence intervals, percentiles, paired
comparisons, summary.json, and notebook access. pandas/numpy/scipy are imported inside functions, so
importing this package is cheap; it never sends a request or rewrites records.
"""

from __future__ import annotations

from harness.stats.ci import Stat, bootstrap_ci, cluster_bootstrap_ci, mean_stat, proportion_stat, wilson_ci
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
