"""One request's worth of trials, start to finish: send, retry transient failures per the policy, feed
the adaptive limit, and turn the final outcome of each trial into a Record. Knows nothing of schedules,
files or progress bars; finished records go to `Lane.finish`.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field

from harness.config import PriceConfig
from harness.errors import ProviderError, RateLimitedError
from harness.pricing import cost_usd
from harness.providers import Provider, TaskOutcome
from harness.records import ErrorInfo, Record, Result, Timing, Trial, Usage
from harness.runner.ratelimit import AdaptiveLimit
from harness.runner.retry import RetryPolicy

__all__ = [
    "Bill",
    "Lane",
    "TrialState",
    "build_record",
    "collect_batch",
    "count_client_tokens",
    "execute_batch",
]


@dataclass(frozen=True, slots=True)
class Bill:
    """What one failed attempt's task was billed: the service's cost, and the price table's figure for
    the usage it reported (either may be unknown)."""

    task_uuid: str
    cost_usd: float | None
    price_usd: float | None


@dataclass(slots=True)
class TrialState:
    """A trial's bookkeeping across attempts."""

    scheduled_at: float
    attempts: int = 0
    first_sent_at: float | None = None
    retry_wait_s: float = 0.0
    rate_limit_wait_s: float = 0.0
    # What failed attempts were billed (their reply reported usage or cost), carried to the record.
    bills: list[Bill] = field(default_factory=list)

    def bill(self, outcome: TaskOutcome, prices: PriceConfig | None) -> Bill | None:
        """Keep what a failed attempt's reply said it cost, so no paid attempt goes unrecorded; the
        Bill kept, or None when the reply reported nothing."""
        if outcome.cost_usd is None and outcome.usage is None:
            return None
        price = _price(prices, outcome.usage) if prices is not None and outcome.usage is not None else None
        bill = Bill(outcome.task_uuid, outcome.cost_usd, price)
        self.bills.append(bill)
        return bill

    @property
    def billed_task_uuids(self) -> list[str] | None:
        return [b.task_uuid for b in self.bills] or None

    @property
    def billed_cost_usd(self) -> float | None:
        return _sum(b.cost_usd for b in self.bills)

    @property
    def billed_price_usd(self) -> float | None:
        return _sum(b.price_usd for b in self.bills)


def _sum(values: Iterable[float | None]) -> float | None:
    """The sum of the known values; None when none is known."""
    known = [v for v in values if v is not None]
    return sum(known) if known else None


@dataclass(slots=True)
class Lane:
    """Everything needed to execute trials against one target."""

    provider: Provider
    limiter: AdaptiveLimit
    policy: RetryPolicy
    now: Callable[[], float]
    finish: Callable[[Record], None]
    pause: Callable[[float], Awaitable[bool]]  # wait up to n s; True when the run is stopping
    on_retry: Callable[[Trial, ProviderError, float], None]
    on_first_send: Callable[[float], None]
    prices: PriceConfig | None = None
    rng: random.Random = field(default_factory=random.Random)
    stopping: Callable[[], bool] = lambda: False
    # A failed attempt was billed and its trial will be sent again: `on_bill` puts that on disk at once
    # (the submission journal, for async delivery), since the bill is otherwise only in memory until
    # the trial's record is written, and a kill in between would lose it.
    on_bill: Callable[[Trial, Bill], None] | None = None
    # Bills of earlier sessions' tasks that no record holds, by trial key: they start the trial's state
    # when it is sent again in this session, so its record carries them (taken once).
    carried: dict[str, list[Bill]] = field(default_factory=dict)

    def new_state(self, trial: Trial, scheduled_at: float) -> TrialState:
        return TrialState(scheduled_at, bills=list(self.carried.pop(trial.key, ())))

    def billed(self, trial: Trial, state: TrialState, outcome: TaskOutcome) -> None:
        """Keep a failed attempt's bill in the trial's state, and on disk when `on_bill` is set."""
        bill = state.bill(outcome, self.prices)
        if bill is not None and self.on_bill is not None:
            self.on_bill(trial, bill)


