"""Multi-sample metrics over the n results an item got (numberResults, seeds, repeats): pass@k (the
unbiased estimator of Chen et al. 2021), pass^k, majority vote and answer diversity. Pure functions of
counts and answers; grouping results by item is the caller's job (harness.stats).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass


def _check(n: int, c: int, k: int) -> None:
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    if not 0 <= c <= n:
        raise ValueError(f"c must be in [0, n={n}], got {c}")
    if not 1 <= k <= n:
        raise ValueError(f"k must be in [1, n={n}], got {k}")


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k from n samples of which c are right: 1 - C(n-c, k) / C(n, k).

    The probability that at least one of k samples drawn without replacement from the n is right.
    """
    _check(n, c, k)
    if n - c < k:
        return 1.0
    total = math.comb(n, k)
    return (total - math.comb(n - c, k)) / total  # one rounding, so pass@1 is exactly c/n


def pass_hat_k(n: int, c: int, k: int) -> float:
    """pass^k: the probability that all k samples drawn without replacement are right, C(c, k) / C(n, k)."""
    _check(n, c, k)
    return math.comb(c, k) / math.comb(n, k)


def majority_vote(answers: Sequence[str | None]) -> str | None:
    """The most frequent answer, ignoring None; ties go to the smallest answer in string order, so the
    vote does not depend on the order results were written in. None when no answer was extracted."""
    counts = Counter(a for a in answers if a is not None)
    if not counts:
        return None
    top = max(counts.values())
    return min(a for a, count in counts.items() if count == top)


def majority_correct(answers: Sequence[str | None], correct: Sequence[bool]) -> bool:
    """maj@k for one item: is the majority answer a right one? False when nothing was extracted.

    `correct[i]` says whether `answers[i]` was scored right (the same answer is right everywhere).
    """
    if len(answers) != len(correct):
        raise ValueError(f"{len(answers)} answers but {len(correct)} verdicts")
    winner = majority_vote(answers)
    if winner is None:
        return False
    return any(ok for answer, ok in zip(answers, correct, strict=True) if answer == winner)


@dataclass(frozen=True, slots=True)
class Diversity:
    """How spread an item's answers are.

    `distinct_ratio` = distinct extracted answers / n (no-answers count in n, not as an answer);
    `entropy_bits` = Shannon entropy of the extracted answers' distribution (0 when all agree).
    """

    n: int
    n_answered: int
    n_distinct: int
    distinct_ratio: float
    entropy_bits: float


def answer_diversity(answers: Sequence[str | None]) -> Diversity:
    """Distinct answers over n, and the entropy (bits) of the answers that were extracted."""
    n = len(answers)
    if n == 0:
        raise ValueError("answer_diversity needs at least one answer")
    counts = Counter(a for a in answers if a is not None)
    answered = sum(counts.values())
    entropy = 0.0
    for count in counts.values():
        p = count / answered
        entropy -= p * math.log2(p)
    return Diversity(
        n=n,
        n_answered=answered,
        n_distinct=len(counts),
        distinct_ratio=len(counts) / n,
        entropy_bits=abs(entropy),
    )
