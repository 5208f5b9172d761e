"""The submission journal of a run directory (`submitted.jsonl`): for async delivery, which taskUUID
was submitted for which trial, written before the request goes. A resume after a kill asks the service
for those tasks' results (getResponse) instead of sending the trials again, so a result the service
already holds, and may have billed, is collected rather than paid for twice. Append-only, one line per
submitted task, `{"trial_key", "task_uuid"}`; and, whatever the delivery, one per billed task that
failed and is sent again, `{"trial_key", "billed": {"task_uuid", "cost_usd", "price_usd"}}`: until the trial's record is written
that bill is only in memory, and the resume carries it to the record of the trial's next attempt.
Owns only that file (records stay `harness.rundir.store`'s).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from harness.errors import StoreError
from harness.records import Trial
from harness.rundir.layout import SUBMITTED

if TYPE_CHECKING:
    from harness.runner.execute import Bill, Lane

__all__ = ["SUBMITTED", "SubmitJournal", "collect_submitted", "read_bills", "read_submitted"]


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
        self._write(data)

    def add_bill(self, trial: Trial, bill: Bill) -> None:
        """Append a billed failed task (any delivery), opening the file on the first one: a sync or
        stream run whose failed attempts were never billed leaves no journal."""
        if self._fd is None:
            self.open()
        entry = {"task_uuid": bill.task_uuid, "cost_usd": bill.cost_usd, "price_usd": bill.price_usd}
        self._write(orjson.dumps({"trial_key": trial.key, "billed": entry}) + b"\n")

    def _write(self, data: bytes) -> None:
        assert self._fd is not None
        try:
            os.write(self._fd, data)
        except OSError as exc:
            raise StoreError(f"{self.path}: cannot append: {exc}") from exc

    def close(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self._fd = None


def _entries(run_dir: Path) -> list[dict[str, Any]]:
    """The journal's lines as objects; a torn last line (a kill mid-write) is skipped."""
    try:
        data = (Path(run_dir) / SUBMITTED).read_bytes()
    except FileNotFoundError:
        return []
    entries = []
    for line in data.splitlines():
        try:
            entry = orjson.loads(line)
        except orjson.JSONDecodeError:
            continue
        if isinstance(entry, dict) and isinstance(entry.get("trial_key"), str):
            entries.append(entry)
    return entries


def read_submitted(run_dir: Path) -> dict[str, str]:
    """The last taskUUID submitted per trial key (earlier ones were given up by the run itself)."""
    return {e["trial_key"]: str(e["task_uuid"]) for e in _entries(run_dir) if "task_uuid" in e}


def read_bills(run_dir: Path, *, recorded: set[str]) -> dict[str, list[Bill]]:
    """Per trial key, the journaled bills of failed tasks whose taskUUID no record line holds
    (`recorded`): what a killed session had paid for a trial it then sent again."""
    from harness.runner.execute import Bill

    bills: dict[str, list[Bill]] = {}
    seen: set[str] = set()
    for entry in _entries(run_dir):
        billed = entry.get("billed")
        if not isinstance(billed, dict) or not isinstance(billed.get("task_uuid"), str):
            continue
        task_uuid = billed["task_uuid"]
        if task_uuid in recorded or task_uuid in seen:
            continue
        seen.add(task_uuid)
        bills.setdefault(entry["trial_key"], []).append(
            Bill(task_uuid, _number(billed.get("cost_usd")), _number(billed.get("price_usd")))
        )
    return bills


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


async def collect_submitted(
    journal: SubmitJournal,
    lanes: Mapping[str, Lane],
    pending: Sequence[Trial],
    *,
    recorded: set[str],
    now: float,
) -> set[str]:
    """For every lane: journal each failed task that was billed from now on (`Lane.on_bill`), and
    hand the bills a killed session journaled that no record holds to the lanes (`Lane.carried`), to
    be added to the record of the trial's next attempt.

    For the lanes with async delivery: journal every submit from now on (opening `journal`), and
    collect, without sending them again, the trials of `pending` whose last journaled task (submitted
    by a session that was killed) no record on disk accounts for; return the keys of those recorded.
    A trial whose last task is in `recorded` (the taskUUIDs of the records' lines: an error record
    carries what its tasks cost) is left to be sent again. Checking the task rather than the trial
    matters when an errored trial was sent again by a session killed before recording it: that
    resend is billed, and only collecting it puts its cost on disk. A task with a bill line was given
    up by its session (it failed): it is not collected, which could put its cost in a record twice."""
    from harness.runner.execute import collect_batch

    bills = read_bills(journal.path.parent, recorded=recorded)
    for name, lane in lanes.items():
        lane.on_bill = journal.add_bill
        for trial in pending:
            if trial.target == name and trial.key in bills:
                lane.carried[trial.key] = bills[trial.key]
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
    given_up = {b.task_uuid for trial_bills in bills.values() for b in trial_bills}
    collected: set[str] = set()
    for name, lane in lanes.items():
        waiting = [
            t
            for t in pending
            if t.target == name
            and t.key in submitted
            and submitted[t.key] not in recorded
            and submitted[t.key] not in given_up
        ]
        size = max(1, lane.provider.max_batch)
        for start in range(0, len(waiting), size):
            batch = waiting[start : start + size]
            collected |= await collect_batch(lane, batch, [submitted[t.key] for t in batch], now)
    return collected
