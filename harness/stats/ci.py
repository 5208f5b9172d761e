"""Confidence intervals for means and proportions: Wilson, percentile bootstrap, cluster bootstrap.

Pure functions over numbers (numpy/scipy only); no knowledge of records or summaries. Every bootstrap
is seeded and independent of the order of its input, so a summary recomputed from a copied run
directory is identical to the byte.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    FloatArray = npt.NDArray[np.float64]

StatMethod = Literal["wilson", "bootstrap", "cluster-bootstrap"]

DEFAULT_CONFIDENCE = 0.95
DEFAULT_RESAMPLES = 2000
DEFAULT_SEED = 0
# Below this many distinct (sum, count) units, resampling is drawn as multinomial counts over the
# distinct units: the same distribution as resampling indices, in O(resamples x distinct) time.
_MULTINOMIAL_MAX_DISTINCT = 256
# Cap on resample-matrix cells per chunk when indices are drawn (bounds memory at ~32 MB).
_CHUNK_CELLS = 4_000_000


@dataclass(frozen=True, slots=True)
class Stat:
    """A mean with its 95% CI and standard error; `method` says how both were computed.

    wilson: Wilson score interval; se = sqrt(p(1-p)/n), the binomial standard error.
    bootstrap: percentile bootstrap of the mean over independent samples; se = SD of the resampled means.
    cluster-bootstrap: the same, resampling whole clusters (items) with all their samples.
    """

    mean: float | None
    ci_low: float | None
    ci_high: float | None
    se: float | None
    n: int
    method: StatMethod

    def to_dict(self) -> dict[str, Any]:
        return {
            "mean": self.mean,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
            "se": self.se,
            "n": self.n,
            "method": self.method,
        }


def _check_confidence(confidence: float) -> None:
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be strictly between 0 and 1, got {confidence!r}")


def _z(confidence: float) -> float:
    # statistics.NormalDist: exact to double precision, and no scipy.stats import (~1 s cold).
    from statistics import NormalDist

    return NormalDist().inv_cdf(0.5 + confidence / 2.0)


def wilson_ci(successes: float, n: int, *, confidence: float = DEFAULT_CONFIDENCE) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion successes/n; (nan, nan) when n == 0."""
    _check_confidence(confidence)
    if n < 0 or successes < 0 or successes > n:
        raise ValueError(f"need 0 <= successes <= n, got successes={successes!r}, n={n!r}")
    if n == 0:
        return (math.nan, math.nan)
    z = _z(confidence)
    p = successes / n
    denom = 1.0 + z * z / n
    centre = (p + z * z / (2.0 * n)) / denom
    half = z * math.sqrt(p * (1.0 - p) / n + z * z / (4.0 * n * n)) / denom
    # Algebraically the bound is exactly 0 at k=0 and 1 at k=n; say so rather than keep rounding noise.
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == n else min(1.0, centre + half)
    return (low, high)


def proportion_stat(successes: float, n: int, *, confidence: float = DEFAULT_CONFIDENCE) -> Stat:
    """Mean, Wilson CI and binomial standard error of successes/n (all None when n == 0)."""
    if n == 0:
        return Stat(None, None, None, None, 0, "wilson")
    low, high = wilson_ci(successes, n, confidence=confidence)
    p = successes / n
    return Stat(p, low, high, math.sqrt(p * (1.0 - p) / n), n, "wilson")


