"""Confidence intervals against hand-computed and published values."""

from __future__ import annotations

import math

import numpy as np
import pytest

from harness.stats.ci import (
    bootstrap_ci,
    bootstrap_means,
    cluster_bootstrap_ci,
    mean_stat,
    proportion_stat,
    wilson_ci,
)


# Newcombe (1998), "Two-sided confidence intervals for the single proportion", Table II (Wilson score).
@pytest.mark.parametrize(
    ("k", "n", "low", "high"),
    [(81, 263, 0.2553, 0.3662), (15, 148, 0.0624, 0.1605), (0, 20, 0.0, 0.1611), (1, 29, 0.0061, 0.1718)],
)
def test_wilson_matches_newcombe_table(k: int, n: int, low: float, high: float) -> None:
    got = wilson_ci(k, n)
    assert got[0] == pytest.approx(low, abs=5e-5)
    assert got[1] == pytest.approx(high, abs=5e-5)


def test_wilson_closed_form_for_half() -> None:
    # p = 1/2: centre is exactly 1/2 and the half width is z*sqrt(1/(4n) + z^2/(4n^2)) / (1 + z^2/n).
    z = 1.959963984540054
    n = 50
    half = z * math.sqrt(0.25 / n + z * z / (4 * n * n)) / (1 + z * z / n)
    assert wilson_ci(25, n) == pytest.approx((0.5 - half, 0.5 + half), abs=1e-12)


def test_wilson_extremes_are_clamped_and_empty_is_nan() -> None:
    assert wilson_ci(0, 7)[0] == 0.0
    assert wilson_ci(7, 7)[1] == 1.0
    low, high = wilson_ci(0, 0)
    assert math.isnan(low)
    assert math.isnan(high)


@pytest.mark.parametrize(("k", "n"), [(-1, 5), (6, 5), (1, -1)])
def test_wilson_rejects_impossible_counts(k: int, n: int) -> None:
    with pytest.raises(ValueError, match="successes"):
        wilson_ci(k, n)


def test_wilson_rejects_bad_confidence() -> None:
    with pytest.raises(ValueError, match="confidence"):
        wilson_ci(1, 2, confidence=1.0)


def test_proportion_stat_states_binomial_se() -> None:
    stat = proportion_stat(30, 40)
    assert stat.mean == 0.75
    assert stat.se == pytest.approx(math.sqrt(0.75 * 0.25 / 40))
    assert stat.method == "wilson"
    assert stat.n == 40
    assert proportion_stat(0, 0).to_dict() == {
        "mean": None, "ci_low": None, "ci_high": None, "se": None, "n": 0, "method": "wilson"
    }  # fmt: skip


def test_bootstrap_of_constant_values_is_a_point() -> None:
    stat = bootstrap_ci([3.5] * 12)
    assert (stat.mean, stat.ci_low, stat.ci_high, stat.se) == (3.5, 3.5, 3.5, 0.0)
    assert stat.method == "bootstrap"


def test_bootstrap_single_sample_and_empty() -> None:
    single = bootstrap_ci([0.4])
    assert (single.mean, single.ci_low, single.ci_high, single.n) == (0.4, 0.4, 0.4, 1)
    empty = bootstrap_ci([])
    assert (empty.mean, empty.ci_low, empty.n) == (None, None, 0)


def test_bootstrap_drops_nan() -> None:
    assert bootstrap_ci([1.0, float("nan"), 3.0]).mean == 2.0
    assert bootstrap_ci([1.0, float("nan"), 3.0]).n == 2


def test_bootstrap_is_seeded_and_order_free() -> None:
    rng = np.random.default_rng(5)
    x = rng.normal(size=500)
    a = bootstrap_ci(x)
    assert bootstrap_ci(x[::-1].copy()) == a
    assert bootstrap_ci(x, seed=1) != a


