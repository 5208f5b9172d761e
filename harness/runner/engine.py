"""`run_trials`: runs a list of trials against their targets and leaves a consistent run directory,
whatever happens (finished, budget or circuit breaker stop, Ctrl-C, crash). Owns the run's lifecycle:
resume filtering, lanes per target, closed- or open-loop dispatch, stop conditions and counting.
It never prints (observers do) and never computes trial keys (the plan does).
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import functools
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from harness.config import PriceConfig, RunConfig, TargetConfig
from harness.errors import BudgetExceededError, CircuitOpenError, ConfigError, PlanError
from harness.pricing import cost_usd, load_prices
from harness.providers import Provider, get_provider
from harness.records import Record, Trial
from harness.rundir import RunDir, RunStore, write_manifest
from harness.rundir.layout import RECORDS
from harness.runner.execute import Lane, count_client_tokens, execute_batch, sleep_unless
from harness.runner.journal import SubmitJournal, collect_submitted
from harness.runner.manifest import end_fields, start_manifest, utc_now
from harness.runner.observer import BaseObserver, Observer, RunResult
from harness.runner.ratelimit import AdaptiveLimit
from harness.runner.retry import RetryPolicy
from harness.runner.scheduler import MonotonicClock, achieved_rate, arrival_times
from harness.runner.stopping import Budget, CircuitBreaker

__all__ = ["RunResult", "run_trials"]

# Failures that say "the endpoint or the account is broken", not "this trial is bad". Their records
# are held back until the endpoint proves itself with a success; if the circuit breaker opens first
# they are dropped, so a resume (after fixing the key or the URL) sends those trials again.
_RUN_LEVEL_KINDS = frozenset({"auth", "payment", "connect"})


async def run_trials(
    trials: Sequence[Trial],
    targets: Mapping[str, TargetConfig],
    run: RunConfig,
    run_dir: Path,
    *,
    observer: Observer | None = None,
    manifest: dict[str, Any] | None = None,
) -> RunResult:
    """Send every trial of `run_dir` not yet recorded as ok (never sent, or whose latest record is an
    error), append one record per finished trial, and keep
    manifest.json current. Raises BudgetExceededError / CircuitOpenError (after writing everything)
    when the run stops early; on cancellation the directory is left consistent (status interrupted)."""
    return await _Engine(trials, targets, run, Path(run_dir), observer or BaseObserver(), manifest).run()


class _Engine:
    def __init__(
        self,
        trials: Sequence[Trial],
        targets: Mapping[str, TargetConfig],
        run: RunConfig,
        run_dir: Path,
        observer: Observer,
        manifest: dict[str, Any] | None,
    ) -> None:
        self.trials = _unique(trials)
        for trial in self.trials:
            if trial.target not in targets:
                raise ConfigError(
                    f"trial {trial.key} names target {trial.target!r}, which is not configured",
                    field="target",
                    allowed=sorted(targets),
                )
        self.targets = targets
        self.run_cfg = run
        self.run_dir = run_dir
        self.observer = observer
        self.given_manifest = manifest
        self.store = RunStore(run_dir, on_written=self._written)
        self.journal = SubmitJournal(run_dir)
        self.clock = MonotonicClock()
        self.stop = asyncio.Event()
        self.stop_kind: str | None = None
        self.stop_reason: str | None = None
        self.breaker = CircuitBreaker(run.circuit_breaker_window, run.circuit_breaker_error_rate)
        self.budget = Budget(run.max_cost_usd)
        self.lanes: dict[str, Lane] = {}
        self.estimates: dict[str, float | None] = {}
        self.reserved: dict[str, float] = {}
        self.held: list[Record] = []
        self.n_held_back = 0
        self.first_sends: list[float] = []
        self.n_ok = self.n_error = 0
        self.cost_usd = 0.0
        self.ok_keys: set[str] = set()  # latest state of every trial on disk, this session included
        self.error_keys: set[str] = set()
        self.recorded_uuids: set[str] = set()  # taskUUIDs some record on disk already accounts for

    async def run(self) -> RunResult:
        scan = self.store.open()
        self.ok_keys, self.error_keys = set(scan.keys), set(scan.error_keys)
        self.recorded_uuids = scan.task_uuids
        try:
            return await self._run_open(scan.keys, scan.torn_line, scan.cost_usd)
        finally:
            self.store.close_now()

    async def _run_open(self, done_keys: set[str], torn_line: int | None, spent: float) -> RunResult:
        now = utc_now()
        run_dir = RunDir(self.run_dir)
        prior = run_dir.raw_manifest() if run_dir.has_manifest() else None
        if prior is not None and prior.get("started_at"):
            from datetime import datetime

            offset = (now - datetime.fromisoformat(prior["started_at"])).total_seconds()
            self.clock = MonotonicClock(max(0.0, offset))
        pending = [t for t in self.trials if t.key not in done_keys]
        skipped = len(self.trials) - len(pending)
        self.budget.spent_usd = spent
        manifest = start_manifest(
            self.given_manifest,
            prior,
            trials=self.trials,
            targets=self.targets,
            run=self.run_cfg,
            now=now,
            skipped=skipped,
            torn_line=torn_line,
        )
        write_manifest(self.run_dir, manifest)
        self.observer.on_run_start(total=len(pending), skipped=skipped, target_rps=self.run_cfg.rate_rps)
        retried = sum(t.key in self.error_keys for t in pending)
        if retried:
            self.observer.on_notice(f"{retried} trials whose latest record is an error are sent again")
        if torn_line is not None:
            self.observer.on_notice(
                f"{RECORDS} line {torn_line} was incomplete (the last run was killed mid-write); "
                "it was cut off and its trial will be sent again"
            )
        stale = self.store.stale_lock_owner
        if stale is not None:
            self.observer.on_notice(
                f"the run directory's lock was left by pid {stale.get('pid')}, which is no longer running "
                "(killed?); it was taken over"
            )
        started = time.perf_counter()
        status = "failed"
        try:
            self._build_lanes({t.target for t in pending})
            self.store.start()
            pending = await self._collect_submitted(pending)
            await self._dispatch(pending)
            status = "stopped" if self.stop_kind else "complete"
        except asyncio.CancelledError:
            status = "interrupted"
            self.stop_reason = "interrupted (SIGINT or cancellation); resume to finish"
            raise
        except BaseException as exc:
            self.stop_reason = self.stop_reason or f"{type(exc).__name__}: {exc}"
            raise
        finally:
            result = await self._finish(
                manifest, status, time.perf_counter() - started, skipped, spent, torn_line
            )
        if self.stop_kind == "budget":
            raise BudgetExceededError(f"{self.stop_reason}; {self._summary(result)}")
        if self.stop_kind == "circuit":
            raise CircuitOpenError(f"{self.stop_reason}; {self._summary(result)}")
        return result

    @staticmethod
    def _summary(result: RunResult) -> str:
        text = f"{result.n_done} trials recorded this session ({result.n_ok} ok, {result.n_error} errors)"
        if result.n_held_back:
            text += (
                f"; {result.n_held_back} more failed with an endpoint or account error (auth, payment, "
                "connect) and were not kept, so a resume sends them again"
            )
        return text + "; resume with the same run directory to continue"

    async def _finish(
        self, manifest: dict[str, Any], status: str, wall: float, skipped: int, spent: float, torn: int | None
    ) -> RunResult:
        """Close providers, write what is queued, update the manifest. Runs under cancellation too."""
        cancelled = False  # a cancellation arriving now must not leave the directory half-written
        self.journal.close()
        for lane in self.lanes.values():
            try:
                await lane.provider.aclose()
            except asyncio.CancelledError:
                cancelled = True
        if self.stop_kind != "circuit":
            for record in self.held:
                self.store.append(record)
        else:
            self.n_held_back = len(self.held)
        self.held.clear()
        try:
            await self.store.close()
        except asyncio.CancelledError:
            cancelled = True
            self.store.close_now()
        rps = achieved_rate(self.first_sends)
        result = RunResult(
            status=status,
            n_done=self.n_ok + self.n_error,
            n_ok=self.n_ok,
            n_error=self.n_error,
            n_skipped_resumed=skipped,
            cost_usd=round(self.cost_usd, 10),
            wall_time_s=round(wall, 3),
            stop_reason=self.stop_reason,
            total_cost_usd=round(spent + self.cost_usd, 10),
            n_planned=len(self.trials),
            target_rps=self.run_cfg.rate_rps,
            achieved_rps=rps,
            torn_line=torn,
            total_ok=len(self.ok_keys),
            total_error=len(self.error_keys),
            n_held_back=self.n_held_back,
        )
        if self.stop_kind == "budget":
            # The reason was written when dispatching stopped; trials in flight then went on to spend.
            self.stop_reason = (
                f"{self.stop_reason}; ${result.total_cost_usd:.4f} spent in all once the trials in flight "
                "had finished"
            )
            result = dataclasses.replace(result, stop_reason=self.stop_reason)
        manifest.update(
            end_fields(
                status=status,
                stop_reason=self.stop_reason,
                now=utc_now(),
                wall_time_s=wall,
                target_rps=self.run_cfg.rate_rps,
                achieved_rps=rps,
                histories={name: lane.limiter.history for name, lane in self.lanes.items()},
            )
        )
        write_manifest(self.run_dir, manifest)
        self.observer.on_run_end(result)
        if cancelled:
            raise asyncio.CancelledError
        return result

    def _build_lanes(self, names: set[str]) -> None:
        run = self.run_cfg
        self.store.prepare = functools.partial(count_client_tokens, count=_token_counter())
        for name in sorted(names):
            target = self.targets[name]
            update: dict[str, Any] = {}
            if run.delivery is not None:
                update["delivery"] = run.delivery
            if run.timeout_s is not None:
                update["timeouts"] = target.timeouts.model_copy(update={"total_s": run.timeout_s})
            if update:
                target = target.model_copy(update=update)
            ceiling = min(run.concurrency, target.max_concurrency or run.concurrency)
            provider: Provider = get_provider(target, concurrency=ceiling, clock=self.clock.now)
            self.lanes[name] = Lane(
                provider=provider,
                limiter=AdaptiveLimit(ceiling, adaptive=run.adaptive_concurrency, clock=self.clock.now),
                policy=RetryPolicy(run.retries),
                now=self.clock.now,
                finish=self._finished,
                pause=self._pause,
                on_retry=self.observer.on_retry,
                on_first_send=self.first_sends.append,
                prices=self._prices(target),
                stopping=self.stop.is_set,
            )

    async def _collect_submitted(self, pending: list[Trial]) -> list[Trial]:
        """Async lanes journal their submits; collect what a killed session had submitted."""
        collected = await collect_submitted(
            self.journal, self.lanes, pending, recorded=self.recorded_uuids, now=self.clock.now()
        )
        if collected:
            self.observer.on_notice(
                f"{len(collected)} trials submitted before the last run stopped were collected from the "
                "service (getResponse), not sent again"
            )
        return [t for t in pending if t.key not in collected] if collected else pending

    def _prices(self, target: TargetConfig) -> PriceConfig | None:
        try:
            return load_prices(target.model, target.prices)
        except ConfigError as exc:
            self.observer.on_notice(
                f"target {target.name}: no price table ({exc}); price-table costs left empty"
            )
            return None

    async def _pause(self, seconds: float) -> bool:
        return await sleep_unless(self.stop, seconds)

    def _batches(self, pending: Sequence[Trial]) -> list[tuple[Lane, list[Trial]]]:
        """Trials grouped into requests per target, in plan order."""
        batches: list[tuple[Lane, list[Trial]]] = []
        open_batch: dict[str, list[Trial]] = {}
        for trial in pending:
            lane = self.lanes[trial.target]
            batch = open_batch.setdefault(trial.target, [])
            batch.append(trial)
            if len(batch) >= max(1, lane.provider.max_batch):
                batches.append((lane, batch))
                open_batch[trial.target] = []
        batches.extend((self.lanes[name], batch) for name, batch in open_batch.items() if batch)
        return batches

    async def _dispatch(self, pending: Sequence[Trial]) -> None:
        batches = self._batches(pending)
        if not batches:
            return
        async with asyncio.TaskGroup() as group:
            if self.run_cfg.rate_rps is None:
                queues: dict[int, collections.deque[list[Trial]]] = {}
                lanes: dict[int, Lane] = {}
                for lane, batch in batches:
                    queues.setdefault(id(lane), collections.deque()).append(batch)
                    lanes[id(lane)] = lane
                for lane_id, queue in queues.items():
                    for _ in range(min(lanes[lane_id].limiter.ceiling, len(queue))):
                        group.create_task(self._worker(lanes[lane_id], queue))
            else:
                await self._open_loop(batches, group)

    async def _worker(self, lane: Lane, queue: collections.deque[list[Trial]]) -> None:
        while queue and not self.stop.is_set():
            batch = queue.popleft()
            if not self._reserve(batch):
                return
            await self._execute(lane, batch, self.clock.now())

    async def _open_loop(self, batches: list[tuple[Lane, list[Trial]]], group: asyncio.TaskGroup) -> None:
        run = self.run_cfg
        assert run.rate_rps is not None
        schedule = arrival_times(len(batches), run.rate_rps, run.arrival, run.arrival_seed, run.burstiness)
        start = self.clock.now()
        for (lane, batch), offset in zip(batches, schedule, strict=True):
            when = start + offset
            if await sleep_unless(self.stop, when - self.clock.now()) or not self._reserve(batch):
                return
            group.create_task(self._execute(lane, batch, when))

    def _reserve(self, batch: list[Trial]) -> bool:
        if self.stop.is_set():
            return False
        if self.budget.max_cost_usd is None:
            return True
        estimates = [self.budget.estimate(self._price_estimate(t)) for t in batch]
        if not self.budget.try_reserve(sum(estimates)):
            self._request_stop("budget", self._budget_reason(batch, sum(estimates)))
            return False
        for trial, estimate in zip(batch, estimates, strict=True):
            self.reserved[trial.key] = estimate
        return True

    def _budget_reason(self, batch: list[Trial], estimate: float) -> str:
        reason = self.budget.reason or "budget exhausted"
        if self.budget.n_finished or not self.budget.max_cost_usd:
            return reason
        # No trial has finished yet, so each one reserves the most it can cost: that is easily more
        # than a small budget, and then nothing at all is sent.
        max_tokens = {str(t.settings.get("maxTokens") or 1024) for t in batch}
        reason += (
            f". Until trials finish (then their mean cost is used), each trial in flight reserves the most "
            f"it can cost: its prompt plus maxTokens ({', '.join(sorted(max_tokens))}) completion tokens at "
            f"the price table's rate, ${estimate / len(batch):.4f} per trial here"
        )
        if self.budget.in_flight_usd == 0:
            left = self.budget.max_cost_usd - self.budget.spent_usd
            reason += (
                f", more than the ${left:.4f} left of max_cost_usd ${self.budget.max_cost_usd:.4f}, so no "
                "trial was sent. Lower maxTokens (--set settings.maxTokens=N) or raise --max-cost"
            )
        else:
            reason += "; lower maxTokens or raise --max-cost to keep more trials in flight"
        return reason

    def _price_estimate(self, trial: Trial) -> float | None:
        lane = self.lanes[trial.target]
        if lane.prices is None:
            return None
        completion = int(trial.settings.get("maxTokens") or 1024)
        return trial.number_results * cost_usd(
            lane.prices,
            prompt_tokens=trial.prompt_tokens_estimate or 0,
            completion_tokens=completion,
            thinking_tokens=0,
        )

    async def _execute(self, lane: Lane, batch: list[Trial], scheduled_at: float) -> None:
        try:
            await execute_batch(lane, batch, scheduled_at)
        finally:
            for trial in batch:  # abandoned (stopped or cancelled): release the budget reservation
                estimate = self.reserved.pop(trial.key, None)
                if estimate is not None:
                    self.budget.settle(estimate, 0.0, finished=False)

    def _finished(self, record: Record) -> None:
        """A trial is final: account for it now, write it (or hold it back, see _RUN_LEVEL_KINDS)."""
        estimate = self.reserved.pop(record.trial_key, 0.0)
        self.budget.settle(estimate, record.effective_cost_usd, finished=record.status == "ok")
        if self.breaker.observe(record):
            self._request_stop("circuit", self.breaker.reason or "circuit breaker opened")
        if record.error is not None and record.error.kind in _RUN_LEVEL_KINDS:
            self.held.append(record)
            return
        if record.status == "ok" and self.held:
            for held in self.held:
                self.store.append(held)
            self.held.clear()
        self.store.append(record)

    def _request_stop(self, kind: str, reason: str) -> None:
        if self.stop_kind is None:
            self.stop_kind = kind
            self.stop_reason = reason
            self.observer.on_notice(f"stopping: {reason}")
        self.stop.set()

    def _written(self, records: list[Record]) -> None:
        for record in records:
            if record.status == "ok":
                self.n_ok += 1
                self.ok_keys.add(record.trial_key)
                self.error_keys.discard(record.trial_key)
            else:
                self.n_error += 1
                self.error_keys.add(record.trial_key)
            self.cost_usd += record.effective_cost_usd
            self.observer.on_trial_done(record)


def _unique(trials: Sequence[Trial]) -> list[Trial]:
    seen: set[str] = set()
    for trial in trials:
        if trial.key in seen:
            raise PlanError(
                f"two trials share the key {trial.key} (cell {trial.cell_id}, item {trial.item_id})"
            )
        seen.add(trial.key)
    return list(trials)


def _token_counter() -> Callable[[str], int]:
    """harness.tokens.count_output_tokens, for the records the service reported no usage for.

    Client-side counts are made by the records writer task (harness.rundir.store.RunStore, on the
    event loop, not in a thread) once per batch, just before the batch is written: a record is
    timed before it is counted, so counting never sits between a response and its timestamps, but
    a batch's tokenization does hold the loop while it runs. The tokenizer is loaded there at the
    first record that needs it, not before the first request: against a service that reports usage
    (Runware always does) it is never loaded. Uncached: outputs are mostly unique and can be long."""
    from harness.tokens import count_output_tokens

    return count_output_tokens
