"""matplotlib set-up and SVG export shared by the report's figure functions: one style, fonts drawn as
paths (no external font), deterministic ids, and the colour of every cell. Owns no chart; it must not
read a run directory.
"""

from __future__ import annotations

import colorsys
import hashlib
import io
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

# Okabe-Ito first (colour-blind safe; its black swapped for wine, visible on a dark page), then tab10's.
PALETTE = (
    "#0072B2",
    "#E69F00",
    "#009E73",
    "#D55E00",
    "#CC79A7",
    "#56B4E9",
    "#F0E442",
    "#882255",
    "#8c564b",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
    "#9467bd",
    "#2ca02c",
    "#d62728",
    "#1f77b4",
)
PARETO_COLOR = "#444444"

_STYLE: dict[str, Any] = {
    "svg.fonttype": "path",  # text becomes paths: the page needs no font
    "svg.hashsalt": "harness-report",  # stable ids: the same run gives the same file
    "font.family": "DejaVu Sans",
    "font.size": 8.5,
    "axes.titlesize": 9.5,
    "axes.labelsize": 8.5,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.color": "#dddddd",
    "grid.linewidth": 0.6,
    "legend.fontsize": 7.5,
    "legend.frameon": False,
    "figure.facecolor": "white",
    "axes.facecolor": "white",
    "savefig.facecolor": "white",
}

_ready = False


def _setup() -> None:
    global _ready
    if _ready:
        return
    import matplotlib

    matplotlib.use("Agg")
    matplotlib.rcParams.update(cast("dict[Any, Any]", _STYLE))
    _ready = True


def new_figure(
    width_in: float = 6.4, height_in: float = 3.4, *, nrows: int = 1, ncols: int = 1
) -> tuple[Figure, list[Axes]]:
    """A figure and its axes, flattened; built without pyplot so no global state is touched."""
    _setup()
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width_in, height_in), layout="constrained")
    grid = fig.subplots(nrows, ncols, squeeze=False)
    return fig, [ax for row in grid for ax in row]


_PROLOG = re.compile(rb"<\?xml[^>]*\?>\s*|<!DOCTYPE[^>]*>\s*|<!--.*?-->\s*|<metadata>.*?</metadata>\s*", re.S)
_ID = re.compile(rb'\bid="([^"]+)"')
_REF = re.compile(rb'(xlink:href="#|href="#|url\(#)([^")]+)')


def to_svg(fig: Figure, *, label: str = "") -> str:
    """Serialise `fig` as an inline SVG element: no prolog, no comments, ids unique to this figure."""
    _setup()
    buf = io.BytesIO()
    fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None})
    raw = _PROLOG.sub(b"", buf.getvalue())
    prefix = b"f" + hashlib.sha256(raw).hexdigest()[:8].encode() + b"-"
    raw = _ID.sub(lambda m: b'id="' + prefix + m.group(1) + b'"', raw)
    raw = _REF.sub(lambda m: m.group(1) + prefix + m.group(2), raw)
    text = raw.decode("utf-8").strip()
    aria = 'role="img"'
    if label:
        from html import escape

        aria += f' aria-label="{escape(label, quote=True)}"'
    return text.replace("<svg ", f"<svg {aria} ", 1)


def cell_colors(cell_ids: Sequence[str]) -> dict[str, str]:
    """One colour per cell, in the order given; the same cell gets the same colour in every figure."""
    colors: dict[str, str] = {}
    for index, cell_id in enumerate(dict.fromkeys(cell_ids)):
        colors[cell_id] = series_color(index, len(cell_ids))
    return colors


def series_color(index: int, count: int) -> str:
    if count <= len(PALETTE):
        return PALETTE[index % len(PALETTE)]
    # Many cells: spread hues by the golden angle, alternating lightness so neighbours differ.
    hue = (index * 0.618033988749895) % 1.0
    lightness = 0.42 if index % 2 == 0 else 0.58
    r, g, b = colorsys.hls_to_rgb(hue, lightness, 0.65)
    return f"#{round(r * 255):02x}{round(g * 255):02x}{round(b * 255):02x}"


def percent_axis(ax: Axes, which: str = "y") -> None:
    from matplotlib.ticker import PercentFormatter

    axis = ax.yaxis if which == "y" else ax.xaxis
    axis.set_major_formatter(PercentFormatter(1.0, decimals=0))


def log_axis(ax: Axes, which: str = "x") -> None:
    """A log scale labelled with plain numbers (0.05, 0.1, 1), not powers of ten; call it once the data
    are drawn. A range narrower than two decades is labelled at 1, 2 and 5 times each power of ten
    (decades alone would leave it with one label or none)."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    if which == "x":
        ax.set_xscale("log")
        low, high = ax.get_xlim()
    else:
        ax.set_yscale("log")
        low, high = ax.get_ylim()
    axis = ax.xaxis if which == "x" else ax.yaxis
    if low > 0 and high / low < 100:
        axis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    axis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:g}"))
    axis.set_minor_formatter(NullFormatter())


def usd_axis(ax: Axes, which: str = "x") -> None:
    from matplotlib.ticker import FuncFormatter

    from harness.report.formatting import fmt_usd

    axis = ax.xaxis if which == "x" else ax.yaxis
    axis.set_major_formatter(FuncFormatter(lambda v, _pos: fmt_usd(v)))
