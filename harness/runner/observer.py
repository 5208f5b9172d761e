"""The runner's seam to the outside while a run goes: `Observer` (called as trials finish, retry and
end; the runner never prints) and `RunResult` (how a run ended). Displays implement Observer in
harness.progress; nothing here displays anything.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from harness.errors import ProviderError
from harness.records import Record, Trial

__all__ = ["BaseObserver", "Observer", "RunResult"]


@dataclass(slots=True, frozen=True)
class RunResult:
    """How a run (or this session of a resumed run) ended. Counts are of this session;
    `total_cost_usd` includes earlier sessions, and `total_ok` / `total_error` count every trial in the
    run directory by its latest record (a failed trial sent again and now ok counts as ok)."""

    status: str  # complete | stopped | interrupted | failed
    n_done: int
    n_ok: int
    n_error: int
    n_skipped_resumed: int
    cost_usd: float
    wall_time_s: float
    stop_reason: str | None = None
    total_cost_usd: float = 0.0
    n_planned: int = 0
    target_rps: float | None = None
    achieved_rps: float | None = None
    torn_line: int | None = None
    total_ok: int = 0
    total_error: int = 0
    n_held_back: int = 0  # run-level failures (auth, payment, connect) not written: a resume resends them


class Observer(Protocol):
    def on_run_start(self, *, total: int, skipped: int, target_rps: float | None) -> None: ...

    def on_trial_done(self, record: Record) -> None: ...

    def on_retry(self, trial: Trial, error: ProviderError, wait_s: float) -> None: ...

    def on_notice(self, message: str) -> None: ...

    def on_run_end(self, result: RunResult) -> None: ...


class BaseObserver:
    """Does nothing; subclass it and override what you need."""

    def on_run_start(self, *, total: int, skipped: int, target_rps: float | None) -> None:
        pass

    def on_trial_done(self, record: Record) -> None:
        pass

    def on_retry(self, trial: Trial, error: ProviderError, wait_s: float) -> None:
        pass

    def on_notice(self, message: str) -> None:
        pass

    def on_run_end(self, result: RunResult) -> None:
        pass
