"""Latency and cost checks of a comparison: per cell, the ratio current / baseline of p50 and p95
end-to-end latency and of mean cost per trial, with a percentile-bootstrap 95% CI. A regression is a
ratio whose whole CI lies above the configured ratio. Pure numbers in, Checks out; no file access.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from harness.compare.load import RunSide, TrialRow
from harness.compare.model import Check, CheckKind, CheckVerdict
from harness.config import GateConfig

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    FloatArray = npt.NDArray[np.float64]

RESAMPLES = 2000
SEED = 0
# Resample-matrix cells per chunk: bounds memory at ~32 MB whatever the run size.
_CHUNK_CELLS = 4_000_000
MIN_SAMPLES = 5
# A latency change smaller than this is the client machine's scheduling noise (a loaded CI runner
# adds tens of milliseconds), not the service: it is never a regression, whatever its ratio.
LATENCY_NOISE_FLOOR_S = 0.05

# metric -> (kind, statistic over one side's samples, summary path used when a side has no samples)
LATENCY_METRICS: dict[str, tuple[str, float]] = {
    "p50_latency_s": ("e2e_s", 0.50),
    "p95_latency_s": ("e2e_s", 0.95),
}
TTFT_METRICS: dict[str, tuple[str, float]] = {"p50_ttft_s": ("ttft_s", 0.50), "p95_ttft_s": ("ttft_s", 0.95)}
COST_METRIC = "cost_per_trial_usd"
PAIRED_TEST = "paired bootstrap ratio CI"
UNPAIRED_TEST = "unpaired: bootstrap of current, baseline from its summary"


def ratio_for(gate: GateConfig, cell_id: str, metric: str, kind: CheckKind) -> float:
    """Per-cell override, else per-metric override, else latency_ratio / cost_ratio."""
    for override in (gate.cells.get(cell_id), gate.metrics.get(metric)):
        if override is not None and override.ratio is not None:
            return override.ratio
    return gate.cost_ratio if kind == "cost" else gate.latency_ratio


def perf_checks(
    baseline: RunSide, current: RunSide, cells: Sequence[str], metrics: Sequence[str], gate: GateConfig
) -> list[Check]:
    """Ratio checks for every cell and perf metric; paired when both sides have trials."""
    checks: list[Check] = []
    if baseline.kind == "run":
        pairs: dict[str, list[tuple[TrialRow, TrialRow]]] = {cell: [] for cell in cells}
        for key in sorted(baseline.trials.keys() & current.trials.keys()):
            rows = pairs.get(key[0])
            rb, rc = baseline.trials[key], current.trials[key]
            if rows is not None and rb.ok and rc.ok:
                rows.append((rb, rc))
        for metric in metrics:
            checks.extend(_paired(pairs[cell], cell, metric, gate) for cell in cells)
    else:
        for metric in metrics:
            checks.extend(_unpaired(baseline, current, cell, metric, gate) for cell in cells)
    return checks


def _sample(row: TrialRow, metric: str) -> float | None:
    if metric == COST_METRIC:
        return row.cost_usd
    field = {**LATENCY_METRICS, **TTFT_METRICS}[metric][0]
    return row.latency_s if field == "e2e_s" else row.ttft_s


def _kind(metric: str) -> CheckKind:
    return "cost" if metric == COST_METRIC else "latency"


def _statistic(metric: str) -> Callable[[FloatArray], FloatArray]:
    """The statistic of each resample row (axis 1): a quantile for latency, the mean for cost."""
    import numpy as np

    if metric == COST_METRIC:
        return lambda m: np.asarray(m.mean(axis=-1), dtype=np.float64)
    q = {**LATENCY_METRICS, **TTFT_METRICS}[metric][1]
    return lambda m: np.asarray(np.quantile(m, q, axis=-1), dtype=np.float64)


def _paired(pairs: Sequence[tuple[TrialRow, TrialRow]], cell: str, metric: str, gate: GateConfig) -> Check:
    import numpy as np

    kind = _kind(metric)
    limit = ratio_for(gate, cell, metric, kind)
    xs: list[float] = []
    ys: list[float] = []
    for rb, rc in pairs:
        vb, vc = _sample(rb, metric), _sample(rc, metric)
        if vb is not None and vc is not None:
            xs.append(vb)
            ys.append(vc)
    if len(xs) < MIN_SAMPLES:
        return _skipped(cell, metric, kind, PAIRED_TEST, limit, f"{len(xs)} pairs with a {metric} sample")
    base = np.asarray(xs, dtype=np.float64)
    cur = np.asarray(ys, dtype=np.float64)
    stat = _statistic(metric)
    b_point, c_point = float(stat(base)), float(stat(cur))
    if b_point <= 0.0:
        return _skipped(cell, metric, kind, PAIRED_TEST, limit, f"baseline {metric} is {b_point:g}: no ratio")
    ratios = _bootstrap_ratio(base, cur, stat, paired=True)
    return _verdict(cell, metric, kind, PAIRED_TEST, len(xs), b_point, c_point, ratios, limit)


def _unpaired(baseline: RunSide, current: RunSide, cell: str, metric: str, gate: GateConfig) -> Check:
    import numpy as np

    kind = _kind(metric)
    limit = ratio_for(gate, cell, metric, kind)
    b_point = _summary_value(baseline.summary_cell(cell), metric)
    if b_point is None or b_point <= 0.0:
        return _skipped(
            cell, metric, kind, UNPAIRED_TEST, limit, f"no positive {metric} in the baseline summary"
        )
    ys = [
        v
        for key, row in current.trials.items()
        if key[0] == cell and row.ok and (v := _sample(row, metric)) is not None
    ]
    if len(ys) < MIN_SAMPLES:
        return _skipped(cell, metric, kind, UNPAIRED_TEST, limit, f"{len(ys)} current samples of {metric}")
    cur = np.sort(np.asarray(ys, dtype=np.float64))
    stat = _statistic(metric)
    ratios = _bootstrap_ratio(np.full(1, b_point), cur, stat, paired=False)
    return _verdict(cell, metric, kind, UNPAIRED_TEST, len(ys), b_point, float(stat(cur)), ratios, limit)


def _bootstrap_ratio(
    base: FloatArray, cur: FloatArray, stat: Callable[[FloatArray], FloatArray], *, paired: bool
) -> FloatArray:
    """Bootstrap distribution of stat(current) / stat(baseline).

    Paired: the same resampled pair indices on both sides, so per-item effects (long prompts are slow
    on both) cancel. Unpaired: only the current side is resampled; the baseline is taken as exact.
    """
    import numpy as np

    rng = np.random.default_rng(SEED)
    n = cur.size
    rows = max(1, _CHUNK_CELLS // n)
    out = np.empty(RESAMPLES, dtype=np.float64)
    b_fixed = float(stat(base)) if not paired else 0.0
    for start in range(0, RESAMPLES, rows):
        stop = min(RESAMPLES, start + rows)
        idx = rng.integers(0, n, size=(stop - start, n))
        c_stat = stat(cur[idx])
        b_stat = stat(base[idx]) if paired else np.full(stop - start, b_fixed)
        with np.errstate(divide="ignore", invalid="ignore"):
            out[start:stop] = c_stat / b_stat
    return out


def _verdict(
    cell: str,
    metric: str,
    kind: CheckKind,
    test: str,
    n: int,
    b_point: float,
    c_point: float,
    ratios: FloatArray,
    limit: float,
) -> Check:
    import numpy as np

    finite = ratios[np.isfinite(ratios)]
    ratio = c_point / b_point
    low, high = (float(v) for v in np.quantile(finite, [0.025, 0.975])) if finite.size else (None, None)
    verdict: CheckVerdict = "pass"
    below_floor = kind == "latency" and abs(c_point - b_point) < LATENCY_NOISE_FLOOR_S
    if low is not None and low > limit and not below_floor:
        verdict = "regression"
    elif high is not None and high < 1.0 / limit and not below_floor:
        verdict = "improvement"
    unit = "USD" if kind == "cost" else "s"
    ci = "n/a" if low is None or high is None else f"[{low:.3f}, {high:.3f}]"
    if verdict == "regression":
        why = f"the whole CI is above x{limit:g}"
    elif verdict == "improvement":
        why = "improved"
    elif below_floor and low is not None and low > limit:
        why = f"above x{limit:g} but the change is under the {LATENCY_NOISE_FLOOR_S * 1000:g} ms noise floor"
    else:
        why = f"within x{limit:g}"
    message = (
        f"{metric} {b_point:.4g} {unit} -> {c_point:.4g} {unit} (x{ratio:.3f}, 95% CI {ci}, n={n}): {why}"
    )
    return Check(
        cell, metric, kind, test, n, b_point, c_point, ratio, low, high, None, None, limit, verdict, message
    )


def _summary_value(cell: Mapping[str, Any] | None, metric: str) -> float | None:
    if cell is None:
        return None
    if metric == COST_METRIC:
        raw = (cell.get("cost") or {}).get("per_trial_usd")
    else:
        field, q = {**LATENCY_METRICS, **TTFT_METRICS}[metric]
        raw = ((cell.get("latency") or {}).get(field) or {}).get(f"p{round(q * 100)}")
    return float(raw) if isinstance(raw, int | float) else None


def _skipped(cell: str, metric: str, kind: CheckKind, test: str, limit: float, why: str) -> Check:
    return Check(
        cell,
        metric,
        kind,
        test,
        0,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        limit,
        "skipped",
        f"skipped: {why}",
    )
