"""The probe's small exact statistics: a one-sided permutation test, Fisher's exact test, the smallest
p-value a sample size allows, word-level diversity measures (distinct-word ratio, pooled word entropy,
pairwise Jaccard distance) and the per-token prices implied by reported costs. Pure functions over plain
values; they know nothing of experiments or verdicts.
"""

from __future__ import annotations

import itertools
import math
import random
import re
import statistics
from collections.abc import Callable, Sequence
from typing import TypeVar

_EXACT_LIMIT = 20_000
_ROUNDS = 5_000
_WORD = re.compile(r"\w+")
_T = TypeVar("_T")


def permutation_p(
    changed: Sequence[_T],
    reference: Sequence[_T],
    statistic: Callable[[Sequence[_T], Sequence[_T]], float],
    *,
    seed: int = 0,
) -> float:
    """One-sided p-value: the share of relabellings of the pooled values whose statistic is at least the
    observed one (exact up to 20,000 relabellings, else 5,000 seeded random ones, observed included)."""
    pooled = [*changed, *reference]
    n = len(changed)
    observed = statistic(changed, reference) - 1e-12
    total = math.comb(len(pooled), n)
    if total <= _EXACT_LIMIT:
        hits = 0
        for chosen in itertools.combinations(range(len(pooled)), n):
            picked = set(chosen)
            a = [pooled[i] for i in chosen]
            b = [v for i, v in enumerate(pooled) if i not in picked]
            hits += statistic(a, b) >= observed
        return hits / total
    rng = random.Random(seed)
    hits = 1
    for _ in range(_ROUNDS):
        order = rng.sample(pooled, len(pooled))
        hits += statistic(order[:n], order[n:]) >= observed
    return hits / (_ROUNDS + 1)


def fisher_greater(hits_a: int, n_a: int, hits_b: int, n_b: int) -> float:
    """One-sided Fisher exact p-value that arm a's rate exceeds arm b's (hypergeometric tail)."""
    total, hits = n_a + n_b, hits_a + hits_b
    denominator = math.comb(total, n_a)
    return (
        sum(math.comb(hits, k) * math.comb(total - hits, n_a - k) for k in range(hits_a, min(hits, n_a) + 1))
        / denominator
    )


def min_permutation_p(n_changed: int, n_reference: int) -> float:
    """The smallest p-value a permutation test can give with these arm sizes (no ties)."""
    return 1.0 / math.comb(n_changed + n_reference, n_changed) if n_changed and n_reference else 1.0


def distinct(values: Sequence[object]) -> int:
    return len(set(values))


def word_ratio(text: str) -> float:
    """Distinct words / words: a token-level entropy proxy (1 = no word repeated)."""
    words = _WORD.findall(text.lower())
    return len(set(words)) / len(words) if words else 0.0


def word_entropy_bits(texts: Sequence[str]) -> float:
    """Shannon entropy (bits) of the pooled word distribution of several texts."""
    counts: dict[str, int] = {}
    for text in texts:
        for word in _WORD.findall(text.lower()):
            counts[word] = counts.get(word, 0) + 1
    total = sum(counts.values())
    return -sum(c / total * math.log2(c / total) for c in counts.values()) if total else 0.0


def distance_matrix(texts: Sequence[str]) -> list[list[float]]:
    """Jaccard distance between the word sets of every two texts (0 = the same words)."""
    words = [frozenset(_WORD.findall(t.lower())) for t in texts]
    return [[1.0 - len(x & y) / len(x | y) if x | y else 0.0 for y in words] for x in words]


def mean_pairs(matrix: Sequence[Sequence[float]], members: Sequence[int] | range) -> float:
    """Mean distance over the pairs of `members` (0 with fewer than two)."""
    pairs = list(itertools.combinations(members, 2))
    return statistics.fmean(matrix[i][j] for i, j in pairs) if pairs else 0.0


def spread_p(matrix: Sequence[Sequence[float]], n_changed: int, sign: float) -> float:
    """One-sided permutation p-value on the difference of mean within-arm pairwise distances: with
    sign -1 that the first `n_changed` outputs are less spread out than the others (fewer distinct
    continuations), with +1 more. Robust to near-duplicates a real service's nondeterminism leaves."""
    indices = list(range(len(matrix)))

    def stat(x: Sequence[int], y: Sequence[int]) -> float:
        return sign * (mean_pairs(matrix, x) - mean_pairs(matrix, y))

    return permutation_p(indices[:n_changed], indices[n_changed:], stat)


def implied_prices(rows: Sequence[tuple[int, int, int, float]]) -> str:
    """USD per million prompt / answer / reasoning tokens that fit (prompt, completion, thinking, cost)
    rows by least squares (completion includes thinking); two prices when reasoning and answer tokens
    cannot be told apart, "" when even that is not identifiable."""
    import numpy as np

    if len(rows) < 2:
        return ""
    matrix = np.array([(float(p), float(c - t), float(t)) for p, c, t, _ in rows])
    costs = np.array([cost for *_, cost in rows], dtype=float)
    names = ["prompt", "answer", "reasoning"]
    if np.linalg.matrix_rank(matrix) < 3:
        matrix = np.column_stack([matrix[:, 0], matrix[:, 1] + matrix[:, 2]])
        names = ["prompt", "completion"]
        if np.linalg.matrix_rank(matrix) < 2:
            return ""
    solution, *_ = np.linalg.lstsq(matrix, costs, rcond=None)
    return ", ".join(f"${v * 1e6:.3f}/Mtok {n}" for n, v in zip(names, solution, strict=True))
