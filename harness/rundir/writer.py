"""Writing records.jsonl: the single writer task that appends it, owned by one process through the
run directory's lock. It never rewrites a record and never decides what to run; before appending it
cuts off a torn last line left by a killed process (found by harness.rundir.lines.scan_records).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
from collections.abc import Callable
from pathlib import Path

import orjson

from harness.errors import StoreError
from harness.records import Record
from harness.rundir.layout import LOCK, RECORDS
from harness.rundir.lines import RecordScan, scan_records

__all__ = ["RunStore"]


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
        self._lock_fd: int | None = None
        self._task: asyncio.Task[None] | None = None
        self.n_written = 0

    @property
    def records_path(self) -> Path:
        return self.run_dir / RECORDS

    def _lock(self) -> None:
        """Take the run directory's .lock (exclusive, non-blocking). The file is removed when the run
        ends, so a lock taken on a file that was meanwhile removed (or replaced) is dropped and taken
        again on the file now at that path: two processes can never both hold a lock they believe in."""
        path = self.run_dir / LOCK
        while True:
            try:
                self.run_dir.mkdir(parents=True, exist_ok=True)
                fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
            except OSError as exc:
                raise StoreError(f"{self.run_dir}: cannot create the run directory: {exc}") from exc
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)
                raise StoreError(
                    f"{self.run_dir}: another harness process is writing this run directory"
                ) from None
            try:
                current = path.stat()
            except FileNotFoundError:
                current = None
            held = os.fstat(fd)
            if current is not None and (current.st_ino, current.st_dev) == (held.st_ino, held.st_dev):
                self._lock_fd = fd
                return
            os.close(fd)  # the holder removed it between our open and our lock: try the new file

    def open(self) -> RecordScan:
        self._lock()
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
        """Remove .lock (a finished run leaves no stray file), then release it; removing it while the
        lock is held is what lets `_lock` detect a stale file."""
        if self._lock_fd is not None:
            with contextlib.suppress(OSError):
                (self.run_dir / LOCK).unlink()
            with contextlib.suppress(OSError):
                fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
            os.close(self._lock_fd)
            self._lock_fd = None
