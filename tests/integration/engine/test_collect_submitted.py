"""Async delivery journals each submit before it goes (submitted.jsonl); a resume after a kill
collects the results the service already holds with getResponse instead of sending (and paying for)
those trials again, and sends only what the service does not know."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import aiohttp
import orjson
import pytest
from engine_helpers import make_trials, quick_run, sim_target

from harness.config import RetryConfig
from harness.providers.runware import build_task, new_task_uuid
from harness.records import Trial
from harness.rundir import read_records
from harness.runner import run_trials
from harness.runner.execute import Bill
from harness.runner.journal import SUBMITTED, read_bills, read_submitted
from harness.simulator import SimulatorOptions, serve_simulator
from harness.simulator.faults import FaultInjector, parse_faults


async def submit(url: str, trials: Sequence[Trial], uuids: Sequence[str]) -> None:
    """What a killed session had sent: an async submit of `trials` under `uuids`, straight to the server."""
    body = orjson.dumps([build_task(t, u, "async", True) for t, u in zip(trials, uuids, strict=True)])
    async with aiohttp.ClientSession() as session:
        resp = await session.post(url, data=body, headers={"Authorization": "Bearer k"})
        assert resp.status == 200
        resp.release()


async def test_a_resume_collects_submitted_tasks_instead_of_sending_them_again(tmp_path: Path) -> None:
    trials = make_trials(6)
    async with serve_simulator(SimulatorOptions(latency="0", seed=2)) as sim:
        # A killed run had submitted the first four trials (and journaled them); the service has
        # their results. The fifth was journaled but its submit never arrived.
        uuids = [new_task_uuid() for _ in trials[:5]]
        await submit(sim.runware_url, trials[:4], uuids[:4])
        (tmp_path / SUBMITTED).write_bytes(
            b"".join(
                orjson.dumps({"trial_key": t.key, "task_uuid": u}) + b"\n"
                for t, u in zip(trials[:5], uuids, strict=True)
            )
        )
        result = await run_trials(
            trials, sim_target(sim.runware_url, delivery="async"), quick_run(), tmp_path
        )
        stats = await sim.stats(ledger=True)
    records = {r.trial_key: r for r in read_records(tmp_path)}
    assert result.status == "complete"
    assert sorted(records) == sorted(t.key for t in trials)
    assert [records[t.key].task_uuid for t in trials[:4]] == uuids[:4]  # collected, not re-sent
    assert all(records[t.key].timing.sent_at_s is None for t in trials[:4])  # sent in another session
    assert all(records[t.key].timing.sent_at_s is not None for t in trials[4:])
    assert stats["tasks"] == 4 + 2  # the four earlier submits, then only the two the service lacked
    assert all(r.status == "ok" for r in records.values())
    assert sum(r.cost_usd or 0.0 for r in records.values()) == pytest.approx(stats["billed_cost_usd"])
    assert set(stats["ledger"]) == {r.task_uuid for r in records.values()}
    journal = read_submitted(tmp_path)
    assert set(journal) == {t.key for t in trials}  # this session's submits were journaled too


async def test_a_resend_of_an_errored_trial_that_a_kill_cut_short_is_collected(tmp_path: Path) -> None:
    """Session 1 records a trial as an error; session 2 sends it again (journaled, billed) and is
    killed before recording it; session 3 must collect that task, not leave it billed and unrecorded."""
    trials = make_trials(3)
    async with serve_simulator(SimulatorOptions(latency="0", seed=2)) as sim:
        healthy = sim.state.faults
        sim.state.faults = FaultInjector(parse_faults("500=1"), 2)
        first = await run_trials(
            trials,
            sim_target(sim.runware_url, delivery="async"),
            quick_run(retries=RetryConfig(max_attempts=1)),
            tmp_path,
        )
        assert first.n_error == 3
        errored = {r.trial_key: r.task_uuid for r in read_records(tmp_path)}
        sim.state.faults = healthy
        # Session 2: the first trial sent again, journaled, billed by the service; then the kill.
        resent = new_task_uuid()
        await submit(sim.runware_url, trials[:1], [resent])
        with (tmp_path / SUBMITTED).open("ab") as journal:
            journal.write(orjson.dumps({"trial_key": trials[0].key, "task_uuid": resent}) + b"\n")
        result = await run_trials(
            trials, sim_target(sim.runware_url, delivery="async"), quick_run(), tmp_path
        )
        stats = await sim.stats(ledger=True)
    records = {r.trial_key: r for r in read_records(tmp_path)}
    assert result.status == "complete"
    assert all(r.status == "ok" for r in records.values())
    assert records[trials[0].key].task_uuid == resent  # collected, not sent a third time
    assert records[trials[0].key].timing.sent_at_s is None
    # The other two had only their session-1 error on the journal: sent again, as new tasks.
    assert all(records[t.key].task_uuid not in (None, errored[t.key]) for t in trials[1:])
    assert set(stats["ledger"]) == {r.task_uuid for r in records.values()}  # nothing billed is lost
    assert stats["tasks"] == 1 + 2  # session 1 met a 500 each time: only the resend and the two ran


async def test_a_bill_journaled_by_a_killed_session_reaches_the_record_of_the_resend(tmp_path: Path) -> None:
    """Session 1 submitted the first trial (u0), saw it fail billed, journaled the bill, resent it
    (u1, journaled) and was killed: u1 is collected and its record carries u0's cost too. The second
    trial's only task failed billed (journaled), and the kill came before its resend: u2 is not
    collected (it was given up), the trial is sent anew and the record carries u2's bill."""
    trials = make_trials(3)
    async with serve_simulator(SimulatorOptions(latency="0", seed=2)) as sim:
        u1 = new_task_uuid()
        await submit(sim.runware_url, trials[:1], [u1])
        lines = [
            {"trial_key": trials[0].key, "task_uuid": "u0"},
            {"trial_key": trials[0].key, "billed": {"task_uuid": "u0", "cost_usd": 0.125, "price_usd": 0.25}},
            {"trial_key": trials[0].key, "task_uuid": u1},
            {"trial_key": trials[1].key, "task_uuid": "u2"},
            {"trial_key": trials[1].key, "billed": {"task_uuid": "u2", "cost_usd": 0.5, "price_usd": None}},
        ]
        (tmp_path / SUBMITTED).write_bytes(b"".join(orjson.dumps(line) + b"\n" for line in lines))
        result = await run_trials(
            trials, sim_target(sim.runware_url, delivery="async"), quick_run(), tmp_path
        )
        stats = await sim.stats(ledger=True)
    records = {r.trial_key: r for r in read_records(tmp_path)}
    assert result.status == "complete"
    first, second = records[trials[0].key], records[trials[1].key]
    assert (first.task_uuid, first.earlier_task_uuids) == (u1, ["u0"])
    assert first.timing.sent_at_s is None  # collected
    assert first.cost_usd == pytest.approx(stats["ledger"][u1]["cost_usd"] + 0.125)
    assert second.task_uuid not in (None, "u2")  # sent anew
    assert second.earlier_task_uuids == ["u2"]
    assert second.cost_usd == pytest.approx(stats["ledger"][second.task_uuid]["cost_usd"] + 0.5)
    assert records[trials[2].key].earlier_task_uuids is None
    assert stats["tasks"] == 3  # u1, the second trial's resend, the third trial


