"""When to stop early: the circuit breaker (errors dominate the last finished trials) and the budget
(spent cost plus the estimate for in-flight trials must stay under max_cost_usd). They only judge;
the engine stops dispatching when they say so.
"""

from __future__ import annotations

import collections
from dataclasses import dataclass, field

from harness.records import Record

__all__ = ["Budget", "CircuitBreaker"]


class CircuitBreaker:
    """Open once the window of the last `window` finished trials is full and at least `error_rate`
    of them failed."""

    def __init__(self, window: int, error_rate: float) -> None:
        self.window = window
        self.error_rate = error_rate
        self._recent: collections.deque[Record] = collections.deque(maxlen=window)
        self._errors = 0
        self.is_open = False
        self.reason: str | None = None

    def observe(self, record: Record) -> bool:
        """Count a finished trial; True when this one opened the breaker."""
        if len(self._recent) == self.window and self._recent[0].status == "error":
            self._errors -= 1
        self._recent.append(record)
        if record.status == "error":
            self._errors += 1
        if self.is_open or len(self._recent) < self.window or self._errors < self.error_rate * self.window:
            return False
        self.is_open = True
        self.reason = self._describe()
        return True

    def _describe(self) -> str:
        kinds = collections.Counter(r.error.kind for r in self._recent if r.error is not None)
        kind, count = kinds.most_common(1)[0]
        sample = next(r.error for r in reversed(self._recent) if r.error is not None and r.error.kind == kind)
        return (
            f"circuit breaker: {self._errors} of the last {self.window} trials failed "
            f"(mostly {kind}, {count}x: {sample.message})"
        )


@dataclass(slots=True)
class Budget:
    """max_cost_usd bookkeeping. `spent_usd` includes earlier sessions of a resumed run.

    The estimate of a trial not yet finished is the mean cost of finished ones once there are any,
    else its price-table estimate.
    """

    max_cost_usd: float | None
    spent_usd: float = 0.0
    in_flight_usd: float = 0.0
    _n_finished: int = 0
    _finished_usd: float = 0.0
    reason: str | None = field(default=None)

    @property
    def n_finished(self) -> int:
        """Reserved trials that finished (their mean cost is the estimate from then on)."""
        return self._n_finished

    def estimate(self, price_table_estimate: float | None) -> float:
        if self._n_finished:
            return self._finished_usd / self._n_finished
        return price_table_estimate or 0.0

    def try_reserve(self, estimate_usd: float) -> bool:
        """Reserve the estimate for a dispatch, or refuse (and remember why) if it would overspend."""
        if (
            self.max_cost_usd is not None
            and self.spent_usd + self.in_flight_usd + estimate_usd > self.max_cost_usd
        ):
            self.reason = (
                f"budget: spent ${self.spent_usd:.4f} + ${self.in_flight_usd + estimate_usd:.4f} estimated "
                f"for in-flight trials would exceed max_cost_usd ${self.max_cost_usd:.4f}"
            )
            return False
        self.in_flight_usd += estimate_usd
        return True

    def settle(self, estimate_usd: float, actual_usd: float, *, finished: bool) -> None:
        """A reserved trial ended (finished with `actual_usd`, or abandoned with it 0)."""
        self.in_flight_usd = max(0.0, self.in_flight_usd - estimate_usd)
        self.spent_usd += actual_usd
        if finished:
            self._n_finished += 1
            self._finished_usd += actual_usd
