"""The report context for runs of other shapes: one cell, no records, many cells, open loop, budgets."""

from __future__ import annotations

from pathlib import Path

import orjson
from report_fixtures import write_run

from harness.report.cells import cell_refs
from harness.report.render import build_context, render_html
from harness.report.rundata import load_run_files
from harness.report.sections import build_verdict


def _context(run_dir: Path):  # type: ignore[no-untyped-def]
    return build_context(load_run_files(run_dir))


def test_a_single_cell_run_says_it_sweeps_nothing(tmp_path: Path) -> None:
    write_run(tmp_path, axes={}, n_items=3, thresholds=False)
    ctx = _context(tmp_path)
    sweep = next(s for s in ctx.sections if s.id == "sweep")
    assert sweep.intro == "This run sweeps no axis: it has a single cell."
    assert sweep.figures == []
    assert ctx.verdict.passed is None
    assert ctx.verdict.headline == "No thresholds are set for this suite."
    assert len(ctx.cells.rows) == 1


def test_a_run_with_no_records_still_renders(tmp_path: Path) -> None:
    write_run(tmp_path, axes={"temperature": [0.0, 0.6]}, n_items=1, thresholds=False)
    (tmp_path / "records.jsonl").write_bytes(b"")
    (tmp_path / "scores.jsonl").unlink()
    summary = orjson.loads((tmp_path / "summary.json").read_bytes())
    summary["cells"] = []
    (tmp_path / "summary.json").write_bytes(orjson.dumps(summary))
    ctx = _context(tmp_path)
    assert ctx.cells.rows == []
    assert ctx.items.items == []
    assert ctx.items.total == 0
    latency = next(s for s in ctx.sections if s.id == "latency")
    assert latency.intro == "No trial finished successfully, so there is no latency to show."
    assert "<html" in render_html(ctx)


def test_many_cells_are_grouped_in_latency_figures(tmp_path: Path) -> None:
    write_run(
        tmp_path,
        axes={"topK": [1, 5, 10, 20, 40, 80], "temperature": [0.0, 0.6]},
        n_items=2,
        thresholds=False,
    )
    ctx = _context(tmp_path)
    latency = next(s for s in ctx.sections if s.id == "latency")
    cdf = latency.figures[0]
    assert cdf.caption == "Successful trials, grouped by temperature (12 cells)."
    assert len(latency.tables[0].rows) == 12
    sweep = next(s for s in ctx.sections if s.id == "sweep")
    # two axes: a line chart per axis, the heatmap of the grid, the main effects
    assert [f.title for f in sweep.figures] == [
        "accuracy by topK",
        "accuracy by temperature",
        "accuracy: topK × temperature",
        "Main effects",
    ]


def test_open_loop_runs_get_the_rate_figure(tmp_path: Path) -> None:
    write_run(tmp_path, axes={"temperature": [0.0, 0.6]}, n_items=3, rate_rps=4.0, thresholds=False)
    latency = next(s for s in _context(tmp_path).sections if s.id == "latency")
    rate = [f for f in latency.figures if f.title == "Achieved vs target request rate"]
    assert len(rate) == 1
    assert rate[0].caption == "Open-loop run: target 4 req/s, achieved 3.88 req/s."


def test_torn_last_line_is_skipped_and_reported(tmp_path: Path) -> None:
    write_run(tmp_path, axes={"temperature": [0.0]}, n_items=2, thresholds=False)
    with (tmp_path / "records.jsonl").open("ab") as fh:
        fh.write(b'{"trial_key": "torn", "cell')
    files = load_run_files(tmp_path)
    assert len(files.records) == 2
    assert files.skipped_lines == 1
    assert any("1 unreadable line" in n for n in build_context(files).header.notes)


def test_best_cell_within_the_latency_budget(tmp_path: Path) -> None:
    summary = write_run(tmp_path, axes={"temperature": [0.0, 0.6], "topK": [20, 40]}, n_items=6)
    refs = cell_refs(summary)
    verdict = build_verdict(summary, refs)
    within = [r for r in refs if (r.data["latency"]["e2e_s"] or {}).get("p95", 99) <= 2.5]
    best = max(
        within,
        key=lambda r: (
            r.data["metrics"]["accuracy"]["mean"],
            r.data["metrics"]["accuracy"]["ci_low"],
            -r.data["cost"]["per_trial_usd"],
        ),
    )
    assert any(
        line.startswith(f"Best cell within the budget (p95_latency_s <= 2.5): {best.tag} {best.cell_id} at ")
        for line in verdict.lines
    )