def bootstrap_means(
    sums: Sequence[float] | FloatArray,
    counts: Sequence[float] | FloatArray | None = None,
    *,
    n_resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
) -> FloatArray:
    """Bootstrap distribution of a ratio-of-sums mean: resample units, return sum(sums)/sum(counts).

    With `counts` None every unit counts once (a plain mean). Units are sorted first, so the result
    does not depend on the input order. Vectorised: no Python loop over resamples.
    """
    import numpy as np

    s = np.asarray(sums, dtype=np.float64)
    c = np.ones_like(s) if counts is None else np.asarray(counts, dtype=np.float64)
    if s.shape != c.shape or s.ndim != 1:
        raise ValueError("sums and counts must be 1-D arrays of the same length")
    if s.size == 0:
        return np.empty(0, dtype=np.float64)
    if n_resamples < 1:
        raise ValueError(f"n_resamples must be >= 1, got {n_resamples!r}")
    rng = np.random.default_rng(seed)
    units = np.stack([s, c], axis=1)
    distinct, freq = np.unique(units, axis=0, return_counts=True)
    n = s.size
    if len(distinct) <= _MULTINOMIAL_MAX_DISTINCT:
        draws = rng.multinomial(n, freq / n, size=n_resamples).astype(np.float64)
        num = draws @ distinct[:, 0]
        den = draws @ distinct[:, 1]
    else:
        order = np.lexsort((c, s))
        s, c = s[order], c[order]
        num = np.empty(n_resamples, dtype=np.float64)
        den = np.empty(n_resamples, dtype=np.float64)
        rows = max(1, _CHUNK_CELLS // n)
        for start in range(0, n_resamples, rows):
            stop = min(n_resamples, start + rows)
            idx = rng.integers(0, n, size=(stop - start, n))
            num[start:stop] = s[idx].sum(axis=1)
            den[start:stop] = c[idx].sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        out: FloatArray = num / den
    return out


def _stat_from_distribution(
    point: float, dist: FloatArray, n: int, confidence: float, method: StatMethod
) -> Stat:
    import numpy as np

    finite = dist[np.isfinite(dist)]
    if finite.size == 0:
        return Stat(point, None, None, None, n, method)
    alpha = (1.0 - confidence) / 2.0
    low, high = np.quantile(finite, [alpha, 1.0 - alpha])
    se = float(np.std(finite, ddof=1)) if finite.size > 1 else 0.0
    return Stat(point, float(low), float(high), se, n, method)


def bootstrap_ci(
    values: Sequence[float] | FloatArray,
    *,
    confidence: float = DEFAULT_CONFIDENCE,
    n_resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
) -> Stat:
    """Mean of independent values with a percentile-bootstrap CI; NaNs are dropped first."""
    import numpy as np

    _check_confidence(confidence)
    x = np.asarray(values, dtype=np.float64)
    x = x[~np.isnan(x)]
    if x.size == 0:
        return Stat(None, None, None, None, 0, "bootstrap")
    point = float(np.sort(x).sum() / x.size)
    dist = bootstrap_means(x, n_resamples=n_resamples, seed=seed)
    return _stat_from_distribution(point, dist, int(x.size), confidence, "bootstrap")


def _cluster_codes(clusters: Sequence[object] | npt.NDArray[Any], size: int) -> npt.NDArray[np.intp]:
    import numpy as np

    labels = np.asarray(clusters)
    if labels.shape != (size,):
        raise ValueError(f"values and clusters differ in length: {size} != {len(labels)}")
    if labels.dtype.kind not in "iu":
        labels = labels.astype(str)
    codes: npt.NDArray[np.intp] = np.unique(labels, return_inverse=True)[1].reshape(-1)
    return codes


def cluster_bootstrap_ci(
    values: Sequence[float] | FloatArray,
    clusters: Sequence[object] | npt.NDArray[Any],
    *,
    confidence: float = DEFAULT_CONFIDENCE,
    n_resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
) -> Stat:
    """Mean of all values with a CI that resamples whole clusters (e.g. the items of a data set).

    Use it when a cluster holds several correlated samples (numberResults > 1, repeats): an
    item-level resample keeps their correlation, which an i.i.d. interval would ignore. `n` is the
    number of values; the point estimate is the plain mean of the values.
    """
    import numpy as np

    _check_confidence(confidence)
    x = np.asarray(values, dtype=np.float64)
    codes = _cluster_codes(clusters, x.size)
    keep = ~np.isnan(x)
    x, codes = x[keep], codes[keep]
    if x.size == 0:
        return Stat(None, None, None, None, 0, "cluster-bootstrap")
    sums = np.asarray(np.bincount(codes, weights=x), dtype=np.float64)
    counts = np.bincount(codes).astype(np.float64)
    present = counts > 0
    sums, counts = sums[present], counts[present]
    point = float(np.sort(x).sum() / x.size)
    dist = bootstrap_means(sums, counts, n_resamples=n_resamples, seed=seed)
    return _stat_from_distribution(point, dist, int(x.size), confidence, "cluster-bootstrap")


def mean_stat(
    values: Sequence[float] | FloatArray,
    clusters: Sequence[object] | npt.NDArray[Any] | None = None,
    *,
    confidence: float = DEFAULT_CONFIDENCE,
    n_resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
) -> Stat:
    """The right interval for a metric: cluster bootstrap when a cluster repeats, else Wilson for
    0/1 values, else the percentile bootstrap."""
    import numpy as np

    x = np.asarray(values, dtype=np.float64)
    keep = ~np.isnan(x)
    if clusters is not None:
        codes = _cluster_codes(clusters, x.size)[keep]
        if np.unique(codes).size < codes.size:
            return cluster_bootstrap_ci(
                x, clusters, confidence=confidence, n_resamples=n_resamples, seed=seed
            )
    x = x[keep]
    if x.size and bool(np.all((x == 0.0) | (x == 1.0))):
        return proportion_stat(float(x.sum()), int(x.size), confidence=confidence)
    return bootstrap_ci(x, confidence=confidence, n_resamples=n_resamples, seed=seed)
