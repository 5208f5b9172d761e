"""harness.report.worker: the child builds exactly what build_outputs builds in-process, hands back the
summary and verdicts, leaves failures to the caller, and never outlives its context."""

from __future__ import annotations

import os
import shutil
import sys
import threading
import time
from pathlib import Path
from typing import Any

import orjson
import pytest
from report_fixtures import write_run

from harness.report import build_outputs
from harness.report.worker import (
    WORKER_ENV,
    OutputsWorker,
    _draw_once,
    draws_with_matplotlib,
    first_records,
    lower_thread_priority,
    outputs_worker,
    owns_process,
    wanted,
    warm_up_build,
    worker_environment,
)

FILES = ("scores.jsonl", "summary.json", "report.html")


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    write_run(tmp_path / "run", axes={"temperature": [0.0, 0.6]}, n_items=4, with_summary=False)
    return tmp_path / "run"


def test_the_child_writes_the_same_bytes_as_an_in_process_build(run_dir: Path, tmp_path: Path) -> None:
    other = tmp_path / "copy"
    shutil.copytree(run_dir, other)
    in_process = build_outputs(other)
    with outputs_worker(True) as worker:
        assert worker is not None
        outputs = worker.build(run_dir)
    assert outputs is not None
    for name in FILES:
        assert (run_dir / name).read_bytes() == (other / name).read_bytes(), name
    assert outputs.summary["cells"] == in_process.summary["cells"]
    assert outputs.threshold_results == in_process.threshold_results
    assert len(outputs.threshold_results) == 3  # best_cell once, each_cell per cell
    assert outputs.report_path == run_dir / "report.html"


@pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="reads /proc/PID/maps (Linux)")
def test_the_child_preloads_pandas_and_matplotlib_without_pyarrow() -> None:
    with outputs_worker(True) as worker:
        assert worker is not None
        worker.expect(matplotlib=True)
        maps = Path(f"/proc/{worker.proc.pid}/maps")
        deadline = time.monotonic() + 120
        while "ft2font" not in maps.read_text() and time.monotonic() < deadline:
            time.sleep(0.05)  # matplotlib's font library: it is imported after pandas
        loaded = maps.read_text()
    assert "ft2font" in loaded
    assert "/pandas/" in loaded
    assert "/pyarrow/" not in loaded


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="a thread's own niceness is Linux's")
def test_the_preloading_thread_alone_is_made_nicer() -> None:
    seen: dict[str, object] = {}

    def preload() -> None:
        tid = threading.get_native_id()
        before = os.getpriority(os.PRIO_PROCESS, tid)
        seen["lowered"] = lower_thread_priority(3)
        seen["delta"] = os.getpriority(os.PRIO_PROCESS, tid) - before

    main = threading.get_native_id()
    before = os.getpriority(os.PRIO_PROCESS, main)
    thread = threading.Thread(target=preload)
    thread.start()
    thread.join()
    assert seen == {"lowered": True, "delta": min(3, 19 - before)}
    assert os.getpriority(os.PRIO_PROCESS, main) == before  # the build's thread keeps its priority


def test_preloading_looks_up_the_fonts_of_the_figures_for_every_thread() -> None:
    from matplotlib import font_manager

    lookup = font_manager.FontManager._findfont_cached
    lookup.cache_clear()
    thread = threading.Thread(target=_draw_once)  # the child preloads in a thread of its own
    thread.start()
    thread.join()
    assert lookup.cache_info().currsize >= 2  # regular and bold, found once for the whole process


def test_a_failed_build_returns_none_for_the_caller_to_redo(tmp_path: Path) -> None:
    (tmp_path / "manifest.json").write_text("{not json")
    with outputs_worker(True) as worker:
        assert worker is not None
        assert worker.build(tmp_path) is None
        assert worker.proc.wait(30) == 0


def test_an_unused_worker_is_stopped_on_exit() -> None:
    with outputs_worker(True) as worker:
        assert worker is not None
        proc = worker.proc
    assert proc.poll() is not None
    assert proc.stdin is not None
    assert proc.stdin.closed