async def execute_batch(lane: Lane, trials: Sequence[Trial], scheduled_at: float) -> None:
    """Run `trials` (one request) until each is final; trials still retrying when the run stops are
    abandoned unrecorded, so a resume sends them again, unless an attempt of theirs was billed: then
    their last error is recorded with that cost (and a resume sends them again all the same)."""
    pending = [(t, lane.new_state(t, scheduled_at)) for t in trials]
    limiter = lane.limiter
    provider = lane.provider
    started = lane.now()
    while pending:
        await limiter.acquire()
        sent = lane.now()
        outcomes: list[TaskOutcome] | None = None
        whole: ProviderError | None = None
        try:
            outcomes = await provider.send([t for t, _ in pending])
        except ProviderError as exc:
            whole = exc
        finally:
            limiter.release()
        now = lane.now()
        retry: list[tuple[Trial, TrialState, ProviderError, TaskOutcome | None]] = []
        for index, (trial, state) in enumerate(pending):
            state.attempts += 1
            outcome = outcomes[index] if outcomes is not None else None
            if state.first_sent_at is None:
                state.first_sent_at = outcome.sent_at_s if outcome is not None else sent
                if index == 0:
                    lane.on_first_send(state.first_sent_at)
            error = whole if outcome is None else outcome.error
            if error is None:
                limiter.on_success()
                lane.finish(build_record(lane, trial, state, outcome, None, sent, now))
                continue
            if isinstance(error, RateLimitedError):
                limiter.on_rate_limited(sent)
            retry.append((trial, state, error, outcome))
            if outcome is not None:
                lane.billed(trial, state, outcome)
        if not retry:
            return
        # One wait for the whole request: the longest any of its failed trials asks for.
        wait, error0 = max(
            ((lane.policy.backoff_s(state.attempts, e, lane.rng), e) for _, state, e, _ in retry),
            key=lambda pair: pair[0],
        )
        elapsed = now - started
        again: list[tuple[Trial, TrialState]] = []
        for trial, state, error, outcome in retry:
            if lane.stopping():
                _abandon(lane, trial, state, error, sent, now)  # re-sent on resume
                continue
            if lane.policy.should_retry(state.attempts, error, elapsed_s=elapsed, wait_s=wait):
                again.append((trial, state))
            else:
                lane.finish(build_record(lane, trial, state, outcome, error, sent, now, final=True))
        if not again:
            return
        lane.on_retry(again[0][0], error0, wait)
        if await lane.pause(wait):
            for trial, state in again:  # the run is stopping: the trials still to retry stay unrecorded
                _abandon(lane, trial, state, error0, sent, now)
            return
        limited = isinstance(error0, RateLimitedError)
        for _, state in again:
            state.retry_wait_s += wait
            if limited:
                state.rate_limit_wait_s += wait
        pending = again


async def collect_batch(
    lane: Lane, trials: Sequence[Trial], uuids: Sequence[str], scheduled_at: float
) -> set[str]:
    """Record the trials whose earlier submission (journaled by a run that was killed) has its
    result at the service, collected without sending them again; return their keys. Trials not
    collected (unknown to the service, failed, or the collecting request failed) are sent anew; when
    their task was billed all the same (its result came spoiled, then it failed), that bill goes with
    them (`Lane.carried`, and on disk through `Lane.on_bill`)."""
    collect = getattr(lane.provider, "collect", None)
    if collect is None:
        return set()
    await lane.limiter.acquire()
    try:
        outcomes: list[TaskOutcome | None] = await collect(trials, uuids)
    except ProviderError:
        return set()
    finally:
        lane.limiter.release()
    done: set[str] = set()
    now = lane.now()
    for trial, outcome in zip(trials, outcomes, strict=True):
        if outcome is None:
            continue
        state = lane.new_state(trial, scheduled_at)
        if outcome.error is not None:
            lane.billed(trial, state, outcome)
            if state.bills:
                lane.carried[trial.key] = state.bills
            continue
        state.attempts = 1
        record = build_record(lane, trial, state, outcome, None, now, now)
        # The request went in a session that was killed: when it was sent (so its latency) is unknown,
        # and the statistics leave it out rather than count the collection's few milliseconds.
        record.timing = Timing(scheduled_at, None, None, None, None, outcome.done_at_s, None)
        lane.finish(record)
        done.add(trial.key)
    return done


