"""records.jsonl, the run's raw results: its one reader and its one writer.

Reading has one rule: the file is append-only, a trial sent again (a failed trial on resume) gets a
new line, and the latest record per trial_key wins everywhere the file is read; a resume skips trials
whose latest record is ok and sends the others again. Writing is the single writer task of `RunStore`,
owned by one process through the run directory's lock. It never rewrites a record and never decides
what to run; a torn last line left by a killed process is cut off before appending and reported,
never silently merged into the next record.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from harness.derived import effective_cost_usd
from harness.errors import StoreError
from harness.records import SCHEMA_VERSION, Record
from harness.rundir.layout import RECORDS
from harness.runlock import RunLock

__all__ = [
    "RawLine",
    "RecordScan",
    "RunStore",
    "read_latest_lines",
    "read_records",
    "records_from_lines",
    "scan_records",
]

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
    # every taskUUID whose cost some line carries (task_uuid and earlier_task_uuids, superseded lines too)
    task_uuids: set[str] = field(default_factory=set)
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
        uuids = [raw.get("task_uuid"), *(raw.get("earlier_task_uuids") or ())]
        scan.task_uuids.update(u for u in uuids if isinstance(u, str))
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


def _dumps(record: Record) -> bytes:
    return orjson.dumps(record, default=str, option=orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_APPEND_NEWLINE)


class RunStore:
    """The records file of one run, owned by one process (an exclusive lock) and one writer task.

    `open()` scans what is there (resume) and cuts off a torn last line; `start()` launches the
    writer; `append()` queues a record; `close()` writes whatever is queued, fsyncs and unlocks.
    `prepare`, if given, completes each batch right before it is written (the engine fills client-side
    token counts there, once per batch rather than between a response and the next request);
    `on_written` is called with each batch right after it reached the file.
    """

    def __init__(
        self,
        run_dir: Path,
        *,
        on_written: Callable[[list[Record]], None] | None = None,
        prepare: Callable[[list[Record]], None] | None = None,
    ) -> None:
        self.run_dir = Path(run_dir)
        self.scan = RecordScan()
        self.on_written = on_written
        self.prepare = prepare
        # A plain list and one future to wake the writer: appending is the hot path, and an
        # asyncio.Queue costs several times more per item than a list append.
        self._pending: list[Record] = []
        self._wakeup: asyncio.Future[None] | None = None
        self._closing = False
        self._fd: int | None = None
        self._lock = RunLock(self.run_dir)
        self._task: asyncio.Task[None] | None = None
        self.n_written = 0

    @property
    def stale_lock_owner(self) -> dict[str, Any] | None:
        """The dead writer (pid, host) whose leftover lock `open()` took over, if any."""
        return self._lock.took_over

    @property
    def records_path(self) -> Path:
        return self.run_dir / RECORDS

    def open(self) -> RecordScan:
        self._lock.acquire()
        self.scan = scan_records(self.run_dir)
        try:
            self._fd = os.open(self.records_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
            if self.scan.torn_line is not None:
                os.truncate(self.records_path, self.scan.good_bytes)
        except OSError as exc:
            self._unlock()
            raise StoreError(f"{self.records_path}: cannot open for appending: {exc}") from exc
        return self.scan

    def start(self) -> None:
        if self._fd is None:
            raise StoreError("RunStore.start() before open()")
        self._closing = False
        self._task = asyncio.get_running_loop().create_task(self._writer(), name="records-writer")

    def append(self, record: Record) -> None:
        self._pending.append(record)
        wakeup = self._wakeup
        if wakeup is not None and not wakeup.done():
            wakeup.set_result(None)

    def _wake(self) -> None:
        if self._wakeup is not None and not self._wakeup.done():
            self._wakeup.set_result(None)

    async def _writer(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            if not self._pending:
                if self._closing:
                    return
                self._wakeup = loop.create_future()
                await self._wakeup
                self._wakeup = None
                continue
            # Everything queued goes in one write: the batch grows with the load.
            batch = self._pending
            self._pending = []
            self._write(batch)

    def _write(self, records: list[Record]) -> None:
        assert self._fd is not None
        if self.prepare is not None:
            self.prepare(records)
        data = b"".join([_dumps(r) for r in records])
        view = memoryview(data)
        try:
            while view:
                written = os.write(self._fd, view)
                view = view[written:]
        except OSError as exc:
            raise StoreError(f"{self.records_path}: cannot append records: {exc}") from exc
        self.n_written += len(records)
        if self.on_written is not None:
            self.on_written(records)

    async def close(self) -> None:
        """Let the writer finish the queue, then fsync and unlock."""
        if self._task is not None and not self._task.done():
            self._closing = True
            self._wake()
            try:
                await asyncio.shield(self._task)
            except asyncio.CancelledError:
                self.close_now()
                raise
        self.close_now()

    def close_now(self) -> None:
        """Synchronous close for cancellation paths: write what is queued, fsync, unlock."""
        if self._task is not None and not self._task.done():
            self._task.cancel()
        pending = self._pending
        self._pending = []
        if self._fd is not None:
            if pending:
                self._write(pending)
            with contextlib.suppress(OSError):
                os.fsync(self._fd)
            os.close(self._fd)
            self._fd = None
        self._unlock()

    def _unlock(self) -> None:
        self._lock.release()
