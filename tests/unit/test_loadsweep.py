"""harness.loadsweep: load points, the sweep's rates, per-point trials and their keys, config errors."""

from __future__ import annotations

import itertools

import pytest
from pydantic import ValidationError

from harness.loadsweep import LoadConfig, SloConfig, fixed_points, point_trials, sweep_rates
from harness.records import Message, Trial
from harness.runner.scheduler import arrival_times


def trial(i: int) -> Trial:
    return Trial(
        key=f"k{i}",
        cell_id="default",
        cell={},
        item_id=f"q{i}",
        repeat=0,
        target="sim",
        model="m",
        messages=(Message("user", f"q{i}"),),
    )


def test_fixed_points_closed_loop_first_then_rising_rates_by_arrival() -> None:
    load = LoadConfig(concurrency=[4, 1], rate=[8.0, 2.0], arrival=["constant", "poisson"])
    ids = [p.id for p in fixed_points(load)]
    assert ids == [
        "concurrency=4",
        "concurrency=1",
        "rate=2,arrival=constant",
        "rate=2,arrival=poisson",
        "rate=8,arrival=constant",
        "rate=8,arrival=poisson",
    ]


def test_sweep_rates_end_at_the_ceiling() -> None:
    assert sweep_rates(2.0, 10.0, 4) == [4.0, 6.0, 8.0, 10.0]


def test_point_trials_cycle_the_plan_with_distinct_keys_and_windows() -> None:
    load = LoadConfig(concurrency=[1], requests=5, warmup=1, cooldown=1)
    (point,) = fixed_points(load)
    trials = point_trials([trial(0), trial(1)], point, load)
    assert [t.item_id for t in trials] == ["q0", "q1", "q0", "q1", "q0"]
    assert [t.load_window for t in trials] == ["warmup", "measure", "measure", "measure", "cooldown"]
    assert len({t.key for t in trials}) == 5
    assert {t.load_point for t in trials} == {"concurrency=1"}


def test_two_points_never_share_a_key_and_keys_are_stable() -> None:
    load = LoadConfig(concurrency=[1, 2])
    a, b = fixed_points(load)
    plan = [trial(0), trial(1)]
    keys_a = {t.key for t in point_trials(plan, a, load)}
    keys_b = {t.key for t in point_trials(plan, b, load)}
    assert not keys_a & keys_b
    assert keys_a == {t.key for t in point_trials(plan, a, load)}


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        ({}, "needs concurrency and/or rate"),
        ({"profile": "sweep", "rate": [2.0]}, "picks its own points"),
        ({"rate": [0.0]}, "must be > 0"),
        ({"rate": [1.0], "requests": 4, "warmup": 2, "cooldown": 2}, "warmup \\+ cooldown"),
        ({"profile": "sweep", "arrival": ["constant", "poisson"]}, "single arrival"),
        ({"rate": [1.0], "arival": ["poisson"]}, "arival"),
    ],
)
def test_bad_load_sections_are_refused(data: dict[str, object], fragment: str) -> None:
    with pytest.raises(ValidationError, match=fragment):
        LoadConfig.model_validate(data)


def test_an_slo_needs_a_bound() -> None:
    with pytest.raises(ValidationError, match="at least one of"):
        SloConfig(quantile=0.9)


def test_gamma_arrivals_keep_the_mean_rate_and_burstiness_spreads_them() -> None:
    even = arrival_times(2001, 10.0, "gamma", seed=1, burstiness=50.0)
    bursty = arrival_times(2001, 10.0, "gamma", seed=1, burstiness=0.2)
    assert even[-1] / 2000 == pytest.approx(0.1, rel=0.05)
    assert bursty[-1] / 2000 == pytest.approx(0.1, rel=0.25)

    def cv(times: list[float]) -> float:
        gaps = [b - a for a, b in itertools.pairwise(times)]
        mean = sum(gaps) / len(gaps)
        return float((sum((g - mean) ** 2 for g in gaps) / len(gaps)) ** 0.5 / mean)

    assert cv(even) < 0.3 < 1.5 < cv(bursty)  # CV of gamma gaps = 1 / sqrt(shape)
