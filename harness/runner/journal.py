"""The submission journal of a run directory (`submitted.jsonl`): for async delivery, which taskUUID
was submitted for which trial, written before the request goes. A resume after a kill asks the service
for those tasks' results (getResponse) instead of sending the trials again, so a result the service
already holds, and may have billed, is collected rather than paid for twice. Append-only, one line per
submitted task; owns only that file (records stay `harness.store`'s).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Sequence
from pathlib import Path

import orjson

from harness.errors import StoreError
from harness.records import Trial

__all__ = ["SUBMITTED", "SubmitJournal", "read_submitted"]

SUBMITTED = "submitted.jsonl"


class SubmitJournal:
    """`add(trials, uuids)` appends one line per task with a single write, before the submit is sent.
    A plain write (no fsync) survives the death of the process, which is what it is for."""

    def __init__(self, run_dir: Path) -> None:
        self.path = Path(run_dir) / SUBMITTED
        self._fd: int | None = None

    def open(self) -> None:
        try:
            self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        except OSError as exc:
            raise StoreError(f"{self.path}: cannot open for appending: {exc}") from exc

    def add(self, trials: Sequence[Trial], uuids: Sequence[str]) -> None:
        if self._fd is None:
            return
        data = b"".join(
            orjson.dumps({"trial_key": t.key, "task_uuid": u}) + b"\n"
            for t, u in zip(trials, uuids, strict=True)
        )
        try:
            os.write(self._fd, data)
        except OSError as exc:
            raise StoreError(f"{self.path}: cannot append: {exc}") from exc

    def close(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self._fd = None


def read_submitted(run_dir: Path) -> dict[str, str]:
    """The last taskUUID submitted per trial key (earlier ones were given up by the run itself); a
    torn last line (a kill mid-write) is skipped."""
    path = Path(run_dir) / SUBMITTED
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return {}
    found: dict[str, str] = {}
    for line in data.splitlines():
        try:
            entry = orjson.loads(line)
        except orjson.JSONDecodeError:
            continue
        if isinstance(entry, dict) and isinstance(entry.get("trial_key"), str):
            found[entry["trial_key"]] = str(entry.get("task_uuid"))
    return found
