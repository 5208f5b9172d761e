"""run_trials end to end with a fake provider: counting, resume, retries, stops, cancellation."""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
from pathlib import Path
from typing import Any

import orjson
import pytest
from engine_fixtures import FakeProvider, fake_factory, fast_run, make_targets, make_trials

from harness import providers
from harness.errors import (
    AuthError,
    BadRequestError,
    BudgetExceededError,
    CircuitOpenError,
    ConfigError,
    PlanError,
    RateLimitedError,
    ServerError,
)
from harness.progress import ProgressCounts
from harness.records import Trial
from harness.rundir import read_manifest, read_records
from harness.runner import run_trials
from harness.runner.manifest import plan_size


@pytest.fixture
def fakes(monkeypatch: pytest.MonkeyPatch) -> list[FakeProvider]:
    made: list[FakeProvider] = []
    monkeypatch.setitem(providers._REGISTRY, "simulator", fake_factory(made))
    return made


def use(monkeypatch: pytest.MonkeyPatch, made: list[FakeProvider], **kw: Any) -> None:
    monkeypatch.setitem(providers._REGISTRY, "simulator", fake_factory(made, **kw))


def keys(run_dir: Path) -> list[str]:
    return [r.trial_key for r in read_records(run_dir)]


async def test_complete_run_records_every_trial_once(tmp_path: Path, fakes: list[FakeProvider]) -> None:
    trials = make_trials(20)
    counts = ProgressCounts()
    result = await run_trials(trials, make_targets(), fast_run(), tmp_path, observer=counts)
    records = read_records(tmp_path)
    assert sorted(keys(tmp_path)) == sorted(t.key for t in trials)
    assert (result.status, result.n_done, result.n_ok, result.n_error) == ("complete", 20, 20, 0)
    assert result.cost_usd == pytest.approx(0.02)
    assert counts.done == 20
    assert fakes[0].closed
    record = records[0]
    assert record.results[0].text == f"answer {record.trial_key}"
    assert record.attempts == 1
    assert record.price_table_cost_usd == pytest.approx((10 * 1.0 + 5 * 2.0) / 1e6)
    assert record.client_completion_tokens is None  # the service reported usage: no client count
    timing = record.timing
    assert timing.sent_at_s is not None
    assert timing.done_at_s is not None
    assert timing.scheduled_at_s <= timing.sent_at_s <= timing.done_at_s
    assert timing.first_sent_at_s == timing.sent_at_s
    manifest = read_manifest(tmp_path)
    assert manifest["status"] == "complete"
    assert manifest["plan"] == {"cells": 1, "trials": 20, "requests": 20, "results": 20}
    assert manifest["ended_at"] is not None
    assert manifest["run"]["concurrency"] == 4
    assert manifest["targets"]["sim"]["model"] == "alibaba:qwen@3.5-397b"


