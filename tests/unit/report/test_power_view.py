"""The report's verdict names a winner only when its paired comparisons support one, and the "What
this run can tell apart" section shows each cell's precision and the race's drops."""

from __future__ import annotations

from typing import Any

from harness.report.cells import best_cell, cell_refs
from harness.report.markdown import render_markdown
from harness.report.power_view import best_cell_line, power_view_section


def summary(tied: list[str] | None, racing: dict[str, Any] | None = None) -> dict[str, Any]:
    cells = [
        {"cell_id": cid, "cell": {"t": t}, "n_items": n, "n_trials": n,
         "metrics": {"accuracy": {"mean": m, "ci_low": m - 0.1, "ci_high": m + 0.05, "n": n, "method": "wilson"}}}
        for cid, t, m, n in (("t=0", 0, 0.9, 30), ("t=1", 1, 0.85, 30), ("t=2", 2, 0.4, 10))
    ]  # fmt: skip
    out: dict[str, Any] = {
        "primary_metric": "accuracy",
        "swept_axes": ["t"],
        "cells": cells,
        "scorers": ["numeric"],
    }
    if tied is not None:
        out["power"] = {
            "alpha": 0.05,
            "power": 0.8,
            "comparisons": 3,
            "measured": {"accuracy": 0.8, "correlation": 0.25, "n_items": 30},
            "cells": [
                {"cell_id": "t=0", "n_items": 30, "half_width": 0.11, "mde_vs_best": None},
                {"cell_id": "t=1", "n_items": 30, "half_width": 0.12, "mde_vs_best": 0.3},
                {"cell_id": "t=2", "n_items": 10, "half_width": 0.25, "mde_vs_best": 0.5},
            ],
            "verdict": {"best": "t=0", "tied": tied, "distinguishable": not tied, "alpha": 0.05},
        }
        if racing is not None:
            out["power"]["racing"] = racing
    return out


def line(data: dict[str, Any]) -> str:
    refs = cell_refs(data)
    best = best_cell(refs, "accuracy")
    assert best is not None
    return best_cell_line(data, refs, best, "accuracy")


def test_no_winner_is_named_when_cells_are_tied_with_the_best() -> None:
    text = line(summary(["t=1"]))
    assert text.startswith("No cell is distinguishable from the best by accuracy: #1 t=0 at 90.0%")
    assert "1 other cell is statistically tied with it (#2;" in text
    assert "Best cell" not in text


def test_a_winner_is_named_when_every_comparison_supports_it() -> None:
    text = line(summary([]))
    assert text.startswith("Best cell by accuracy: #1 t=0 at 90.0%")
    assert "better than every other cell" in text


def test_a_summary_without_a_power_block_keeps_the_old_line() -> None:
    assert line(summary(None)).startswith("Best cell by accuracy: #1 t=0 at 90.0% [80.0, 95.0].")


def test_markdown_says_the_same() -> None:
    text = render_markdown(summary(["t=1", "t=2"]))
    assert "No cell is distinguishable from the best by accuracy" in text
    assert "2 other cells are statistically tied with it (\\#2, \\#3;" in text


def test_the_section_shows_precision_and_the_race() -> None:
    racing = {
        "trials": 70,
        "grid_trials": 90,
        "share_of_grid": 70 / 90,
        "looks_done": 2,
        "looks_planned": 3,
        "survivors": ["t=0", "t=1"],
        "stop_reason": "the item pool is exhausted",
        "correction": "Bonferroni over the planned looks",
        "dropped": {"t=2": {"look": 1, "n_items": 10, "leader": "t=0", "mean": 0.4, "leader_mean": 0.9,
                            "p_holm": 0.004, "alpha": 0.0167}},
        "looks": [{"look": 1, "n_items": 10, "leader": "t=0", "leader_mean": 0.9, "alpha": 0.0167,
                   "tests": [{"cell_id": "t=1", "dropped": False}, {"cell_id": "t=2", "dropped": True}]}],
    }  # fmt: skip
    data = summary(["t=1"], racing)
    section = power_view_section(data, cell_refs(data))
    assert section is not None
    rows = {r[1].text: [c.text for c in r] for r in section.tables[0].rows}
    assert rows["t=0"][3:] == ["±11.0 pts", "—", "survived"]
    assert rows["t=2"][5] == (
        "dropped at look 1 (10 items): 40.0% vs 90.0% for the leader #1, p_holm 0.004 < 0.017"
    )
    looks = section.tables[1].rows
    assert [c.text for c in looks[0]][4:6] == ["3", "#3"]
    assert section.notes[0].startswith("Racing: 70 trials of the full grid's 90 (78%), 2 of 3 planned looks")
    assert "Bonferroni" in section.notes[1]
    assert "item correlation between cells 0.25" in section.intro


def test_no_section_without_a_power_block() -> None:
    data = summary(None)
    assert power_view_section(data, cell_refs(data)) is None


def test_a_tied_cell_the_race_dropped_is_explained() -> None:
    data = summary(["t=1", "t=2"], {"dropped": {"t=2": {"look": 1}}})
    text = line(data)
    assert text.endswith(
        "The race dropped 1 of them (#3) by its own tests against the leader at each look, which correct "
        "for fewer comparisons than the summary's."
    )


def test_a_dominated_cell_says_by_whom() -> None:
    racing = {"dropped": {"t=2": {"look": 2, "n_items": 30, "dominated_by": "t=1"}}, "looks": []}
    data = summary(["t=1"], racing)
    section = power_view_section(data, cell_refs(data))
    assert section is not None
    rows = {r[1].text: [c.text for c in r] for r in section.tables[0].rows}
    assert rows["t=2"][5] == (
        "dominated at look 2 (30 items) by #2: significantly cheaper and faster, and not less accurate "
        "beyond the margin"
    )
