"""The report's latency, throughput, token, cost and error charts as pure functions: prepared frames in,
an inline SVG string out. Lines are downsampled so a 100,000-request run stays a small file. No
function here reads files or decides what to plot; `context.py` does.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from harness.report import svgchart
from harness.report.canvas import log_axis, new_figure, series_color, to_svg

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

CDF_POINTS = 160
TOKEN_COLORS = {"prompt": "#9ecae1", "answer": "#3182bd", "thinking": "#e6550d"}


def cdf_points(values: np.ndarray, points: int = CDF_POINTS) -> tuple[np.ndarray, np.ndarray]:
    """(x, share) of an empirical CDF, at most `points` quantiles; exact for small samples."""
    import numpy as np

    data = np.sort(values[np.isfinite(values)])
    if data.size == 0:
        return data, data
    share = np.arange(1, data.size + 1) / data.size
    if data.size <= points:
        return data, share
    probs = np.linspace(0.0, 1.0, points)
    return np.quantile(data, probs), probs


def latency_cdf(
    frame: pd.DataFrame, colors: Mapping[str, str] | None = None, *, what: str = "end-to-end latency"
) -> str:
    """Empirical CDF of `value_s` per `group` (a cell or a group of cells), log time axis when wide.

    `frame`: columns `group`, `value_s`. `colors` maps a group to its colour (a cell keeps its colour).
    Drawn without matplotlib (`svgchart`): every run's report has it.
    """
    import numpy as np

    groups = list(dict.fromkeys(frame["group"].tolist()))
    series: list[svgchart.Series] = []
    for index, group in enumerate(groups):
        values = frame.loc[frame["group"] == group, "value_s"].to_numpy(dtype=float)
        x, share = cdf_points(values)
        color = (colors or {}).get(group) or series_color(index, len(groups))
        label = f"{group} (n={int(np.isfinite(values).sum())})"
        series.append(svgchart.Series(label, color, x.tolist(), share.tolist()))
    return svgchart.step_cdf(
        series,
        x_label=f"{what} (s)",
        y_label="share of requests (%)",
        title=f"{what}: cumulative distribution (dotted line: p95)",
        mark=0.95,
        height=72 * 3.2,
        label=f"CDF of {what}",
    )


ITL_FLOOR_MS = 0.01


def itl_distribution(gaps_ms: Mapping[str, np.ndarray], colors: Mapping[str, str] | None = None) -> str:
    """Inter-token gaps per group as horizontal box plots on a log axis: box = quartiles, line = median,
    whiskers = 5th and 95th percentiles. Gaps under 0.01 ms (tokens that arrived in the same chunk)
    count in every statistic and are drawn at 0.01 ms."""
    import numpy as np

    names = [g for g, gaps in gaps_ms.items() if np.isfinite(gaps).any()]
    data = [gaps_ms[g][np.isfinite(gaps_ms[g])] for g in names]
    fig, (ax,) = new_figure(5.6, 1.3 + 0.32 * max(len(names), 2))
    if names:
        boxes = ax.boxplot(
            [np.maximum(d, ITL_FLOOR_MS) for d in data],
            orientation="horizontal",
            whis=(5, 95),
            showfliers=False,
            patch_artist=True,
            widths=0.6,
            medianprops={"color": "#222222", "linewidth": 1.4},
        )
        for index, (patch, name) in enumerate(zip(boxes["boxes"], names, strict=True)):
            patch.set_facecolor((colors or {}).get(name) or series_color(index, len(names)))
            patch.set_alpha(0.75)
        ax.set_yticks(
            range(1, len(names) + 1),
            [f"{n[:24]}\np50 {np.median(d):.3g} ms" for n, d in zip(names, data, strict=True)],
        )
        ax.invert_yaxis()
        log_axis(ax, "x")
    ax.grid(axis="y", visible=False)
    ax.set_xlabel("inter-token gap (ms, log scale)")
    ax.set_title("Inter-token gaps (box: quartiles; whiskers: p5 to p95)")
    return to_svg(fig, label="inter-token gap distribution")


def request_rate(sent_s: np.ndarray, target_rps: float | None, *, done_s: np.ndarray | None = None) -> str:
    """Requests sent (and finished) per second over the run, with the target rate of an open-loop run."""
    import numpy as np

    fig, (ax,) = new_figure(5.6, 3.0)
    sent = sent_s[np.isfinite(sent_s)]
    end = float(sent.max()) if sent.size else 1.0
    if done_s is not None and np.isfinite(done_s).any():
        end = max(end, float(np.nanmax(done_s)))
    width = max(end / 60.0, 1.0)
    edges = np.arange(0.0, end + width, width)
    if edges.size < 2:
        edges = np.array([0.0, width])
    counts, _ = np.histogram(sent, bins=edges)
    ax.stairs(counts / width, edges, color=series_color(0, 2), linewidth=1.3, label="sent")
    if done_s is not None:
        done = done_s[np.isfinite(done_s)]
        counts, _ = np.histogram(done, bins=edges)
        ax.stairs(
            counts / width, edges, color=series_color(1, 2), linewidth=1.0, linestyle="--", label="finished"
        )
    if target_rps:
        ax.axhline(
            target_rps, color="#d62728", linewidth=1.0, linestyle=":", label=f"target {target_rps:g} req/s"
        )
    ax.set_xlabel("time since the run started (s)")
    ax.set_ylabel(f"requests per second (req/s, {width:.3g} s bins)")
    ax.legend(loc="lower right")
    ax.set_title("Achieved request rate over the run")
    return to_svg(fig, label="request rate over time")


def concurrency_history(history: Sequence[Sequence[float]]) -> str:
    """The in-flight limit over the run (adaptive concurrency shrinks it on 429s). Drawn without
    matplotlib (`svgchart`): any run that meets rate limits has it."""
    times = [float(point[0]) for point in history]
    limits = [float(point[1]) for point in history]
    x_scale = svgchart.Scale.around(min(times), max(times)) if times else svgchart.Scale(0.0, 1.0)
    y_scale = svgchart.Scale(0.0, max(limits) * 1.05 if limits and max(limits) > 0 else 1.0)
    return svgchart.step_chart(
        [svgchart.Series("in-flight limit", series_color(0, 1), times, limits)],
        x_scale,
        y_scale,
        x_label="time since the run started (s)",
        y_label="in-flight limit (requests)",
        title="Concurrency limit over the run",
        y_integer=True,
        height=72 * 2.6,
        label="concurrency limit over time",
    )


def tokens_and_cost(cells: pd.DataFrame, colors: Mapping[str, str]) -> str:
    """Per cell: tokens per trial stacked by kind, and cost per trial in the cell's colour.

    `cells`: columns `cell_id`, `tag`, `prompt`, `answer`, `thinking` (per trial), `cost_per_trial`.
    Drawn without matplotlib (`svgchart`): every run's report has it.
    """
    from harness.report.formatting import fmt_usd

    n = len(cells)
    kinds = ("prompt", "answer", "thinking")
    tokens = svgchart.BarPanel(
        "Tokens per trial",
        "tokens per trial (tokens)",
        [svgchart.Segment(kind, cells[kind].astype(float).tolist(), TOKEN_COLORS[kind]) for kind in kinds],
        fmt=_count,
        unit="tokens",
    )
    cost = svgchart.BarPanel(
        "Cost per trial",
        "cost per trial (USD)",
        [
            svgchart.Segment(
                "cost",
                cells["cost_per_trial"].astype(float).tolist(),
                [colors.get(c, "#888888") for c in cells["cell_id"]],
            )
        ],
        fmt=fmt_usd,
        ticks=4,
    )
    return svgchart.hbar_panels(
        [str(t) for t in cells["tag"]],
        [tokens, cost],
        width=72 * 7.0,
        height=72 * (1.3 + 0.24 * max(n, 2)) + 12,
        legend=[(TOKEN_COLORS[kind], kind) for kind in kinds],
        label="tokens and cost per cell",
    )


def _count(value: float) -> str:
    """Tokens or trials: whole numbers with thousands separators, small fractions to 3 digits."""
    return f"{value:,.0f}" if value >= 10 or value == int(value) else f"{value:.3g}"


ERROR_COLORS = ("#b3261e", "#e8710a", "#7b1fa2", "#5f6368", "#1a73e8", "#188038", "#c5221f", "#9aa0a6")


def errors_by_kind(counts: pd.DataFrame) -> str:
    """Failed trials per cell, stacked by error kind. `counts`: index = cell tag, columns = kinds.
    Drawn without matplotlib (`svgchart`)."""
    n = len(counts)
    kinds: list[Any] = list(counts.columns)
    segments = [
        svgchart.Segment(
            str(kind), counts[kind].astype(float).tolist(), ERROR_COLORS[index % len(ERROR_COLORS)]
        )
        for index, kind in enumerate(kinds)
    ]
    panel = svgchart.BarPanel(
        "Errors by kind and cell", "failed trials (count)", segments, fmt=_count, unit="trials", integer=True
    )
    return svgchart.hbar_panels(
        [str(t) for t in counts.index],
        [panel],
        width=72 * 5.6,
        height=72 * (1.3 + 0.26 * max(n, 2)) + 12,
        legend=[(s.color_of(0), s.label) for s in segments],
        legend_columns=min(4, len(kinds)),
        label="errors by kind and cell",
    )
