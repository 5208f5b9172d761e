"""Async delivery journals each submit before it goes (submitted.jsonl); a resume after a kill
collects the results the service already holds with getResponse instead of sending (and paying for)
those trials again, and sends only what the service does not know."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import orjson
import pytest
from engine_helpers import make_trials, quick_run, sim_target

from harness.config import RetryConfig
from harness.providers.runware import build_task, new_task_uuid
from harness.rundir import read_records
from harness.runner import run_trials
from harness.runner.journal import SUBMITTED, read_submitted
from harness.simulator import SimulatorOptions, serve_simulator
from harness.simulator.faults import FaultInjector, parse_faults


async def test_a_resume_collects_submitted_tasks_instead_of_sending_them_again(tmp_path: Path) -> None:
    trials = make_trials(6)
    async with serve_simulator(SimulatorOptions(latency="0", seed=2)) as sim:
        # A killed run had submitted the first four trials (and journaled them); the service has
        # their results. The fifth was journaled but its submit never arrived.
        uuids = [new_task_uuid() for _ in trials[:5]]
        body = orjson.dumps(
            [build_task(t, u, "async", True) for t, u in zip(trials[:4], uuids, strict=False)]
        )
        async with aiohttp.ClientSession() as session:
            resp = await session.post(sim.runware_url, data=body, headers={"Authorization": "Bearer k"})
            assert resp.status == 200
            resp.release()
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
        async with aiohttp.ClientSession() as session:
            body = orjson.dumps([build_task(trials[0], resent, "async", True)])
            resp = await session.post(sim.runware_url, data=body, headers={"Authorization": "Bearer k"})
            assert resp.status == 200
            resp.release()
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
