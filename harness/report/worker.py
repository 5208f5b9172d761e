"""Builds a run's derived outputs in a child process (`python -m harness.report.worker`), so that
importing pandas, matplotlib and the report (about a second) overlaps the send phase on the other core
instead of following it. Owns the child's lifecycle and its one-line protocol only: what the child
writes is exactly `build_outputs(run_dir)`, and any failure is left for the caller to redo in-process.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

if TYPE_CHECKING:
    from harness.report import Outputs
    from harness.scoring.apply import ScoresAhead

# "0" never starts the child (every output is built in-process), "1" always does; unset: the caller decides.
WORKER_ENV = "HARNESS_OUTPUTS_WORKER"

# What build_outputs imports, loaded while the parent is still sending.
PRELOAD = (
    "pandas",
    "harness.gate",
    "harness.scoring",
    "harness.scoring.numeric",
    "harness.scoring.choice",
    "harness.stats.summary",  # harness.stats itself resolves its names on first use
    "harness.stats.frames",
    "harness.report.render",
    "harness.report.charts",
    "harness.report.perf_charts",
    "harness.report.sections",
    "harness.report.items",
    "harness.report.comparison",
)
# What only some reports import: their sweep, trade-off, inter-token, request-rate, concurrency and
# load figures are matplotlib's (the CDF and the bars every report has are svgchart's). Preloaded when
# the parent says the plan will draw them (OutputsWorker.expect), else imported if and when needed.
PRELOAD_MATPLOTLIB = ("matplotlib.figure", "matplotlib.backends.backend_svg")


def draws_with_matplotlib(*, cells: int, streamed: bool, open_loop: bool, load_sweep: bool) -> bool:
    """Whether a run of this shape has a report figure that matplotlib draws: two or more cells (the
    sweep and trade-off figures), streamed answers (inter-token gaps), an open-loop rate (achieved vs
    target) or a load sweep (its curves); every other figure is svgchart's. A wrong guess costs time,
    never output: a matplotlib figure nobody expected imports matplotlib when it is drawn."""
    return cells > 1 or streamed or open_loop or load_sweep


# Installed optional backends that pandas imports if present, and that nothing the outputs use needs:
# pyarrow (pandas' Arrow-backed strings) is ~40 MiB, a quarter of the run's peak memory, and ~0.1 s of
# the child's start. Without it pandas keeps strings in Python objects and writes the same bytes (the
# child's outputs are checked against an in-process build); parquet export is no part of a run's outputs.
SKIPPED_IMPORTS = ("pyarrow",)


class OutputsWorker:
    """A child process that has imported everything `build_outputs` needs and waits for one run dir."""

    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        self.proc = proc

    @classmethod
    def start(cls) -> OutputsWorker | None:
        """Start the child (it begins importing at once); None when it cannot be started."""
        try:
            proc = subprocess.Popen(
                worker_command(),
                env=worker_environment(),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                start_new_session=True,  # Ctrl-C goes to the run, which then stops the child
            )
        except OSError:
            return None
        return cls(proc)

    def expect(self, *, matplotlib: bool, warm_up: Path | None = None) -> None:
        """Tell the child, while it preloads, whether the report will draw matplotlib figures (then it
        preloads matplotlib too, ~0.7 s of import it would otherwise spend after the send), and the run
        dir whose first records it may build outputs from in a scratch directory to warm up (never one
        whose scorers send requests: a judge)."""
        stdin = self.proc.stdin
        if stdin is None or stdin.closed:
            return
        hint = {"matplotlib": matplotlib, "warm_up": str(Path(warm_up).resolve()) if warm_up else None}
        try:
            stdin.write(orjson.dumps(hint) + b"\n")
            stdin.flush()
        except (OSError, ValueError):
            return  # build() finds the broken pipe and the caller builds in-process

    def build(self, run_dir: Path) -> Outputs | None:
        """Have the child build the outputs of `run_dir`; None when it failed, so the caller builds them
        in-process and any error surfaces there, with its own message and exit code."""
        from harness.gate import ThresholdResult
        from harness.report import Outputs

        run_dir = Path(run_dir)
        request = orjson.dumps({"run_dir": str(run_dir.resolve())}) + b"\n"
        stdin, stdout = self.proc.stdin, self.proc.stdout
        if stdin is None or stdout is None:
            return None
        try:
            stdin.write(request)
            stdin.close()
            answer = stdout.readline()  # not the child's exit: it skips its interpreter's teardown
        except (OSError, ValueError):
            self.close()
            return None
        try:
            reply = orjson.loads(answer)
        except orjson.JSONDecodeError:
            return None
        if not isinstance(reply, dict) or not reply.get("ok"):
            return None
        summary: dict[str, Any] = reply["summary"]
        results = [ThresholdResult(**entry) for entry in summary.get("thresholds") or []]
        path = reply.get("report_path")  # absolute in the child; shown as the caller named its run dir
        report_path = run_dir / Path(path).name if path else None
        return Outputs(summary=summary, threshold_results=results, report_path=report_path)

    def close(self) -> None:
        """Stop the child if it is still waiting (a failed validation, an interrupted run)."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout):
            if stream is not None and not stream.closed:
                stream.close()


