"""The chart shapes every single-cell run's report draws, written as SVG directly instead of through
matplotlib: step lines (the latency CDFs, the adaptive concurrency limit) and panels of horizontal
(stacked) bars (tokens and cost, errors). A default run's report has only these, and drawing them with
matplotlib costs about a second of import, layout and export after the send on a 2-core machine; this
module costs milliseconds.
The other figures (sweeps, trade-offs, load curves) stay matplotlib, in `figures.py` and `perf_figures.py`.

The look follows `canvas.py`'s style (sizes in points, the same palette, grid, spines and font sizes).
Text is `<text>` in the page's own font (no font-family: it inherits the report's), every string escaped,
so a cell tag or an error kind is never markup. Ids are unique to a figure and deterministic, as
`canvas.to_svg`'s. Owns drawing only: callers pass prepared numbers, labels and colours.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape

FONT = 8.5  # points, as canvas._STYLE
TITLE_FONT = 9.5
LEGEND_FONT = 7.5
INK = "#1d1d1f"
SPINE = "#333333"
GRID = "#dddddd"
# Average advance of a character of a sans-serif font, in ems: what the layout reserves for a label.
CHAR_EM = 0.56
_ID = "<@>"  # placeholder for the figure's id prefix: escaped text can never contain a raw "<"


def plain(value: float) -> str:
    """A tick label: 0.05, 1, 250, 1e+04 (the shortest exact form)."""
    return f"{value:g}"


def percent(value: float) -> str:
    return f"{value * 100:.0f}%"


def text_width(text: str, size: float = FONT) -> float:
    return len(text) * size * CHAR_EM


def clip_text(text: str, width: float, size: float = FONT) -> str:
    """`text`, cut with an ellipsis to what fits in `width` points."""
    fits = max(int(width / (size * CHAR_EM) + 1e-6), 1)
    return text if len(text) <= fits else text[: max(fits - 1, 1)] + "…"


def _clean(value: float) -> float:
    return float(f"{value:.12g}") + 0.0  # no 0.30000000000000004, no -0.0


def linear_ticks(lo: float, hi: float, target: int = 5, *, integer: bool = False) -> list[float]:
    """Ticks at multiples of 1, 2 or 5 times a power of ten inside [lo, hi]: the finest such step that
    gives at most `target` + 1 ticks (as matplotlib's MaxNLocator); whole numbers only when `integer`."""
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        return [_clean(lo)] if math.isfinite(lo) else []
    magnitude = 10.0 ** math.floor(math.log10((hi - lo) / max(target, 1)) - 1)
    for step in (m * magnitude * 10.0**k for k in range(4) for m in (1.0, 2.0, 5.0)):
        if integer and step < 1:
            continue
        first, last = math.ceil(lo / step - 1e-9), math.floor(hi / step + 1e-9)
        if last - first + 1 <= target + 1:
            return [_clean(k * step) for k in range(first, last + 1)]
    return [_clean(lo), _clean(hi)]


def log_ticks(lo: float, hi: float) -> list[float]:
    """Powers of ten inside [lo, hi] (both > 0); with 2 and 5 times them when fewer than two decades fit."""
    if not (0 < lo < hi):
        return []
    low, high = math.floor(math.log10(lo)), math.ceil(math.log10(hi))
    decades = [float(f"1e{e}") for e in range(low, high + 1)]
    inside = [v for v in decades if lo <= v <= hi]
    if len(inside) >= 2:
        return inside
    fuller = [float(f"{m}e{e}") for e in range(low, high + 1) for m in (1, 2, 5)]
    return [v for v in fuller if lo <= v <= hi]


@dataclass(frozen=True)
class Scale:
    """A data interval mapped onto [0, 1], linear or logarithmic (then lo > 0)."""

    lo: float
    hi: float
    log: bool = False

    @classmethod
    def around(cls, low: float, high: float, *, log: bool = False, margin: float = 0.05) -> Scale:
        """[low, high] widened by `margin` of its span on each side (in log space on a log scale); a
        linear scale of non-negative data does not reach below zero."""
        if log:
            a, b = math.log10(low), math.log10(high)
            pad = (b - a) * margin if b > a else 0.5
            return cls(10.0 ** (a - pad), 10.0 ** (b + pad), log=True)
        pad = (high - low) * margin if high > low else (abs(low) * margin or 0.5)
        start = low - pad
        if low >= 0 > start:
            start = 0.0
        return cls(start, high + pad)

    def frac(self, value: float) -> float:
        if self.log:
            value = max(value, self.lo)
            return (math.log10(value) - math.log10(self.lo)) / (math.log10(self.hi) - math.log10(self.lo))
        return (value - self.lo) / (self.hi - self.lo)

    def ticks(self, target: int = 5, *, integer: bool = False) -> list[float]:
        if self.log:
            return log_ticks(self.lo, self.hi)
        return linear_ticks(self.lo, self.hi, target, integer=integer)


@dataclass(frozen=True)
class Box:
    """A plot area in figure points: left, top, right, bottom."""

    left: float
    top: float
    right: float
    bottom: float

    def x(self, scale: Scale, value: float) -> float:
        return self.left + scale.frac(value) * (self.right - self.left)

    def y(self, scale: Scale, value: float) -> float:
        return self.bottom - scale.frac(value) * (self.bottom - self.top)

    @property
    def center(self) -> float:
        return (self.left + self.right) / 2


def _n(value: float) -> str:
    """A coordinate: two decimals at most, no trailing zeros."""
    return f"{value:.2f}".rstrip("0").rstrip(".")


class Drawing:
    """SVG elements in drawing order, serialised with one id prefix derived from the content."""

    def __init__(self, width: float, height: float) -> None:
        self.width = width
        self.height = height
        self.parts: list[str] = [f'<rect width="{_n(width)}" height="{_n(height)}" fill="#ffffff"/>']
        self._clips = 0

    def clip(self, box: Box) -> str:
        """Define a clip path of `box`; returns the attribute that applies it."""
        name = f"{_ID}clip{self._clips}"
        self._clips += 1
        self.parts.append(
            f'<clipPath id="{name}"><rect x="{_n(box.left)}" y="{_n(box.top)}" '
            f'width="{_n(box.right - box.left)}" height="{_n(box.bottom - box.top)}"/></clipPath>'
        )
        return f' clip-path="url(#{name})"'

    def line(
        self, x1: float, y1: float, x2: float, y2: float, stroke: str, width: float = 0.8, dash: str = ""
    ) -> None:
        extra = f' stroke-dasharray="{dash}"' if dash else ""
        self.parts.append(
            f'<line x1="{_n(x1)}" y1="{_n(y1)}" x2="{_n(x2)}" y2="{_n(y2)}" stroke="{stroke}" '
            f'stroke-width="{_n(width)}"{extra}/>'
        )

    def path(self, d: str, stroke: str, width: float, *, clip: str = "", title: str = "") -> None:
        tip = f"<title>{escape(title)}</title>" if title else ""
        self.parts.append(
            f'<path d="{d}" fill="none" stroke="{stroke}" stroke-width="{_n(width)}" '
            f'stroke-linejoin="round"{clip}>{tip}</path>'
        )

    def rect(self, x: float, y: float, w: float, h: float, fill: str, *, title: str = "") -> None:
        tip = f"<title>{escape(title)}</title>" if title else ""
        self.parts.append(
            f'<rect x="{_n(x)}" y="{_n(y)}" width="{_n(max(w, 0.0))}" height="{_n(h)}" fill="{fill}">{tip}</rect>'
        )

    def text(
        self,
        x: float,
        y: float,
        content: str,
        *,
        size: float = FONT,
        anchor: str = "start",
        middle: bool = False,
        rotate: bool = False,
        bold: bool = False,
    ) -> None:
        """`content` at (x, y): y is the baseline, or the text's middle when `middle`; `rotate` turns it
        to read bottom to top about (x, y)."""
        if middle:
            y += size * 0.35
        attrs = f'x="{_n(x)}" y="{_n(y)}" font-size="{_n(size)}" fill="{INK}"'
        if anchor != "start":
            attrs += f' text-anchor="{anchor}"'
        if bold:
            attrs += ' font-weight="600"'
        if rotate:
            attrs += f' transform="rotate(-90 {_n(x)} {_n(y)})"'
        self.parts.append(f"<text {attrs}>{escape(content)}</text>")

    def svg(self, label: str) -> str:
        body = "".join(self.parts)
        prefix = "f" + hashlib.sha256(body.encode("utf-8")).hexdigest()[:8] + "-"
        w, h = _n(self.width), _n(self.height)
        aria = f' aria-label="{escape(label, quote=True)}"' if label else ""
        return (
            f'<svg role="img"{aria} xmlns="http://www.w3.org/2000/svg" width="{w}pt" height="{h}pt" '
            f'viewBox="0 0 {w} {h}">' + body.replace(_ID, prefix) + "</svg>"
        )


def _x_axis(
    d: Drawing,
    box: Box,
    scale: Scale,
    label: str,
    fmt: Callable[[float], str],
    *,
    target: int = 5,
    integer: bool = False,
) -> None:
    """Vertical grid lines, the bottom spine, ticks and their labels, and the axis label under them."""
    for tick in scale.ticks(target, integer=integer):
        x = box.x(scale, tick)
        d.line(x, box.top, x, box.bottom, GRID, 0.6)
        d.line(x, box.bottom, x, box.bottom + 3.5, SPINE, 0.8)
        d.text(x, box.bottom + 5.5 + FONT * 0.8, fmt(tick), anchor="middle")
    d.line(box.left, box.bottom, box.right, box.bottom, SPINE, 0.8)
    d.text(box.center, box.bottom + 9 + FONT * 1.8, label, anchor="middle")


def _legend(
    d: Drawing, top: float, box: Box, entries: Sequence[tuple[str, str]], columns: int, *, line: bool
) -> None:
    """Legend rows under the plot, `columns` per row, each a colour key (a line or a square) and a label."""
    if not entries:
        return
    columns = max(1, min(columns, len(entries)))
    pitch = LEGEND_FONT * 1.5
    # Columns as wide as the widest entry (key, gap, label), at most an equal share of the plot's width.
    widest = max(18 + text_width(label, LEGEND_FONT) for _, label in entries) + 8
    column_width = min((box.right - box.left) / columns, widest)
    start = box.center - column_width * columns / 2
    for index, (color, label) in enumerate(entries):
        row, column = divmod(index, columns)
        x = start + column * column_width
        y = top + row * pitch + pitch / 2
        if line:
            d.line(x, y, x + 13, y, color, 1.5)
        else:
            d.rect(x + 3, y - 4, 8, 8, color)
        d.text(x + 17, y, clip_text(label, column_width - 18, LEGEND_FONT), size=LEGEND_FONT, middle=True)


@dataclass(frozen=True)
class Series:
    """One step line: x ascending, and the y it steps to at each x (a CDF's shares, a limit's values)."""

    label: str
    color: str
    x: Sequence[float]
    y: Sequence[float]


def step_cdf(
    series: Sequence[Series],
    *,
    x_label: str,
    y_label: str,
    title: str,
    mark: float | None = None,
    log_when_wider_than: float = 30.0,
    width: float = 403.0,
    height: float = 230.0,
    label: str = "",
) -> str:
    """Cumulative distributions as step lines (each rises from zero at its x values), with a dotted
    horizontal line at share `mark`; the x axis is logarithmic when max/min of the positive x exceeds
    `log_when_wider_than`. A legend goes under the plot when there is more than one series."""
    drawn = [s for s in series if len(s.x)]
    lows = [float(s.x[0]) for s in drawn]
    highs = [float(s.x[-1]) for s in drawn]
    positive = [v for v in lows if v > 0]
    log = bool(positive and highs and max(highs) / min(positive) > log_when_wider_than)
    if drawn:
        low = min(positive) if log else min(lows)
        x_scale = Scale.around(low, max(highs), log=log)
    else:
        x_scale = Scale(0.0, 1.0)
    return step_chart(
        series,
        x_scale,
        Scale(0.0, 1.02),
        x_label=x_label,
        y_label=y_label,
        title=title,
        y_fmt=percent,
        rise_from=0.0,
        mark=mark,
        width=width,
        height=height,
        label=label,
    )


def step_chart(
    series: Sequence[Series],
    x_scale: Scale,
    y_scale: Scale,
    *,
    x_label: str,
    y_label: str,
    title: str,
    y_fmt: Callable[[float], str] = plain,
    y_integer: bool = False,
    rise_from: float | None = None,
    mark: float | None = None,
    width: float = 403.0,
    height: float = 230.0,
    label: str = "",
) -> str:
    """Step lines that hold each y until the next x (matplotlib's `where="post"`), starting from
    `rise_from` at the first x when given; a dotted line at y = `mark`; a legend under the plot when
    there is more than one series."""
    drawn = [s for s in series if len(s.x)]
    entries = [(s.color, s.label) for s in series] if len(series) > 1 else []
    legend_rows = (len(entries) + 1) // 2
    legend_height = legend_rows * LEGEND_FONT * 1.5 + (4 if entries else 0)
    height += legend_height
    y_ticks = y_scale.ticks(integer=y_integer)
    tick_width = max((text_width(y_fmt(t)) for t in y_ticks), default=0.0)
    box = Box(
        left=FONT * 1.6 + tick_width + 8,
        top=TITLE_FONT * 2.2,
        right=width - 14,
        bottom=height - 38 - legend_height,
    )
    d = Drawing(width, height)
    for tick in y_ticks:
        y = box.y(y_scale, tick)
        d.line(box.left, y, box.right, y, GRID, 0.6)
        d.line(box.left - 3.5, y, box.left, y, SPINE, 0.8)
        d.text(box.left - 5.5, y, y_fmt(tick), anchor="end", middle=True)
    d.line(box.left, box.top, box.left, box.bottom, SPINE, 0.8)
    d.text(FONT * 1.1, (box.top + box.bottom) / 2, y_label, anchor="middle", rotate=True)
    _x_axis(d, box, x_scale, x_label, plain)
    clip = d.clip(box)
    for s in drawn:
        points = [(box.x(x_scale, float(x)), box.y(y_scale, float(v))) for x, v in zip(s.x, s.y, strict=True)]
        x0, y0 = points[0]
        start = box.y(y_scale, rise_from) if rise_from is not None else y0
        steps = [f"M{_n(x0)} {_n(start)}"]
        for (x, y), (x_next, _) in zip(points, [*points[1:], (points[-1][0], 0.0)], strict=True):
            steps.append(f"V{_n(y)}H{_n(x_next)}" if x_next != x else f"V{_n(y)}")
        d.path("".join(steps), s.color, 1.3, clip=clip, title=s.label)
    if mark is not None:
        y = box.y(y_scale, mark)
        d.line(box.left, y, box.right, y, "#999999", 0.7, dash="1.5 2")
    d.text(box.center, TITLE_FONT * 1.4, title, size=TITLE_FONT, anchor="middle")
    _legend(d, height - legend_height, box, entries, 2, line=True)
    return d.svg(label)


@dataclass(frozen=True)
class Segment:
    """One part of every row's bar: its label and value per row, one colour or a colour per row."""

    label: str
    values: Sequence[float]
    color: str | Sequence[str]

    def color_of(self, row: int) -> str:
        return self.color if isinstance(self.color, str) else self.color[row]


@dataclass(frozen=True)
class BarPanel:
    """Horizontal bars, one per row, each the segments stacked left to right from zero."""

    title: str
    x_label: str
    segments: Sequence[Segment]
    fmt: Callable[[float], str] = plain
    unit: str = ""  # in a bar's tooltip: "120 tokens"
    ticks: int = 5
    integer: bool = False


def _finite(value: float) -> float:
    return value if math.isfinite(value) else 0.0


def hbar_panels(
    rows: Sequence[str],
    panels: Sequence[BarPanel],
    *,
    width: float,
    height: float,
    legend: Sequence[tuple[str, str]] = (),
    legend_columns: int = 3,
    label: str = "",
) -> str:
    """Panels side by side sharing the rows (labelled left of the first, top to bottom), and a legend
    of (colour, label) under them. Missing values draw as zero-length bars."""
    label_width = min(max((text_width(r) for r in rows), default=0.0), width * 0.3)
    legend_rows = -(-len(legend) // max(legend_columns, 1)) if legend else 0
    legend_height = legend_rows * LEGEND_FONT * 1.5
    top, bottom = TITLE_FONT * 2.2, height - 36 - legend_height
    left = label_width + 10
    gap = 22.0
    panel_width = (width - left - 12 - gap * (len(panels) - 1)) / max(len(panels), 1)
    d = Drawing(width, height)
    n = max(len(rows), 1)
    boxes: list[Box] = []
    for index, panel in enumerate(panels):
        box_left = left + index * (panel_width + gap)
        box = Box(box_left, top, box_left + panel_width, bottom)
        boxes.append(box)
        totals = [sum(_finite(float(s.values[r])) for s in panel.segments) for r in range(len(rows))]
        high = max(totals, default=0.0)
        scale = Scale(0.0, high * 1.05 if high > 0 else 1.0)
        _x_axis(d, box, scale, panel.x_label, panel.fmt, target=panel.ticks, integer=panel.integer)
        pitch = (bottom - top) / (n + 0.1)
        for row, name in enumerate(rows):
            center = top + pitch * (row + 0.55)
            start = 0.0
            for segment in panel.segments:
                value = _finite(float(segment.values[row]))
                if value > 0:
                    x0, x1 = box.x(scale, start), box.x(scale, start + value)
                    tip = f"{name} · {segment.label}: {panel.fmt(value)}"
                    tip += f" {panel.unit}" if panel.unit else ""
                    d.rect(x0, center - 0.35 * pitch, x1 - x0, 0.7 * pitch, segment.color_of(row), title=tip)
                start += value
            if index == 0:
                d.line(box.left - 3.5, center, box.left, center, SPINE, 0.8)
                d.text(box.left - 5.5, center, clip_text(name, label_width), anchor="end", middle=True)
        d.line(box.left, top, box.left, bottom, SPINE, 0.8)
        d.text(box.center, TITLE_FONT * 1.4, panel.title, size=TITLE_FONT, anchor="middle")
    if boxes:
        whole = Box(boxes[0].left, top, boxes[-1].right, bottom)
        _legend(d, height - legend_height - 4, whole, legend, legend_columns, line=False)
    return d.svg(label)
