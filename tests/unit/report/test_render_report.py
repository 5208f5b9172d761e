"""report.html of a synthetic 3-axis sweep, checked by parsing the page: cells, figures, escaping."""

from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path
from typing import Any

import pytest
from report_fixtures import HOSTILE, Node, parse_html, write_run

from harness.report import render_report
from harness.report.render import page_script

AXES = {"temperature": [0.0, 0.6], "topK": [20, 40], "thinkingLevel": ["low", "high"]}


@pytest.fixture(scope="module")
def sweep_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any], str]:
    run_dir = tmp_path_factory.mktemp("sweep")
    summary = write_run(run_dir, axes=AXES)
    page = render_report(run_dir).read_text(encoding="utf-8")
    return run_dir, summary, page


@pytest.fixture(scope="module")
def dom(sweep_run: tuple[Path, dict[str, Any], str]) -> Node:
    return parse_html(sweep_run[2])


def _rows(dom: Node, table_id: str) -> list[list[str]]:
    body = dom.find_id(f"table-{table_id}").iter("tbody")[0]
    return [[td.text().strip() for td in tr.iter("td")] for tr in body.iter("tr")]


def test_cell_table_has_one_row_per_cell_in_summary_order(
    dom: Node, sweep_run: tuple[Path, dict[str, Any], str]
) -> None:
    rows = _rows(dom, "cells")
    assert [r[0] for r in rows] == [f"#{i}" for i in range(1, 9)]
    assert [r[1] for r in rows] == [c["cell_id"] for c in sweep_run[1]["cells"]]


def test_cell_table_shows_accuracy_with_its_ci(
    dom: Node, sweep_run: tuple[Path, dict[str, Any], str]
) -> None:
    first = sweep_run[1]["cells"][0]["metrics"]["accuracy"]
    expected = f"{first['mean'] * 100:.1f}% [{first['ci_low'] * 100:.1f}, {first['ci_high'] * 100:.1f}]"
    assert _rows(dom, "cells")[0][3] == expected


def test_every_section_of_issue_6_is_present(dom: Node) -> None:
    ids = {n.attrs.get("id") for n in dom.iter("section")}
    assert ids == {"verdict", "cells", "sweep", "tradeoffs", "latency", "money", "reliability", "items"}


def test_figure_count_per_section(dom: Node) -> None:
    counts = {s.attrs["id"]: len(s.iter("svg")) for s in dom.iter("section")}
    # sweep: 3 axes + 3 pairwise heatmaps + main effects; latency: e2e CDF, TTFT CDF, ITL, concurrency.
    assert counts == {
        "verdict": 0,
        "cells": 0,
        "sweep": 7,
        "tradeoffs": 2,
        "latency": 4,
        "money": 1,
        "reliability": 1,
        "items": 0,
    }
    assert len(dom.iter("svg")) == 15


def test_figures_embed_no_raster_image_and_no_font(
    sweep_run: tuple[Path, dict[str, Any], str], dom: Node
) -> None:
    assert dom.iter("image") == []
    page = sweep_run[2]
    assert "font-family" not in page.split("<svg", 1)[1]  # figure text is paths or in the page's font
    outside_figures = re.sub(r"<svg\b.*?</svg>", "", page, flags=re.S)
    assert "<text" not in outside_figures
    assert page.count("<text ") > 20  # the CDFs' and bars' labels (svgchart)


def test_hostile_strings_are_text_never_elements(dom: Node) -> None:
    text = dom.text()
    for payload in HOSTILE:
        assert payload in text
    assert dom.iter("img") == []
    assert dom.iter("textarea") == []
    scripts = dom.iter("script")
    assert len(scripts) == 1
    assert scripts[0].text().strip() == page_script()
    handlers = [(n.tag, k) for n in dom.iter() for k in n.attrs if k.lower().startswith("on")]
    assert handlers == []


def test_template_syntax_in_data_is_not_evaluated(dom: Node) -> None:
    gold = [n.text() for n in dom.iter("code") if "gold" in (n.attrs.get("class") or "")]
    assert any("{{ 7*7 }}" in g for g in gold)
    assert not any("49" in g for g in gold)


def test_content_security_policy_allows_only_the_page_script(dom: Node) -> None:
    meta = [m for m in dom.iter("meta") if m.attrs.get("http-equiv") == "Content-Security-Policy"]
    assert len(meta) == 1
    policy = meta[0].attrs["content"] or ""
    digest = base64.b64encode(hashlib.sha256(page_script().encode()).digest()).decode()
    assert f"script-src 'sha256-{digest}'" in policy
    assert "default-src 'none'" in policy


def test_page_references_nothing_outside_itself(dom: Node) -> None:
    for node in dom.iter():
        for name, value in node.attrs.items():
            if name in ("src", "href", "xlink:href", "action", "srcset", "poster"):
                assert (value or "").startswith("#"), (node.tag, name, value)


def test_rendering_twice_gives_the_same_bytes(
    sweep_run: tuple[Path, dict[str, Any], str], tmp_path: Path
) -> None:
    run_dir, _, page = sweep_run
    again = render_report(run_dir, out=tmp_path / "again.html").read_text(encoding="utf-8")
    assert again == page


def test_header_shows_reproduce_command_and_spend(
    dom: Node, sweep_run: tuple[Path, dict[str, Any], str]
) -> None:
    command = [n.text() for n in dom.iter("pre") if "command" in (n.attrs.get("class") or "")]
    assert command == [
        "harness run suites/demo.yaml --target sim --set 'description=<script>alert(1)</script>'"
    ]
    facts = {dt.text(): dd.text() for dt, dd in zip(dom.iter("dt"), dom.iter("dd"), strict=True)}
    assert facts["Total spend"] == f"${sweep_run[1]['cost']['total_usd']:.3g}"
    assert facts["Plan"] == "8 cells · 48 trials · 48 requests · 48 results"


def test_verdict_lists_each_threshold_result(dom: Node, sweep_run: tuple[Path, dict[str, Any], str]) -> None:
    rows = _rows(dom, "thresholds")
    results = sweep_run[1]["thresholds"]
    assert len(rows) == len(results)
    assert [r[4] for r in rows] == ["pass" if r["passed"] else "FAIL" for r in results]
    failed = sum(not r["passed"] for r in results)
    headline = [p.text() for p in dom.iter("p") if p.attrs.get("class") == "headline"]
    assert headline == [f"{failed} of {len(results)} threshold checks FAIL."]


def test_items_are_filterable_and_flagged(dom: Node) -> None:
    items = [d for d in dom.iter("details") if "item" in (d.attrs.get("class") or "").split()]
    assert len(items) == 6
    assert {k for d in items for k in d.attrs if k.startswith("data-")} == {
        "data-wrong",
        "data-changed",
        "data-error",
    }
    filters = dom.find_id("item-filters")
    assert "hidden" in filters.attrs  # shown by the script; without it every item is simply listed
    values = [i.attrs["value"] for i in filters.iter("input")]
    assert values == ["all", "wrong", "changed", "error"]


def test_a_single_cell_gets_no_trade_off_figure(tmp_path: Path) -> None:
    # One point has no Pareto front: the section says why instead of drawing one dot per figure.
    write_run(tmp_path, axes={})
    tradeoffs = parse_html(render_report(tmp_path).read_text(encoding="utf-8")).find_id("tradeoffs")
    assert tradeoffs.iter("svg") == []
    assert "Fewer than two cells" in tradeoffs.text()
