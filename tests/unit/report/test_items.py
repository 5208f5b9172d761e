"""The items drill-down: which items, in what order, how many left out, how texts are cut."""

from __future__ import annotations

from pathlib import Path

import pytest
from report_fixtures import write_run

from harness.report import items
from harness.report.cells import cell_refs
from harness.report.rundata import load_run_files


def test_select_items_puts_changed_then_wrong_then_errors_first() -> None:
    flags = {
        "item-10": (False, False, False),
        "item-2": (True, False, False),
        "item-9": (False, True, False),
        "item-1": (False, False, True),
        "item-3": (True, True, False),
    }
    assert items.select_items(flags, 10) == ["item-3", "item-9", "item-2", "item-1", "item-10"]
    assert items.select_items(flags, 2) == ["item-3", "item-9"]


def test_max_items_comes_from_the_suite_unless_overridden() -> None:
    manifest = {"suite": {"report": {"max_items": 7}}}
    assert items.max_items_of(manifest, None) == 7
    assert items.max_items_of(manifest, 3) == 3
    assert items.max_items_of({"suite": None}, None) == items.DEFAULT_MAX_ITEMS


def test_item_flags_from_records_and_scores(tmp_path: Path) -> None:
    write_run(tmp_path, axes={"temperature": [0.0, 0.6]}, n_items=4, error_every=0)
    files = load_run_files(tmp_path)
    flags = items.item_flags(files)
    results = files.results
    for item_id, (wrong, changed, error) in flags.items():
        mine = results[results["item_id"] == item_id]
        assert wrong == bool((mine["outcome"] == "wrong").any())
        per_cell = mine.groupby("cell_id")["value"].mean() > 0.5
        assert changed == (per_cell.nunique() > 1)
        assert error is False


def test_section_caps_items_and_counts_the_rest(tmp_path: Path) -> None:
    write_run(tmp_path, axes={"temperature": [0.0, 0.6]}, n_items=9, max_items=4)
    files = load_run_files(tmp_path)
    section = items.items_section(files, cell_refs(files.summary))
    assert len(section.items) == 4
    assert section.total == 9
    assert section.left_out == 5
    assert section.max_items == 4
    assert all(len(i.results) == 2 for i in section.items)


def test_long_texts_are_cut_to_the_budget_and_say_so(tmp_path: Path) -> None:
    write_run(tmp_path, axes={"temperature": [0.0]}, n_items=2, text_len=20_000, error_every=0)
    files = load_run_files(tmp_path)
    section = items.items_section(files, cell_refs(files.summary), max_items=2)
    result = section.items[1].results[0]
    assert result.text == (
        "The answer is 42. " if "42" in result.text[:16] else "The answer is 41. "
    ) + "x" * (items.MAX_TEXT_CHARS - 18)
    assert result.text_cut == 18 + 20_000 - items.MAX_TEXT_CHARS
    assert result.reasoning_cut > 0
    assert any("cut to keep this file small" in n for n in section.notes)


def test_failed_trials_show_their_error(tmp_path: Path) -> None:
    write_run(tmp_path, axes={"temperature": [0.0, 0.6]}, n_items=3, error_every=2)
    files = load_run_files(tmp_path)
    section = items.items_section(files, cell_refs(files.summary))
    errors = [r for i in section.items for r in i.results if r.status == "error"]
    assert errors
    assert all(r.error.startswith(("timeout: upstream said", "server: upstream said")) for r in errors)
    assert all(r.outcome == "error" for r in errors)


def test_the_result_budget_caps_items_before_max_items(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_run(tmp_path, axes={"temperature": [0.0, 0.6, 1.0]}, n_items=6, max_items=6)
    monkeypatch.setattr(items, "MAX_RESULTS", 7)
    files = load_run_files(tmp_path)
    section = items.items_section(files, cell_refs(files.summary))
    assert len(section.items) == 2  # 3 results per item: 2 items fit in 7
    assert section.left_out == 4
    assert any("budget of 7 results" in n for n in section.notes)