def test_read_bills_skips_bills_a_record_holds_and_repeats(tmp_path: Path) -> None:
    lines = [
        {"trial_key": "a", "billed": {"task_uuid": "u0", "cost_usd": 0.1, "price_usd": None}},
        {"trial_key": "a", "billed": {"task_uuid": "u0", "cost_usd": 0.1, "price_usd": None}},
        {"trial_key": "a", "billed": {"task_uuid": "u1", "cost_usd": None, "price_usd": 0.2}},
        {"trial_key": "b", "billed": {"task_uuid": "u2", "cost_usd": 0.3, "price_usd": 0.3}},
        {"trial_key": "b", "task_uuid": "u3"},
    ]
    data = b"".join(orjson.dumps(line) + b"\n" for line in lines) + b'{"trial_key": "c", "bil'
    (tmp_path / SUBMITTED).write_bytes(data)
    assert read_bills(tmp_path, recorded={"u2"}) == {"a": [Bill("u0", 0.1, None), Bill("u1", None, 0.2)]}
    assert read_submitted(tmp_path) == {"b": "u3"}


async def test_an_async_attempt_that_fails_billed_is_journaled_with_its_bill(tmp_path: Path) -> None:
    trials = make_trials(1)
    async with serve_simulator(SimulatorOptions(latency="0", seed=2, faults="bad_utf8=1")) as sim:
        result = await run_trials(
            trials,
            sim_target(sim.runware_url, delivery="async", poll_initial_s=0.01, poll_max_s=0.01),
            quick_run(retries=RetryConfig(max_attempts=2, base_s=0.001)),
            tmp_path,
        )
        stats = await sim.stats(ledger=True)
    [record] = read_records(tmp_path)
    assert result.n_error == 1
    uuids = [record.task_uuid, *(record.earlier_task_uuids or [])]
    assert len(uuids) == 2
    assert set(stats["ledger"]) == set(uuids)  # both attempts billed, both recorded
    bills = read_bills(tmp_path, recorded=set())
    assert [b.task_uuid for b in bills[trials[0].key]] == [
        *(record.earlier_task_uuids or []),
        record.task_uuid,
    ]
    assert sum(b.cost_usd or 0.0 for b in bills[trials[0].key]) == pytest.approx(record.cost_usd)


