"""One request's worth of trials, start to finish: send, retry transient failures per the policy, feed
the adaptive limit, and turn the final outcome of each trial into a Record. Knows nothing of schedules,
files or progress bars; finished records go to `Lane.finish`.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from harness.config import PriceConfig
from harness.errors import ProviderError, RateLimitedError
from harness.pricing import cost_usd
from harness.providers import Provider, TaskOutcome
from harness.records import ErrorInfo, Record, Timing, Trial, Usage
from harness.runner.ratelimit import AdaptiveLimit
from harness.runner.retry import RetryPolicy

__all__ = ["Lane", "TrialState", "build_record", "execute_batch"]


@dataclass(slots=True)
class TrialState:
    """A trial's bookkeeping across attempts."""

    scheduled_at: float
    attempts: int = 0
    first_sent_at: float | None = None
    retry_wait_s: float = 0.0
    rate_limit_wait_s: float = 0.0


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
    count_tokens: Callable[[str], int] | None = None
    rng: random.Random = field(default_factory=random.Random)
    stopping: Callable[[], bool] = lambda: False


async def execute_batch(lane: Lane, trials: Sequence[Trial], scheduled_at: float) -> None:
    """Run `trials` (one request) until each is final; trials still retrying when the run stops are
    abandoned unrecorded, so a resume sends them again."""
    states = {t.key: TrialState(scheduled_at) for t in trials}
    pending = list(trials)
    started = lane.now()
    while pending:
        await lane.limiter.acquire()
        sent = lane.now()
        outcomes: list[TaskOutcome] | None = None
        whole: ProviderError | None = None
        try:
            outcomes = await lane.provider.send(pending)
        except ProviderError as exc:
            whole = exc
        finally:
            lane.limiter.release()
        now = lane.now()
        retry: list[tuple[Trial, ProviderError, TaskOutcome | None]] = []
        for index, trial in enumerate(pending):
            state = states[trial.key]
            state.attempts += 1
            outcome = outcomes[index] if outcomes is not None else None
            if state.first_sent_at is None:
                state.first_sent_at = outcome.sent_at_s if outcome is not None else sent
                if index == 0:
                    lane.on_first_send(state.first_sent_at)
            error = whole if outcome is None else outcome.error
            if error is None:
                lane.limiter.on_success()
                lane.finish(build_record(lane, trial, state, outcome, None, sent, now))
                continue
            if isinstance(error, RateLimitedError):
                lane.limiter.on_rate_limited(sent)
            retry.append((trial, error, outcome))
        if not retry:
            return
        # One wait for the whole request: the longest any of its failed trials asks for.
        wait, error0 = max(
            ((lane.policy.backoff_s(states[t.key].attempts, e, lane.rng), e) for t, e, _ in retry),
            key=lambda pair: pair[0],
        )
        elapsed = now - started
        again: list[Trial] = []
        for trial, error, outcome in retry:
            state = states[trial.key]
            if lane.stopping():
                continue  # abandoned: re-sent on resume
            if lane.policy.should_retry(state.attempts, error, elapsed_s=elapsed, wait_s=wait):
                again.append(trial)
            else:
                lane.finish(build_record(lane, trial, state, outcome, error, sent, now))
        if not again:
            return
        lane.on_retry(again[0], error0, wait)
        if await lane.pause(wait):
            return  # the run is stopping: the trials still to retry stay unrecorded
        limited = isinstance(error0, RateLimitedError)
        for trial in again:
            state = states[trial.key]
            state.retry_wait_s += wait
            if limited:
                state.rate_limit_wait_s += wait
        pending = again


def _price(lane: Lane, usage: Usage | None) -> float | None:
    if lane.prices is None or usage is None:
        return None
    completion = max(usage.completion_tokens, 0)
    return cost_usd(
        lane.prices,
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
) -> Record:
    """The final Record of a trial from its last attempt's outcome (or whole-request error)."""
    if outcome is not None:
        timing = Timing(
            scheduled_at_s=state.scheduled_at,
            sent_at_s=outcome.sent_at_s,
            first_byte_at_s=outcome.first_byte_at_s,
            first_token_at_s=outcome.first_token_at_s,
            first_answer_token_at_s=outcome.first_answer_token_at_s,
            done_at_s=outcome.done_at_s,
            first_sent_at_s=state.first_sent_at,
        )
    else:
        timing = Timing(
            scheduled_at_s=state.scheduled_at,
            sent_at_s=sent,
            done_at_s=now,
            first_sent_at_s=state.first_sent_at,
        )
    ok = error is None and outcome is not None
    results = outcome.results if outcome is not None and ok else []
    usage = outcome.usage if outcome is not None else None
    client_tokens = None
    if ok and lane.count_tokens is not None:
        counter = lane.count_tokens
        client_tokens = sum(counter(r.text) + (counter(r.reasoning) if r.reasoning else 0) for r in results)
    return Record(
        trial_key=trial.key,
        cell_id=trial.cell_id,
        cell=trial.cell,
        item_id=trial.item_id,
        repeat=trial.repeat,
        seed=trial.seed,
        target=trial.target,
        model=trial.model,
        delivery=lane.provider.delivery,
        status="ok" if ok else "error",
        timing=timing,
        results=results,
        usage=usage,
        cost_usd=outcome.cost_usd if outcome is not None else None,
        price_table_cost_usd=_price(lane, usage),
        attempts=state.attempts,
        retry_wait_s=round(state.retry_wait_s, 6),
        rate_limit_wait_s=round(state.rate_limit_wait_s, 6),
        itl_s=outcome.itl_s if outcome is not None and ok else None,
        client_completion_tokens=client_tokens,
        error=None
        if error is None
        else ErrorInfo(
            kind=error.kind,
            message=error.message,
            status=error.status,
            code=error.code,
            failure=error.failure,
        ),
        number_results=trial.number_results,
        system_prompt=trial.system_prompt,
        messages=[{"role": m.role, "content": m.content} for m in trial.messages],
        reference=trial.reference,
        choices=trial.choices,
        task_uuid=outcome.task_uuid if outcome is not None else None,
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
