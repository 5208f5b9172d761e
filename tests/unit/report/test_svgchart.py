"""The matplotlib-free charts: ticks, scales, where the marks land, escaping, deterministic ids."""

from __future__ import annotations

import itertools
import re
from xml.etree import ElementTree

import pytest

from harness.report import svgchart
from harness.report.svgchart import BarPanel, Scale, Segment, Series

SVG = "{http://www.w3.org/2000/svg}"


def _tree(svg: str) -> ElementTree.Element:
    return ElementTree.fromstring(svg)


def _texts(svg: str) -> list[str]:
    return [t.text or "" for t in _tree(svg).iter(f"{SVG}text")]


def test_linear_ticks_are_round_multiples_inside_the_range() -> None:
    assert svgchart.linear_ticks(0.0, 1.0) == [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
    assert svgchart.linear_ticks(0.0, 0.000441, 4) == [0.0, 0.0001, 0.0002, 0.0003, 0.0004]
    assert svgchart.linear_ticks(0.15, 5.5) == [1.0, 2.0, 3.0, 4.0, 5.0]  # the finest step for <= 6
    assert svgchart.linear_ticks(0.03, 0.16) == [0.05, 0.1, 0.15]
    assert svgchart.linear_ticks(0.0, 8.4, integer=True) == [0.0, 2.0, 4.0, 6.0, 8.0]
    assert svgchart.linear_ticks(0.0, 2.1, integer=True) == [0.0, 1.0, 2.0]
    assert svgchart.linear_ticks(5.0, 5.0) == [5.0]


def test_log_ticks_are_decades_or_one_two_five_when_narrow() -> None:
    assert svgchart.log_ticks(0.008, 20.0) == [0.01, 0.1, 1.0, 10.0]
    assert svgchart.log_ticks(0.04, 0.3) == [0.05, 0.1, 0.2]
    assert svgchart.log_ticks(0.0, 1.0) == []


def test_scales_pad_the_data_and_keep_non_negative_data_above_zero() -> None:
    assert Scale.around(0.0, 10.0) == Scale(0.0, 10.5)
    assert Scale.around(2.0, 12.0) == Scale(1.5, 12.5)
    log = Scale.around(0.01, 100.0, log=True)
    assert log.log
    assert log.lo == pytest.approx(0.01 / 10**0.2)
    assert log.hi == pytest.approx(100 * 10**0.2)
    assert log.frac(1.0) == pytest.approx(0.5)
    assert log.frac(0.0) == 0.0  # below the axis: at its start, not an error


def _cdf(series: list[Series]) -> str:
    return svgchart.step_cdf(series, x_label="latency (s)", y_label="share (%)", title="CDF", mark=0.95)


def _path_points(d: str) -> list[tuple[float, float]]:
    """The corners of an M/V/H path, in order."""
    points: list[tuple[float, float]] = []
    x = y = 0.0
    for op, a, b in re.findall(r"([MVH])([-\d.]+)(?: ([-\d.]+))?", d):
        if op == "M":
            x, y = float(a), float(b)
        elif op == "V":
            y = float(a)
        else:
            x = float(a)
        points.append((x, y))
    return points


def test_a_cdf_rises_in_equal_steps_at_each_value() -> None:
    svg = _cdf([Series("a", "#0072B2", [1.0, 2.0, 3.0], [1 / 3, 2 / 3, 1.0])])
    (path,) = _tree(svg).iter(f"{SVG}path")
    points = _path_points(path.get("d", ""))
    xs = [x for x, _ in points]
    ys = [y for _, y in points]
    assert xs == sorted(xs)
    assert ys == sorted(ys, reverse=True)
    rises = sorted({round(y, 1) for y in ys}, reverse=True)  # share 0, 1/3, 2/3, 1
    assert len(rises) == 4
    steps = [a - b for a, b in itertools.pairwise(rises)]
    assert steps == pytest.approx([steps[0]] * 3, abs=0.15)
    corners = sorted({round(x, 1) for x in xs})
    assert corners[2] - corners[1] == pytest.approx(corners[1] - corners[0], abs=0.15)  # 1, 2, 3 evenly
    assert path.get("stroke") == "#0072B2"
    assert "latency (s)" in _texts(svg)
    assert "95%" not in _texts(svg)  # the p95 line is drawn, not labelled
    assert [t for t in _texts(svg) if t.endswith("%")] == ["0%", "20%", "40%", "60%", "80%", "100%"]


def test_a_wide_cdf_gets_a_log_axis_and_a_legend_per_series() -> None:
    wide = [
        Series("fast (n=3)", "#0072B2", [0.01, 0.02, 0.05], [1 / 3, 2 / 3, 1.0]),
        Series("slow (n=3)", "#E69F00", [1.0, 4.0, 9.0], [1 / 3, 2 / 3, 1.0]),
    ]
    texts = _texts(_cdf(wide))
    assert {"0.01", "0.1", "1"} <= set(texts)
    assert "fast (n=3)" in texts
    assert "slow (n=3)" in texts
    narrow = _texts(_cdf(wide[1:]))
    assert "slow (n=3)" not in narrow  # one series: no legend
    assert {"2", "4", "6", "8"} <= set(narrow)


def _bars(rows: list[str], values: list[float], other: list[float]) -> str:
    panel = BarPanel(
        "Tokens", "tokens", [Segment("prompt", values, "#111111"), Segment("answer", other, "#222222")]
    )
    return svgchart.hbar_panels(rows, [panel], width=600, height=140, legend=[("#111111", "prompt")])


def _widths(svg: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for rect in _tree(svg).iter(f"{SVG}rect"):
        title = rect.find(f"{SVG}title")
        if title is not None and title.text:
            out[title.text] = float(rect.get("width", "0"))
    return out


def test_bars_are_as_long_as_their_values_and_stack_left_to_right() -> None:
    svg = _bars(["#1", "#2"], [100.0, 50.0], [50.0, float("nan")])
    widths = _widths(svg)
    assert set(widths) == {"#1 · prompt: 100", "#1 · answer: 50", "#2 · prompt: 50"}  # NaN: no bar
    assert widths["#1 · prompt: 100"] == pytest.approx(2 * widths["#2 · prompt: 50"], rel=0.01)
    assert widths["#1 · answer: 50"] == pytest.approx(widths["#2 · prompt: 50"], rel=0.01)
    rects = {
        r.find(f"{SVG}title").text: float(r.get("x", "0"))
        for r in _tree(svg).iter(f"{SVG}rect")
        if r.find(f"{SVG}title") is not None
    }  # type: ignore[union-attr]
    assert rects["#1 · answer: 50"] == pytest.approx(
        rects["#1 · prompt: 100"] + widths["#1 · prompt: 100"], abs=0.02
    )


@pytest.mark.parametrize("label", ["<script>alert(1)</script>", '"><img src=x onerror=alert(1)>', "a & b"])
def test_labels_are_text_never_markup(label: str) -> None:
    svg = _bars([label, "#2"], [1.0, 2.0], [0.0, 0.0])
    tags = {e.tag.removeprefix(SVG) for e in _tree(svg).iter()}
    assert tags <= {"svg", "rect", "line", "text", "title", "clipPath", "path"}
    assert label in _texts(svg)
    cdf = _cdf([Series(label, "#000000", [1.0], [1.0]), Series("b", "#111111", [2.0], [1.0])])
    assert label in _texts(cdf)


def test_ids_are_prefixed_deterministic_and_distinct_between_figures() -> None:
    one = _cdf([Series("a", "#000000", [1.0, 2.0], [0.5, 1.0])])
    assert _cdf([Series("a", "#000000", [1.0, 2.0], [0.5, 1.0])]) == one
    other = _cdf([Series("a", "#000000", [1.0, 3.0], [0.5, 1.0])])
    ids_one = re.findall(r'\bid="([^"]+)"', one)
    ids_other = re.findall(r'\bid="([^"]+)"', other)
    assert ids_one
    assert all(re.fullmatch(r"f[0-9a-f]{8}-clip\d+", i) for i in ids_one)
    assert set(ids_one).isdisjoint(ids_other)
    assert re.findall(r"url\(#([^)]+)\)", one) == ids_one


def test_long_labels_are_cut_to_fit_with_an_ellipsis() -> None:
    assert svgchart.clip_text("x" * 200, 50.0) == "x" * 9 + "…"
    assert svgchart.clip_text("short", 50.0) == "short"


def test_a_step_chart_holds_each_value_until_the_next_time_from_a_zero_based_axis() -> None:
    from harness.report import perf_figures

    svg = perf_figures.concurrency_history([[0.0, 8.0], [5.0, 4.0], [10.0, 6.0]])
    (path,) = _tree(svg).iter(f"{SVG}path")
    points = _path_points(path.get("d", ""))
    axis = max(
        (line for line in _tree(svg).iter(f"{SVG}line") if line.get("y1") == line.get("y2")),
        key=lambda line: float(line.get("x2", "0")) - float(line.get("x1", "0")),
    )
    bottom = float(axis.get("y1", "0"))
    held = [(round(x, 1), round(bottom - y, 1)) for x, y in points]
    levels = [h for i, (_, h) in enumerate(held) if i == 0 or h != held[i - 1][1]]
    assert len(levels) == 3
    assert levels[1] == pytest.approx(levels[0] / 2, abs=0.2)  # 8, then 4: half as high above zero
    assert levels[2] == pytest.approx(levels[0] * 3 / 4, abs=0.2)  # then 6
    first_step = next(x for x, h in held if h == levels[1])
    assert first_step > held[0][0]  # 8 is held until t=5, then it steps
    assert {"0", "2", "4", "6", "8"} <= set(_texts(svg))
