"""The retry policy: which failures are retried, and how long to wait before the next attempt
(exponential back-off with full jitter, or what Retry-After said). It only decides; execute waits.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from harness.config import RetryConfig
from harness.errors import ProviderError, RateLimitedError

__all__ = ["RetryPolicy"]


@dataclass(slots=True, frozen=True)
class RetryPolicy:
    config: RetryConfig

    def backoff_s(self, attempt: int, error: ProviderError, rng: random.Random) -> float:
        """Wait after failed attempt number `attempt` (1-based)."""
        c = self.config
        if c.honor_retry_after and isinstance(error, RateLimitedError) and error.retry_after_s is not None:
            return error.retry_after_s
        cap = min(c.max_backoff_s, c.base_s * 2 ** (attempt - 1))
        return rng.uniform(0.0, cap)

    def should_retry(self, attempt: int, error: ProviderError, *, elapsed_s: float, wait_s: float) -> bool:
        """Transient, attempts left, and the wait still fits in the trial's time cap."""
        c = self.config
        return (
            error.failure != "permanent" and attempt < c.max_attempts and elapsed_s + wait_s < c.max_trial_s
        )