async def test_sync_delivery_journals_billed_failures_and_a_resume_carries_them(tmp_path: Path) -> None:
    """Bills are journaled whatever the delivery: a sync attempt that fails billed (its result's
    bytes spoiled) and whose retry is then killed must not lose that cost either."""
    trials = make_trials(2)
    (tmp_path / SUBMITTED).write_bytes(
        orjson.dumps(
            {"trial_key": trials[0].key, "billed": {"task_uuid": "u0", "cost_usd": 0.25, "price_usd": None}}
        )
        + b"\n"
    )
    async with serve_simulator(SimulatorOptions(latency="0", seed=2)) as sim:
        result = await run_trials(trials, sim_target(sim.runware_url, delivery="sync"), quick_run(), tmp_path)
        stats = await sim.stats(ledger=True)
    records = {r.trial_key: r for r in read_records(tmp_path)}
    assert result.status == "complete"
    first = records[trials[0].key]
    assert first.earlier_task_uuids == ["u0"]
    assert first.cost_usd == pytest.approx(stats["ledger"][first.task_uuid]["cost_usd"] + 0.25)
    assert records[trials[1].key].earlier_task_uuids is None

    fresh = tmp_path / "spoiled"
    async with serve_simulator(SimulatorOptions(latency="0", seed=2, faults="bad_utf8=1")) as sim:
        await run_trials(
            trials[:1],
            sim_target(sim.runware_url, delivery="sync"),
            quick_run(retries=RetryConfig(max_attempts=2, base_s=0.001)),
            fresh,
        )
        stats = await sim.stats(ledger=True)
    [record] = read_records(fresh)
    journaled = read_bills(fresh, recorded=set())[trials[0].key]
    assert [b.task_uuid for b in journaled] == [*(record.earlier_task_uuids or []), record.task_uuid]
    assert {b.task_uuid for b in journaled} == set(stats["ledger"])


async def test_a_sync_run_without_billed_failures_leaves_no_journal(tmp_path: Path) -> None:
    async with serve_simulator(SimulatorOptions(latency="0", seed=2)) as sim:
        await run_trials(make_trials(3), sim_target(sim.runware_url, delivery="sync"), quick_run(), tmp_path)
    assert not (tmp_path / SUBMITTED).exists()
