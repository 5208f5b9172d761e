"""Async delivery journals each submit before it goes (submitted.jsonl); a resume after a kill
collects the results the service already holds with getResponse instead of sending (and paying for)
those trials again, and sends only what the service does not know."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import orjson
import pytest
from engine_helpers import make_trials, quick_run, sim_target

from harness.providers.runware import build_task, new_task_uuid
from harness.runner import run_trials
from harness.runner.journal import SUBMITTED, read_submitted
from harness.simulator import SimulatorOptions, serve_simulator
from harness.store import read_records


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
