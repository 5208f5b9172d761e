"""Progress displays: observers (harness.runner.observer.Observer, the runner's seam) that show a run,
a rich progress bar on a TTY, plain periodic lines otherwise (CI logs). They only display; they must
not change the run. `Observer` and `BaseObserver` are re-exported for code that imported them here.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any, TextIO

from harness.errors import ProviderError
from harness.records import Record, Trial
from harness.runner.observer import BaseObserver, Observer, RunResult

__all__ = ["BaseObserver", "Observer", "PlainProgress", "ProgressCounts", "RichProgress", "make_observer"]


class ProgressCounts(BaseObserver):
    """The numbers every display shows: done/total, ok/errors/retries, spend, rate, ETA."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self.started = clock()
        self.total = 0
        self.skipped = 0
        self.done = 0
        self.ok = 0
        self.errors = 0
        self.retries = 0
        self.cost_usd = 0.0
        self.notices: list[str] = []

    def on_run_start(self, *, total: int, skipped: int, target_rps: float | None) -> None:
        self.started = self._clock()
        self.total = total
        self.skipped = skipped

    def on_trial_done(self, record: Record) -> None:
        self.done += 1
        if record.status == "ok":
            self.ok += 1
        else:
            self.errors += 1
        self.cost_usd += record.effective_cost_usd

    def on_retry(self, trial: Trial, error: ProviderError, wait_s: float) -> None:
        self.retries += 1

    def on_notice(self, message: str) -> None:
        self.notices.append(message)

    @property
    def elapsed_s(self) -> float:
        return max(0.0, self._clock() - self.started)

    @property
    def rate(self) -> float:
        elapsed = self.elapsed_s
        return self.done / elapsed if elapsed > 0 else 0.0

    @property
    def eta_s(self) -> float | None:
        remaining = self.total - self.done
        rate = self.rate
        if remaining <= 0:
            return 0.0
        return remaining / rate if rate > 0 else None

    def line(self) -> str:
        eta = self.eta_s
        eta_text = "?" if eta is None else f"{eta:.0f}s"
        return (
            f"[{self.elapsed_s:7.1f}s] {self.done}/{self.total} done"
            f" (ok {self.ok}, errors {self.errors}, retries {self.retries})"
            f" ${self.cost_usd:.4f} {self.rate:.1f} trials/s ETA {eta_text}"
        )


class PlainProgress(ProgressCounts):
    """One line every `interval_s` (and at the end) for logs that are not a terminal."""

    def __init__(
        self,
        stream: TextIO | None = None,
        *,
        interval_s: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(clock)
        self.stream = stream or sys.stderr
        self.interval_s = interval_s
        self._last = self.started

    def on_run_start(self, *, total: int, skipped: int, target_rps: float | None) -> None:
        super().on_run_start(total=total, skipped=skipped, target_rps=target_rps)
        self._last = self.started
        rate = f" at {target_rps:g} req/s" if target_rps else ""
        resumed = f" ({skipped} already recorded)" if skipped else ""
        self._print(f"running {total} trials{rate}{resumed}")

    def on_trial_done(self, record: Record) -> None:
        super().on_trial_done(record)
        now = self._clock()
        if now - self._last >= self.interval_s:
            self._last = now
            self._print(self.line())

    def on_notice(self, message: str) -> None:
        super().on_notice(message)
        self._print(f"note: {message}")

    def on_run_end(self, result: RunResult) -> None:
        self._print(self.line())
        self._print(f"run {result.status}" + (f": {result.stop_reason}" if result.stop_reason else ""))

    def _print(self, text: str) -> None:
        print(text, file=self.stream, flush=True)


class RichProgress(ProgressCounts):
    """A live rich progress bar (done/total, ok/errors/retries, spend, trials/s, ETA)."""

    def __init__(self, stream: TextIO | None = None, *, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(clock)
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self._progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn(
                "ok {task.fields[ok]} [red]err {task.fields[errors]}[/] retries {task.fields[retries]}"
            ),
            TextColumn("${task.fields[cost]:.4f}"),
            TextColumn("{task.fields[rate]:.1f}/s"),
            TimeRemainingColumn(),
            console=Console(file=stream or sys.stderr),
            transient=False,
        )
        self._task: Any = None
        self.refresh_s = 0.1
        self._last_refresh = -float("inf")

    def on_run_start(self, *, total: int, skipped: int, target_rps: float | None) -> None:
        super().on_run_start(total=total, skipped=skipped, target_rps=target_rps)
        self._progress.start()
        self._task = self._progress.add_task(
            "trials", total=total, ok=0, errors=0, retries=0, cost=0.0, rate=0.0
        )

    def _refresh(self) -> None:
        if self._task is not None:
            self._progress.update(
                self._task,
                completed=self.done,
                ok=self.ok,
                errors=self.errors,
                retries=self.retries,
                cost=self.cost_usd,
                rate=self.rate,
            )

    def on_trial_done(self, record: Record) -> None:
        super().on_trial_done(record)
        self._refresh_soon()

    def on_retry(self, trial: Trial, error: ProviderError, wait_s: float) -> None:
        super().on_retry(trial, error, wait_s)
        self._refresh_soon()

    def _refresh_soon(self) -> None:
        # The bar redraws 10 times a second; pushing every trial's counts into it (a lock and a
        # dict update each) would cost the event loop more than the bookkeeping of the trial itself.
        now = self._clock()
        if now - self._last_refresh >= self.refresh_s:
            self._last_refresh = now
            self._refresh()

    def on_notice(self, message: str) -> None:
        super().on_notice(message)
        self._progress.console.print(f"note: {message}")

    def on_run_end(self, result: RunResult) -> None:
        self._refresh()
        self._progress.stop()


def make_observer(stream: TextIO | None = None, *, interval_s: float = 10.0) -> ProgressCounts:
    """A rich bar when `stream` (stderr by default) is a terminal, else plain periodic lines."""
    stream = stream or sys.stderr
    if stream.isatty():
        return RichProgress(stream)
    return PlainProgress(stream, interval_s=interval_s)