def test_disabled_starts_nothing() -> None:
    with outputs_worker(False) as worker:
        assert worker is None


def test_close_twice_is_harmless(run_dir: Path) -> None:
    worker = OutputsWorker.start()
    assert worker is not None
    worker.close()
    worker.close()
    assert worker.proc.returncode is not None


@pytest.mark.parametrize(("value", "default", "expected"), [("1", False, True), ("0", True, False)])
def test_the_environment_variable_overrides(
    monkeypatch: pytest.MonkeyPatch, value: str, default: bool, expected: bool
) -> None:
    monkeypatch.setenv(WORKER_ENV, value)
    assert wanted(default=default) is expected


def test_inside_another_program_outputs_stay_in_process(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(WORKER_ENV, raising=False)
    assert owns_process() is False  # pytest is __main__ here
    assert wanted() is False
    assert wanted(default=True) is True


def test_the_child_runs_the_parents_code_not_a_harness_in_the_working_directory(
    run_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Another checkout with its own (here: broken) harness package, as the working directory and on
    # PYTHONPATH; the child must still import the parent's harness.
    other = tmp_path / "other-checkout"
    (other / "harness").mkdir(parents=True)
    (other / "harness" / "__init__.py").write_text("raise ImportError('the wrong harness')\n")
    monkeypatch.chdir(other)
    monkeypatch.setenv("PYTHONPATH", str(other))
    with outputs_worker(True) as worker:
        assert worker is not None
        outputs = worker.build(run_dir)
    assert outputs is not None
    assert outputs.report_path == run_dir / "report.html"
    assert (run_dir / "summary.json").exists()


# The child's main() in a process of its own, reporting on stderr, once it has answered, whether it
# imported matplotlib (the real child ends with os._exit and cannot be asked).
_CHILD = """
import sys
from harness.report import worker
worker.main()
sys.stderr.write("\\nMATPLOTLIB " + str("matplotlib" in sys.modules))
"""


def _child(*messages: dict[str, object]) -> tuple[dict[str, object], bool]:
    import subprocess

    stdin = b"".join(orjson.dumps(m) + b"\n" for m in messages)
    result = subprocess.run(
        [sys.executable, "-P", "-c", _CHILD],
        input=stdin,
        capture_output=True,
        env=worker_environment(),
        timeout=120,
        check=True,
    )
    reply = orjson.loads(result.stdout.splitlines()[-1]) if result.stdout.strip() else {}
    return reply, result.stderr.rsplit(b"MATPLOTLIB ", 1)[-1].strip() == b"True"


def test_a_single_cell_report_is_built_without_importing_matplotlib(tmp_path: Path) -> None:
    write_run(tmp_path / "one", axes={}, n_items=5, itl_len=0, with_summary=False)
    reply, imported = _child({"matplotlib": False}, {"run_dir": str(tmp_path / "one")})
    assert reply["ok"] is True
    assert imported is False
    page = (tmp_path / "one" / "report.html").read_text()
    # svgchart's all: the end-to-end and TTFT CDFs, tokens and cost, errors by kind.
    assert page.count("<svg ") == 4


def test_the_hint_preloads_matplotlib_and_a_wrong_hint_still_draws_every_figure(
    run_dir: Path, tmp_path: Path
) -> None:
    reply, imported = _child({"matplotlib": True})  # no run dir: a dry run after the hint
    assert reply == {}
    assert imported is True
    # The parent stopped after its hint (a failed run): the child ends, scoring ahead or not.
    reply, _ = _child({"matplotlib": False, "warm_up": str(run_dir)})
    assert reply == {}
    other = tmp_path / "copy"
    shutil.copytree(run_dir, other)
    build_outputs(other)
    reply, imported = _child({"matplotlib": False}, {"run_dir": str(run_dir)})  # two cells, streamed
    assert reply["ok"] is True
    assert imported is True  # imported when the sweep figures needed it
    assert (run_dir / "report.html").read_bytes() == (other / "report.html").read_bytes()


@pytest.mark.parametrize(
    ("shape", "expected"),
    [
        ({}, False),
        ({"cells": 2}, True),
        ({"streamed": True}, True),
        ({"open_loop": True}, True),
        ({"load_sweep": True}, True),
    ],
)
def test_which_plans_draw_with_matplotlib(shape: dict[str, object], expected: bool) -> None:
    plan: dict[str, object] = {
        "cells": 1,
        "streamed": False,
        "open_loop": False,
        "load_sweep": False,
    }
    assert draws_with_matplotlib(**{**plan, **shape}) is expected  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("suite", "overrides", "expected"),
    [("gsm8k", [], False), ("demo", [], True), ("gsm8k", ["run.delivery=stream"], True)],
)
def test_a_run_tells_the_worker_what_its_plan_draws(suite: str, overrides: list[str], expected: bool) -> None:
    from harness.loading import find_suite, load_suite_source
    from harness.orchestration.suite import _draws_with_matplotlib
    from harness.preflight import RunOptions, prepare_run

    source = load_suite_source(find_suite(suite), overrides=overrides)
    prepared = prepare_run(source, RunOptions(target="sim", limit=2))
    assert _draws_with_matplotlib(prepared) is expected


def test_first_records_are_complete_lines_only(tmp_path: Path) -> None:
    assert first_records(tmp_path, 4) == b""  # no records file yet
    (tmp_path / "records.jsonl").write_bytes(b'{"a": 1}\n{"b": 2}\n{"c": 3}\n{"d":')
    assert first_records(tmp_path, 2) == b'{"a": 1}\n{"b": 2}\n'
    assert first_records(tmp_path, 10) == b'{"a": 1}\n{"b": 2}\n{"c": 3}\n'  # not the torn last line


def _snapshot(run_dir: Path) -> dict[str, bytes]:
    return {str(p.relative_to(run_dir)): p.read_bytes() for p in sorted(run_dir.rglob("*")) if p.is_file()}


def test_a_warm_up_builds_a_few_records_elsewhere_and_leaves_the_run_untouched(run_dir: Path) -> None:
    before = _snapshot(run_dir)
    summary = warm_up_build(run_dir, first_records(run_dir, 5))
    assert summary["overall"]["n_trials"] == 5
    assert _snapshot(run_dir) == before  # nothing written, nothing removed


def test_a_build_after_a_warm_up_writes_the_same_bytes(run_dir: Path, tmp_path: Path) -> None:
    other = tmp_path / "copy"
    shutil.copytree(run_dir, other)
    build_outputs(other)
    warm_up_build(run_dir, first_records(run_dir, 3))  # a scratch run of a different size first
    build_outputs(run_dir)
    for name in FILES:
        assert (run_dir / name).read_bytes() == (other / name).read_bytes(), name


@pytest.mark.parametrize(
    ("scorers", "warms_up"), [(["numeric"], True), (["numeric", "judge"], False), ([], False)]
)
def test_only_suites_whose_scoring_sends_nothing_are_warmed_up(scorers: list[str], warms_up: bool) -> None:
    from types import SimpleNamespace
    from typing import cast

    from harness.orchestration.suite import warm_up_dir
    from harness.preflight import PreparedRun

    prepared = SimpleNamespace(suite=SimpleNamespace(scorers=[SimpleNamespace(name=n) for n in scorers]))
    chosen = warm_up_dir(cast("PreparedRun", prepared), Path("runs/x"))
    assert chosen == (Path("runs/x") if warms_up else None)


def _ahead_of(run_dir: Path) -> Any:
    from harness.report.worker import scores_ahead_for

    ahead = scores_ahead_for(run_dir)
    assert ahead is not None
    for line in (run_dir / "records.jsonl").read_bytes().splitlines():
        ahead.add(line)
    return ahead


def test_scores_computed_ahead_give_the_same_files(run_dir: Path, tmp_path: Path) -> None:
    other = tmp_path / "copy"
    shutil.copytree(run_dir, other)
    build_outputs(other)
    ahead = _ahead_of(run_dir)
    assert len(ahead) == 8  # every line of the fixture's two cells x four items
    build_outputs(run_dir, ahead=ahead)
    for name in FILES:
        assert (run_dir / name).read_bytes() == (other / name).read_bytes(), name


def test_the_build_takes_scores_ahead_by_line_and_only_for_the_same_scorers(run_dir: Path) -> None:
    from harness.config import ScorerConfig
    from harness.records import Score

    ahead = _ahead_of(run_dir)
    first = (run_dir / "records.jsonl").read_bytes().splitlines()[0]
    key = orjson.loads(first)["trial_key"]
    planted = Score(key, 0, "numeric", 0.25, "wrong", "planted", None, "", "", 0)
    ahead._by_line[first] = [planted]  # what the build must take as it is, without scoring again
    build_outputs(run_dir, ahead=ahead)
    scores = [orjson.loads(line) for line in (run_dir / "scores.jsonl").read_bytes().splitlines()]
    assert [s["extracted"] for s in scores if s["trial_key"] == key] == ["planted"]
    other_scorers = [ScorerConfig(name="numeric", metric="number")]
    build_outputs(run_dir, scorers=other_scorers, ahead=ahead)  # scored by others: ahead is ignored
    scores = [orjson.loads(line) for line in (run_dir / "scores.jsonl").read_bytes().splitlines()]
    assert "planted" not in {s["extracted"] for s in scores}
    assert {s["scorer"] for s in scores} == {"number"}


def test_a_judge_is_never_scored_ahead() -> None:
    from harness.config import ScorerConfig
    from harness.scoring.apply import ScoresAhead

    with pytest.raises(ValueError, match="judge"):
        ScoresAhead([ScorerConfig(name="numeric"), ScorerConfig(name="judge", options={"target": "x"})])


def test_the_worker_scores_lines_as_they_are_written_until_the_build_is_asked(run_dir: Path) -> None:
    from harness.report.worker import _Preload

    records = run_dir / "records.jsonl"
    lines = records.read_bytes().splitlines(keepends=True)
    records.write_bytes(b"".join(lines[:3]) + lines[3][:10])  # three lines and a torn fourth
    preload = _Preload()
    thread = threading.Thread(target=preload._score_ahead, args=(run_dir,))
    thread.start()

    def scored(count: int) -> None:  # waits for the thread's polls, whatever the machine's speed
        deadline = time.monotonic() + 60
        while (preload.ahead is None or len(preload.ahead) < count) and time.monotonic() < deadline:
            time.sleep(0.01)

    scored(3)
    with records.open("ab") as f:
        f.write(lines[3][10:] + b"".join(lines[4:]))  # the fourth line completed, and the rest
    scored(len(lines))
    preload.requested.set()
    thread.join(30)
    assert preload.ahead is not None
    assert len(preload.ahead) == len(lines)
    assert all(preload.ahead.get(line.rstrip(b"\n")) is not None for line in lines)


def test_a_warm_up_is_skipped_when_most_trials_are_in(tmp_path: Path) -> None:
    from harness.report.worker import nearly_sent

    assert nearly_sent(tmp_path) is False  # no manifest, no records: unknown, so not late
    (tmp_path / "manifest.json").write_bytes(orjson.dumps({"plan": {"trials": 10}}))
    (tmp_path / "records.jsonl").write_bytes(b"{}\n" * 4)
    assert nearly_sent(tmp_path) is False
    (tmp_path / "records.jsonl").write_bytes(b"{}\n" * 5)
    assert nearly_sent(tmp_path) is True
    (tmp_path / "manifest.json").write_bytes(b"{}")
    assert nearly_sent(tmp_path) is False  # a manifest without a plan
