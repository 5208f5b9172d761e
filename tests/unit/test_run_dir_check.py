"""Where a run may write (harness.suite_run._check_run_dir): never into a directory of someone's files."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.errors import ConfigError
from harness.preflight import RunOptions
from harness.store import MANIFEST, RECORDS
from harness.suite_run import _check_run_dir


def check(path: Path, **options: object) -> None:
    _check_run_dir(path, RunOptions(**options), "demo")  # type: ignore[arg-type]


def test_a_new_or_empty_directory_is_accepted(tmp_path: Path) -> None:
    check(tmp_path / "new", out=tmp_path / "new")
    (tmp_path / "empty").mkdir()
    check(tmp_path / "empty", out=tmp_path / "empty")


def test_a_run_directory_without_records_is_accepted(tmp_path: Path) -> None:
    (tmp_path / MANIFEST).write_text('{"suite": {"name": "demo"}}')
    check(tmp_path, out=tmp_path)


def test_a_directory_of_other_files_is_refused(tmp_path: Path) -> None:
    (tmp_path / "thesis.tex").write_text("months of work")
    with pytest.raises(ConfigError, match="not a run directory") as info:
        check(tmp_path, out=tmp_path)
    assert (info.value.file, info.value.field) == (str(tmp_path), "--out")


def test_a_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("x")
    with pytest.raises(ConfigError, match="not a directory"):
        check(path, out=path)


def test_records_need_resume(tmp_path: Path) -> None:
    (tmp_path / MANIFEST).write_text("{}")
    (tmp_path / RECORDS).write_text("")
    with pytest.raises(ConfigError, match="--resume"):
        check(tmp_path, out=tmp_path)
    check(tmp_path, resume=tmp_path)


def test_resume_needs_a_manifest(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not a run directory") as info:
        check(tmp_path, resume=tmp_path)
    assert info.value.field == "--resume"
