"""Multi-sample metrics per pool of samples of the same item: pass@k, maj@k, pass^k and answer
diversity, from numberResults, repeats and a seed axis. Calls the estimators in
harness.scoring.metrics; it does not re-implement them, and it does not choose which samples pool
(summary.py passes the pool id of each sample).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from harness.stats.ci import mean_stat

if TYPE_CHECKING:
    import pandas as pd

MULTI_SAMPLE_METRICS = ("pass@k", "maj@k", "pass^k", "diversity")


def choose_k(samples_per_item: Sequence[int]) -> int | None:
    """k = the fewest samples any item of the pool has, among items with at least two; None when no
    item has two. Items with fewer than k samples are left out of the multi-sample metrics."""
    counts = [n for n in samples_per_item if n >= 2]
    return min(counts) if counts else None


def pool_metrics(samples: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """Multi-sample metrics of one pool (the samples of one cell, or of cells differing only in seed).

    `samples` has columns item_id, value (NaN = excluded), outcome, extracted, and the sort columns
    seed, repeat, result_index, trial_key. pass@k and pass^k use the unbiased estimators over all n
    samples of an item (c = its correct ones); maj@k and diversity use its first k samples in
    (seed, repeat, result_index) order; diversity is distinct extracted answers / k. Each metric is a
    mean over items, with a CI over items; each STAT also says its `k` (summary.py adds what was pooled).
    """
    valid = samples[samples["value"].notna()]
    if not valid["item_id"].duplicated().any():
        return {}  # one sample per item (the usual case): nothing to pool, and no sort to pay for
    valid = valid.sort_values(["item_id", "seed", "repeat", "result_index", "trial_key"], kind="stable")
    groups = valid.groupby("item_id", sort=True)
    k = choose_k([int(n) for n in groups.size()])
    if k is None:
        return {}
    from harness.scoring.metrics import answer_diversity, majority_correct, pass_at_k, pass_hat_k

    pass_k: list[float] = []
    maj_k: list[float] = []
    all_k: list[float] = []
    diversity: list[float] = []
    for _, item in groups:
        n = len(item)
        if n < k:
            continue
        correct = (item["outcome"] == "correct").tolist()
        c = sum(correct)
        pass_k.append(float(pass_at_k(n, c, k)))
        all_k.append(float(pass_hat_k(n, c, k)))
        first = [None if a is None or a != a else str(a) for a in item["extracted"].iloc[:k]]
        maj_k.append(1.0 if majority_correct(first, correct[:k]) else 0.0)
        diversity.append(answer_diversity(first).distinct_ratio)
    out: dict[str, dict[str, Any]] = {}
    for name, values in (("pass@k", pass_k), ("maj@k", maj_k), ("pass^k", all_k), ("diversity", diversity)):
        stat = mean_stat(values).to_dict()
        stat["k"] = k
        out[name] = stat
    return out