def worker_command() -> list[str]:
    """The child's command line. `-P`: the working directory is not put first on sys.path, so another
    checkout (or any `harness/` folder) where the command is run cannot replace the parent's code."""
    return [sys.executable, "-P", "-m", "harness.report.worker"]


def worker_environment() -> dict[str, str]:
    """The parent's environment with the parent's package root first on PYTHONPATH, so the child
    imports the very `harness` the parent runs."""
    import harness

    root = str(Path(harness.__file__).resolve().parents[1])
    env = dict(os.environ)
    rest = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p and p != root]
    env["PYTHONPATH"] = os.pathsep.join([root, *rest])
    return env


def owns_process() -> bool:
    """True when this process runs the `harness` command itself (`python -m harness` or the console
    script): it would otherwise pay the heavy imports in the user's wait. False inside another
    program (tests, notebooks), which usually has them loaded already."""
    main = sys.modules.get("__main__")
    spec = getattr(main, "__spec__", None)
    if spec is not None:
        return spec.name in ("harness", "harness.__main__")
    return Path(sys.argv[0]).stem == "harness" if sys.argv and sys.argv[0] else False


def wanted(*, default: bool | None = None) -> bool:
    """Whether to build outputs in a child: WORKER_ENV decides when set, else `default`, else
    `owns_process()` with pandas not yet imported."""
    setting = os.environ.get(WORKER_ENV, "").strip()
    if setting in ("0", "1"):
        return setting == "1"
    if default is not None:
        return default
    return owns_process() and "pandas" not in sys.modules


@contextlib.contextmanager
def outputs_worker(enabled: bool) -> Iterator[OutputsWorker | None]:
    """A started worker when `enabled` (None otherwise, or when it cannot start); always stopped on exit."""
    worker = OutputsWorker.start() if enabled else None
    try:
        yield worker
    finally:
        if worker is not None:
            worker.close()


def figure_jobs() -> int:
    """Processes that draw a report's figures: 2 when this machine has a second core."""
    return 2 if (os.cpu_count() or 1) > 1 else 1


def _skip_unused_imports() -> None:
    """Make `import pyarrow` (SKIPPED_IMPORTS) fail in this process, as if it were not installed."""
    for name in SKIPPED_IMPORTS:
        if name not in sys.modules:
            sys.modules[name] = None  # type: ignore[assignment]  # import raises ImportError


# Niceness of the thread that preloads (Linux only, where it is a thread's own): the imports overlap the
# parent's send, and on two cores the parent, the server and this child compete; the child must not
# slow down what the run measures. The build itself runs at the normal priority.
PRELOAD_NICENESS = 10


def lower_thread_priority(increment: int = PRELOAD_NICENESS) -> bool:
    """Make the calling thread (and only it) `increment` nicer; False where a thread has no niceness of
    its own (outside Linux, setpriority on a thread id could reach another process)."""
    if not sys.platform.startswith("linux"):
        return False
    import threading

    tid = threading.get_native_id()
    try:
        os.setpriority(os.PRIO_PROCESS, tid, min(19, os.getpriority(os.PRIO_PROCESS, tid) + increment))
    except OSError:
        return False
    return True


# Records of the run a warm-up build copies (WARM_UP_RECORDS complete lines, the first ones written).
WARM_UP_RECORDS = 16
WARM_UP_POLL_S = 0.02
SCORE_AHEAD_POLL_S = 0.05


def scores_ahead_for(run_dir: Path) -> ScoresAhead | None:
    """A ScoresAhead with the scorers the run's manifest names (those build_outputs applies), or None
    when there is no manifest yet, no scorer, or one that reads more than the record."""
    from harness.report import manifest_scorers
    from harness.rundir import RunDir
    from harness.scoring.apply import ScoresAhead

    try:
        scorers = manifest_scorers(RunDir(run_dir).manifest().to_dict())
        return ScoresAhead(scorers) if scorers else None
    except Exception:  # no manifest yet, a judge, a scorer that does not build: the build decides
        return None


