"""Progress observers: counts, plain periodic lines, the rich bar, the TTY choice."""

from __future__ import annotations

import io

from harness.errors import ServerError
from harness.progress import PlainProgress, ProgressCounts, RichProgress, make_observer
from harness.records import ErrorInfo, Record, Timing
from harness.runner import RunResult


class Ticker:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def rec(ok: bool, cost: float = 0.01) -> Record:
    return Record(
        trial_key="k",
        cell_id="c",
        cell={},
        item_id="i",
        repeat=0,
        seed=None,
        target="t",
        model="m",
        delivery="sync",
        status="ok" if ok else "error",
        timing=Timing(0.0),
        cost_usd=cost if ok else None,
        error=None if ok else ErrorInfo(kind="server", message="x"),
    )


RESULT = RunResult(
    status="complete", n_done=4, n_ok=3, n_error=1, n_skipped_resumed=0, cost_usd=0.03, wall_time_s=2.0
)


def test_counts_rate_and_eta() -> None:
    clock = Ticker()
    counts = ProgressCounts(clock)
    counts.on_run_start(total=10, skipped=0, target_rps=None)
    for ok in (True, True, False, True):
        counts.on_trial_done(rec(ok))
    counts.on_retry(None, ServerError("x"), 0.1)  # type: ignore[arg-type]
    clock.t = 2.0
    assert (counts.done, counts.ok, counts.errors, counts.retries) == (4, 3, 1, 1)
    assert counts.cost_usd == 0.03
    assert counts.rate == 2.0
    assert counts.eta_s == 3.0
    assert "4/10 done (ok 3, errors 1, retries 1) $0.0300 2.0 trials/s ETA 3s" in counts.line()


def test_plain_prints_at_most_once_per_interval() -> None:
    clock = Ticker()
    out = io.StringIO()
    plain = PlainProgress(out, interval_s=10.0, clock=clock)
    plain.on_run_start(total=100, skipped=5, target_rps=20.0)
    for i in range(30):
        clock.t = i
        plain.on_trial_done(rec(True))
    plain.on_notice("hello")
    plain.on_run_end(RESULT)
    lines = out.getvalue().splitlines()
    assert lines[0] == "running 100 trials at 20 req/s (5 already recorded)"
    assert sum("done (ok" in line for line in lines) == 3  # at t=10, t=20, and the final line
    assert "note: hello" in lines
    assert lines[-1] == "run complete"


def test_make_observer_picks_plain_when_not_a_tty() -> None:
    assert isinstance(make_observer(io.StringIO()), PlainProgress)


def test_make_observer_picks_rich_on_a_tty() -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    assert isinstance(make_observer(Tty()), RichProgress)


def test_rich_bar_renders_the_counts() -> None:
    out = io.StringIO()
    bar = RichProgress(out)
    bar.on_run_start(total=4, skipped=0, target_rps=None)
    for ok in (True, True, False, True):
        bar.on_trial_done(rec(ok))
    bar.on_run_end(RESULT)
    text = out.getvalue()
    assert "4/4" in text
    assert "err 1" in text
    assert "$0.0300" in text
