"""The per-cell tables: empty columns dropped, paired comparisons highlighted after Holm's correction."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from report_fixtures import write_run

from harness.report.cells import cell_refs
from harness.report.context import Table, TableCell
from harness.report.items import prompt_template
from harness.report.perf_charts import reliability_section
from harness.report.rundata import load_run_files
from harness.report.tables import drop_empty_columns, pairwise_table


def test_drop_empty_columns_keeps_the_first_two_and_any_with_a_value() -> None:
    table = Table(
        id="t",
        columns=["#", "cell", "ttft", "p50"],
        numeric=[True, False, True, True],
        rows=[
            [TableCell(text="#1"), TableCell(text="—"), TableCell(text="—"), TableCell(text="1 s", sort=1.0)],
            [TableCell(text="#2"), TableCell(text="b"), TableCell(text=""), TableCell(text="—", sort=None)],
        ],
    )
    out = drop_empty_columns(table)
    assert out.columns == ["#", "cell", "p50"]
    assert out.numeric == [True, False, True]
    assert [[c.text for c in row] for row in out.rows] == [["#1", "—", "1 s"], ["#2", "b", "—"]]


def _comparison(
    a: str, b: str, *, diff: float, low: float, high: float, p_holm: float | None
) -> dict[str, Any]:
    return {
        "a": a,
        "b": b,
        "metric": "accuracy",
        "n_pairs": 30,
        "diff": diff,
        "ci_low": low,
        "ci_high": high,
        "mcnemar_p": 0.01,
        "p_holm": p_holm,
        "b01": 1,
        "b10": 9,
    }


def test_pairwise_highlights_only_what_survives_holm(tmp_path: Path) -> None:
    summary = write_run(tmp_path, axes={"temperature": [0.0, 0.6, 1.0]}, n_items=2, thresholds=False)
    ids = [c["cell_id"] for c in summary["cells"]]
    summary["comparisons"] = [
        _comparison(ids[0], ids[1], diff=0.3, low=0.1, high=0.5, p_holm=0.2),
        _comparison(ids[0], ids[2], diff=0.4, low=0.2, high=0.6, p_holm=0.01),
        _comparison(ids[1], ids[2], diff=-0.1, low=-0.3, high=0.1, p_holm=None),
    ]
    table = pairwise_table(summary, cell_refs(summary))
    assert table is not None
    rows = [[c.text for c in row] for row in table.rows]
    assert [r[:2] for r in rows] == [["#1 0", "#3 1"], ["#1 0", "#2 0.6"], ["#2 0.6", "#3 1"]]
    assert [r[4] for r in rows] == [
        "+40.0% [+20.0%, +60.0%]",
        "+30.0% [+10.0%, +50.0%]",
        "−10.0% [−30.0%, +10.0%]",
    ]
    assert [row[4].cls for row in table.rows] == ["pass", None, None]
    assert [r[5] for r in rows] == ["9 / 1"] * 3


def test_reliability_without_incidents_is_one_sentence(tmp_path: Path) -> None:
    write_run(tmp_path, axes={"temperature": [0.0, 0.6]}, n_items=2, error_every=0, thresholds=False)
    files = load_run_files(tmp_path)
    section = reliability_section(files, cell_refs(files.summary))
    assert section.intro == "No trial failed, was retried or was cut short."
    assert section.tables == []
    assert section.figures == []


def test_prompt_template_from_the_manifest() -> None:
    manifest = {
        "suite": {
            "prompt": {
                "system": "Answer with a number.",
                "template": "Q: {{ question }}",
                "messages": None,
                "fewshot": {"n": 3},
            }
        }
    }
    assert (
        prompt_template(manifest)
        == "[system]\nAnswer with a number.\n\n[3 few-shot examples]\n\n[user]\nQ: {{ question }}"
    )
    assert prompt_template({"suite": None}) is None
