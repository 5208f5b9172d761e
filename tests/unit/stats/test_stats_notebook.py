"""load_run / export_parquet: reading a run directory for notebooks."""

from __future__ import annotations

from pathlib import Path

import orjson
import pandas as pd
import pytest
from stats_builders import make_record, make_score

import harness.stats
from harness.errors import StoreError
from harness.stats import export_parquet, load_run
from harness.stats.notebook import read_run_records


def _write_run(run_dir: Path, n: int = 3, *, torn: bytes = b"") -> None:
    run_dir.mkdir(parents=True, exist_ok=True)
    recs = [make_record(f"q{i}", {"temperature": 0.5, "mode": "fast" if i else 1}) for i in range(n)]
    (run_dir / "records.jsonl").write_bytes(b"".join(orjson.dumps(r.to_dict()) + b"\n" for r in recs) + torn)
    scores = [make_score(r, 1.0 if i % 2 else 0.0) for i, r in enumerate(recs)]
    (run_dir / "scores.jsonl").write_bytes(b"".join(orjson.dumps(s.to_dict()) + b"\n" for s in scores))
    (run_dir / "manifest.json").write_bytes(orjson.dumps({"suite": {"name": "t"}}))


def test_load_run_frames_and_computed_summary(tmp_path: Path) -> None:
    _write_run(tmp_path)
    run = load_run(tmp_path)
    assert run.records["item_id"].tolist() == ["q0", "q1", "q2"]
    assert run.scores["value"].tolist() == [0.0, 1.0, 0.0]
    assert run.summary["suite"] == "t"
    assert run.summary["overall"]["metrics"]["accuracy"]["mean"] == pytest.approx(1 / 3)
    assert run.manifest == {"suite": {"name": "t"}}
    assert run.itl.empty


def test_load_run_prefers_summary_file(tmp_path: Path) -> None:
    _write_run(tmp_path)
    written = dict(load_run(tmp_path).summary, suite="from-the-file")
    (tmp_path / "summary.json").write_bytes(orjson.dumps(written))
    assert load_run(tmp_path).summary == written


def test_load_run_rejects_a_file_that_is_not_a_summary(tmp_path: Path) -> None:
    _write_run(tmp_path)
    (tmp_path / "summary.json").write_text('{"schema_version": 1, "marker": true}')
    with pytest.raises(StoreError, match=r"not a summary\.json"):
        load_run(tmp_path)


def test_torn_last_line_is_skipped(tmp_path: Path) -> None:
    _write_run(tmp_path, torn=b'{"trial_key": "x", "cell')
    assert len(read_run_records(tmp_path)) == 3
    assert len(load_run(tmp_path).records) == 3


def test_torn_line_in_the_middle_is_an_error(tmp_path: Path) -> None:
    _write_run(tmp_path)
    lines = (tmp_path / "records.jsonl").read_bytes().splitlines()
    lines[1] = lines[1][:20]
    (tmp_path / "records.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    with pytest.raises(StoreError, match=r"records\.jsonl:2"):
        load_run(tmp_path)


def test_missing_dir_and_unscored_run(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="not a directory"):
        load_run(tmp_path / "nope")
    _write_run(tmp_path)
    (tmp_path / "scores.jsonl").unlink()
    run = load_run(tmp_path)
    assert run.scores.empty
    assert run.summary["scorers"] == []


def test_export_parquet_round_trip(tmp_path: Path) -> None:
    _write_run(tmp_path)
    records_path, scores_path = export_parquet(tmp_path)
    assert records_path == tmp_path / "records.parquet"
    records = pd.read_parquet(records_path)
    scores = pd.read_parquet(scores_path)
    assert records["trial_key"].tolist() == load_run(tmp_path).records["trial_key"].tolist()
    assert records["e2e_s"].tolist() == [1.0, 1.0, 1.0]
    # The mixed-type axis (1 and "fast") is kept as JSON text rather than coerced.
    assert records["cell.mode"].tolist() == ["1", '"fast"', '"fast"']
    assert scores["value"].tolist() == [0.0, 1.0, 0.0]


def test_public_api_is_sorted_and_complete() -> None:
    required = {
        "summarize", "load_run", "RunData", "export_parquet", "wilson_ci", "bootstrap_ci", "cluster_bootstrap_ci",
        "paired_bootstrap_diff", "mcnemar_exact", "holm", "percentiles", "main_effects", "flipped_items",
    }  # fmt: skip
    assert required <= set(harness.stats.__all__)
    assert harness.stats.__all__ == sorted(harness.stats.__all__)
    assert all(hasattr(harness.stats, name) for name in harness.stats.__all__)
