"""Arrival schedules and the clocks."""

from __future__ import annotations

import itertools
import statistics

import pytest
from engine_fixtures import FakeClock
from hypothesis import given
from hypothesis import strategies as st

from harness.runner.scheduler import achieved_rate, arrival_times


def test_constant_arrivals_are_evenly_spaced() -> None:
    assert arrival_times(5, 4.0) == [0.0, 0.25, 0.5, 0.75, 1.0]


def test_poisson_is_seeded_and_has_the_asked_mean_rate() -> None:
    a = arrival_times(20_000, 50.0, "poisson", seed=7)
    assert a == arrival_times(20_000, 50.0, "poisson", seed=7)
    assert a != arrival_times(20_000, 50.0, "poisson", seed=8)
    gaps = [y - x for x, y in itertools.pairwise(a)]
    assert statistics.fmean(gaps) == pytest.approx(1 / 50, rel=0.03)
    assert statistics.stdev(gaps) == pytest.approx(1 / 50, rel=0.05)  # exponential: sd == mean


@given(
    st.integers(0, 500), st.floats(0.1, 1000), st.sampled_from(["constant", "poisson"]), st.integers(0, 99)
)
def test_arrivals_are_sorted_and_start_at_zero(n: int, rate: float, kind: str, seed: int) -> None:
    times = arrival_times(n, rate, kind, seed)  # type: ignore[arg-type]
    assert len(times) == n
    assert times == sorted(times)
    if n:
        assert times[0] == 0.0


def test_bad_rate_and_process_are_refused() -> None:
    with pytest.raises(ValueError, match="rate_rps"):
        arrival_times(3, 0.0)
    with pytest.raises(ValueError, match="allowed"):
        arrival_times(3, 1.0, "burst")  # type: ignore[arg-type]


def test_achieved_rate() -> None:
    assert achieved_rate([0.0, 0.5, 1.0]) == 2.0
    assert achieved_rate([3.0]) is None
    assert achieved_rate([1.0, 1.0]) is None


async def test_fake_clock_jumps_to_the_time_asked() -> None:
    clock = FakeClock(10.0)
    await clock.sleep_until(12.5)
    await clock.sleep_until(11.0)  # in the past: no time passes
    assert clock.now() == 12.5
    assert clock.sleeps == [12.5, 11.0]
