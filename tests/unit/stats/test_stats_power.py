"""stats.power: the CI half-width of a proportion, the paired design's discordance, power, detectable
difference and sample size, on hand-computed numbers, and the formulas against a Monte-Carlo
simulation of the exact McNemar test."""

from __future__ import annotations

import math

import pytest

from harness.stats.power import (
    discordance,
    item_correlation,
    items_for_half_width,
    max_difference,
    paired_items_needed,
    paired_mde,
    paired_power,
    proportion_half_width,
    simulate_paired_power,
)

Z95 = 1.959963984540054
Z80 = 0.8416212335729143


def test_half_width_is_the_wilson_half_width() -> None:
    # p = 0.5, n = 100: z sqrt(p q / n + z^2 / 4n^2) / (1 + z^2 / n)
    expected = Z95 * math.sqrt(0.25 / 100 + Z95**2 / 40000) / (1 + Z95**2 / 100)
    assert proportion_half_width(0.5, 100) == pytest.approx(expected, rel=1e-12)
    assert expected == pytest.approx(0.09617, abs=1e-5)


def test_items_for_half_width_is_the_smallest_n_that_reaches_it() -> None:
    n = items_for_half_width(0.5, 0.05)
    assert n == 381
    assert proportion_half_width(0.5, n) <= 0.05 < proportion_half_width(0.5, n - 1)


def test_discordance_without_correlation_is_the_product_of_marginals() -> None:
    shares = discordance(0.7, 0.2, 0.0)  # accuracies 0.8 and 0.6: both right 0.48
    assert shares.p10 == pytest.approx(0.32)
    assert shares.p01 == pytest.approx(0.12)


def test_correlation_removes_discordant_items() -> None:
    # p = 0.5, d = 0: p10 = p01 = p q (1 - rho)
    assert discordance(0.5, 0.0, 0.6).total == pytest.approx(2 * 0.25 * 0.4)


def test_far_apart_accuracies_get_the_largest_correlation_they_allow() -> None:
    # Accuracies 0.9 and 0.5 with rho 0.9 would put P(both right) at 0.585 > 0.5 = P(B right):
    # it is held at 0.5, so B is right only where A is (p01 = 0).
    shares = discordance(0.7, 0.4, 0.9)
    assert shares.p10 == pytest.approx(0.4)
    assert shares.p01 == 0.0
    assert max_difference(0.7) == pytest.approx(0.6)
    with pytest.raises(ValueError, match="d must lie in"):
        discordance(0.7, 0.61, 0.0)


def test_items_needed_by_connors_formula() -> None:
    # p = 0.7, d = 0.2, rho = 0: psi = 0.44; ((z95 sqrt(0.44) + z80 sqrt(0.4)) / 0.2)^2 = 83.95 -> 84
    root = (Z95 * math.sqrt(0.44) + Z80 * math.sqrt(0.40)) / 0.2
    assert root**2 == pytest.approx(83.95, abs=0.01)
    assert paired_items_needed(0.2, 0.7, 0.0) == 84
    assert paired_power(84, 0.2, 0.7, 0.0) >= 0.8 > paired_power(83, 0.2, 0.7, 0.0)


def test_detectable_difference_inverts_the_sample_size() -> None:
    d = paired_mde(84, 0.7, 0.0)
    assert d is not None
    assert paired_power(84, d, 0.7, 0.0) == pytest.approx(0.8, abs=1e-9)
    assert d <= 0.2
    assert paired_items_needed(d, 0.7, 0.0) == 84


def test_fewer_items_or_a_stricter_alpha_detect_only_larger_differences() -> None:
    wide = paired_mde(30, 0.7, 0.3)
    narrow = paired_mde(300, 0.7, 0.3)
    strict = paired_mde(300, 0.7, 0.3, alpha=0.05 / 20)
    assert wide is not None
    assert narrow is not None
    assert strict is not None
    assert narrow < strict < wide


def test_no_detectable_difference_when_even_the_largest_is_too_small() -> None:
    assert paired_mde(5, 0.9, 0.0) is None


@pytest.mark.parametrize(("n", "p", "rho"), [(40, 0.8, 0.0), (120, 0.6, 0.4), (400, 0.85, 0.6)])
def test_detectable_difference_agrees_with_a_simulation_within_20_percent(
    n: int, p: float, rho: float
) -> None:
    analytic = paired_mde(n, p, rho)
    assert analytic is not None
    # The difference at which the exact McNemar test rejects in 80% of simulated runs (bisection).
    low, high = 0.0, max_difference(p) * 0.999
    for _ in range(12):
        mid = (low + high) / 2
        if simulate_paired_power(n, mid, p, rho, simulations=3000, seed=n) >= 0.8:
            high = mid
        else:
            low = mid
    simulated = (low + high) / 2
    assert abs(simulated - analytic) / analytic < 0.2


def test_simulated_power_at_no_difference_is_at_most_alpha() -> None:
    assert simulate_paired_power(200, 0.0, 0.7, 0.3, simulations=4000) <= 0.05


def test_item_correlation_on_hand_made_columns() -> None:
    assert item_correlation([[1, 1, 0, 0], [1, 0, 1, 0]]) == pytest.approx(0.0)
    assert item_correlation([[1, 1, 0, 0], [1, 1, 0, 0], [0, 0, 1, 1]]) == pytest.approx((1 - 1 - 1) / 3)


def test_item_correlation_skips_missing_items_and_constant_cells() -> None:
    nan = math.nan
    assert item_correlation([[1, 0, 1, nan, 0], [1, 0, 1, 1, 0]]) == pytest.approx(1.0)
    assert item_correlation([[1, 1, 1, 1], [1, 0, 1, 0]]) is None
    assert item_correlation([[1, 0, 1]]) is None


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="p must lie in"):
        proportion_half_width(1.5, 10)
    with pytest.raises(ValueError, match="rho"):
        discordance(0.5, 0.1, 1.0)
    with pytest.raises(ValueError, match="d must be > 0"):
        paired_items_needed(0.0, 0.5, 0.0)
