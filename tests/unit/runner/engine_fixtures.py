"""Test helpers for the runner: a fake provider scripted per trial and attempt, trials and targets."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from typing import Any

from harness.config import PriceConfig, RetryConfig, RunConfig, TargetConfig
from harness.errors import ProviderError
from harness.providers import TaskOutcome
from harness.records import Message, Result, Trial, Usage


class FakeClock:
    """A run clock for tests: `advance` moves it, `sleep_until` jumps straight to the time asked
    (yielding once)."""

    def __init__(self, start: float = 0.0) -> None:
        self.time = start
        self.sleeps: list[float] = []

    def now(self) -> float:
        return self.time

    def advance(self, seconds: float) -> None:
        self.time += seconds

    async def sleep_until(self, when: float) -> None:
        self.sleeps.append(when)
        self.time = max(self.time, when)
        await asyncio.sleep(0)


# behaviour(trial, attempt) -> a ProviderError to fail that task, or None to succeed
Behaviour = Callable[[Trial, int], ProviderError | None]


class FakeProvider:
    """Answers every trial with its key as text and a cost of 0.001 per result, after `delay_s`."""

    max_batch = 1
    delivery = "sync"

    def __init__(
        self,
        target: TargetConfig,
        *,
        behaviour: Behaviour | None = None,
        delay_s: float = 0.0,
        clock: Callable[[], float] = time.perf_counter,
        whole: bool = False,
        usage: bool = True,
    ) -> None:
        self.name = target.name
        self.max_batch = target.batch_size
        self.behaviour = behaviour or (lambda trial, attempt: None)
        self.delay_s = delay_s
        self.clock = clock
        self.whole = whole  # errors fail the whole request (raise) rather than one task
        self.usage = usage  # False: a service that reports no token usage
        self.attempts: dict[str, int] = {}
        self.requests: list[list[str]] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self.closed = False

    async def send(self, trials: Sequence[Trial]) -> list[TaskOutcome]:
        self.requests.append([t.key for t in trials])
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            sent = self.clock()
            if self.delay_s:
                await asyncio.sleep(self.delay_s)
            else:
                await asyncio.sleep(0)
            outcomes = []
            for trial in trials:
                attempt = self.attempts[trial.key] = self.attempts.get(trial.key, 0) + 1
                error = self.behaviour(trial, attempt)
                if error is not None and self.whole:
                    raise error
                done = self.clock()
                if error is not None:
                    outcomes.append(TaskOutcome(f"u-{trial.key}", sent, done, [], error=error))
                    continue
                outcomes.append(
                    TaskOutcome(
                        f"u-{trial.key}",
                        sent,
                        done,
                        [
                            Result(text=f"answer {trial.key}", finish_reason="stop", seed=trial.seed)
                            for _ in range(trial.number_results)
                        ],
                        usage=Usage(10, 5, 0, 15) if self.usage else None,
                        cost_usd=0.001 * trial.number_results,
                        first_byte_at_s=done,
                    )
                )
            return outcomes
        finally:
            self.in_flight -= 1

    async def aclose(self) -> None:
        self.closed = True


def fake_factory(store: list[FakeProvider], **kw: Any) -> Callable[..., FakeProvider]:
    def factory(
        target: TargetConfig, *, session: Any = None, concurrency: int = 16, clock: Any = time.perf_counter
    ) -> FakeProvider:
        provider = FakeProvider(target, clock=clock, **kw)
        store.append(provider)
        return provider

    return factory


def make_trials(n: int, *, target: str = "sim", number_results: int = 1) -> list[Trial]:
    return [
        Trial(
            key=f"key{i:05d}",
            cell_id="temperature=0.6",
            cell={"temperature": 0.6},
            item_id=f"item{i}",
            repeat=0,
            target=target,
            model="alibaba:qwen@3.5-397b",
            messages=(Message("user", f"question {i}"),),
            settings={"temperature": 0.6, "maxTokens": 32},
            seed=i,
            number_results=number_results,
            reference=str(i),
        )
        for i in range(n)
    ]


def make_targets(**kw: Any) -> dict[str, TargetConfig]:
    fields: dict[str, Any] = {
        "name": "sim",
        "provider": "simulator",
        "endpoint": "http://127.0.0.1:9/v1",
        "model": "alibaba:qwen@3.5-397b",
        "prices": PriceConfig(prompt_per_mtok=1.0, completion_per_mtok=2.0),
    }
    fields.update(kw)
    return {"sim": TargetConfig(**fields)}


def fast_run(**kw: Any) -> RunConfig:
    fields: dict[str, Any] = {
        "concurrency": 4,
        "retries": RetryConfig(max_attempts=3, base_s=0.0, max_backoff_s=0.0),
    }
    fields.update(kw)
    return RunConfig(**fields)