def test_bootstrap_se_matches_analytic_se_of_a_mean() -> None:
    # The bootstrap SE of a mean is sd/sqrt(n) (ddof=0) up to resampling noise (~1.6% at 2000 draws).
    x = np.random.default_rng(0).normal(10, 2, size=400)
    stat = bootstrap_ci(x, n_resamples=4000)
    assert stat.se == pytest.approx(x.std() / math.sqrt(x.size), rel=0.05)
    assert stat.ci_low is not None
    assert stat.ci_high is not None
    assert stat.ci_low < x.mean() < stat.ci_high


def test_bootstrap_means_both_paths_agree_in_distribution() -> None:
    # Few distinct values take the multinomial path, many the index path: same mean and spread.
    x = np.repeat([0.0, 1.0], [300, 200])
    jitter = x + np.random.default_rng(1).uniform(-1e-9, 1e-9, x.size)
    few = bootstrap_means(x, n_resamples=4000)
    many = bootstrap_means(jitter, n_resamples=4000)
    assert few.mean() == pytest.approx(0.4, abs=0.003)
    assert many.mean() == pytest.approx(0.4, abs=0.003)
    assert few.std() == pytest.approx(many.std(), rel=0.08)
    assert few.std() == pytest.approx(math.sqrt(0.4 * 0.6 / 500), rel=0.08)


def test_cluster_bootstrap_is_wider_than_iid_for_correlated_samples() -> None:
    # 40 items, 5 identical samples each: the effective n is 40, not 200.
    item_truth = np.random.default_rng(2).integers(0, 2, size=40).astype(float)
    values = np.repeat(item_truth, 5)
    clusters = np.repeat(np.arange(40), 5).tolist()
    clustered = cluster_bootstrap_ci(values, clusters)
    iid = bootstrap_ci(values)
    assert clustered.method == "cluster-bootstrap"
    assert clustered.n == 200
    assert clustered.mean == pytest.approx(item_truth.mean())
    assert clustered.se is not None
    assert iid.se is not None
    assert clustered.se == pytest.approx(iid.se * math.sqrt(5), rel=0.15)


def test_cluster_bootstrap_point_is_pooled_mean() -> None:
    stat = cluster_bootstrap_ci([1.0, 1.0, 1.0, 0.0], ["a", "a", "a", "b"])
    assert stat.mean == 0.75


def test_mean_stat_picks_the_method() -> None:
    assert mean_stat([1.0, 0.0, 1.0]).method == "wilson"
    assert mean_stat([1.0, 0.5, 1.0]).method == "bootstrap"
    assert mean_stat([1.0, 0.0, 1.0], ["a", "b", "c"]).method == "wilson"
    assert mean_stat([1.0, 0.0, 1.0], ["a", "a", "c"]).method == "cluster-bootstrap"
    # A NaN (an invalid judge reply) neither counts nor makes its item look repeated.
    assert mean_stat([1.0, float("nan"), 0.0], ["a", "a", "c"]).method == "wilson"


def test_ci_width_shrinks_like_one_over_sqrt_n() -> None:
    # Same proportion, 4x and 16x the samples: width halves, then quarters (Wilson and bootstrap).
    for n in (100, 400):
        w1 = np.subtract(*wilson_ci(0.3 * n, n)[::-1])
        w4 = np.subtract(*wilson_ci(0.3 * 4 * n, 4 * n)[::-1])
        assert w1 / w4 == pytest.approx(2.0, rel=0.02)
    x = np.random.default_rng(3).normal(size=6400)
    widths = []
    for n in (400, 1600, 6400):
        s = bootstrap_ci(x[:n], n_resamples=4000)
        assert s.ci_high is not None
        assert s.ci_low is not None
        widths.append((s.ci_high - s.ci_low) / x[:n].std())
    assert widths[0] / widths[1] == pytest.approx(2.0, rel=0.1)
    assert widths[1] / widths[2] == pytest.approx(2.0, rel=0.1)
