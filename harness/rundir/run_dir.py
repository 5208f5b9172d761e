"""`RunDir`: one run directory as an object, the way every reader and every writer of derived files
reaches it. Records are read through harness.rundir.store (latest record per trial wins), the manifest
through harness.rundir.manifest (schema version checked), scores and the summary here. Derived files
are replaced atomically (temp file, rename), so a reader never sees half a file; records.jsonl is only
ever appended, by harness.rundir.store.RunStore.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from harness.errors import StoreError
from harness.records import Record, Score
from harness.rundir import layout
from harness.rundir.manifest import Manifest, read_manifest, write_manifest
from harness.rundir.store import RawLine, RecordScan, read_latest_lines, read_records, scan_records

if TYPE_CHECKING:
    from harness.rundir.store import RunStore
    from harness.rundir.summary import Summary

__all__ = [
    "RunDir",
    "read_json_object",
    "read_probe",
    "read_scores",
    "write_json_object",
    "write_probe",
    "write_scores",
]


def _write_atomic(path: Path, data: bytes, *, what: str, fsync: bool = False) -> Path:
    tmp = path.with_name(layout.temp_name(path.name))
    try:
        with tmp.open("wb") as fh:
            fh.write(data)
            if fsync:
                fh.flush()
                os.fsync(fh.fileno())
        tmp.replace(path)
    except OSError as exc:
        raise StoreError(f"{path}: cannot write {what} ({exc})") from exc
    return path


def read_json_object(path: Path, role: str = "") -> dict[str, Any]:
    """A JSON object file (summary.json); a StoreError when it is missing, not JSON or not an object.
    `role` ("baseline", "current") starts each message."""
    where = f"{role} {path}" if role else str(path)
    try:
        data = orjson.loads(path.read_bytes())
    except FileNotFoundError as exc:
        raise StoreError(f"{where}: not found; is this a run directory?") from exc
    except orjson.JSONDecodeError as exc:
        raise StoreError(f"{where}: not valid JSON ({exc})") from exc
    if not isinstance(data, dict):
        raise StoreError(f"{where}: expected a JSON object, found {type(data).__name__}")
    return data


def write_json_object(path: Path, value: Mapping[str, Any], *, what: str) -> Path:
    """Replace a JSON object file (probe.json, racing.json) atomically and durably: sorted keys, two-space
    indent, a final newline, so the same value always gives the same bytes."""
    data = orjson.dumps(value, default=str, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS)
    return _write_atomic(path, data + b"\n", what=what, fsync=True)


def write_probe(run_dir: Path, probe: dict[str, Any]) -> Path:
    """Replace probe.json (the verdicts of `harness probe`) atomically, keys sorted."""
    return write_json_object(Path(run_dir) / layout.PROBE, probe, what="the probe verdicts")


def read_probe(run_dir: Path) -> dict[str, Any]:
    """probe.json of a `harness probe` run directory; a StoreError when it is missing or not an object."""
    return read_json_object(Path(run_dir) / layout.PROBE, "probe verdicts")


def write_scores(run_dir: Path, scores: Sequence[Score]) -> Path:
    """Replace scores.jsonl atomically (temp file, fsync, rename): a reader never sees half a file."""
    # orjson writes a dataclass's fields in their order, as to_dict() does, ten times faster.
    payload = b"".join(orjson.dumps(score, option=orjson.OPT_APPEND_NEWLINE) for score in scores)
    return _write_atomic(Path(run_dir) / layout.SCORES, payload, what="scores", fsync=True)


def read_scores(run_dir: Path) -> list[Score]:
    """The Scores in a run directory's scores.jsonl (empty when it has none yet); the one reader of that
    file. A torn (unparseable) *last* line is skipped, any other bad line is a StoreError naming it."""
    path = Path(run_dir) / layout.SCORES
    if not path.exists():
        return []
    lines = path.read_bytes().splitlines()
    while lines and not lines[-1].strip():
        lines.pop()
    out: list[Score] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            raw = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            if number == len(lines):
                break
            raise StoreError(
                f"{path}:{number}: not valid JSON ({exc}); only a torn last line is skipped"
            ) from exc
        if not isinstance(raw, dict):
            raise StoreError(f"{path}:{number}: expected a JSON object, found {type(raw).__name__}")
        try:
            out.append(Score.from_dict(raw))
        except (KeyError, TypeError, ValueError) as exc:
            raise StoreError(f"{path}:{number}: not a valid entry ({exc!r})") from exc
    return out


class RunDir:
    """A run directory: its files by role, read and written only through these methods.

    `role` ("baseline", "current") starts every error message, for commands that read two runs.
    """

    __slots__ = ("path", "role")

    def __init__(self, path: Path | str, *, role: str = "") -> None:
        self.path = Path(path)
        self.role = role

    def __repr__(self) -> str:
        return f"RunDir({str(self.path)!r})"

    def __fspath__(self) -> str:
        return str(self.path)

    # Paths, for messages and for the few callers that hand a path on (the report's --out default).
    @property
    def records_path(self) -> Path:
        return self.path / layout.RECORDS

    @property
    def manifest_path(self) -> Path:
        return self.path / layout.MANIFEST

    @property
    def scores_path(self) -> Path:
        return self.path / layout.SCORES

    @property
    def summary_path(self) -> Path:
        return self.path / layout.SUMMARY

    @property
    def report_path(self) -> Path:
        return self.path / layout.REPORT

    def parquet_paths(self) -> tuple[Path, Path]:
        return self.path / layout.RECORDS_PARQUET, self.path / layout.SCORES_PARQUET

    def judge(self) -> RunDir:
        """The judge's own run directory inside this one (RUN_DIR/judge/)."""
        return RunDir(self.path / layout.JUDGE, role=self.role)

    def has_records(self) -> bool:
        return self.records_path.exists()

    def has_manifest(self) -> bool:
        return self.manifest_path.is_file()

    def has_scores(self) -> bool:
        return self.scores_path.exists()

    def has_summary(self) -> bool:
        return self.summary_path.exists()

    # Readers.
    def records(self) -> list[Record]:
        """Each trial's latest record; [] when the directory has no records file yet."""
        return read_records(self.path) if self.has_records() else []

    def latest_lines(self) -> tuple[list[RawLine], int | None]:
        """Each trial's latest record as (bytes, parsed JSON), and the number of a torn last line or
        None; ([], None) without a records file."""
        return read_latest_lines(self.path) if self.has_records() else ([], None)

    def scan(self) -> RecordScan:
        return scan_records(self.path)

    def scores(self) -> list[Score]:
        return read_scores(self.path)

    def score_lines(self) -> Iterator[dict[str, Any]]:
        """scores.jsonl's JSON objects, parsed one line at a time without building Scores (the report's
        fast path); lines that are torn or not objects are skipped. Nothing when there is no file."""
        if not self.scores_path.exists():
            return
        with self.scores_path.open("rb") as handle:
            for line in handle:
                raw = line.rstrip(b"\r\n")
                if not raw.strip():
                    continue
                try:
                    obj = orjson.loads(raw)
                except orjson.JSONDecodeError:
                    continue
                if isinstance(obj, dict):
                    yield obj

    def manifest(self) -> Manifest:
        """The typed manifest; a StoreError when it is missing, unreadable or does not fit the schema."""
        from pydantic import ValidationError

        raw = read_manifest(self.path, role=self.role)
        try:
            return Manifest.from_raw(raw)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first.get("loc", ()))
            raise StoreError(f"{self._where(self.manifest_path)}: field {where}: {first.get('msg')}") from exc

    def raw_manifest(self) -> dict[str, Any]:
        """manifest.json as the engine wrote it (for the engine's own updates)."""
        return read_manifest(self.path, role=self.role)

    def summary(self) -> Summary:
        """summary.json as a typed Summary; a StoreError when it is missing or not a summary."""
        from harness.rundir.summary import summary_from_json

        raw = read_json_object(self.summary_path, self.role)
        if not isinstance(raw.get("cells"), list):
            raise StoreError(f"{self._where(self.summary_path)}: not a {layout.SUMMARY} (no 'cells' list)")
        summary: Summary = summary_from_json(raw, where=self._where(self.summary_path))
        return summary

    # Writers (derived files only).
    def write_manifest(self, manifest: dict[str, Any]) -> None:
        write_manifest(self.path, manifest)

    def write_scores(self, scores: Sequence[Score]) -> Path:
        return write_scores(self.path, scores)

    def write_summary(self, summary: Summary) -> Path:
        """Write summary.json deterministically (sorted keys, two-space indent) and atomically."""
        from harness.rundir.summary import summary_to_json

        data = orjson.dumps(
            summary_to_json(summary),
            option=orjson.OPT_SORT_KEYS | orjson.OPT_INDENT_2 | orjson.OPT_SERIALIZE_NUMPY,
        )
        return _write_atomic(self.summary_path, data + b"\n", what="the summary")

    def write_report(self, page: str, *, out: Path | None = None) -> Path:
        """Write report.html (or `out`) atomically."""
        return _write_atomic(out or self.report_path, page.encode("utf-8"), what="the report")

    def store(self, **kwargs: Any) -> RunStore:
        """The single writer of this directory's records.jsonl (harness.rundir.store.RunStore)."""
        from harness.rundir.store import RunStore

        return RunStore(self.path, **kwargs)

    def _where(self, path: Path) -> str:
        return f"{self.role} {path}" if self.role else str(path)
