"""Latency and throughput distributions: the PCT block of summary.json (p50/p90/p95/p99, mean, max, n).

Pure numpy over plain arrays; knows nothing of records. Percentiles use numpy's default "linear"
interpolation (type 7 of Hyndman & Fan, the same as pandas and Excel's PERCENTILE.INC).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

PERCENTILES: tuple[float, ...] = (50.0, 90.0, 95.0, 99.0)

PctDict = dict[str, "float | int | None"]


def _key(q: float) -> str:
    return f"p{q:g}".replace(".", "_")


def percentiles(
    values: Sequence[float | None] | npt.NDArray[np.float64], qs: Sequence[float] = PERCENTILES
) -> PctDict:
    """{"p50", "p90", "p95", "p99", "mean", "max", "n"} of the finite values; None when there are none.

    None and NaN values are dropped first (a request that never produced a first token has no TTFT).
    Keys for other quantiles follow the same pattern: 99.9 -> "p99_9".
    """
    import numpy as np

    for q in qs:
        if not 0.0 <= q <= 100.0:
            raise ValueError(f"percentile must be within [0, 100], got {q!r}")
    if isinstance(values, np.ndarray):
        x = np.asarray(values, dtype=np.float64)
    else:
        x = np.asarray([np.nan if v is None else v for v in values], dtype=np.float64)
    x = x[np.isfinite(x)]
    out: PctDict = {}
    if x.size == 0:
        out.update({_key(q): None for q in qs})
        out.update({"mean": None, "max": None, "n": 0})
        return out
    x.sort()
    points = np.percentile(x, list(qs))
    out.update({_key(q): float(v) for q, v in zip(qs, points, strict=True)})
    out.update({"mean": float(x.sum() / x.size), "max": float(x[-1]), "n": int(x.size)})
    return out
