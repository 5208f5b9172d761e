"""The submission journal of a run directory (`submitted.jsonl`): for async delivery, which taskUUID
was submitted for which trial, written before the request goes. A resume after a kill asks the service
for those tasks' results (getResponse) instead of sending the trials again, so a result the service
already holds, and may have billed, is collected rather than paid for twice. Append-only, one line per
submitted task; owns only that file (records stay `harness.rundir.store`'s).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import orjson

from harness.errors import StoreError
from harness.records import Trial
from harness.rundir.layout import SUBMITTED

if TYPE_CHECKING:
    from harness.runner.execute import Lane

__all__ = ["SUBMITTED", "SubmitJournal", "collect_submitted", "read_submitted"]


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


async def collect_submitted(
    journal: SubmitJournal,
    lanes: Mapping[str, Lane],
    pending: Sequence[Trial],
    *,
    recorded: set[str],
    now: float,
) -> set[str]:
    """For the lanes with async delivery: journal every submit from now on (opening `journal`), and
    collect, without sending them again, the trials of `pending` whose last journaled task (submitted
    by a session that was killed) no record on disk accounts for; return the keys of those recorded.
    A trial whose last task is in `recorded` (the taskUUIDs of the records' lines: an error record
    carries what its tasks cost) is left to be sent again. Checking the task rather than the trial
    matters when an errored trial was sent again by a session killed before recording it: that
    resend is billed, and only collecting it puts its cost on disk."""
    from harness.runner.execute import collect_batch

    lanes = {
        name: lane
        for name, lane in lanes.items()
        if lane.provider.delivery == "async" and hasattr(lane.provider, "on_submit")
    }
    if not lanes:
        return set()
    journal.open()
    for lane in lanes.values():
        lane.provider.on_submit = journal.add  # type: ignore[attr-defined]
    submitted = read_submitted(journal.path.parent)
    collected: set[str] = set()
    for name, lane in lanes.items():
        waiting = [
            t for t in pending if t.target == name and t.key in submitted and submitted[t.key] not in recorded
        ]
        size = max(1, lane.provider.max_batch)
        for start in range(0, len(waiting), size):
            batch = waiting[start : start + size]
            collected |= await collect_batch(lane, batch, [submitted[t.key] for t in batch], now)
    return collected
