"""The terse Markdown summary for CI."""

from __future__ import annotations

from pathlib import Path

from report_fixtures import write_run

from harness.report import render_markdown
from harness.report.markdown import md_escape


def test_markdown_has_headline_thresholds_and_one_row_per_cell(tmp_path: Path) -> None:
    summary = write_run(tmp_path)
    text = render_markdown(summary)
    lines = text.splitlines()
    overall = summary["overall"]["metrics"]["accuracy"]
    assert lines[0].startswith(f"### demo: accuracy {overall['mean'] * 100:.1f}% [")
    failed = [r for r in summary["thresholds"] if not r["passed"]]
    assert f"**Thresholds: {len(failed)} of {len(summary['thresholds'])} checks FAIL**" in lines
    rows = [line for line in lines if line.startswith("| #") and not line.startswith("| # |")]
    assert len(rows) == len(summary["cells"])


def test_markdown_caps_rows(tmp_path: Path) -> None:
    summary = write_run(tmp_path, axes={"topK": list(range(1, 36))}, n_items=1, thresholds=False)
    text = render_markdown(summary, max_rows=30)
    assert sum(line.startswith("| #") and not line.startswith("| # |") for line in text.splitlines()) == 30
    assert "… 5 more cells in report.html" in text
    assert "Thresholds" not in text


def test_md_escape_neutralises_tables_and_html() -> None:
    assert md_escape("a|b\n<script>alert(1)</script>") == "a\\|b &lt;script&gt;alert(1)&lt;/script&gt;"
    assert md_escape("**bold** `code` [link](x)") == "\\*\\*bold\\*\\* \\`code\\` \\[link\\](x)"


def test_markdown_says_when_the_run_did_not_complete(tmp_path: Path) -> None:
    summary = write_run(tmp_path, axes={"temperature": [0.0]}, n_items=2, thresholds=False)
    manifest = {
        "status": "interrupted",
        "stop_reason": "interrupted; resume to finish",
        "plan": {"trials": 200},
    }
    text = render_markdown(summary, manifest=manifest)
    done = summary["overall"]["n_trials"]
    assert (
        f"**Run interrupted: {done} of 200 planned trials done (interrupted; resume to finish); "
        "figures and thresholds cover only the finished trials.**"
    ) in text.splitlines()
    assert "Run " not in render_markdown(summary, manifest={**manifest, "status": "complete"})