class _Preload:
    """What the child does before the run dir arrives: import the common modules at once; then, once
    the parent has said what the plan draws (`decide`), matplotlib if it is wanted and, if it named
    the run dir, a warm-up build of the run's first records and the scoring of every line written
    until the build is requested (`requested`)."""

    def __init__(self) -> None:
        import threading

        self.decided = threading.Event()
        self.requested = threading.Event()  # the real build is waiting: no warm-up starts after this
        self.wanted = False
        self.warm_up_dir: Path | None = None
        self.ahead: ScoresAhead | None = None  # scores the build may reuse (read after this thread ends)

    def decide(self, wanted: bool, warm_up_dir: Path | None = None) -> None:
        self.wanted = self.wanted or wanted
        self.warm_up_dir = self.warm_up_dir or warm_up_dir
        self.decided.set()

    def in_background(self) -> None:
        lower_thread_priority()
        # An import problem is left for the parent, which redoes the work in-process and reports it there.
        with contextlib.suppress(Exception):
            _preload(PRELOAD)
            self.decided.wait()
            if self.wanted:
                _preload(PRELOAD_MATPLOTLIB, draw=True)
            if self.warm_up_dir is not None:
                self._warm_up(self.warm_up_dir)
                self._score_ahead(self.warm_up_dir)

    def _warm_up(self, run_dir: Path) -> None:
        lines = b""
        while not self.requested.is_set():
            lines = first_records(run_dir, WARM_UP_RECORDS)
            if lines.count(b"\n") >= WARM_UP_RECORDS:
                break
            self.requested.wait(WARM_UP_POLL_S)
        if lines and not self.requested.is_set() and not nearly_sent(run_dir):
            warm_up_build(run_dir, lines)

    def _score_ahead(self, run_dir: Path) -> None:
        """Score the records written so far, then each new complete line as it comes, until the build
        is requested: scoring moves off the wait after the send (~30 ms for 500 numeric answers)."""
        from harness.rundir import layout

        ahead = self.ahead = scores_ahead_for(run_dir)  # read by the build once this thread has ended
        if ahead is None:
            return
        offset, rest = 0, b""
        while not self.requested.is_set():
            try:
                with (run_dir / layout.RECORDS).open("rb") as f:
                    f.seek(offset)
                    chunk = f.read()
            except OSError:
                chunk = b""
            offset += len(chunk)
            *lines, rest = (rest + chunk).split(b"\n")
            for line in lines:
                if line.strip() and not self.requested.is_set():
                    ahead.add(line)
            self.requested.wait(SCORE_AHEAD_POLL_S)

    def finish(self) -> None:
        """Import, at this thread's priority, what the background thread has not imported yet (a module
        that one is importing, this one waits for)."""
        self.requested.set()
        with contextlib.suppress(Exception):
            _preload(PRELOAD)
            if self.wanted:
                _preload(PRELOAD_MATPLOTLIB)


# A warm-up build takes ~0.1 s of a core; one started when most trials are in would still be running
# when the send ends, and the real build would wait for it (a short run at high concurrency).
WARM_UP_TOO_LATE = 0.5


def nearly_sent(run_dir: Path, share: float = WARM_UP_TOO_LATE) -> bool:
    """True when records.jsonl already has `share` of the plan's trials (the manifest's plan.trials);
    False when either is unknown."""
    from harness.rundir import layout

    try:
        plan = orjson.loads((run_dir / layout.MANIFEST).read_bytes()).get("plan") or {}
        trials = int(plan.get("trials") or 0)
        written = (run_dir / layout.RECORDS).read_bytes().count(b"\n")
    except (OSError, ValueError, TypeError, AttributeError):
        return False
    return trials > 0 and written >= share * trials


def first_records(run_dir: Path, count: int) -> bytes:
    """Up to `count` complete lines from the start of `run_dir`'s records file (b"" when none yet)."""
    from harness.rundir import layout

    try:
        with (run_dir / layout.RECORDS).open("rb") as f:
            head = f.read(1 << 20)
    except OSError:
        return b""
    lines = head.split(b"\n")[:-1][:count]  # the last piece is unterminated (or empty)
    return b"".join(line + b"\n" for line in lines)


