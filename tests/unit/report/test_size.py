"""A 10,000-trial run gives a report under 15 MB, even when the suite asks for every item."""

from __future__ import annotations

from pathlib import Path

import pytest
from report_fixtures import write_run

from harness.report import render_report

MAX_BYTES = 15 * 1024 * 1024


@pytest.mark.slow
def test_a_10000_trial_report_stays_under_15_mb(tmp_path: Path) -> None:
    axes = {"temperature": [0.0, 0.6, 1.0], "topK": [20, 40, 80], "thinkingLevel": ["low", "high"]}
    write_run(
        tmp_path, axes=axes, n_items=556, text_len=3000, itl_len=100, max_items=100_000, thresholds=False
    )
    path = render_report(tmp_path)
    assert (tmp_path / "records.jsonl").stat().st_size > 60 * 1024 * 1024  # long answers and reasoning
    assert path.stat().st_size < MAX_BYTES
