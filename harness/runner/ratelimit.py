"""Adaptive concurrency (AIMD): an in-flight limit that halves on a rate-limit reply and grows by one
after each clean stretch of `limit` successes, up to its ceiling. It only gates sending; whether a
request is retried is the retry policy's business.
"""

from __future__ import annotations

import asyncio
import collections
import math
from collections.abc import Callable

__all__ = ["AdaptiveLimit"]


class AdaptiveLimit:
    """A semaphore whose size moves. With `adaptive=False` it is a plain fixed limit.

    A burst of 429s answering requests sent before the last decrease counts once: only a 429 for a
    request sent after it shrinks the limit again (at most one decrease per round trip).
    """

    def __init__(
        self,
        ceiling: int,
        *,
        adaptive: bool = True,
        floor: int = 1,
        decrease_factor: float = 0.5,
        clock: Callable[[], float],
    ) -> None:
        if ceiling < 1:
            raise ValueError("the concurrency ceiling must be >= 1")
        self.ceiling = ceiling
        self.floor = max(1, min(floor, ceiling))
        self.limit = ceiling
        self.adaptive = adaptive
        self.in_flight = 0
        self._factor = decrease_factor
        self._clock = clock
        self._clean = 0
        self._last_decrease_at = -math.inf
        self._waiters: collections.deque[asyncio.Future[None]] = collections.deque()
        self.history: list[tuple[float, int]] = [(round(clock(), 3), ceiling)]

    async def acquire(self) -> None:
        if self.in_flight < self.limit and not self._waiters:
            self.in_flight += 1
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(future)
        try:
            await future
        except asyncio.CancelledError:
            if future.done() and not future.cancelled():
                self.release()  # the slot was handed over just as we were cancelled
            else:
                self._waiters.remove(future)
            raise

    def release(self) -> None:
        self.in_flight -= 1
        self._wake()

    def _wake(self) -> None:
        while self._waiters and self.in_flight < self.limit:
            future = self._waiters.popleft()
            if not future.done():
                self.in_flight += 1
                future.set_result(None)

    def on_success(self) -> None:
        if not self.adaptive or self.limit >= self.ceiling:
            return
        self._clean += 1
        if self._clean >= self.limit:
            self._clean = 0
            self._set(self.limit + 1)

    def on_rate_limited(self, sent_at: float) -> None:
        """A 429 for a request sent at `sent_at` (run clock)."""
        if not self.adaptive or sent_at <= self._last_decrease_at:
            return
        self._clean = 0
        self._last_decrease_at = self._clock()
        self._set(max(self.floor, math.floor(self.limit * self._factor)))

    def _set(self, limit: int) -> None:
        if limit != self.limit:
            self.limit = limit
            self.history.append((round(self._clock(), 3), limit))
            self._wake()
