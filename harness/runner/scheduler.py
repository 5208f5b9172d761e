"""When to send: the run clock (seconds since the run first started) and arrival
schedules for open-loop load (constant or Poisson, precomputed and seeded). Decides times only; it
never sends anything and never looks at responses.
"""

from __future__ import annotations

import random
import time
from typing import Literal

__all__ = ["MonotonicClock", "achieved_rate", "arrival_times"]


class MonotonicClock:
    """perf_counter() minus the run's start, plus `offset_s` (time since the run first started, so a
    resumed run's times continue rather than restart at zero)."""

    __slots__ = ("_origin",)

    def __init__(self, offset_s: float = 0.0) -> None:
        self._origin = time.perf_counter() - offset_s

    def now(self) -> float:
        return time.perf_counter() - self._origin


def arrival_times(
    n: int,
    rate_rps: float,
    kind: Literal["constant", "poisson", "gamma"] = "constant",
    seed: int = 0,
    burstiness: float = 1.0,
) -> list[float]:
    """Offsets (s, from the start of dispatch) of `n` arrivals at `rate_rps`: evenly spaced, a
    Poisson process (exponential gaps), or gamma gaps of shape `burstiness` and mean 1/rate (vLLM's
    `--burstiness`: 1 is Poisson, smaller is burstier), drawn from `seed` so reruns repeat them."""
    if rate_rps <= 0:
        raise ValueError(f"rate_rps must be > 0, got {rate_rps}")
    if kind == "constant":
        return [i / rate_rps for i in range(n)]
    if kind not in ("poisson", "gamma"):
        raise ValueError(f"unknown arrival process {kind!r} (allowed: constant, poisson, gamma)")
    if burstiness <= 0:
        raise ValueError(f"burstiness must be > 0, got {burstiness}")
    rng = random.Random(seed)
    times: list[float] = []
    t = 0.0
    for _ in range(n):
        times.append(t)
        if kind == "poisson":
            t += rng.expovariate(rate_rps)
        else:
            t += rng.gammavariate(burstiness, 1.0 / (rate_rps * burstiness))
    return times


def achieved_rate(send_times: list[float]) -> float | None:
    """Requests per second actually sent: (n - 1) over the span from the first send to the last."""
    if len(send_times) < 2:
        return None
    span = max(send_times) - min(send_times)
    return (len(send_times) - 1) / span if span > 0 else None
