"""RetryPolicy (full jitter, Retry-After, caps), CircuitBreaker and Budget."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.config import RetryConfig
from harness.errors import AuthError, BadRequestError, RateLimitedError, ServerError
from harness.records import ErrorInfo, Record, Timing
from harness.runner.retry import RetryPolicy
from harness.runner.stopping import Budget, CircuitBreaker


@given(st.integers(1, 12), st.integers(0, 2**32))
def test_backoff_is_full_jitter_under_the_cap(attempt: int, seed: int) -> None:
    policy = RetryPolicy(RetryConfig(base_s=0.5, max_backoff_s=4.0))
    wait = policy.backoff_s(attempt, ServerError("x"), random.Random(seed))
    assert 0.0 <= wait <= min(4.0, 0.5 * 2 ** (attempt - 1))


def test_backoff_spreads_over_the_whole_window() -> None:
    policy = RetryPolicy(RetryConfig(base_s=1.0, max_backoff_s=100.0))
    rng = random.Random(1)
    waits = [policy.backoff_s(3, ServerError("x"), rng) for _ in range(2000)]
    assert min(waits) < 0.2
    assert max(waits) > 3.8
    assert sum(waits) / len(waits) == pytest.approx(2.0, rel=0.05)


def test_retry_after_is_honoured_or_not() -> None:
    error = RateLimitedError("slow", retry_after_s=7.0)
    assert RetryPolicy(RetryConfig()).backoff_s(1, error, random.Random(0)) == 7.0
    ignored = RetryPolicy(RetryConfig(honor_retry_after=False, base_s=0.5)).backoff_s(
        1, error, random.Random(0)
    )
    assert ignored <= 0.5


def test_should_retry_rules() -> None:
    policy = RetryPolicy(RetryConfig(max_attempts=3, max_trial_s=10.0))
    assert policy.should_retry(1, ServerError("x"), elapsed_s=0, wait_s=1)
    assert policy.should_retry(2, RateLimitedError("x"), elapsed_s=0, wait_s=1)
    assert not policy.should_retry(3, ServerError("x"), elapsed_s=0, wait_s=1)  # attempt cap
    assert not policy.should_retry(1, BadRequestError("x"), elapsed_s=0, wait_s=0)  # permanent
    assert not policy.should_retry(1, AuthError("x"), elapsed_s=0, wait_s=0)
    assert not policy.should_retry(1, ServerError("x"), elapsed_s=9.5, wait_s=1)  # time cap


def record(ok: bool, kind: str = "auth") -> Record:
    return Record(
        trial_key="k",
        cell_id="c",
        cell={},
        item_id="i",
        repeat=0,
        seed=None,
        target="t",
        model="m",
        delivery="sync",
        status="ok" if ok else "error",
        timing=Timing(0.0),
        error=None if ok else ErrorInfo(kind=kind, message="Invalid API key"),
    )


def test_breaker_opens_when_errors_dominate_a_full_window() -> None:
    breaker = CircuitBreaker(window=10, error_rate=0.8)
    opened = [breaker.observe(record(ok=i % 3 == 0)) for i in range(10)]
    assert not any(opened)  # 6 of 10 failed
    breaker = CircuitBreaker(window=10, error_rate=0.8)
    opened = [breaker.observe(record(ok=i % 5 == 0)) for i in range(10)]
    assert opened[-1]  # 8 of 10: at the threshold opens
    breaker = CircuitBreaker(window=10, error_rate=0.9)
    assert not any(breaker.observe(record(ok=False)) for _ in range(9))
    assert breaker.observe(record(ok=False))
    assert breaker.is_open
    assert breaker.reason is not None
    assert "10 of the last 10" in breaker.reason
    assert "auth" in breaker.reason


def test_breaker_window_slides() -> None:
    breaker = CircuitBreaker(window=4, error_rate=1.0)
    for ok in (False, False, False, True):
        assert not breaker.observe(record(ok))
    for _ in range(3):
        assert not breaker.observe(record(False))
    assert breaker.observe(record(False))


def test_budget_reserves_estimates_and_refuses_overspend() -> None:
    budget = Budget(max_cost_usd=1.0, spent_usd=0.5)
    assert budget.estimate(0.2) == 0.2
    assert budget.try_reserve(0.2)
    assert budget.try_reserve(0.2)
    assert not budget.try_reserve(0.2)  # 0.5 + 0.4 + 0.2 > 1.0
    assert budget.reason is not None
    assert "max_cost_usd" in budget.reason
    budget.settle(0.2, 0.1, finished=True)
    assert budget.estimate(0.2) == pytest.approx(0.1)  # observed mean replaces the price table
    assert budget.spent_usd == pytest.approx(0.6)
    assert budget.in_flight_usd == pytest.approx(0.2)


def test_unlimited_budget_always_reserves() -> None:
    assert Budget(max_cost_usd=None).try_reserve(1e9)
