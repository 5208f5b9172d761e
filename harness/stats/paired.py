"""Paired comparisons on shared items: mean difference with a paired bootstrap CI, exact McNemar,
Holm correction, flipped items, and each swept axis's main effect. Pure functions over frames of
per-sample metric values (columns cell_id, item_id, value); nothing here reads a run directory.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from harness.records import Score
from harness.stats.ci import DEFAULT_CONFIDENCE, DEFAULT_RESAMPLES, DEFAULT_SEED, bootstrap_means

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt
    import pandas as pd

# With more cells than this, comparing every pair is noise (and quadratic): each cell is compared
# with the first (default) cell and with the best cell instead.
MAX_ALL_PAIRS_CELLS = 10


@dataclass(frozen=True, slots=True)
class PairedDiff:
    """mean(a - b) over the pairs, its percentile-bootstrap CI and bootstrap standard error."""

    diff: float | None
    ci_low: float | None
    ci_high: float | None
    se: float | None
    n_pairs: int


def paired_bootstrap_diff(
    a: Sequence[float] | npt.NDArray[np.float64],
    b: Sequence[float] | npt.NDArray[np.float64],
    *,
    confidence: float = DEFAULT_CONFIDENCE,
    n_resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
) -> PairedDiff:
    """Difference of means of aligned pairs (a[i], b[i]); pairs with a NaN side are dropped.

    Resamples pairs, not the two sides separately, so the item-to-item variation common to both
    sides cancels out, which is why a paired test sees differences an unpaired one cannot.
    """
    import numpy as np

    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be strictly between 0 and 1, got {confidence!r}")
    x = np.asarray(a, dtype=np.float64)
    y = np.asarray(b, dtype=np.float64)
    if x.shape != y.shape:
        raise ValueError(f"a and b must be aligned: lengths {x.size} and {y.size}")
    keep = ~(np.isnan(x) | np.isnan(y))
    d = np.sort(x[keep] - y[keep])
    if d.size == 0:
        return PairedDiff(None, None, None, None, 0)
    point = float(d.sum() / d.size)
    dist = bootstrap_means(d, n_resamples=n_resamples, seed=seed)
    alpha = (1.0 - confidence) / 2.0
    low, high = np.quantile(dist, [alpha, 1.0 - alpha])
    se = float(np.std(dist, ddof=1)) if dist.size > 1 else 0.0
    return PairedDiff(point, float(low), float(high), se, int(d.size))


def mcnemar_exact(b01: int, b10: int) -> float:
    """Two-sided exact McNemar p-value: the discordant pairs against Binomial(b01 + b10, 1/2).

    p = min(1, 2 * P[X <= min(b01, b10)]); 1.0 when there is no discordant pair.
    """
    from scipy.special import bdtr  # the binomial CDF, without importing scipy.stats

    if b01 < 0 or b10 < 0:
        raise ValueError(f"discordant counts must be >= 0, got b01={b01!r}, b10={b10!r}")
    n = b01 + b10
    if n == 0:
        return 1.0
    return float(min(1.0, 2.0 * bdtr(min(b01, b10), n, 0.5)))


def holm(pvalues: Sequence[float]) -> list[float]:
    """Holm-Bonferroni adjusted p-values, in the input order (step-down, monotone, capped at 1)."""
    m = len(pvalues)
    for p in pvalues:
        if not 0.0 <= p <= 1.0 or math.isnan(p):
            raise ValueError(f"p-values must lie in [0, 1], got {p!r}")
    order = sorted(range(m), key=lambda i: (pvalues[i], i))
    adjusted = [0.0] * m
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * pvalues[i]))
        adjusted[i] = running
    return adjusted


def sample_values(scores: pd.DataFrame) -> pd.Series:
    """Metric value of each score: None counts as 0 (no answer, truncated, error) except `invalid`
    (an unparseable judge reply), which is NaN so that it is excluded."""
    import numpy as np

    value = scores["value"].astype(np.float64).fillna(0.0)
    return value.mask(scores["outcome"].eq("invalid"))


def _pick_scorer(frame: pd.DataFrame, scorer: str | None) -> pd.DataFrame:
    if scorer is None:
        names = list(dict.fromkeys(frame["scorer"]))
        if len(names) > 1:
            raise ValueError(f"several scorers in the scores ({', '.join(names)}): pass scorer=")
        return frame
    return frame[frame["scorer"] == scorer]


def _as_frame(scores: pd.DataFrame | Sequence[Score]) -> pd.DataFrame:
    import pandas as pd

    if isinstance(scores, pd.DataFrame):
        return scores
    from harness.stats.frames import scores_frame

    return scores_frame(scores)


def flipped_items(
    scores_a: pd.DataFrame | Sequence[Score],
    scores_b: pd.DataFrame | Sequence[Score],
    *,
    scorer: str | None = None,
    on: Sequence[str] = ("cell_id", "item_id"),
) -> pd.DataFrame:
    """Items whose right/wrong verdict differs between a and b (two runs, or two cells with on=("item_id",)).

    An item is right when more than half of its samples are right (with one sample: when it is).
    Returns columns *on, mean_a, mean_b, change ("lost": right in a, wrong in b; "gained": the
    reverse), sorted by `on`. Only items present in both are compared.
    """
    import numpy as np

    keys = list(on)
    per_side = []
    for side in (_as_frame(scores_a), _as_frame(scores_b)):
        frame = _pick_scorer(side, scorer).copy()
        frame["_v"] = sample_values(frame)
        per_side.append(frame.dropna(subset=["_v"]).groupby(keys, sort=True)["_v"].mean())
    joined = per_side[0].rename("mean_a").to_frame().join(per_side[1].rename("mean_b"), how="inner")
    right_a = joined["mean_a"] > 0.5
    right_b = joined["mean_b"] > 0.5
    out = joined[right_a != right_b].reset_index()
    out["change"] = np.where(out["mean_a"] > 0.5, "lost", "gained")
    return out.sort_values(keys, kind="stable").reset_index(drop=True)


def item_matrix(values: pd.DataFrame) -> pd.DataFrame:
    """Mean value per item (rows, sorted) and cell (columns), NaN where a cell lacks an item."""
    frame = values.dropna(subset=["value"])
    return frame.groupby(["item_id", "cell_id"], sort=True)["value"].mean().unstack("cell_id")


def compare_cells(
    matrix: pd.DataFrame, cell_a: str, cell_b: str, *, binary: bool, metric: str = "accuracy"
) -> dict[str, Any]:
    """One entry of summary.json `comparisons`: a minus b on the items both cells have."""
    import numpy as np

    a = matrix[cell_a].to_numpy(dtype=np.float64)
    b = matrix[cell_b].to_numpy(dtype=np.float64)
    both = ~(np.isnan(a) | np.isnan(b))
    result = paired_bootstrap_diff(a[both], b[both])
    right_a = a[both] > 0.5
    right_b = b[both] > 0.5
    b01 = int(np.count_nonzero(~right_a & right_b))
    b10 = int(np.count_nonzero(right_a & ~right_b))
    return {
        "a": cell_a,
        "b": cell_b,
        "metric": metric,
        "n_pairs": result.n_pairs,
        "diff": result.diff,
        "ci_low": result.ci_low,
        "ci_high": result.ci_high,
        "mcnemar_p": mcnemar_exact(b01, b10) if binary and result.n_pairs else None,
        "p_holm": None,
        "b01": b01,
        "b10": b10,
    }


def comparison_pairs(cell_ids: Sequence[str], best: str | None) -> list[tuple[str, str]]:
    """Which cells to compare: every pair for small grids, else each cell against the first
    (default) cell and against the best cell, so a big grid costs O(cells) tests, not O(cells^2)."""
    ids = list(cell_ids)
    if len(ids) <= MAX_ALL_PAIRS_CELLS:
        return [(ids[i], ids[j]) for i in range(len(ids)) for j in range(i + 1, len(ids))]
    pairs: list[tuple[str, str]] = []
    seen: set[frozenset[str]] = set()
    for anchor in (ids[0], best):
        if anchor is None:
            continue
        for other in ids:
            key = frozenset((anchor, other))
            if other != anchor and key not in seen:
                seen.add(key)
                pairs.append((anchor, other))
    return pairs


def apply_holm(comparisons: list[dict[str, Any]]) -> None:
    """Fill `p_holm` of each comparison that has a McNemar p, correcting across all of them."""
    tested = [c for c in comparisons if c["mcnemar_p"] is not None]
    for entry, adjusted in zip(tested, holm([c["mcnemar_p"] for c in tested]), strict=True):
        entry["p_holm"] = adjusted


def main_effects(
    values: pd.DataFrame,
    cells: Mapping[str, Mapping[str, Any]],
    axes: Sequence[str],
    *,
    value_order: Callable[[str, Any], Any] | None = None,
    confidence: float = DEFAULT_CONFIDENCE,
    n_resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
) -> dict[str, list[dict[str, Any]]]:
    """For each axis and value: the metric averaged over the other axes, with a bootstrap CI over items.

    Each item's value is first averaged over the cells having that axis value (every cell weighs
    the same), then the mean over items is bootstrapped by resampling items. `n` counts the
    samples (scored results) behind the entry. `values` has columns cell_id, item_id, value.
    """
    import numpy as np

    matrix = item_matrix(values)
    counts = values.dropna(subset=["value"]).groupby("cell_id")["value"].size()
    alpha = (1.0 - confidence) / 2.0
    effects: dict[str, list[dict[str, Any]]] = {}
    for axis in axes:
        by_value: dict[str, tuple[Any, list[str]]] = {}
        for cell_id, cell in cells.items():
            if axis in cell and cell_id in matrix.columns:
                by_value.setdefault(repr(cell[axis]), (cell[axis], []))[1].append(cell_id)
        entries = []
        for raw, members in by_value.values():
            sub = matrix[sorted(members)].to_numpy(dtype=np.float64)
            has = ~np.isnan(sub)
            n_cells = has.sum(axis=1)
            item_means = np.where(has, sub, 0.0).sum(axis=1)[n_cells > 0] / n_cells[n_cells > 0]
            n = int(sum(int(counts.get(c, 0)) for c in members))
            if item_means.size == 0:
                entries.append({"value": raw, "mean": None, "ci_low": None, "ci_high": None, "n": n})
                continue
            item_means.sort()
            dist = bootstrap_means(item_means, n_resamples=n_resamples, seed=seed)
            low, high = np.quantile(dist, [alpha, 1.0 - alpha])
            entries.append(
                {
                    "value": raw,
                    "mean": float(item_means.sum() / item_means.size),
                    "ci_low": float(low),
                    "ci_high": float(high),
                    "n": n,
                }
            )
        if value_order is not None:
            entries.sort(key=lambda e: value_order(axis, e["value"]))
        effects[axis] = entries
    return effects
