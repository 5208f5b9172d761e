"""The figure functions: pure, SVG out, self-contained, deterministic; the Pareto front and CDF sampling."""

from __future__ import annotations

import re
from xml.etree import ElementTree

import numpy as np
import pandas as pd
import pytest
from report_fixtures import parse_html

from harness.report import figures, perf_figures
from harness.report.canvas import PALETTE, cell_colors, to_svg


def _svg_ok(svg: str) -> None:
    assert svg.startswith("<svg ")
    assert svg.rstrip().endswith("</svg>")
    ElementTree.fromstring(svg)  # well-formed: every label escaped
    assert "<image" not in svg
    assert "<script" not in svg
    assert "font-family" not in svg  # text is paths (matplotlib) or in the page's font (svgchart)
    assert "<!--" not in svg
    assert "<?xml" not in svg
    ids = re.findall(r'\bid="([^"]+)"', svg)
    assert all(re.match(r"f[0-9a-f]{8}-", i) for i in ids)
    assert len(set(ids)) == len(ids)
    refs = set(re.findall(r'(?:href="#|url\(#)([^")]+)', svg))
    assert refs <= set(ids)


def test_pareto_front_keeps_cells_nothing_beats() -> None:
    cost = [1.0, 2.0, 3.0, 1.5, 4.0]
    accuracy = [0.5, 0.7, 0.65, 0.4, 0.9]
    assert figures.pareto_front(cost, accuracy) == [0, 1, 4]


def test_pareto_front_ignores_missing_values_and_ties_keep_the_cheaper() -> None:
    assert figures.pareto_front([1.0, float("nan"), 1.0, 2.0], [0.5, 0.9, 0.5, 0.5]) == [0]


def test_cdf_points_are_exact_for_small_samples() -> None:
    x, share = perf_figures.cdf_points(np.array([3.0, 1.0, 2.0, np.nan]))
    assert x.tolist() == [1.0, 2.0, 3.0]
    assert share.tolist() == pytest.approx([1 / 3, 2 / 3, 1.0])


def test_cdf_points_downsample_large_samples_monotonically() -> None:
    values = np.random.default_rng(0).exponential(size=100_000)
    x, share = perf_figures.cdf_points(values)
    assert len(x) == perf_figures.CDF_POINTS
    assert np.all(np.diff(x) >= 0)
    assert np.all(np.diff(share) > 0)
    assert x[0] == values.min()
    assert x[-1] == values.max()


def test_cell_colors_are_stable_and_distinct() -> None:
    ids = [f"c{i}" for i in range(40)]
    colors = cell_colors(ids)
    assert cell_colors(ids) == colors
    assert len(set(colors.values())) == 40
    assert cell_colors(ids[:3]) == {"c0": PALETTE[0], "c1": PALETTE[1], "c2": PALETTE[2]}


def test_latency_cdf_is_a_valid_inline_svg_with_one_line_per_group() -> None:
    frame = pd.DataFrame({"group": ["a"] * 50 + ["b"] * 50, "value_s": np.linspace(0.1, 5, 100)})
    svg = perf_figures.latency_cdf(frame, {"a": "#0072B2", "b": "#E69F00"})
    _svg_ok(svg)
    assert svg.count('stroke="#0072B2"') == 2  # its line and its legend key
    assert svg.count('stroke="#E69F00"') == 2
    assert "a (n=50)" in svg
    assert "b (n=50)" in svg


def test_same_input_gives_the_same_svg() -> None:
    points = pd.DataFrame(
        {
            "x": [0.0, 0.6],
            "series": [None, None],
            "mean": [0.4, 0.7],
            "ci_low": [0.3, 0.6],
            "ci_high": [0.5, 0.8],
            "n": [10, 10],
        }
    )
    first = figures.metric_by_axis(points, "temperature", by=None, metric="accuracy")
    assert figures.metric_by_axis(points, "temperature", by=None, metric="accuracy") == first
    _svg_ok(first)


