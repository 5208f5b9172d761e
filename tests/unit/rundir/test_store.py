"""The run directory: single writer, resume scan, torn lines, manifest, lock."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import orjson
import pytest

from harness.errors import StoreError
from harness.records import Record, Result, Timing, Usage
from harness.rundir import RunStore, read_manifest, read_records, scan_records, write_manifest


def record(key: str, *, ok: bool = True, cost: float | None = 0.5) -> Record:
    return Record(
        trial_key=key,
        cell_id="c",
        cell={"temperature": 0.6},
        item_id="i",
        repeat=0,
        seed=1,
        target="t",
        model="m",
        delivery="stream",
        status="ok" if ok else "error",
        timing=Timing(scheduled_at_s=0.0, sent_at_s=0.1, done_at_s=0.3),
        results=[Result(text="4", reasoning="2+2", finish_reason="stop")] if ok else [],
        usage=Usage(3, 4, 2, 7),
        cost_usd=cost,
        itl_s=[0.0012, 0.0031],
    )


async def write(run_dir: Path, records: list[Record]) -> RunStore:
    store = RunStore(run_dir)
    store.open()
    store.start()
    for r in records:
        store.append(r)
    await store.close()
    return store


async def test_records_round_trip(tmp_path: Path) -> None:
    written = [record("a"), record("b", ok=False, cost=None)]
    store = await write(tmp_path, written)
    assert store.n_written == 2
    assert read_records(tmp_path) == written


async def test_each_line_is_one_record(tmp_path: Path) -> None:
    await write(tmp_path, [record(f"k{i}") for i in range(50)])
    lines = (tmp_path / "records.jsonl").read_bytes().splitlines()
    assert [orjson.loads(line)["trial_key"] for line in lines] == [f"k{i}" for i in range(50)]


async def test_on_written_sees_records_after_they_are_on_disk(tmp_path: Path) -> None:
    seen: list[int] = []
    store = RunStore(tmp_path, on_written=lambda batch: seen.append(len(read_records(tmp_path))))
    store.open()
    store.start()
    store.append(record("a"))
    await store.close()
    assert seen == [1]


async def test_scan_counts_keys_status_and_cost(tmp_path: Path) -> None:
    await write(tmp_path, [record("a"), record("b", ok=False, cost=None), record("c", cost=0.25)])
    scan = scan_records(tmp_path)
    assert scan.keys == {"a", "c"}
    assert scan.error_keys == {"b"}
    assert (scan.n_ok, scan.n_error) == (2, 1)
    assert scan.cost_usd == pytest.approx(0.75)
    assert scan.torn_line is None


async def test_latest_record_per_trial_wins(tmp_path: Path) -> None:
    # "a" failed, then was sent again and is ok; "b" is ok once; "c" failed twice
    await write(
        tmp_path,
        [
            record("a", ok=False, cost=0.1),
            record("b"),
            record("c", ok=False),
            record("a"),
            record("c", ok=False),
        ],
    )
    scan = scan_records(tmp_path)
    assert (scan.keys, scan.error_keys) == ({"a", "b"}, {"c"})
    assert (scan.n_ok, scan.n_error, scan.n_lines, scan.duplicates) == (2, 1, 5, 2)
    assert scan.cost_usd == pytest.approx(0.1 + 0.5 * 4)  # every attempt cost what it cost
    latest = read_records(tmp_path)
    assert [(r.trial_key, r.status) for r in latest] == [("b", "ok"), ("a", "ok"), ("c", "error")]


async def test_torn_last_line_is_skipped_then_cut_on_open(tmp_path: Path) -> None:
    await write(tmp_path, [record("a"), record("b")])
    path = tmp_path / "records.jsonl"
    good = path.read_bytes()
    path.write_bytes(good + b'{"trial_key": "c", "sta')
    assert [r.trial_key for r in read_records(tmp_path)] == ["a", "b"]
    assert scan_records(tmp_path).torn_line == 3
    store = RunStore(tmp_path)
    scan = store.open()
    assert scan.torn_line == 3
    store.start()
    store.append(record("c"))
    await store.close()
    assert [r.trial_key for r in read_records(tmp_path)] == ["a", "b", "c"]
    assert path.read_bytes().startswith(good)


async def test_damage_in_the_middle_is_an_error(tmp_path: Path) -> None:
    await write(tmp_path, [record("a")])
    path = tmp_path / "records.jsonl"
    path.write_bytes(b"garbage\n" + path.read_bytes())
    with pytest.raises(StoreError, match=r"records.jsonl:1"):
        read_records(tmp_path)


def test_missing_records_file(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="no records file"):
        read_records(tmp_path)
    assert scan_records(tmp_path).keys == set()


async def test_a_second_writer_is_refused(tmp_path: Path) -> None:
    first = RunStore(tmp_path)
    first.open()
    with pytest.raises(StoreError, match="another harness process"):
        RunStore(tmp_path).open()
    first.close_now()
    second = RunStore(tmp_path)
    second.open()
    second.close_now()


def files_in(path: Path) -> list[str]:
    return sorted(p.name for p in path.iterdir())


async def test_the_lock_file_is_removed_when_the_run_ends(tmp_path: Path) -> None:
    store = RunStore(tmp_path)
    store.open()
    assert (tmp_path / ".lock").exists()
    store.start()
    store.append(record("a"))
    await store.close()
    assert not (tmp_path / ".lock").exists()
    failed = RunStore(tmp_path)
    failed.open()
    failed.close_now()  # the error and interrupt path
    assert files_in(tmp_path) == ["records.jsonl"]


def test_a_lock_on_a_removed_lock_file_is_taken_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Between our open() of .lock and our flock(), the previous holder removes the file and another
    # process creates a new one: the lock we then get is on a dead file and must not count.
    import fcntl
    import os

    from harness import runlock as lock_module

    calls: list[int] = []
    real_flock = fcntl.flock

    def flock(fd: int, op: int) -> None:
        if not calls:
            (tmp_path / ".lock").unlink()
            (tmp_path / ".lock").write_bytes(b"")
        calls.append(fd)
        real_flock(fd, op)

    monkeypatch.setattr(lock_module.fcntl, "flock", flock)
    store = RunStore(tmp_path)
    store.open()
    assert len(calls) == 2
    assert store._lock.fd is not None
    assert os.fstat(store._lock.fd).st_ino == (tmp_path / ".lock").stat().st_ino
    store.close_now()


async def test_close_now_writes_what_is_queued(tmp_path: Path) -> None:
    store = RunStore(tmp_path)
    store.open()
    store.start()
    store.append(record("a"))
    store.append(record("b"))
    store.close_now()  # no await: the cancellation path
    assert [r.trial_key for r in read_records(tmp_path)] == ["a", "b"]


def test_manifest_round_trip_and_atomic_replace(tmp_path: Path) -> None:
    write_manifest(tmp_path, {"schema_version": 1, "status": "running"})
    write_manifest(tmp_path, {"schema_version": 1, "status": "complete"})
    assert read_manifest(tmp_path) == {"schema_version": 1, "status": "complete"}
    assert not (tmp_path / "manifest.json.tmp").exists()


def test_manifest_from_a_newer_harness_is_refused(tmp_path: Path) -> None:
    write_manifest(tmp_path, {"schema_version": 99})
    with pytest.raises(StoreError, match="newer"):
        read_manifest(tmp_path)


def test_missing_manifest(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="no manifest"):
        read_manifest(tmp_path)


async def test_prepare_completes_each_batch_before_it_is_written(tmp_path: Path) -> None:
    on_disk_when_prepared: list[int] = []

    def prepare(batch: list[Record]) -> None:
        on_disk_when_prepared.append(len(read_records(tmp_path)))
        for r in batch:
            r.client_completion_tokens = 7

    store = RunStore(tmp_path, prepare=prepare)
    store.open()
    store.start()
    store.append(record("a"))
    store.append(record("b"))
    await store.close()
    assert on_disk_when_prepared == [0]  # one batch, prepared before anything reached the file
    assert [r.client_completion_tokens for r in read_records(tmp_path)] == [7, 7]


async def test_close_now_prepares_what_is_queued(tmp_path: Path) -> None:
    def prepare(batch: list[Record]) -> None:
        for r in batch:
            r.client_completion_tokens = 3

    store = RunStore(tmp_path, prepare=prepare)
    store.open()
    store.start()
    store.append(record("a"))
    store.close_now()
    assert [r.client_completion_tokens for r in read_records(tmp_path)] == [3]


async def test_scan_collects_every_task_uuid_a_line_accounts_for(tmp_path: Path) -> None:
    first = dataclasses.replace(record("a", ok=False), task_uuid="u1", earlier_task_uuids=["u0"])
    later = dataclasses.replace(record("a"), task_uuid="u2")
    await write(tmp_path, [first, later, record("b")])  # "b" has no taskUUID (sync delivery)
    assert scan_records(tmp_path).task_uuids == {"u0", "u1", "u2"}  # superseded lines' too