def warm_up_build(run_dir: Path, lines: bytes) -> dict[str, Any]:
    """Build the outputs of a scratch run made of `run_dir`'s manifest and `lines` of its records, and
    throw them away: the first build in a process runs pandas', the scorers' and the template's code
    paths for the first time (their lazy imports and caches: ~50 ms on 2 cores), which the real build
    after the send then does not. Writes only into a temporary directory; run_dir is only read.
    Returns the scratch run's summary."""
    import shutil
    import tempfile
    import warnings

    from harness.report import build_outputs
    from harness.rundir import layout

    # Warnings of a few records' statistics (an empty mean) are not the run's: the user never sees
    # them. Safe to change the process's filters here: the real build waits for this thread to end.
    with warnings.catch_warnings(), tempfile.TemporaryDirectory(prefix="harness-warm-up-") as scratch:
        warnings.simplefilter("ignore")
        shutil.copyfile(run_dir / layout.MANIFEST, Path(scratch) / layout.MANIFEST)
        (Path(scratch) / layout.RECORDS).write_bytes(lines)
        # No fork from this thread: the main thread may fork later.
        return build_outputs(scratch, jobs=1).summary


def _preload(names: tuple[str, ...], *, draw: bool = False) -> None:
    import importlib

    for name in names:
        importlib.import_module(name)
    from harness.report import render

    render._template()
    render.page_script()
    if draw:
        _draw_once()


def _draw_once() -> None:
    """Draw and export a small figure: the first one looks up the fonts (regular and bold) and fills
    matplotlib's shared caches, ~0.04 s the report's figures (and the fork that draws half of them)
    then do not spend after the send (the font files themselves matplotlib opens once per thread).
    Draws nothing the report keeps; its figures come out the same."""
    from harness.report.canvas import new_figure, to_svg

    fig, (ax,) = new_figure(2.0, 1.5)
    ax.plot([0.0, 1.0], [0.0, 1.0], label="a")
    ax.annotate("b", (0.5, 0.5), fontweight="bold")
    ax.set_title("c")
    ax.legend()
    to_svg(fig)


def main() -> int:
    """The child: preload (in a nicer thread) while reading one JSON request from stdin, build, answer
    one JSON line on stdout."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _skip_unused_imports()
    import threading

    preload = _Preload()
    preloader = threading.Thread(target=preload.in_background, name="preload", daemon=True)
    preloader.start()
    line = sys.stdin.buffer.readline()
    while line.strip():
        try:
            message = orjson.loads(line)
        except orjson.JSONDecodeError:
            break  # a garbled request: the reply below says so, and the parent builds in-process
        if not (isinstance(message, dict) and "matplotlib" in message):
            break
        warm_up = message.get("warm_up")  # a hint; the run dir to build comes on a later line
        preload.decide(bool(message["matplotlib"]), Path(warm_up) if isinstance(warm_up, str) else None)
        line = sys.stdin.buffer.readline()
    preload.decide(False)  # no hint by now: matplotlib is imported only if a figure needs it
    if not line.strip():
        preload.requested.set()  # no build will come: stop a warm-up or scoring ahead now
        preloader.join()
        return 0  # the parent had nothing for us (dry run, failed validation, interrupted run)
    # The send is over: what the nicer thread has not imported yet is now in the user's wait, so this
    # thread imports it at the normal priority.
    preload.finish()
    preloader.join()  # before building: the figures are drawn in a fork, which no other thread may see
    answer = sys.stdout.buffer
    sys.stdout = sys.stderr  # stdout carries the one reply line; anything printed meanwhile goes to stderr
    try:
        from harness.report import build_outputs

        run_dir = Path(orjson.loads(line)["run_dir"])
        # A fork pays off for matplotlib's figures only: svgchart's draw in milliseconds, and forking a
        # process that holds pandas costs more than the sections it would build alongside.
        outputs = build_outputs(run_dir, jobs=figure_jobs() if preload.wanted else 1, ahead=preload.ahead)
        reply: dict[str, Any] = {
            "ok": True,
            "summary": outputs.summary,
            "report_path": str(outputs.report_path) if outputs.report_path else None,
        }
        data = orjson.dumps(reply, option=orjson.OPT_SERIALIZE_NUMPY)
    except Exception as exc:
        data = orjson.dumps({"ok": False, "error": f"{type(exc).__name__}: {exc}"})
    answer.write(data + b"\n")
    answer.flush()
    return 0


if __name__ == "__main__":
    code = main()
    # Everything is written and flushed; tearing down pandas and matplotlib would only make the
    # parent, which waits for this process, slower by a few tenths of a second.
    os._exit(code)