def _abandon(
    lane: Lane, trial: Trial, state: TrialState, error: ProviderError, sent: float, now: float
) -> None:
    """A trial left unfinished by a stopping run: recorded (as its last error) only when one of its
    attempts was billed, so that cost is on disk; otherwise nothing, and a resume sends it again."""
    if state.billed_task_uuids:
        lane.finish(build_record(lane, trial, state, None, error, sent, now))


def _price(prices: PriceConfig, usage: Usage) -> float:
    completion = max(usage.completion_tokens, 0)
    return cost_usd(
        prices,
        prompt_tokens=max(usage.prompt_tokens, 0),
        completion_tokens=completion,
        thinking_tokens=min(max(usage.thinking_tokens, 0), completion),
    )


def build_record(
    lane: Lane,
    trial: Trial,
    state: TrialState,
    outcome: TaskOutcome | None,
    error: ProviderError | None,
    sent: float,
    now: float,
    *,
    final: bool = False,
) -> Record:
    """The final Record of a trial from its last attempt's outcome (or whole-request error), with
    what earlier attempts were billed added to its costs.

    The client-side token count is left to the records writer (`count_client_tokens`), off the
    event loop. `final`: the outcome was already counted by `TrialState.bill` (an error retried no
    more), so only the earlier attempts' figures apply."""
    if outcome is None:  # the whole request failed: no response to take times, usage or cost from
        timing = Timing(state.scheduled_at, sent, None, None, None, now, state.first_sent_at)
        usage = cost = task_uuid = itl = None
        results: list[Result] = []
    else:
        timing = Timing(
            state.scheduled_at,
            outcome.sent_at_s,
            outcome.first_byte_at_s,
            outcome.first_token_at_s,
            outcome.first_answer_token_at_s,
            outcome.done_at_s,
            state.first_sent_at,
        )
        usage, cost, task_uuid = outcome.usage, outcome.cost_usd, outcome.task_uuid
        results, itl = (outcome.results, outcome.itl_s) if error is None else ([], None)
    price = None if lane.prices is None or usage is None else _price(lane.prices, usage)
    earlier = state.billed_task_uuids
    if earlier:
        if final and earlier[-1] == task_uuid:  # this attempt's bill is in the state already
            cost = price = None
            earlier = earlier[:-1]
        if state.billed_cost_usd is not None:
            cost = state.billed_cost_usd + (cost or 0.0)
        if state.billed_price_usd is not None:
            price = state.billed_price_usd + (price or 0.0)
    return Record(
        trial.key,
        trial.cell_id,
        trial.cell,
        trial.item_id,
        trial.repeat,
        trial.seed,
        trial.target,
        trial.model,
        lane.provider.delivery,
        "ok" if outcome is not None and error is None else "error",
        timing,
        results,
        usage,
        cost,
        price,
        state.attempts,
        round(state.retry_wait_s, 6),
        round(state.rate_limit_wait_s, 6),
        itl,
        None,
        None if error is None else _error_info(error),
        trial.number_results,
        trial.reference,
        trial.choices,
        task_uuid,
        trial.system_prompt,
        [{"role": m.role, "content": m.content} for m in trial.messages],
        earlier or None,
        load_point=trial.load_point,
        load_window=trial.load_window,
    )


def _error_info(error: ProviderError) -> ErrorInfo:
    return ErrorInfo(
        kind=error.kind, message=error.message, status=error.status, code=error.code, failure=error.failure
    )


def count_client_tokens(records: Sequence[Record], count: Callable[[str], int]) -> None:
    """Fill `client_completion_tokens` of successful records the service reported no usage for (text
    plus reasoning of every result): the count stands in for the missing usage (harness.derived), so
    with usage it would only cost the tokenizer's load (~0.4 s, ~120 MiB) and a count per answer.
    Run by the records writer task on the event loop (RunStore.prepare), once per batch, just before
    the batch is written; never in a thread."""
    for record in records:
        if record.status != "ok" or record.usage is not None or record.client_completion_tokens is not None:
            continue
        record.client_completion_tokens = sum(
            count(r.text) + (count(r.reasoning) if r.reasoning else 0) for r in record.results
        )


async def sleep_unless(stop: asyncio.Event, seconds: float) -> bool:
    """Sleep `seconds`, waking early when `stop` is set; True when it was set."""
    if stop.is_set():
        return True
    if seconds <= 0:
        return False
    try:
        async with asyncio.timeout(seconds):
            await stop.wait()
    except TimeoutError:
        return False
    return True