async def test_client_side_token_count_stands_in_for_missing_usage(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    made: list[FakeProvider] = []
    use(monkeypatch, made, usage=False)
    monkeypatch.setattr("harness.tokens.count_output_tokens", len)
    await run_trials(make_trials(3), make_targets(), fast_run(), tmp_path)
    records = read_records(tmp_path)
    assert [r.usage for r in records] == [None, None, None]
    assert [r.client_completion_tokens for r in records] == [len(r.results[0].text) for r in records]


async def test_concurrency_caps_in_flight_requests(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[FakeProvider] = []
    use(monkeypatch, made, delay_s=0.005)
    await run_trials(make_trials(30), make_targets(), fast_run(concurrency=3), tmp_path)
    assert made[0].max_in_flight == 3


async def test_target_max_concurrency_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[FakeProvider] = []
    use(monkeypatch, made, delay_s=0.005)
    await run_trials(make_trials(20), make_targets(max_concurrency=2), fast_run(concurrency=8), tmp_path)
    assert made[0].max_in_flight == 2


async def test_resume_sends_only_missing_trials(tmp_path: Path, fakes: list[FakeProvider]) -> None:
    trials = make_trials(20)
    await run_trials(trials[:8], make_targets(), fast_run(), tmp_path)
    result = await run_trials(trials, make_targets(), fast_run(), tmp_path)
    assert (result.n_skipped_resumed, result.n_done) == (8, 12)
    assert result.total_cost_usd == pytest.approx(0.02)
    assert sorted(k for req in fakes[1].requests for k in req) == sorted(t.key for t in trials[8:])
    assert sorted(keys(tmp_path)) == sorted(t.key for t in trials)
    manifest = read_manifest(tmp_path)
    assert len(manifest["resumed"]) == 1
    assert manifest["resumed"][0]["skipped"] == 8


async def test_torn_last_line_is_cut_and_its_trial_resent(tmp_path: Path, fakes: list[FakeProvider]) -> None:
    trials = make_trials(6)
    await run_trials(trials[:3], make_targets(), fast_run(), tmp_path)
    path = tmp_path / "records.jsonl"
    torn = orjson.dumps({"trial_key": trials[3].key, "status": "ok"})[:20]
    path.write_bytes(path.read_bytes() + torn)
    counts = ProgressCounts()
    result = await run_trials(trials, make_targets(), fast_run(), tmp_path, observer=counts)
    assert result.torn_line == 4
    assert any("line 4" in n for n in counts.notices)
    assert sorted(keys(tmp_path)) == sorted(t.key for t in trials)
    assert all(line.startswith(b"{") for line in path.read_bytes().splitlines())


async def test_transient_failures_are_retried(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[FakeProvider] = []
    use(monkeypatch, made, behaviour=lambda trial, attempt: ServerError("boom") if attempt == 1 else None)
    counts = ProgressCounts()
    await run_trials(make_trials(5), make_targets(), fast_run(), tmp_path, observer=counts)
    records = read_records(tmp_path)
    assert [r.attempts for r in records] == [2] * 5
    assert all(r.status == "ok" for r in records)
    assert counts.retries == 5
    assert all(
        r.timing.first_sent_at_s is not None and r.timing.first_sent_at_s <= r.timing.sent_at_s
        for r in records
    )  # type: ignore[operator]


async def test_permanent_failures_are_not_retried(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[FakeProvider] = []
    use(
        monkeypatch,
        made,
        behaviour=lambda trial, attempt: BadRequestError("bad", status=400, code="invalidTemperature"),
    )
    await run_trials(make_trials(3), make_targets(), fast_run(), tmp_path)
    records = read_records(tmp_path)
    assert [(r.status, r.attempts) for r in records] == [("error", 1)] * 3
    assert records[0].error is not None
    assert (records[0].error.kind, records[0].error.code, records[0].error.failure) == (
        "bad_request",
        "invalidTemperature",
        "permanent",
    )


async def test_retry_cap_gives_an_error_record(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[FakeProvider] = []
    use(monkeypatch, made, behaviour=lambda trial, attempt: ServerError("boom", status=500), whole=True)
    await run_trials(make_trials(2), make_targets(), fast_run(), tmp_path)
    records = read_records(tmp_path)
    assert [(r.status, r.attempts) for r in records] == [("error", 3)] * 2
    assert records[0].error is not None
    assert records[0].error.status == 500


async def test_rate_limits_shrink_the_limit_and_are_recorded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    made: list[FakeProvider] = []
    use(
        monkeypatch,
        made,
        behaviour=lambda trial, attempt: RateLimitedError("429", retry_after_s=0.0) if attempt == 1 else None,
    )
    await run_trials(make_trials(12), make_targets(), fast_run(concurrency=8), tmp_path)
    history = read_manifest(tmp_path)["concurrency_history"]
    assert history[0][1] == 8
    assert min(limit for _, limit in history) < 8
    assert all(r.status == "ok" and r.attempts == 2 for r in read_records(tmp_path))


async def test_batches_carry_batch_size_trials(tmp_path: Path, fakes: list[FakeProvider]) -> None:
    await run_trials(make_trials(10), make_targets(batch_size=3), fast_run(), tmp_path)
    assert sorted(len(r) for r in fakes[0].requests) == [1, 3, 3, 3]
    assert read_manifest(tmp_path)["plan"]["requests"] == 4


async def test_budget_stops_dispatch_and_resumes_with_more(tmp_path: Path, fakes: list[FakeProvider]) -> None:
    trials = make_trials(20)
    with pytest.raises(BudgetExceededError, match="max_cost_usd"):
        await run_trials(trials, make_targets(), fast_run(concurrency=1, max_cost_usd=0.0055), tmp_path)
    recorded = read_records(tmp_path)
    assert 1 <= len(recorded) <= 5
    assert sum(r.effective_cost_usd for r in recorded) <= 0.0055
    manifest = read_manifest(tmp_path)
    assert manifest["status"] == "stopped"
    assert "budget" in manifest["stop_reason"]
    result = await run_trials(trials, make_targets(), fast_run(concurrency=1, max_cost_usd=1.0), tmp_path)
    assert result.status == "complete"
    assert sorted(keys(tmp_path)) == sorted(t.key for t in trials)


async def test_circuit_breaker_stops_and_drops_run_level_failures(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    made: list[FakeProvider] = []
    use(
        monkeypatch,
        made,
        behaviour=lambda trial, attempt: AuthError("Invalid API key", status=401, code="invalidApiKey"),
        whole=True,
    )
    run = fast_run(circuit_breaker_window=5, circuit_breaker_error_rate=0.9)
    with pytest.raises(CircuitOpenError, match="auth"):
        await run_trials(make_trials(200), make_targets(), run, tmp_path)
    assert keys(tmp_path) == []  # nothing recorded: a resume with a fixed key sends them all
    assert sum(len(r) for r in made[0].requests) < 20
    manifest = read_manifest(tmp_path)
    assert manifest["status"] == "stopped"
    assert "circuit breaker" in manifest["stop_reason"]


async def test_run_level_failures_are_written_once_the_endpoint_works(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    made: list[FakeProvider] = []
    failing = {"key00000", "key00001"}
    use(
        monkeypatch,
        made,
        behaviour=lambda trial, attempt: AuthError("no", status=403) if trial.key in failing else None,
    )
    await run_trials(make_trials(10), make_targets(), fast_run(concurrency=1), tmp_path)
    records = {r.trial_key: r for r in read_records(tmp_path)}
    assert len(records) == 10
    assert {k for k, r in records.items() if r.status == "error"} == failing


async def test_cancellation_leaves_a_consistent_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    made: list[FakeProvider] = []
    use(monkeypatch, made, delay_s=0.02)
    trials = make_trials(200)
    eight_done = asyncio.Event()

    class Counts(ProgressCounts):
        def on_trial_done(self, record: Any) -> None:
            super().on_trial_done(record)
            if self.done >= 8:
                eight_done.set()

    counts = Counts()
    task = asyncio.create_task(
        run_trials(trials, make_targets(), fast_run(concurrency=4), tmp_path, observer=counts)
    )
    await eight_done.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    manifest = read_manifest(tmp_path)
    assert manifest["status"] == "interrupted"
    first = keys(tmp_path)
    assert len(first) == counts.done
    assert len(set(first)) == len(first)
    result = await run_trials(trials, make_targets(), fast_run(concurrency=8), tmp_path)
    assert result.n_skipped_resumed == len(first)
    assert sorted(keys(tmp_path)) == sorted(t.key for t in trials)


async def test_open_loop_schedules_at_the_rate(tmp_path: Path, fakes: list[FakeProvider]) -> None:
    result = await run_trials(make_trials(20), make_targets(), fast_run(rate_rps=400.0), tmp_path)
    scheduled = sorted(r.timing.scheduled_at_s for r in read_records(tmp_path))
    gaps = [round(b - a, 9) for a, b in itertools.pairwise(scheduled)]
    assert gaps == [round(1 / 400, 9)] * 19
    assert result.target_rps == 400.0
    assert result.achieved_rps is not None
    manifest = read_manifest(tmp_path)
    assert manifest["target_rps"] == 400.0
    assert manifest["achieved_rps"] == pytest.approx(result.achieved_rps, rel=1e-3)


async def test_duplicate_keys_are_a_plan_error(tmp_path: Path) -> None:
    trial = make_trials(1)[0]
    with pytest.raises(PlanError, match=trial.key):
        await run_trials([trial, trial], make_targets(), fast_run(), tmp_path)


async def test_unknown_target_is_a_config_error(tmp_path: Path) -> None:
    trials: list[Trial] = make_trials(1, target="elsewhere")
    with pytest.raises(ConfigError, match="elsewhere"):
        await run_trials(trials, make_targets(), fast_run(), tmp_path)


async def test_resume_sends_failed_trials_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[FakeProvider] = []
    use(monkeypatch, made, behaviour=lambda trial, attempt: AuthError("Invalid API key", status=401))
    trials = make_trials(5)
    first = await run_trials(trials, make_targets(), fast_run(), tmp_path)
    assert (first.status, first.total_ok, first.total_error) == ("complete", 0, 5)
    use(monkeypatch, made)  # the key is fixed
    result = await run_trials(trials, make_targets(), fast_run(), tmp_path)
    assert sorted(k for req in made[1].requests for k in req) == sorted(t.key for t in trials)
    assert (result.n_skipped_resumed, result.n_ok, result.total_ok, result.total_error) == (0, 5, 5, 0)
    assert [r.status for r in read_records(tmp_path)] == ["ok"] * 5
    assert (tmp_path / "records.jsonl").read_bytes().count(b"\n") == 10  # append-only


async def test_totals_count_the_latest_state_of_every_session(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    made: list[FakeProvider] = []
    use(
        monkeypatch,
        made,
        behaviour=lambda trial, attempt: BadRequestError("bad") if trial.key == "key00001" else None,
    )
    trials = make_trials(6)
    await run_trials(trials[:3], make_targets(), fast_run(), tmp_path)
    result = await run_trials(trials, make_targets(), fast_run(), tmp_path)
    # this session: key00001 again (still failing) and the three new ones
    assert (result.n_done, result.n_error, result.total_ok, result.total_error) == (4, 1, 5, 1)


async def test_circuit_stop_says_how_many_failures_were_not_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    made: list[FakeProvider] = []
    use(
        monkeypatch,
        made,
        behaviour=lambda trial, attempt: AuthError("Invalid API key", status=401),
        whole=True,
    )
    run = fast_run(concurrency=1, circuit_breaker_window=5, circuit_breaker_error_rate=0.9)
    with pytest.raises(CircuitOpenError) as info:
        await run_trials(make_trials(50), make_targets(), run, tmp_path)
    sent = sum(len(r) for r in made[0].requests)  # an auth error is not retried
    assert sent == 5
    assert "0 trials recorded this session (0 ok, 0 errors)" in str(info.value)
    assert f"{sent} more failed with an endpoint or account error" in str(info.value)
    assert "a resume sends them again" in str(info.value)


async def test_budget_stop_reports_the_total_after_in_flight_trials(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    made: list[FakeProvider] = []
    use(monkeypatch, made, delay_s=0.002)
    with pytest.raises(BudgetExceededError) as info:
        await run_trials(
            make_trials(40), make_targets(), fast_run(concurrency=8, max_cost_usd=0.0095), tmp_path
        )
    total = sum(r.effective_cost_usd for r in read_records(tmp_path))
    assert f"${total:.4f} spent in all once the trials in flight had finished" in str(info.value)
    assert read_manifest(tmp_path)["stop_reason"] in str(info.value)


async def test_budget_below_one_reservation_says_why_nothing_was_sent(
    tmp_path: Path, fakes: list[FakeProvider]
) -> None:
    trials = [
        dataclasses.replace(t, settings={**t.settings, "maxTokens": 16384}, prompt_tokens_estimate=0)
        for t in make_trials(3)
    ]
    with pytest.raises(BudgetExceededError) as info:
        await run_trials(trials, make_targets(), fast_run(max_cost_usd=0.01), tmp_path)
    message = str(info.value)
    assert fakes[0].requests == []
    assert "maxTokens (16384)" in message
    assert "$0.0328 per trial" in message  # 16384 tokens at $2 per million
    assert "so no trial was sent" in message
    assert "Lower maxTokens" in message
    assert "raise --max-cost" in message


def test_manifest_plan_counts_requests_as_the_providers_batch() -> None:
    trials = make_trials(10)
    assert plan_size(trials, make_targets(batch_size=3))["requests"] == 4
    # A Runware stream carries one task per request, whatever batch_size says, and so does a run
    # whose delivery override makes it stream; chat completions never batch.
    assert plan_size(trials, make_targets(batch_size=3, delivery="stream"))["requests"] == 10
    assert plan_size(trials, make_targets(batch_size=3), delivery="stream")["requests"] == 10
    assert plan_size(trials, make_targets(batch_size=3, provider="openai"))["requests"] == 10