def test_heatmap_draws_vectors_not_a_raster() -> None:
    grid = pd.DataFrame(
        {"x": [1, 2, 1, 2], "y": ["a", "a", "b", "b"], "mean": [0.1, 0.5, 0.7, np.nan], "n": [5, 5, 5, 0]}
    )
    svg = figures.metric_heatmap(grid, x_axis="topK", y_axis="level", metric="accuracy")
    _svg_ok(svg)


@pytest.mark.parametrize("label", ["<script>alert(1)</script>", '"><img src=x onerror=alert(1)>'])
def test_hostile_labels_in_a_figure_become_paths_not_markup(label: str) -> None:
    points = pd.DataFrame(
        {
            "x": [label, "plain"],
            "series": [None, None],
            "mean": [0.4, 0.7],
            "ci_low": [0.3, 0.6],
            "ci_high": [0.5, 0.8],
            "n": [10, 10],
        }
    )
    svg = figures.metric_by_axis(points, "stopSequences", by=None, metric="accuracy")
    _svg_ok(svg)
    tags = {n.tag for n in parse_html(svg).iter()}
    assert tags <= {"svg", "defs", "style", "g", "path", "use", "clippath", "rect", "clipPath", "polyline"}


def test_to_svg_labels_the_figure_for_screen_readers() -> None:
    from harness.report.canvas import new_figure

    fig, (ax,) = new_figure(2, 2)
    ax.plot([0, 1], [0, 1])
    svg = to_svg(fig, label='a "quoted" <label>')
    assert svg.startswith('<svg role="img" aria-label="a &quot;quoted&quot; &lt;label&gt;" ')


def test_main_effects_and_tradeoff_and_bars_render() -> None:
    effects = {
        "temperature": [
            {"value": 0.0, "mean": 0.4, "ci_low": 0.3, "ci_high": 0.5, "n": 10},
            {"value": 0.6, "mean": 0.6, "ci_low": 0.5, "ci_high": 0.7, "n": 10},
        ]
    }
    _svg_ok(figures.main_effects(effects, metric="accuracy"))
    cells = pd.DataFrame(
        {
            "cell_id": ["a", "b"],
            "tag": ["#1", "#2"],
            "x": [0.001, 0.002],
            "mean": [0.5, 0.8],
            "ci_low": [0.4, 0.7],
            "ci_high": [0.6, 0.9],
        }
    )
    _svg_ok(
        figures.tradeoff(
            cells,
            {"a": "#000000", "b": "#0072B2"},
            x_label="cost per trial (USD)",
            metric="accuracy",
            x_money=True,
        )
    )
    tokens = pd.DataFrame(
        {
            "cell_id": ["a"],
            "tag": ["#1"],
            "prompt": [100.0],
            "answer": [50.0],
            "thinking": [20.0],
            "cost_per_trial": [0.001],
        }
    )
    _svg_ok(perf_figures.tokens_and_cost(tokens, {"a": "#000000"}))
    _svg_ok(perf_figures.errors_by_kind(pd.DataFrame({"timeout": [2.0], "server": [1.0]}, index=["#1"])))
    _svg_ok(perf_figures.itl_distribution({"a": np.array([10.0, 12.0, 30.0])}))
    _svg_ok(perf_figures.request_rate(np.linspace(0, 10, 50), 5.0, done_s=np.linspace(0.5, 10.5, 50)))
    _svg_ok(perf_figures.concurrency_history([[0.0, 8.0], [5.0, 4.0]]))


@pytest.mark.parametrize(("data", "labelled"), [((12.0, 40.0), {"20"}), ((0.01, 100.0), {"0.1", "1", "10"})])
def test_a_log_axis_is_labelled_even_within_one_decade(data: tuple[float, float], labelled: set[str]) -> None:
    from harness.report.canvas import log_axis, new_figure

    fig, (ax,) = new_figure(3, 2)
    ax.plot(list(data), [0, 1])
    log_axis(ax, "x")
    low, high = ax.get_xlim()
    ticks = [v for v in ax.xaxis.get_major_locator()() if low <= v <= high]
    texts = {ax.xaxis.get_major_formatter()(v, 0) for v in ticks}
    assert len(ticks) >= 2
    assert labelled <= texts
    to_svg(fig)
