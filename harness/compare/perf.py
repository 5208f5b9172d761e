"""Latency and cost checks of a comparison: per cell, the ratio current / baseline of p50 and p95
end-to-end latency and of mean cost per trial, with a percentile-bootstrap 95% CI. A regression is a
ratio whose whole CI lies above the configured ratio. Pure numbers in, Checks out; no file access.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from harness.compare.load import RunSide, TrialRow
from harness.compare.model import Check, CheckKind, CheckVerdict
from harness.config import GateConfig
from harness.rundir.summary import Cell, Pct

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    FloatArray = npt.NDArray[np.float64]

RESAMPLES = 2000
SEED = 0
# Resample-matrix cells per chunk: bounds memory at ~32 MB whatever the run size.
_CHUNK_CELLS = 4_000_000
MIN_SAMPLES = 5

# metric -> (sample source, quantile; None = the mean)
SOURCES: dict[str, tuple[str, float | None]] = {
    "p50_latency_s": ("e2e_s", 0.50),
    "p95_latency_s": ("e2e_s", 0.95),
    "p50_ttft_s": ("ttft_s", 0.50),
    "p95_ttft_s": ("ttft_s", 0.95),
    "cost_per_trial_usd": ("cost", None),
}
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
    """Ratio checks for every perf metric and cell (metric-major order); paired when both sides have
    trials. Metrics of one sample source (p50 and p95 latency) share one set of resamples."""
    groups: dict[str, list[str]] = {}
    for metric in metrics:
        groups.setdefault(SOURCES[metric][0], []).append(metric)
    found: dict[tuple[str, str], Check] = {}
    if baseline.kind == "run":
        pairs: dict[str, list[tuple[TrialRow, TrialRow]]] = {cell: [] for cell in cells}
        for key in sorted(baseline.trials.keys() & current.trials.keys()):
            rows = pairs.get(key[0])
            rb, rc = baseline.trials[key], current.trials[key]
            if rows is not None and rb.ok and rc.ok:
                rows.append((rb, rc))
        for cell in cells:
            for source, group in groups.items():
                found.update(((c.metric, cell), c) for c in _paired(pairs[cell], cell, source, group, gate))
    else:
        for cell in cells:
            for source, group in groups.items():
                found.update(
                    ((c.metric, cell), c) for c in _unpaired(baseline, current, cell, source, group, gate)
                )
    return [found[(metric, cell)] for metric in metrics for cell in cells]


def _sample(row: TrialRow, source: str) -> float | None:
    if source == "cost":
        return row.cost_usd
    return row.latency_s if source == "e2e_s" else row.ttft_s


def _kind(metric: str) -> CheckKind:
    return "cost" if metric == COST_METRIC else "latency"


def _stats(samples: FloatArray, metrics: Sequence[str]) -> FloatArray:
    """Each metric's statistic over the last axis: shape (..., len(metrics))."""
    import numpy as np

    quantiles = [q for m in metrics if (q := SOURCES[m][1]) is not None]
    if len(quantiles) < len(metrics):
        return np.asarray(samples.mean(axis=-1), dtype=np.float64)[..., None]
    return np.moveaxis(np.quantile(samples, quantiles, axis=-1), 0, -1)


def _paired(
    pairs: Sequence[tuple[TrialRow, TrialRow]],
    cell: str,
    source: str,
    metrics: Sequence[str],
    gate: GateConfig,
) -> list[Check]:
    import numpy as np

    xs: list[float] = []
    ys: list[float] = []
    for rb, rc in pairs:
        vb, vc = _sample(rb, source), _sample(rc, source)
        if vb is not None and vc is not None:
            xs.append(vb)
            ys.append(vc)
    if len(xs) < MIN_SAMPLES:
        return [_skipped(cell, m, PAIRED_TEST, gate, f"{len(xs)} pairs with a {m} sample") for m in metrics]
    base = np.asarray(xs, dtype=np.float64)
    cur = np.asarray(ys, dtype=np.float64)
    b_points, c_points = _stats(base, metrics), _stats(cur, metrics)
    ratios = _bootstrap_ratios(base, cur, metrics, b_fixed=None)
    return [
        _verdict(cell, m, PAIRED_TEST, len(xs), float(b_points[i]), float(c_points[i]), ratios[:, i], gate)
        for i, m in enumerate(metrics)
    ]


