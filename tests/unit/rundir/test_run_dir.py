"""RunDir: typed manifest (status is a closed set, the raw object comes back untouched), readers that
are empty before a run wrote anything, and the judge's directory inside the run's."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from harness.errors import StoreError
from harness.rundir import RunDir, layout


def _manifest(run_dir: Path, **fields: object) -> None:
    run_dir.mkdir(parents=True, exist_ok=True)
    raw = {"schema_version": 1, "status": "complete", "target_rps": 2, "suite": {"name": "s"}, **fields}
    (run_dir / layout.MANIFEST).write_bytes(orjson.dumps(raw))


def test_manifest_is_typed_and_gives_back_what_it_read(tmp_path: Path) -> None:
    _manifest(tmp_path, future_key={"kept": True})
    manifest = RunDir(tmp_path).manifest()
    assert (manifest.status, manifest.suite_name, manifest.target_rps) == ("complete", "s", 2)
    assert manifest.to_dict()["future_key"] == {"kept": True}
    assert isinstance(manifest.to_dict()["target_rps"], int)


def test_an_unknown_status_is_named(tmp_path: Path) -> None:
    _manifest(tmp_path, status="finished")
    with pytest.raises(StoreError, match=r"field status: Input should be 'running', 'complete'"):
        RunDir(tmp_path).manifest()


def test_a_newer_schema_is_refused_with_the_role(tmp_path: Path) -> None:
    _manifest(tmp_path, schema_version=99)
    with pytest.raises(StoreError, match=r"^baseline .*schema_version 99 is newer"):
        RunDir(tmp_path, role="baseline").manifest()


def test_readers_of_an_empty_directory(tmp_path: Path) -> None:
    run = RunDir(tmp_path)
    assert (run.records(), run.scores(), run.latest_lines(), list(run.score_lines())) == (
        [],
        [],
        ([], None),
        [],
    )
    assert [run.has_records(), run.has_manifest(), run.has_scores(), run.has_summary()] == [False] * 4
    with pytest.raises(StoreError, match="not found"):
        run.summary()


def test_judge_directory_is_inside_the_run(tmp_path: Path) -> None:
    judge = RunDir(tmp_path, role="current").judge()
    assert judge.path == tmp_path / layout.JUDGE
    assert judge.role == "current"


def test_score_lines_skip_a_torn_line(tmp_path: Path) -> None:
    (tmp_path / layout.SCORES).write_bytes(b'{"trial_key": "a", "value": 1.0}\n{"trial_key": "b", "va')
    assert [line["trial_key"] for line in RunDir(tmp_path).score_lines()] == ["a"]
