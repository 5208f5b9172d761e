"""The report's quality charts as pure functions: prepared frames in, an inline SVG string out (sweeps,
heatmaps, main effects, trade-offs with their Pareto front). Performance charts live in
`perf_figures.py`. No function here reads files or decides what to plot; `context.py` does.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from harness.report.canvas import PARETO_COLOR, new_figure, percent_axis, series_color, to_svg, usd_axis
from harness.report.formatting import fmt_value, is_number
from harness.report.rundata import frame_rows

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes

# Units of the settings people sweep; a swept setting not listed here is a dimensionless value.
AXIS_UNITS = {
    "maxTokens": "tokens",
    "topK": "candidate tokens",
    "numberResults": "results per task",
    "timeout_s": "s",
}


def axis_label(axis: str) -> str:
    unit = AXIS_UNITS.get(axis)
    return f"{axis} ({unit})" if unit else f"{axis} (setting value)"


def _positions(values: Sequence[Any]) -> tuple[list[float], list[str], bool]:
    """x positions for grid values: their own value when all are numbers, else evenly spaced labels."""
    labels = [fmt_value(v) for v in values]
    if values and all(is_number(v) for v in values):
        return [float(v) for v in values], labels, True
    return [float(i) for i in range(len(values))], labels, False


def _errorbar(
    ax: Axes,
    x: Sequence[float],
    mean: Sequence[float],
    low: Sequence[float],
    high: Sequence[float],
    **kw: Any,
) -> None:
    import numpy as np

    m = np.asarray(mean, dtype=float)
    yerr = np.vstack(
        [
            np.clip(m - np.asarray(low, dtype=float), 0, None),
            np.clip(np.asarray(high, dtype=float) - m, 0, None),
        ]
    )
    yerr = np.nan_to_num(yerr)
    ax.errorbar(x, m, yerr=yerr, capsize=3, marker="o", markersize=4, linewidth=1.4, elinewidth=1.0, **kw)


def metric_by_axis(
    points: pd.DataFrame, axis: str, *, by: str | None, metric: str, ratio: bool = True
) -> str:
    """The metric against one swept axis with 95% CI bars; one line per value of `by` when given.

    `points`: columns `x` (grid value), `series` (value of `by`, or None), `mean`, `ci_low`, `ci_high`, `n`.
    """
    fig, (ax,) = new_figure(5.6, 3.3)
    x_values = list(dict.fromkeys(points["x"].tolist()))
    x_values = _sorted_values(x_values)
    positions, labels, numeric = _positions(x_values)
    where = dict(zip(x_values, positions, strict=True))
    series = _sorted_values(list(dict.fromkeys(points["series"].tolist())))
    span = (max(positions) - min(positions)) if len(positions) > 1 else 1.0
    for index, value in enumerate(series):
        part = points[points["series"].map(lambda s, v=value: s == v)]
        part = part.assign(pos=part["x"].map(where)).sort_values("pos")
        offset = (index - (len(series) - 1) / 2) * span * 0.012
        label = f"{by} = {fmt_value(value)}" if by is not None else None
        _errorbar(
            ax,
            (part["pos"] + offset).tolist(),
            part["mean"].tolist(),
            part["ci_low"].tolist(),
            part["ci_high"].tolist(),
            color=series_color(index, len(series)),
            label=label,
        )
    if not numeric or len(positions) <= 8:
        ax.set_xticks(positions, labels)
    ax.set_xlabel(axis_label(axis))
    ax.set_ylabel(f"{metric} (%)" if ratio else metric)
    if ratio:
        percent_axis(ax)
    if by is not None:
        ax.legend(loc="best", title=None)
    ax.set_title(f"{metric} by {axis}" + (f", one line per {by}" if by else "") + " (95% CI)")
    return to_svg(fig, label=f"{metric} by {axis}")


def metric_heatmap(grid: pd.DataFrame, *, x_axis: str, y_axis: str, metric: str, ratio: bool = True) -> str:
    """Mean metric over a two-axis grid; `grid` has columns `x`, `y`, `mean`, `n`."""
    import numpy as np

    xs = _sorted_values(list(dict.fromkeys(grid["x"].tolist())))
    ys = _sorted_values(list(dict.fromkeys(grid["y"].tolist())))
    values = np.full((len(ys), len(xs)), np.nan)
    counts = np.zeros((len(ys), len(xs)), dtype=int)
    for row in frame_rows(grid):
        i, j = ys.index(row["y"]), xs.index(row["x"])
        values[i, j] = row["mean"] if is_number(row["mean"]) else np.nan
        counts[i, j] = int(row["n"])
    fig, (ax,) = new_figure(5.6, min(max(2.6, 1.2 + 0.4 * len(ys)), 6.0))
    # pcolormesh, not imshow: vector cells, so the SVG embeds no raster image.
    image = ax.pcolormesh(
        np.arange(len(xs) + 1) - 0.5,
        np.arange(len(ys) + 1) - 0.5,
        np.ma.masked_invalid(values),
        cmap="viridis",
        vmin=0 if ratio else None,
        vmax=1 if ratio else None,
        edgecolors="white",
        linewidth=1.0,
    )
    ax.set_xlim(-0.5, len(xs) - 0.5)
    ax.set_ylim(len(ys) - 0.5, -0.5)
    ax.grid(False)
    ax.set_xticks(range(len(xs)), [fmt_value(v) for v in xs])
    ax.set_yticks(range(len(ys)), [fmt_value(v) for v in ys])
    ax.set_xlabel(axis_label(x_axis))
    ax.set_ylabel(axis_label(y_axis))
    if len(xs) * len(ys) <= 80:
        for i in range(len(ys)):
            for j in range(len(xs)):
                if np.isnan(values[i, j]):
                    continue
                text = f"{values[i, j] * 100:.0f}%" if ratio else f"{values[i, j]:.3g}"
                shade = "black" if values[i, j] > (0.6 if ratio else np.nanmean(values)) else "white"
                ax.text(j, i, f"{text}\nn={counts[i, j]}", ha="center", va="center", fontsize=7, color=shade)
    bar = fig.colorbar(image, ax=ax, shrink=0.9)
    if bar.solids is not None:
        bar.solids.set_rasterized(False)  # a rasterized colour bar would embed a PNG in the SVG
    bar.set_label(f"{metric} (%)" if ratio else metric)
    if ratio:
        from matplotlib.ticker import PercentFormatter

        bar.ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    ax.set_title(f"{metric}: {y_axis} × {x_axis}")
    return to_svg(fig, label=f"{metric} heatmap of {y_axis} by {x_axis}")


def main_effects(
    effects: Mapping[str, Sequence[Mapping[str, Any]]], *, metric: str, ratio: bool = True
) -> str:
    """One panel per swept axis: the metric's mean over every other axis, at each value, with its CI."""
    axes_names = [a for a, rows in effects.items() if rows]
    ncols = min(3, max(1, len(axes_names)))
    nrows = -(-len(axes_names) // ncols)
    fig, axes = new_figure(2.3 * ncols + 0.6, 2.3 * nrows + 0.3, nrows=nrows, ncols=ncols)
    low_all: list[float] = []
    high_all: list[float] = []
    for ax, axis in zip(axes, axes_names, strict=False):
        rows = effects[axis]
        values = _sorted_values([r.get("value") for r in rows])
        order = {fmt_value(v): i for i, v in enumerate(values)}
        rows = sorted(rows, key=lambda r: order[fmt_value(r.get("value"))])
        positions, labels, numeric = _positions([r.get("value") for r in rows])
        mean = [r["mean"] if is_number(r.get("mean")) else float("nan") for r in rows]
        low = [r["ci_low"] if is_number(r.get("ci_low")) else m for r, m in zip(rows, mean, strict=True)]
        high = [r["ci_high"] if is_number(r.get("ci_high")) else m for r, m in zip(rows, mean, strict=True)]
        low_all += low
        high_all += high
        _errorbar(ax, positions, mean, low, high, color=PARETO_COLOR)
        if not numeric or len(positions) <= 8:
            ax.set_xticks(positions, labels)
        ax.set_xlabel(axis_label(axis))
        ax.set_ylabel(f"{metric} (%)" if ratio else metric)
        if ratio:
            percent_axis(ax)
    for ax in axes[len(axes_names) :]:
        ax.set_axis_off()
    finite = [v for v in low_all + high_all if is_number(v)]
    if finite:
        pad = (max(finite) - min(finite)) * 0.08 or 0.02
        for ax in axes[: len(axes_names)]:
            ax.set_ylim(min(finite) - pad, max(finite) + pad)  # shared scale: effects compare by eye
    fig.suptitle(f"Main effects on {metric} (mean over the other axes, 95% CI)", fontsize=9.5)
    return to_svg(fig, label=f"main effects on {metric}")


def pareto_front(x: Sequence[float], y: Sequence[float]) -> list[int]:
    """Indices of the points no other point beats: lower or equal x with higher y. Sorted by x."""
    order = sorted(
        (i for i in range(len(x)) if is_number(x[i]) and is_number(y[i])), key=lambda i: (x[i], -y[i])
    )
    front: list[int] = []
    best = float("-inf")
    for i in order:
        if y[i] > best:
            front.append(i)
            best = y[i]
    return front


def tradeoff(
    cells: pd.DataFrame,
    colors: Mapping[str, str],
    *,
    x_label: str,
    metric: str,
    x_money: bool = False,
    ratio: bool = True,
) -> str:
    """The metric against a cost (`x`) per cell, CI bars, the Pareto front as a dashed step line.

    `cells`: columns `cell_id`, `tag` (short label), `x`, `mean`, `ci_low`, `ci_high`.
    """
    data = cells[cells["x"].map(is_number) & cells["mean"].map(is_number)].reset_index(drop=True)
    fig, (ax,) = new_figure(5.6, 3.6)
    rows = frame_rows(data)
    for row in rows:
        _errorbar(
            ax,
            [row["x"]],
            [row["mean"]],
            [row["ci_low"]],
            [row["ci_high"]],
            color=colors.get(row["cell_id"], PARETO_COLOR),
        )
    front = pareto_front(data["x"].tolist(), data["mean"].tolist())
    if front:
        fx = [float(data["x"][i]) for i in front]
        fy = [float(data["mean"][i]) for i in front]
        ax.step(fx, fy, where="post", linestyle="--", color=PARETO_COLOR, linewidth=1.0, label="Pareto front")
        ax.legend(loc="lower right")
    on_front = set(front)
    for i, row in enumerate(rows):
        ax.annotate(
            str(row["tag"]),
            (row["x"], row["mean"]),
            textcoords="offset points",
            xytext=(5, 4),
            fontsize=7,
            fontweight="bold" if i in on_front else "normal",
            color="#222222",
        )
    ax.set_xlabel(x_label)
    ax.set_ylabel(f"{metric} (%)" if ratio else metric)
    if ratio:
        percent_axis(ax)
    if x_money:
        from matplotlib.ticker import MaxNLocator

        ax.xaxis.set_major_locator(MaxNLocator(nbins=5))
        usd_axis(ax, "x")
    ax.set_title(f"{metric} vs {x_label.split(' (')[0]}: up and left is better")
    return to_svg(fig, label=f"{metric} against {x_label}")


def _sorted_values(values: list[Any]) -> list[Any]:
    """Grid values in reading order: numbers ascending, then the rest by their label; None first."""

    def key(v: Any) -> tuple[int, float, str]:
        if v is None:
            return (0, 0.0, "")
        if is_number(v):
            return (1, float(v), "")
        return (2, 0.0, fmt_value(v))

    return sorted(values, key=key)
