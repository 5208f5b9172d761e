"""Decides the quality figures of a run and prepares their data: the metric against each swept axis,
heatmaps, main effects, trade-offs against cost and latency. Owns the choices (which axis gets a line
per value, when summary cells suffice and when results are pooled); the drawing is in `figures.py`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from harness.report import figures, tables
from harness.report.cells import CellRef, dig, num, stat
from harness.report.context import Figure, Section
from harness.report.formatting import fmt_value, is_ratio_metric
from harness.report.rundata import AXIS_PREFIX, RunFiles, axis_key

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

MAX_HEATMAPS = 3
_Z = 1.959963984540054


def mean_ci(values: np.ndarray) -> tuple[float, float, float]:
    """Mean with a 95% interval: Wilson for 0/1 values, normal approximation otherwise."""
    import numpy as np

    n = values.size
    if n == 0:
        return math.nan, math.nan, math.nan
    mean = float(values.mean())
    if np.isin(values, (0.0, 1.0)).all():
        denom = 1 + _Z**2 / n
        centre = (mean + _Z**2 / (2 * n)) / denom
        half = _Z * math.sqrt(mean * (1 - mean) / n + _Z**2 / (4 * n * n)) / denom
        return mean, max(0.0, centre - half), min(1.0, centre + half)
    half = _Z * float(values.std(ddof=1)) / math.sqrt(n) if n > 1 else 0.0
    return mean, mean - half, mean + half


def metric_frame(results: pd.DataFrame) -> pd.DataFrame:
    """Results with `metric`: the primary value, no_answer/truncated/error as 0, invalid left out."""
    frame = results[results["outcome"] != "invalid"].copy()
    frame["metric"] = frame["value"].fillna(0.0)
    return frame


def grouped_points(frame: pd.DataFrame, keys: Sequence[str]) -> pd.DataFrame:
    import pandas as pd

    rows = []
    for values, part in frame.groupby(list(keys), sort=False, dropna=False):
        mean, low, high = mean_ci(part["metric"].to_numpy(dtype=float))
        key_values = values if isinstance(values, tuple) else (values,)
        rows.append(
            {
                **dict(zip(keys, key_values, strict=True)),
                "mean": mean,
                "ci_low": low,
                "ci_high": high,
                "n": len(part),
            }
        )
    return pd.DataFrame(rows)


def _axis_value(value: Any) -> Any:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else axis_key(value)


def distinct_values(refs: Sequence[CellRef], axis: str) -> list[str]:
    return list(dict.fromkeys(fmt_value(dig(r.data, "cell", axis)) for r in refs))


def _companion(axis: str, axes: Sequence[str], refs: Sequence[CellRef]) -> str | None:
    """The other axis with the fewest values (2 to 6): it gets one line per value."""
    options = [(len(distinct_values(refs, a)), i, a) for i, a in enumerate(axes) if a != axis]
    options = [o for o in options if 2 <= o[0] <= 6]
    return min(options)[2] if options else None


def sweep_section(files: RunFiles, refs: Sequence[CellRef]) -> Section:
    import pandas as pd

    summary = files.summary
    metric = str(summary.get("primary_metric") or "accuracy")
    ratio = is_ratio_metric(metric)
    axes = [str(a) for a in summary.get("swept_axes") or []]
    section = Section(id="sweep", title="Sweep", intro="")
    if not axes:
        return section.model_copy(update={"intro": "This run sweeps no axis: it has a single cell."})
    frame = metric_frame(files.results)
    out: list[Figure] = []
    for axis in axes:
        by = _companion(axis, axes, refs)
        covered = {axis, by} >= set(axes) if by else axes == [axis]
        if covered:
            points = pd.DataFrame(
                [
                    {
                        "x": _axis_value(dig(r.data, "cell", axis)),
                        "series": _axis_value(dig(r.data, "cell", by)) if by else None,
                        **{k: num(stat(r.data, metric), k) for k in ("mean", "ci_low", "ci_high")},
                        "n": dig(stat(r.data, metric), "n") or 0,
                    }
                    for r in refs
                ]
            )
            how = "per cell, as in the cell table"
        elif not frame.empty:
            keys = [AXIS_PREFIX + axis] + ([AXIS_PREFIX + by] if by else [])
            points = grouped_points(frame, keys).rename(
                columns={AXIS_PREFIX + axis: "x", AXIS_PREFIX + (by or ""): "series"}
            )
            if by is None:
                points["series"] = None
            how = "pooled over the other axes (Wilson 95% CI over results)"
        else:
            continue
        if points.empty or (points := points.dropna(subset=["mean"])).empty:
            continue
        svg = figures.metric_by_axis(points, axis, by=by, metric=metric, ratio=ratio)
        out.append(
            Figure(
                title=f"{metric} by {axis}",
                svg=svg,
                caption=f"Points are {how}." + (f" One line per {by}." if by else ""),
            )
        )
    out.extend(_heatmaps(files, refs, axes, metric, ratio, frame))
    effects = summary.get("main_effects") or {}
    if not effects and not frame.empty:
        effects = {
            a: grouped_points(frame, [AXIS_PREFIX + a])
            .rename(columns={AXIS_PREFIX + a: "value"})
            .to_dict("records")
            for a in axes
        }
    if effects and len(axes) > 1:
        out.append(
            Figure(
                title="Main effects",
                svg=figures.main_effects(effects, metric=metric, ratio=ratio),
                caption="Each panel: the metric at each value of one axis, averaged over every other axis.",
                wide=True,
            )
        )
    table = tables.pairwise_table(summary, refs)
    return section.model_copy(update={"figures": out, "tables": [table] if table else []})


def _heatmaps(
    files: RunFiles,
    refs: Sequence[CellRef],
    axes: Sequence[str],
    metric: str,
    ratio: bool,
    frame: pd.DataFrame,
) -> list[Figure]:
    import pandas as pd

    if len(axes) < 2 or not refs:
        return []
    out = []
    if len(axes) == 2:
        y_axis, x_axis = axes
        grid = pd.DataFrame(
            [
                {
                    "x": _axis_value(dig(r.data, "cell", x_axis)),
                    "y": _axis_value(dig(r.data, "cell", y_axis)),
                    "mean": num(stat(r.data, metric), "mean"),
                    "n": dig(stat(r.data, metric), "n") or 0,
                }
                for r in refs
            ]
        )
        out.append(
            Figure(
                title=f"{metric}: {y_axis} × {x_axis}",
                svg=figures.metric_heatmap(grid, x_axis=x_axis, y_axis=y_axis, metric=metric, ratio=ratio),
            )
        )
        return out
    if frame.empty:
        return []
    pairs = [(axes[i], axes[j]) for i in range(len(axes)) for j in range(i + 1, len(axes))][:MAX_HEATMAPS]
    for y_axis, x_axis in pairs:
        grid = grouped_points(frame, [AXIS_PREFIX + x_axis, AXIS_PREFIX + y_axis]).rename(
            columns={AXIS_PREFIX + x_axis: "x", AXIS_PREFIX + y_axis: "y"}
        )
        out.append(
            Figure(
                title=f"{metric}: {y_axis} × {x_axis}",
                svg=figures.metric_heatmap(grid, x_axis=x_axis, y_axis=y_axis, metric=metric, ratio=ratio),
                caption="Pooled over the other axes; n counts scored results.",
            )
        )
    return out


def tradeoff_section(files: RunFiles, refs: Sequence[CellRef]) -> Section:
    import pandas as pd

    metric = str(files.summary.get("primary_metric") or "accuracy")
    ratio = is_ratio_metric(metric)
    colors = {r.cell_id: r.color for r in refs}
    out = []
    for x_path, x_label, money in (
        (("cost", "per_trial_usd"), "cost per trial (USD)", True),
        (("latency", "e2e_s", "p95"), "p95 end-to-end latency (s)", False),
    ):
        cells = pd.DataFrame(
            [
                {
                    "cell_id": r.cell_id,
                    "tag": r.tag,
                    "x": num(r.data, *x_path),
                    **{k: num(stat(r.data, metric), k) for k in ("mean", "ci_low", "ci_high")},
                }
                for r in refs
            ]
        )
        # A trade-off needs two cells that both have the metric and the cost: one point has no front.
        if cells.empty or int((cells["x"].notna() & cells["mean"].notna()).sum()) < 2:
            continue
        out.append(
            Figure(
                title=f"{metric} vs {x_label}",
                svg=figures.tradeoff(
                    cells, colors, x_label=x_label, metric=metric, x_money=money, ratio=ratio
                ),
                caption="Labels are the cell numbers of the cell table; bold cells are on the Pareto front (no other cell is both better and cheaper).",
            )
        )
    intro = (
        ""
        if out
        else "Fewer than two cells have both a metric and a cost or latency, so there is nothing to trade "
        "off; the cell table gives each cell's figures."
    )
    return Section(id="tradeoffs", title="Trade-offs", intro=intro, figures=out)
