"""Paired comparisons: McNemar, Holm, paired bootstrap, flipped items, main effects."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from stats_builders import make_record, make_score

from harness.stats.paired import (
    MAX_ALL_PAIRS_CELLS,
    comparison_pairs,
    flipped_items,
    holm,
    main_effects,
    mcnemar_exact,
    paired_bootstrap_diff,
)


@pytest.mark.parametrize(
    ("b01", "b10", "p"),
    [
        (1, 9, 22 / 1024),  # 2 * (C(10,0) + C(10,1)) / 2^10
        (9, 1, 22 / 1024),
        (0, 10, 2 / 1024),
        (2, 8, 2 * (1 + 10 + 45) / 1024),
        (0, 1, 1.0),
        (5, 5, 1.0),
        (0, 0, 1.0),
        (3, 12, 2 * (1 + 15 + 105 + 455) / 2**15),
    ],
)
def test_mcnemar_exact_binomial(b01: int, b10: int, p: float) -> None:
    assert mcnemar_exact(b01, b10) == pytest.approx(p, rel=1e-12)


def test_mcnemar_rejects_negative() -> None:
    with pytest.raises(ValueError, match="discordant"):
        mcnemar_exact(-1, 2)


def test_holm_known_list() -> None:
    # sorted: .005*4=.02, .01*3=.03, .03*2=.06, .04*1=.04 -> monotone .06
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])


def test_holm_caps_at_one_and_handles_empty_and_single() -> None:
    assert holm([0.5, 0.9]) == [1.0, 1.0]
    assert holm([]) == []
    assert holm([0.2]) == [0.2]


def test_holm_rejects_non_probabilities() -> None:
    with pytest.raises(ValueError, match="p-values"):
        holm([0.1, 1.5])


def test_paired_bootstrap_identical_sides_is_exactly_zero() -> None:
    x = np.random.default_rng(0).integers(0, 2, 50).astype(float)
    got = paired_bootstrap_diff(x, x)
    assert (got.diff, got.ci_low, got.ci_high, got.n_pairs) == (0.0, 0.0, 0.0, 50)


def test_paired_bootstrap_ci_contains_true_difference() -> None:
    # b = a shifted by exactly 0.1 plus small noise: the CI must cover 0.1 and exclude 0.
    rng = np.random.default_rng(1)
    a = rng.normal(0.5, 0.3, 300)
    b = a - 0.1 + rng.normal(0.0, 0.05, 300)
    got = paired_bootstrap_diff(a, b)
    assert got.ci_low is not None
    assert got.ci_high is not None
    assert got.ci_low < 0.1 < got.ci_high
    assert got.ci_low > 0.0
    assert got.diff == pytest.approx(float(np.mean(a - b)))


def test_paired_bootstrap_drops_incomplete_pairs_and_empty() -> None:
    got = paired_bootstrap_diff([1.0, math.nan, 0.0], [0.0, 1.0, math.nan])
    assert (got.diff, got.n_pairs) == (1.0, 1)
    assert paired_bootstrap_diff([], []).diff is None


def test_paired_bootstrap_rejects_misaligned() -> None:
    with pytest.raises(ValueError, match="aligned"):
        paired_bootstrap_diff([1.0], [1.0, 0.0])


def _run(flip: set[int], n: int = 40) -> list:  # type: ignore[type-arg]
    scores = []
    for i in range(n):
        rec = make_record(f"q{i:02d}", {"temperature": 0.6})
        right = (i % 3 != 0) != (i in flip)
        scores.append(make_score(rec, 1.0 if right else 0.0))
    return scores


def test_flipped_items_identical_runs_is_empty() -> None:
    assert flipped_items(_run(set()), _run(set())).empty


def test_flipped_items_reports_exactly_the_ten_flipped() -> None:
    flipped = {1, 3, 6, 9, 12, 17, 20, 25, 31, 38}
    got = flipped_items(_run(set()), _run(flipped))
    assert got["item_id"].tolist() == [f"q{i:02d}" for i in sorted(flipped)]
    # Items i % 3 == 0 were wrong in a, so flipping them is a gain.
    assert got["change"].tolist() == ["gained" if i % 3 == 0 else "lost" for i in sorted(flipped)]
    assert set(got.columns) == {"cell_id", "item_id", "mean_a", "mean_b", "change"}


def test_flipped_items_between_two_cells_on_item_id() -> None:
    a = [make_score(make_record("x", {"t": 0}), 1.0), make_score(make_record("y", {"t": 0}), 0.0)]
    b = [make_score(make_record("x", {"t": 1}), 0.0), make_score(make_record("y", {"t": 1}), 0.0)]
    got = flipped_items(a, b, on=("item_id",))
    assert got.to_dict("records") == [{"item_id": "x", "mean_a": 1.0, "mean_b": 0.0, "change": "lost"}]


def test_flipped_items_needs_a_scorer_when_several() -> None:
    rec = make_record("x")
    both = [make_score(rec, 1.0, scorer="a"), make_score(rec, 0.0, scorer="b")]
    with pytest.raises(ValueError, match="scorer="):
        flipped_items(both, both)
    assert flipped_items(both, [make_score(rec, 0.0, scorer="a")], scorer="a")["change"].tolist() == ["lost"]


def test_comparison_pairs_all_pairs_for_small_grids() -> None:
    assert comparison_pairs(["a", "b", "c"], "c") == [("a", "b"), ("a", "c"), ("b", "c")]


def test_comparison_pairs_capped_for_big_grids() -> None:
    ids = [f"c{i}" for i in range(MAX_ALL_PAIRS_CELLS + 5)]
    pairs = comparison_pairs(ids, "c7")
    assert len(pairs) == 2 * len(ids) - 3  # vs first, vs best, the first-best pair once
    assert ("c0", "c7") in pairs
    assert all("c0" in p or "c7" in p for p in pairs)


def test_main_effects_average_over_other_axes() -> None:
    # 2x2 grid of temperature x topK, 4 items; cell means 1.0, 0.5, 0.5, 0.0.
    cells = {
        "t=0,k=1": {"t": 0, "k": 1}, "t=0,k=2": {"t": 0, "k": 2},
        "t=1,k=1": {"t": 1, "k": 1}, "t=1,k=2": {"t": 1, "k": 2},
    }  # fmt: skip
    right = {"t=0,k=1": 4, "t=0,k=2": 2, "t=1,k=1": 2, "t=1,k=2": 0}
    rows = [
        {"cell_id": c, "item_id": f"i{i}", "value": 1.0 if i < right[c] else 0.0}
        for c in cells
        for i in range(4)
    ]
    effects = main_effects(pd.DataFrame(rows), cells, ["t", "k"])
    assert [(e["value"], e["mean"], e["n"]) for e in effects["t"]] == [(0, 0.75, 8), (1, 0.25, 8)]
    assert [(e["value"], e["mean"]) for e in effects["k"]] == [(1, 0.75), (2, 0.25)]
    for entry in effects["t"] + effects["k"]:
        assert entry["ci_low"] <= entry["mean"] <= entry["ci_high"]
