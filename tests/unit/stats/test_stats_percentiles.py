"""Percentiles: hand-computed values, empty and single inputs, and monotonicity as a property."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.stats.percentiles import percentiles


def test_one_to_ten_by_linear_interpolation() -> None:
    # Type-7: position (n-1)q = 9q, so p90 = 9 + 0.1*(10-9) = 9.1, p95 = 9.55, p99 = 9.91.
    got = percentiles([float(v) for v in range(10, 0, -1)])
    assert got == {
        "p50": 5.5, "p90": pytest.approx(9.1), "p95": pytest.approx(9.55), "p99": pytest.approx(9.91),
        "mean": 5.5, "max": 10.0, "n": 10,
    }  # fmt: skip


def test_empty_and_all_missing_give_nulls() -> None:
    empty = {"p50": None, "p90": None, "p95": None, "p99": None, "mean": None, "max": None, "n": 0}
    assert percentiles([]) == empty
    assert percentiles([None, float("nan")]) == empty
    assert percentiles(np.array([np.nan])) == empty


def test_single_value_is_every_percentile() -> None:
    assert percentiles([0.25]) == {
        "p50": 0.25, "p90": 0.25, "p95": 0.25, "p99": 0.25, "mean": 0.25, "max": 0.25, "n": 1
    }  # fmt: skip


def test_missing_values_are_dropped() -> None:
    assert percentiles([1.0, None, 3.0, float("inf")])["n"] == 2
    assert percentiles([1.0, None, 3.0])["p50"] == 2.0


def test_custom_quantile_keys() -> None:
    got = percentiles([1.0, 2.0], qs=(0.0, 99.9))
    assert got["p0"] == 1.0
    assert got["p99_9"] == pytest.approx(1.999)


def test_rejects_out_of_range_quantile() -> None:
    with pytest.raises(ValueError, match="percentile"):
        percentiles([1.0], qs=(101.0,))


@given(st.lists(st.floats(min_value=-1e6, max_value=1e6, allow_nan=False), min_size=1, max_size=200))
def test_percentiles_are_monotone_and_bounded(values: list[float]) -> None:
    got = percentiles(values)
    chain = [min(values), got["p50"], got["p90"], got["p95"], got["p99"], got["max"]]
    assert all(a <= b for a, b in itertools.pairwise(chain))  # type: ignore[operator]
    assert got["max"] == max(values)
    assert min(values) - 1e-6 <= got["mean"] <= max(values) + 1e-6  # type: ignore[operator]