def _unpaired(
    baseline: RunSide, current: RunSide, cell: str, source: str, metrics: Sequence[str], gate: GateConfig
) -> list[Check]:
    import numpy as np

    ys = [
        v
        for key, row in current.trials.items()
        if key[0] == cell and row.ok and (v := _sample(row, source)) is not None
    ]
    b_values = [_summary_value(baseline.summary_cell(cell), m) for m in metrics]
    checks: dict[str, Check] = {}
    usable = [m for m, b in zip(metrics, b_values, strict=True) if b is not None and b > 0.0]
    for m, b in zip(metrics, b_values, strict=True):
        if m not in usable:
            checks[m] = _skipped(
                cell, m, UNPAIRED_TEST, gate, f"no positive {m} in the baseline summary ({b})"
            )
        elif len(ys) < MIN_SAMPLES:
            checks[m] = _skipped(cell, m, UNPAIRED_TEST, gate, f"{len(ys)} current samples of {m}")
    if usable and len(ys) >= MIN_SAMPLES:
        cur = np.sort(np.asarray(ys, dtype=np.float64))
        fixed = np.asarray([b for b in b_values if b is not None and b > 0.0], dtype=np.float64)
        c_points = _stats(cur, usable)
        ratios = _bootstrap_ratios(fixed, cur, usable, b_fixed=fixed)
        for i, m in enumerate(usable):
            checks[m] = _verdict(
                cell, m, UNPAIRED_TEST, len(ys), float(fixed[i]), float(c_points[i]), ratios[:, i], gate
            )
    return [checks[m] for m in metrics]


def _bootstrap_ratios(
    base: FloatArray, cur: FloatArray, metrics: Sequence[str], *, b_fixed: FloatArray | None
) -> FloatArray:
    """Bootstrap distribution of stat(current) / stat(baseline), shape (RESAMPLES, len(metrics)).

    Paired (b_fixed None): the same resampled pair indices on both sides, so per-item effects (long
    prompts are slow on both) cancel. Unpaired: only the current side is resampled; the baseline's
    statistics `b_fixed` are taken as exact.
    """
    import numpy as np

    rng = np.random.default_rng(SEED)
    n = cur.size
    rows = max(1, _CHUNK_CELLS // n)
    width = 1 if any(SOURCES[m][1] is None for m in metrics) else len(metrics)
    out = np.empty((RESAMPLES, width), dtype=np.float64)
    for start in range(0, RESAMPLES, rows):
        stop = min(RESAMPLES, start + rows)
        idx = rng.integers(0, n, size=(stop - start, n))
        c_stat = _stats(cur[idx], metrics)
        b_stat = _stats(base[idx], metrics) if b_fixed is None else b_fixed[None, :]
        with np.errstate(divide="ignore", invalid="ignore"):
            out[start:stop] = c_stat / b_stat
    return out


def _verdict(
    cell: str,
    metric: str,
    test: str,
    n: int,
    b_point: float,
    c_point: float,
    ratios: FloatArray,
    gate: GateConfig,
) -> Check:
    import numpy as np

    kind = _kind(metric)
    limit = ratio_for(gate, cell, metric, kind)
    if b_point <= 0.0:
        return _skipped(cell, metric, test, gate, f"baseline {metric} is {b_point:g}: no ratio")
    finite = ratios[np.isfinite(ratios)]
    ratio = c_point / b_point
    low, high = (float(v) for v in np.quantile(finite, [0.025, 0.975])) if finite.size else (None, None)
    verdict: CheckVerdict = "pass"
    # A latency change under gate.latency_min_delta_s is the client machine's scheduling noise (a loaded
    # CI runner adds tens of milliseconds), not the service: never a regression, whatever its ratio.
    floor_s = gate.latency_min_delta_s
    below_floor = kind == "latency" and (abs(c_point - b_point) < floor_s or not gate.gate_latency)
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
        why = (
            f"above x{limit:g} but latency is not gated (gate.gate_latency: false)"
            if not gate.gate_latency
            else f"above x{limit:g} but the change is under the {floor_s * 1000:g} ms noise floor"
        )
    else:
        why = f"within x{limit:g}"
    message = (
        f"{metric} {b_point:.4g} {unit} -> {c_point:.4g} {unit} (x{ratio:.3f}, 95% CI {ci}, n={n}): {why}"
    )
    return Check(
        cell, metric, kind, test, n, b_point, c_point, ratio, low, high, None, None, limit, verdict, message
    )


def _summary_value(cell: Cell | None, metric: str) -> float | None:
    if cell is None:
        return None
    source, q = SOURCES[metric]
    if q is None:
        raw = cell.cost.per_trial_usd
    else:
        pct: Pct | None = getattr(cell.latency, source)
        raw = getattr(pct, f"p{round(q * 100)}") if pct is not None else None
    return float(raw) if isinstance(raw, int | float) else None


def _skipped(cell: str, metric: str, test: str, gate: GateConfig, why: str) -> Check:
    kind = _kind(metric)
    limit = ratio_for(gate, cell, metric, kind)
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
