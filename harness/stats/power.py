"""Sample size and power for the harness's two questions: how precisely is one cell's accuracy known
(the 95% CI half-width of a proportion), and how large a difference between two cells on the same
items can the paired design detect (exact McNemar, approximated by Connor's normal formula). Pure
functions over numbers; nothing here reads a run or a suite.

The paired model: cells A and B answer the same n items; A is right with probability p + d/2, B with
p - d/2, and their right/wrong outcomes on an item have correlation `rho` (the phi coefficient).
Then P(both right) = pA pB + rho sqrt(pA qA pB qB), and the discordant shares are
p10 = pA - P(both right) (A right, B wrong) and p01 = pB - P(both right). McNemar's test sees only
discordant items, so a higher correlation (fewer discordant items) means a smaller detectable d.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

from harness.stats.ci import wilson_ci

DEFAULT_ALPHA = 0.05
DEFAULT_POWER = 0.8
_NORMAL = NormalDist()
_BISECTION_STEPS = 60


def _check_unit(name: str, value: float, *, closed: bool = False) -> None:
    ok = 0.0 <= value <= 1.0 if closed else 0.0 < value < 1.0
    if not ok or math.isnan(value):
        bounds = "[0, 1]" if closed else "(0, 1)"
        raise ValueError(f"{name} must lie in {bounds}, got {value!r}")


def _check_rho(rho: float) -> None:
    if not -1.0 < rho < 1.0 or math.isnan(rho):
        raise ValueError(f"rho (item correlation) must lie in (-1, 1), got {rho!r}")


def proportion_half_width(p: float, n: int, *, confidence: float = 0.95) -> float:
    """Half the width of the Wilson interval of a proportion observed at `p` over `n` samples."""
    _check_unit("p", p, closed=True)
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n!r}")
    low, high = wilson_ci(p * n, n, confidence=confidence)
    return (high - low) / 2.0


def items_for_half_width(p: float, half_width: float, *, confidence: float = 0.95) -> int:
    """Smallest n whose Wilson interval at `p` is at most `half_width` either side."""
    _check_unit("p", p, closed=True)
    _check_unit("half_width", half_width)
    z = _NORMAL.inv_cdf(0.5 + confidence / 2.0)
    # The Wald size is close; walk from a little below it (Wilson is narrower near 0 and 1).
    n = max(1, int(z * z * max(p * (1.0 - p), 1e-12) / (half_width * half_width) * 0.5))
    while proportion_half_width(p, n, confidence=confidence) > half_width:
        n = max(n + 1, int(n * 1.02))
    while n > 1 and proportion_half_width(p, n - 1, confidence=confidence) <= half_width:
        n -= 1
    return n


@dataclass(frozen=True, slots=True)
class Discordance:
    """Shares of items where exactly one of the two cells is right."""

    p10: float  # A right, B wrong
    p01: float  # A wrong, B right

    @property
    def total(self) -> float:
        return self.p10 + self.p01


def _joint(p: float, d: float, rho: float) -> tuple[float, float, float, float]:
    """P(both right), P(A only), P(B only), P(neither) for accuracies p +- d/2 and correlation rho,
    P(both right) held inside its Frechet bounds (the correlation two such accuracies allow)."""
    pa, pb = p + d / 2.0, p - d / 2.0
    both = pa * pb + rho * math.sqrt(max(pa * (1.0 - pa) * pb * (1.0 - pb), 0.0))
    both = min(min(pa, pb), max(max(0.0, pa + pb - 1.0), both))
    return both, pa - both, pb - both, 1.0 - pa - pb + both


def max_difference(p: float) -> float:
    """Largest d with both p + d/2 and p - d/2 inside [0, 1]."""
    _check_unit("p", p)
    return 2.0 * min(p, 1.0 - p)


def discordance(p: float, d: float, rho: float) -> Discordance:
    """Discordant shares of two cells at mean accuracy `p`, difference `d` (A minus B), correlation `rho`.

    Accuracies far apart cannot be as correlated as close ones (B can be right on at most the items A
    is right on, when B is the worse); there the largest correlation they allow is used instead of rho.
    """
    _check_unit("p", p)
    _check_rho(rho)
    if not 0.0 <= d <= max_difference(p):
        raise ValueError(f"d must lie in [0, {max_difference(p):.6g}] at p={p:g}, got {d!r}")
    _, p10, p01, _ = _joint(p, d, rho)
    return Discordance(max(p10, 0.0), max(p01, 0.0))


def paired_power(n: int, d: float, p: float, rho: float, *, alpha: float = DEFAULT_ALPHA) -> float:
    """Power of the two-sided McNemar test at level `alpha` on `n` paired items (Connor 1987):
    Phi((d sqrt(n) - z_(1-alpha/2) sqrt(psi)) / sqrt(psi - d^2)), psi the discordant share."""
    _check_unit("alpha", alpha)
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n!r}")
    if d == 0.0:
        return alpha
    shares = discordance(p, d, rho)
    psi = shares.total
    spread = psi - d * d
    z_alpha = _NORMAL.inv_cdf(1.0 - alpha / 2.0)
    if spread <= 0.0:  # every discordant item goes A's way: certain once any are expected
        return 1.0
    return _NORMAL.cdf((d * math.sqrt(n) - z_alpha * math.sqrt(psi)) / math.sqrt(spread))


def paired_mde(
    n: int, p: float, rho: float, *, alpha: float = DEFAULT_ALPHA, power: float = DEFAULT_POWER
) -> float | None:
    """Smallest difference the paired design detects with `power` on `n` items (None: not even the
    largest possible difference at this accuracy)."""
    _check_unit("power", power)
    high = max_difference(p)
    if paired_power(n, high, p, rho, alpha=alpha) < power:
        return None
    low = 0.0
    for _ in range(_BISECTION_STEPS):  # power rises with d: bisect to double precision
        mid = (low + high) / 2.0
        if paired_power(n, mid, p, rho, alpha=alpha) >= power:
            high = mid
        else:
            low = mid
    return high


def paired_items_needed(
    d: float, p: float, rho: float, *, alpha: float = DEFAULT_ALPHA, power: float = DEFAULT_POWER
) -> int:
    """Items the paired design needs to detect a difference `d` with `power`:
    ceil(((z_(1-alpha/2) sqrt(psi) + z_power sqrt(psi - d^2)) / d)^2)."""
    _check_unit("alpha", alpha)
    _check_unit("power", power)
    if d <= 0.0:
        raise ValueError(f"d must be > 0, got {d!r}")
    psi = discordance(p, d, rho).total
    z_alpha = _NORMAL.inv_cdf(1.0 - alpha / 2.0)
    z_power = _NORMAL.inv_cdf(power)
    root = z_alpha * math.sqrt(psi) + z_power * math.sqrt(max(psi - d * d, 0.0))
    return max(1, math.ceil((root / d) ** 2 - 1e-9))


def simulate_paired_power(
    n: int,
    d: float,
    p: float,
    rho: float,
    *,
    alpha: float = DEFAULT_ALPHA,
    simulations: int = 4000,
    seed: int = 0,
) -> float:
    """Monte-Carlo power of the exact McNemar test: the share of `simulations` draws of n paired
    items (from the model above) where the test rejects at `alpha`. For checking the formulas."""
    import numpy as np
    from scipy.special import bdtr

    shares = discordance(p, d, rho)
    pa = p + d / 2.0
    both = pa - shares.p10
    probs = [both, shares.p10, shares.p01, max(0.0, 1.0 - both - shares.p10 - shares.p01)]
    total = sum(probs)
    counts = np.random.default_rng(seed).multinomial(n, [q / total for q in probs], size=simulations)
    b10, b01 = counts[:, 1], counts[:, 2]
    m = b10 + b01
    pvalues = np.where(m > 0, np.minimum(1.0, 2.0 * bdtr(np.minimum(b10, b01), m, 0.5)), 1.0)
    return float(np.mean(pvalues < alpha))


def item_correlation(columns: list[list[float]]) -> float | None:
    """Mean phi (Pearson) correlation of per-item outcomes over every pair of cells, each pair on
    the items both have (NaN = missing); pairs where a cell never varies are left out. None when no
    pair can be measured."""
    import numpy as np

    data = np.asarray(columns, dtype=np.float64)
    if data.ndim != 2 or data.shape[0] < 2:
        return None
    found: list[float] = []
    for i in range(data.shape[0]):
        for j in range(i + 1, data.shape[0]):
            both = ~(np.isnan(data[i]) | np.isnan(data[j]))
            if int(both.sum()) < 3:
                continue
            x, y = data[i][both], data[j][both]
            sx, sy = float(x.std()), float(y.std())
            if sx == 0.0 or sy == 0.0:
                continue
            found.append(float(((x - x.mean()) * (y - y.mean())).mean() / (sx * sy)))
    return float(np.mean(found)) if found else None
