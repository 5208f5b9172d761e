"""pass@k, pass^k, majority vote and diversity against hand-computed numbers and their invariants."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.scoring.metrics import answer_diversity, majority_correct, majority_vote, pass_at_k, pass_hat_k


@pytest.mark.parametrize(
    ("n", "c", "k", "expected"),
    [
        (5, 2, 2, 0.7),  # 1 - C(3,2)/C(5,2) = 1 - 3/10
        (10, 3, 1, 0.3),  # pass@1 is the plain accuracy c/n
        (4, 0, 2, 0.0),
        (4, 3, 2, 1.0),  # n - c < k: every draw of 2 contains a right one
        (20, 5, 5, 1 - 3003 / 15504),  # 1 - C(15,5)/C(20,5)
        (1, 1, 1, 1.0),
    ],
)
def test_pass_at_k_hand_computed(n: int, c: int, k: int, expected: float) -> None:
    assert pass_at_k(n, c, k) == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize(
    ("n", "c", "k", "expected"),
    [(5, 3, 2, 0.3), (5, 5, 5, 1.0), (5, 1, 2, 0.0), (10, 3, 1, 0.3), (6, 4, 3, 4 / 20)],
)
def test_pass_hat_k_hand_computed(n: int, c: int, k: int, expected: float) -> None:
    assert pass_hat_k(n, c, k) == pytest.approx(expected, abs=1e-12)


def chen_estimator(n: int, c: int, k: int) -> float:
    """The numerically stable form from Chen et al. (2021), Figure 3."""
    if n - c < k:
        return 1.0
    return float(1.0 - np.prod(1.0 - k / np.arange(n - c + 1, n + 1)))


@given(st.integers(1, 200).flatmap(lambda n: st.tuples(st.just(n), st.integers(0, n), st.integers(1, n))))
def test_pass_at_k_matches_closed_form(args: tuple[int, int, int]) -> None:
    n, c, k = args
    assert pass_at_k(n, c, k) == pytest.approx(chen_estimator(n, c, k), abs=1e-9)


@given(st.integers(1, 60).flatmap(lambda n: st.tuples(st.just(n), st.integers(0, n), st.integers(1, n))))
def test_pass_hat_k_at_most_pass_at_k(args: tuple[int, int, int]) -> None:
    n, c, k = args
    assert 0.0 <= pass_hat_k(n, c, k) <= pass_at_k(n, c, k) <= 1.0
    if k == 1:
        assert pass_hat_k(n, c, 1) == pytest.approx(c / n)


@pytest.mark.parametrize(("n", "c", "k"), [(0, 0, 1), (3, 4, 1), (3, -1, 1), (3, 1, 0), (3, 1, 4)])
def test_bad_counts_raise(n: int, c: int, k: int) -> None:
    with pytest.raises(ValueError, match="must be"):
        pass_at_k(n, c, k)
    with pytest.raises(ValueError, match="must be"):
        pass_hat_k(n, c, k)


def test_majority_vote() -> None:
    assert majority_vote(["4", "5", "4"]) == "4"
    assert majority_vote([None, "3", None]) == "3"
    assert majority_vote([None, None]) is None
    assert majority_vote([]) is None


def test_majority_vote_tie_is_order_independent() -> None:
    assert majority_vote(["5", "4"]) == "4"
    assert majority_vote(["4", "5"]) == "4"
    assert majority_vote(["B", "C", "C", "B", None]) == "B"


@given(st.lists(st.sampled_from(["1", "2", "3", None]), max_size=12), st.randoms())
def test_majority_vote_ignores_order(answers: list[str | None], rnd: object) -> None:
    shuffled = list(answers)
    rnd.shuffle(shuffled)  # type: ignore[attr-defined]
    assert majority_vote(shuffled) == majority_vote(answers)


def test_majority_correct() -> None:
    assert majority_correct(["4", "5", "4"], [True, False, True]) is True
    assert majority_correct(["4", "5", "5"], [True, False, False]) is False
    assert majority_correct([None, None], [False, False]) is False
    with pytest.raises(ValueError, match="2 answers but 1"):
        majority_correct(["1", "2"], [True])


def test_answer_diversity_hand_computed() -> None:
    d = answer_diversity(["1", "1", "2", None])
    assert (d.n, d.n_answered, d.n_distinct, d.distinct_ratio) == (4, 3, 2, 0.5)
    expected = -(2 / 3 * math.log2(2 / 3) + 1 / 3 * math.log2(1 / 3))  # 0.918...
    assert d.entropy_bits == pytest.approx(expected)


def test_answer_diversity_edges() -> None:
    same = answer_diversity(["7", "7", "7"])
    assert (same.distinct_ratio, same.entropy_bits) == (pytest.approx(1 / 3), 0.0)
    none = answer_diversity([None, None])
    assert (none.n_answered, none.n_distinct, none.distinct_ratio, none.entropy_bits) == (0, 0, 0.0, 0.0)
    spread = answer_diversity(["a", "b", "c", "d"])
    assert (spread.distinct_ratio, spread.entropy_bits) == (1.0, pytest.approx(2.0))
    with pytest.raises(ValueError, match="at least one"):
        answer_diversity([])
