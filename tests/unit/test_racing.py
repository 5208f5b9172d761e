"""harness.racing: the look schedule, the item order, one look's decision on hand-made values, the
race's stopping rules, replaying a stored race, and the 20-seed check that racing finds the best of
the one-best-of-24 skill curve's cells cheaply and (almost) never drops it."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from harness.errors import ConfigError
from harness.racing import (
    Look,
    Race,
    RacingConfig,
    check_log,
    decide_look,
    item_order,
    item_values,
    look_schedule,
    race_summary,
)
from harness.records import Score
from harness.simulator.skill import parse_skill

ITEMS = [f"q{i}" for i in range(40)]


def test_schedule_grows_by_the_factor_and_ends_at_the_pool() -> None:
    assert look_schedule(300, RacingConfig()) == [20, 30, 45, 68, 102, 153, 230, 300]
    assert look_schedule(10, RacingConfig()) == [10]
    assert look_schedule(25, RacingConfig(first_items=20, growth=1.01)) == [20, 21, 22, 23, 24, 25]
    assert look_schedule(0, RacingConfig()) == []


def test_item_order_is_seeded_and_ignores_the_input_order() -> None:
    forward = item_order(ITEMS, 3)
    assert forward == item_order(list(reversed(ITEMS)), 3)
    assert sorted(forward) == sorted(ITEMS)
    assert forward != item_order(ITEMS, 4)
    assert forward != sorted(ITEMS)


def test_a_look_drops_the_cell_significantly_below_the_leader() -> None:
    items = [f"q{i}" for i in range(12)]
    values = {
        "good": dict.fromkeys(items, 1.0),
        "bad": {i: 0.0 for i in items},  # worse on all 12: sign test p = 2 / 2^12
        "close": {i: (0.0 if i == "q0" else 1.0) for i in items},  # worse on one: p = 1
    }
    look = decide_look(values, ["bad", "good", "close"], items, index=1, alpha=0.01)
    assert look.leader == "good"
    assert look.leader_mean == 1.0
    by_cell = {t.cell_id: t for t in look.tests}
    assert by_cell["bad"].worse == 12
    assert by_cell["bad"].better == 0
    assert by_cell["bad"].p == pytest.approx(2 / 4096)
    assert by_cell["bad"].p_holm == pytest.approx(2 * 2 / 4096)  # Holm over the 2 tests
    assert by_cell["close"].p == 1.0
    assert look.dropped == ["bad"]


def test_a_look_compares_on_shared_items_only() -> None:
    values = {"a": {"q1": 1.0, "q2": 1.0, "q3": math.nan}, "b": {"q1": 0.0, "q2": 0.0, "q3": 1.0}}
    look = decide_look(values, ["a", "b"], ["q1", "q2", "q3"], index=1, alpha=0.05)
    assert look.tests[0].n_items == 2
    assert look.leader == "a"


def test_ties_go_to_the_earlier_survivor() -> None:
    values = {"a": {"q1": 1.0}, "b": {"q1": 1.0}}
    assert decide_look(values, ["b", "a"], ["q1"], index=1, alpha=0.05).leader == "b"


def _outcomes(ps: dict[str, float], items: list[str], seed: int) -> dict[str, dict[str, float]]:
    rng = np.random.default_rng(seed)
    return {
        c: {i: float(u < p) for i, u in zip(items, rng.random(len(items)), strict=True)}
        for c, p in ps.items()
    }


def _race(config: RacingConfig, ps: dict[str, float], items: list[str], seed: int) -> tuple[Race, int]:
    """A race on Bernoulli outcomes; returns it and the trials it used (one per cell and item)."""
    outcomes = _outcomes(ps, items, seed)
    race = Race(config, list(ps), items)
    seen: dict[str, set[str]] = {c: set() for c in ps}
    while (needed := race.next_items()) is not None:
        for cell in race.survivors:
            seen[cell].update(needed)
        race.observe({c: {i: outcomes[c][i] for i in seen[c]} for c in ps})
    return race, sum(len(s) for s in seen.values())


def test_the_race_stops_when_one_cell_is_left() -> None:
    ps = {"best": 0.95, "worst": 0.05}
    race, trials = _race(RacingConfig(first_items=20), ps, ITEMS, seed=1)
    assert race.survivors == ["best"]
    assert race.stop_reason == "one cell is left"
    assert trials == 40  # both cells on the first 20 items, then nothing
    assert race.items_of("worst") == race.items_of("best") == race.order[:20]


def test_the_race_ends_with_the_item_pool_when_cells_are_tied() -> None:
    race, trials = _race(RacingConfig(first_items=10), {"a": 0.5, "b": 0.5}, ITEMS, seed=2)
    assert race.survivors == ["a", "b"]
    assert race.stop_reason == "the item pool is exhausted"
    assert trials == 80
    assert race.items_of("a") == race.order


def test_a_target_precision_ends_the_race_early() -> None:
    items = [f"q{i}" for i in range(2000)]
    race, _ = _race(
        RacingConfig(first_items=100, target_half_width=0.05), {"a": 0.5, "b": 0.5}, items, seed=3
    )
    assert race.stop_reason == "every surviving cell's CI is within +-0.05"
    assert race.looks[-1].n_items < 2000
    assert race.looks[-1].n_items >= 381  # the Wilson half-width at p = 0.5 first reaches 0.05 at 381


def _skill_cells() -> dict[str, float]:
    """The 24 cells of suites/racing.yaml with their accuracies on the one-best-of-24 skill curve."""
    curve = parse_skill("one-best-of-24")
    grid = itertools.product([0.1, 0.3, 0.5, 0.7, 0.9, 1.1], [1, 10, 40, 100])
    return {f"temperature={t},topK={k}": curve.accuracy({"temperature": t, "topK": k}, {}) for t, k in grid}


def test_racing_finds_the_best_of_24_cheaply_and_keeps_it() -> None:
    ps = _skill_cells()
    best = max(ps, key=lambda c: ps[c])
    items = [f"q{i}" for i in range(400)]
    cheap = kept = 0
    for seed in range(20):
        race, trials = _race(RacingConfig(), ps, items, seed)
        share = trials / (len(ps) * len(items))
        cheap += share <= 0.40
        found = race.survivors
        kept += best in found
        # Whatever survives with the best is tied with it on the last look (not significantly worse).
        assert best in found or all(not t.dropped for t in race.looks[-1].tests)
    assert cheap >= 19
    assert kept >= 19


def test_replaying_a_stored_race_reproduces_it_without_deciding_again() -> None:
    ps = {"a": 0.9, "b": 0.5, "c": 0.85, "d": 0.1}
    race, _ = _race(RacingConfig(first_items=10), ps, ITEMS, seed=5)
    log = race.to_log()
    fresh = Race(RacingConfig(first_items=10), list(ps), ITEMS)
    looks = check_log(log, fresh, file="racing.json")
    fresh.replay(looks, {})  # no data: the stored decisions are applied, not recomputed
    assert fresh.survivors == race.survivors
    assert fresh.stop_reason == race.stop_reason
    assert [look.to_dict() for look in fresh.looks] == log["looks"]
    assert Look.from_dict(log["looks"][0]) == race.looks[0]


def test_a_stored_race_with_other_options_is_refused() -> None:
    race, _ = _race(RacingConfig(first_items=10), {"a": 0.9, "b": 0.1}, ITEMS, seed=6)
    other = Race(RacingConfig(first_items=12), ["a", "b"], ITEMS)
    with pytest.raises(ConfigError, match=r"racing.json: run.racing: this run directory holds a race"):
        check_log(race.to_log(), other, file="racing.json")
    fewer = Race(RacingConfig(first_items=10), ["a", "b"], ITEMS[:-1])
    with pytest.raises(ConfigError, match="dataset"):
        check_log(race.to_log(), fewer, file="racing.json")


def test_item_values_average_samples_and_leave_invalid_out() -> None:
    def score(cell: str, item: str, value: float | None, outcome: str, index: int = 0) -> Score:
        return Score("k", index, "numeric", value, outcome, cell_id=cell, item_id=item)

    values = item_values(
        [
            score("a", "q1", 1.0, "correct"),
            score("a", "q1", 0.0, "wrong", 1),
            score("a", "q2", None, "error"),
            score("a", "q3", None, "invalid"),
            Score("k", 0, "other", 1.0, "correct", cell_id="a", item_id="q4"),
        ],
        "numeric",
    )
    assert values == {"a": {"q1": 0.5, "q2": 0.0}}


def test_race_summary_says_when_and_why_each_cell_was_dropped() -> None:
    race, trials = _race(RacingConfig(first_items=20), {"best": 0.95, "worst": 0.05}, ITEMS, seed=1)
    summary = race_summary(race.to_log(), trials_done=trials, grid_trials=80)
    assert summary["dropped"]["worst"]["look"] == 1
    assert summary["dropped"]["worst"]["n_items"] == 20
    assert summary["dropped"]["worst"]["leader"] == "best"
    assert summary["dropped"]["worst"]["p_holm"] < summary["alpha_per_look"]
    assert summary["share_of_grid"] == 0.5
    assert summary["schedule"] == [20, 30, 40]
    assert summary["looks_planned"] == 3
    assert summary["looks_done"] == 1
    assert summary["alpha_per_look"] == pytest.approx(0.05 / 3)
    assert "Bonferroni" in summary["correction"]


def test_dominance_drops_a_cell_no_better_but_dearer_and_slower() -> None:
    items = [f"q{i}" for i in range(20)]
    worse = {f"q{i}" for i in range(6)}  # b and c lose 6 items to a: sign test p = 1/32, not significant
    values = {
        "a": dict.fromkeys(items, 1.0),
        "b": {i: (0.0 if i in worse else 1.0) for i in items},
        "c": {i: (0.0 if i in worse else 1.0) for i in items},
    }
    costs = {"a": dict.fromkeys(items, 1.0), "b": dict.fromkeys(items, 2.0), "c": dict.fromkeys(items, 0.5)}
    latencies = {
        "a": dict.fromkeys(items, 1.0),
        "b": dict.fromkeys(items, 3.0),
        "c": dict.fromkeys(items, 0.2),
    }
    plain = decide_look(values, ["a", "b", "c"], items, index=1, alpha=0.01)
    assert plain.dropped == []
    look = decide_look(values, ["a", "b", "c"], items, index=1, alpha=0.01, costs=costs, latencies=latencies)
    by_cell = {t.cell_id: t for t in look.tests}
    assert by_cell["b"].dropped
    assert by_cell["b"].dominated_by == "a"
    assert not by_cell["c"].dropped  # cheaper and faster than everyone: not dominated
    assert Look.from_dict(look.to_dict()) == look
    # b - a has mean -0.3 and upper bound -0.3 + z(0.995) * sd / sqrt(20) = -0.03: below any margin >= 0;
    # a cell as accurate as a on 18 of 20 items (bound +0.08) is not shown to be no better.
    close = {**values, "b": {i: (0.0 if i in ("q0", "q1") else 1.0) for i in items}}
    kept = decide_look(close, ["a", "b", "c"], items, index=1, alpha=0.01, costs=costs, latencies=latencies)
    assert kept.dropped == []


def test_dominance_is_off_unless_asked() -> None:
    items = ITEMS[:20]
    values = {"a": dict.fromkeys(items, 1.0), "b": dict.fromkeys(items, 1.0)}
    costs = {"a": dict.fromkeys(items, 1.0), "b": dict.fromkeys(items, 2.0)}
    off = Race(RacingConfig(first_items=20), ["a", "b"], items)
    off.observe(values, costs, costs)
    assert off.survivors == ["a", "b"]
    on = Race(RacingConfig(first_items=20, dominance=True), ["a", "b"], items)
    on.observe(values, costs, costs)
    assert on.survivors == ["a"]
    assert race_summary(on.to_log(), trials_done=40, grid_trials=40)["dropped"]["b"]["dominated_by"] == "a"
