"""Reading records.jsonl: the one reader of that file, with one rule. The file is append-only, a trial
sent again (a failed trial on resume) gets a new line, and the latest record per trial_key wins
everywhere the file is read. A torn last line left by a killed process is reported (and skipped),
never merged into the next record; a damaged line in the middle is a StoreError naming it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from harness.derived import effective_cost_usd
from harness.errors import StoreError
from harness.records import SCHEMA_VERSION, Record
from harness.rundir.layout import RECORDS

__all__ = ["RawLine", "RecordScan", "read_latest_lines", "read_records", "scan_records"]

# One complete line of records.jsonl: its bytes, and the JSON object they parse to (the wire shape of
# a Record, as written; typed only when a Record is built from it).
RawLine = tuple[bytes, dict[str, Any]]


@dataclass(slots=True)
class RecordScan:
    """What a records file holds, read without building Records (enough to resume).

    Trials are counted by their latest record; `cost_usd` is every line's, since a failed attempt
    that was later sent again still cost what it cost."""

    keys: set[str] = field(default_factory=set)  # trials whose latest record is ok (a resume skips them)
    error_keys: set[str] = field(default_factory=set)  # latest record is an error (a resume resends)
    n_lines: int = 0  # complete records in the file, superseded ones included
    n_ok: int = 0
    n_error: int = 0
    cost_usd: float = 0.0
    duplicates: int = 0  # lines superseded by a later record of the same trial
    torn_line: int | None = None  # 1-based number of an incomplete last line, if any
    good_bytes: int = 0  # length of the file up to the end of its last complete line


def _iter_lines(path: Path) -> Iterable[tuple[int, bytes, bool]]:
    """(line number, line, terminated) for each line; the last may be unterminated."""
    data = path.read_bytes()
    if not data:
        return
    lines = data.split(b"\n")
    last = lines.pop()
    for number, line in enumerate(lines, 1):
        yield number, line, True
    if last:
        yield len(lines) + 1, last, False


def _parse_lines(path: Path) -> tuple[list[RawLine], int | None, int]:
    """(raw line, parsed object) per complete line, the number of a torn last line (or None), and the
    byte length of the good part."""
    parsed: list[RawLine] = []
    torn: int | None = None
    good = 0
    entries = list(_iter_lines(path))
    for index, (number, line, terminated) in enumerate(entries):
        is_last = index == len(entries) - 1
        if not line.strip():
            good += len(line) + 1
            continue
        try:
            raw = orjson.loads(line) if terminated else None
        except orjson.JSONDecodeError:
            raw = None
        if raw is None or not isinstance(raw, dict):
            if is_last:
                torn = number
                break
            raise StoreError(f"{path}:{number}: not a JSON record (the file is damaged in the middle)")
        parsed.append((line, raw))
        good += len(line) + 1
    return parsed, torn, good


def _latest(path: Path, parsed: list[RawLine]) -> list[RawLine]:
    """The latest line per trial_key, in the file order of those latest lines."""
    latest: dict[str, RawLine] = {}
    for entry in parsed:
        key = entry[1].get("trial_key")
        if not isinstance(key, str):
            raise StoreError(f"{path}: a record has no trial_key")
        latest.pop(key, None)  # re-inserted, so the order is that of each trial's latest line
        latest[key] = entry
    return list(latest.values())


def scan_records(run_dir: Path) -> RecordScan:
    """Keys, counts (by each trial's latest record) and cost of the records already in a run directory
    (empty when there are none)."""
    path = Path(run_dir) / RECORDS
    scan = RecordScan()
    if not path.exists():
        return scan
    parsed, scan.torn_line, scan.good_bytes = _parse_lines(path)
    scan.n_lines = len(parsed)
    for _, raw in parsed:
        scan.cost_usd += effective_cost_usd(raw.get("cost_usd"), raw.get("price_table_cost_usd"))
    latest = _latest(path, parsed)
    scan.duplicates = len(parsed) - len(latest)
    for _, raw in latest:
        if raw.get("status") == "ok":
            scan.keys.add(raw["trial_key"])
        else:
            scan.error_keys.add(raw["trial_key"])
    scan.n_ok, scan.n_error = len(scan.keys), len(scan.error_keys)
    return scan


def read_latest_lines(run_dir: Path) -> tuple[list[RawLine], int | None]:
    """(raw line, parsed object) of each trial's latest record, in the file order of those lines, and
    the number of a torn (skipped) last line or None; for readers that want the raw JSON rather than
    Records (the report). Raises StoreError when there is no records file."""
    path = Path(run_dir) / RECORDS
    if not path.exists():
        raise StoreError(f"{path}: no records file (is this a run directory?)")
    parsed, torn, _ = _parse_lines(path)
    return _latest(path, parsed), torn


def records_from_lines(path: Path, lines: Iterable[RawLine]) -> list[Record]:
    """Records built from parsed lines, or a StoreError naming the file when one does not fit the schema."""
    try:
        return [Record.from_dict(raw) for _, raw in lines]
    except (KeyError, TypeError, ValueError) as exc:
        raise StoreError(f"{path}: a record does not match schema version {SCHEMA_VERSION}: {exc}") from exc


def read_records(run_dir: Path) -> list[Record]:
    """Each trial's latest complete record (in the file order of those records); a torn last line is
    skipped."""
    lines, _ = read_latest_lines(run_dir)
    return records_from_lines(Path(run_dir) / RECORDS, lines)
