"""Whole `harness run` against an external server, as a ratio to a bare aiohttp client (issue #15).

The workload: suites/gsm8k.yaml, 500 items, sync delivery, concurrency 64 (and 512), against a
Runware-protocol server with a fixed 50 ms latency running in its own process. The server is
`harness simulator` started as a separate process (SimulatorProcess) and reached through a target file
with `provider: runware`: from the harness's side that is an external Runware endpoint like any other
(nothing is started in-process, no simulator code runs in the harness), and unlike a mock written here it
speaks the whole protocol the harness relies on: validation, usage, cost, the answer key that makes the
suite's accuracy threshold pass. The bare client (bare_runware_client.py) is a whole process too,
sending the same 500 wire tasks (built by the harness's own `build_task`) to the same server.

Harness and bare rounds alternate (5 pairs after one warm-up pair that fills the bytecode cache), so
both see the same machine load; every figure is a median over the rounds, and extra_info holds:
- `wall_ratio`: the harness's whole-run wall time over the bare client's (issue target: <= 1.6);
- `harness_wall_s`, `bare_wall_s`, `harness_cpu_s`, `bare_cpu_s` (user + system, children included);
- `harness_peak_mib`, `bare_peak_mib`: the largest resident set of any one process of the command
  (what `/usr/bin/time -v` reports; target: under 150 MiB);
- `send_rate_ratio`: the harness's requests/s from its first send to its last answer (from the records)
  over the bare client's over the same span (target: >= 0.85);
- the harness's phases, read from outside: `start_s` (process start to the manifest's started_at),
  `first_send_s` (started_at to the first request), `send_s` (first request to last answer),
  `outputs_s` (last answer to report.html written), `exit_s` (the rest);
- `loadavg_1m`: the machine's load when the rounds ran (other work on the cores moves every figure).
"""

from __future__ import annotations

import gzip
import os
import statistics
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime
from itertools import count
from pathlib import Path
from typing import Any

import orjson
import pytest
from run_command import gsm8k_run_command

from harness.loading import find_suite, load_suite_source
from harness.paths import suites_dir
from harness.preflight import RunOptions, prepare_run
from harness.providers.runware import build_task
from harness.simulator import SimulatorOptions, SimulatorProcess

ITEMS = 500
ROUNDS = 5
LATENCY = "ttft=0.05,per_ktok=0"  # 50 ms per request, whatever its length
KEY_ENV = "HARNESS_BENCH_KEY"
BARE_CLIENT = Path(__file__).with_name("bare_runware_client.py")


def _gsm8k_gold() -> dict[str, str]:
    rows = gzip.decompress((suites_dir() / "data" / "gsm8k_test.jsonl.gz").read_bytes()).splitlines()
    return {row["question"]: row["target"] for row in map(orjson.loads, rows)}


@pytest.fixture(scope="module")
def server() -> Iterator[SimulatorProcess]:
    options = SimulatorOptions(latency=LATENCY, answer_key=_gsm8k_gold())
    with SimulatorProcess(options) as sim:
        yield sim


@pytest.fixture
def workload(tmp_path: Path, server: SimulatorProcess) -> tuple[Path, Path]:
    """The target file pointing at the server, and the bare client's wire tasks (the harness's own)."""
    target = tmp_path / "external-runware.yaml"
    target.write_text(
        "provider: runware\n"
        f"endpoint: {server.runware_url}\n"
        "model: alibaba:qwen@3.5-397b\n"
        "capability: qwen3.5-397b\n"
        f"api_key_env: {KEY_ENV}\n"
        "delivery: sync\n"
        "include_cost: true\n"
    )
    source = load_suite_source(find_suite("gsm8k"))
    prepared = prepare_run(source, RunOptions(target=str(target), limit=ITEMS), environ={KEY_ENV: "bench"})
    tasks = [build_task(trial, "", "sync", True) for trial in prepared.plan.trials]
    for task in tasks:
        del task["taskUUID"]  # a fresh one per request, as the harness makes
    tasks_file = tmp_path / "tasks.json"
    tasks_file.write_bytes(orjson.dumps(tasks))
    return target, tasks_file


def _environment(tmp_path: Path) -> dict[str, str]:
    # Bytecode goes to a private cache filled by the warm-up round, as in an installed harness (this
    # machine sets PYTHONDONTWRITEBYTECODE, which would recompile every module in every run).
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(tmp_path / "pycache")
    env[KEY_ENV] = "bench"
    return env


# Runs a command and reports its wall time and its rusage (its reaped children's included) as
# /usr/bin/time does. The peak is read in this small process rather than in pytest's: a child forked
# from a large process counts that process's pages in its peak until it executes the command.
_TIME = """
import os, subprocess, sys, time, orjson
started, started_at = time.perf_counter(), time.time()
proc = subprocess.Popen(sys.argv[2:])
_, status, usage = os.wait4(proc.pid, 0)
report = {"wall_s": time.perf_counter() - started, "started_at": started_at, "ended_at": time.time(), "cpu_s": usage.ru_utime + usage.ru_stime,
          "peak_mib": usage.ru_maxrss / 1024, "code": os.waitstatus_to_exitcode(status)}
with open(sys.argv[1], "wb") as f:
    f.write(orjson.dumps(report))
"""


def _run(command: list[str], env: dict[str, str], usage_file: Path) -> tuple[dict[str, Any], bytes, bytes]:
    """Wall seconds, CPU seconds (user + system) and peak RSS (MiB, of the largest process) of a
    command, its reaped children included; with its stdout and stderr."""
    result = subprocess.run(
        [sys.executable, "-c", _TIME, str(usage_file), *command], env=env, capture_output=True, check=False
    )
    assert result.returncode == 0, result.stderr.decode()
    usage: dict[str, Any] = orjson.loads(usage_file.read_bytes())
    return usage, result.stdout, result.stderr


def _harness_send_span(run_dir: Path) -> tuple[float, float]:
    """First send and last answer of a run, seconds on the run's clock (the records' timing)."""
    sends: list[float] = []
    done: list[float] = []
    for line in (run_dir / "records.jsonl").read_bytes().splitlines():
        timing = orjson.loads(line)["timing"]
        sends.append(timing["sent_at_s"])
        done.append(timing["done_at_s"])
    return min(sends), max(done)


def _phases(run_dir: Path, started: float, ended: float) -> dict[str, float]:
    manifest = orjson.loads((run_dir / "manifest.json").read_bytes())
    run_start = datetime.fromisoformat(manifest["started_at"]).timestamp()
    # The records' clock starts when the engine does, within a millisecond of started_at.
    first_send, last_answer = _harness_send_span(run_dir)
    written = (run_dir / "report.html").stat().st_mtime
    return {
        "start_s": run_start - started,
        "first_send_s": first_send,
        "send_s": last_answer - first_send,
        "outputs_s": written - (run_start + last_answer),
        "exit_s": ended - written,
    }


@pytest.mark.parametrize("concurrency", [64, 512])
def test_whole_run_against_external_server(
    benchmark: Any, tmp_path: Path, workload: tuple[Path, Path], server: SimulatorProcess, concurrency: int
) -> None:
    target, tasks_file = workload
    env = _environment(tmp_path)
    runs = count()
    harness_rounds: list[dict[str, float]] = []
    bare_rounds: list[dict[str, float]] = []

    def bare_round() -> None:
        command = [sys.executable, str(BARE_CLIENT), server.runware_url, str(tasks_file), str(concurrency)]
        usage, out, err = _run(command, env, tmp_path / "usage.json")
        assert usage["code"] == 0, err.decode()
        result = orjson.loads(out)
        assert result["ok"] == ITEMS
        span = result["last_answer_s"] - result["first_send_s"]
        bare_rounds.append({**usage, "send_s": span})

    def harness_round() -> int:
        out_dir = tmp_path / f"run-{next(runs)}"
        command = gsm8k_run_command(target, out_dir, items=ITEMS, concurrency=concurrency)
        usage, _, err = _run(command, env, tmp_path / "usage.json")
        assert usage["code"] == 0, err.decode()
        harness_rounds.append({**usage, **_phases(out_dir, usage["started_at"], usage["ended_at"])})
        code: int = usage["code"]
        return code

    bare_round()  # warm-up of both (bytecode cache, the server's connections)
    harness_round()
    bare_rounds.clear()
    harness_rounds.clear()
    code = benchmark.pedantic(harness_round, setup=bare_round, rounds=ROUNDS, iterations=1)
    assert code == 0
    summary = orjson.loads((tmp_path / "run-0" / "summary.json").read_bytes())
    assert summary["overall"]["n_trials"] == ITEMS
    assert summary["overall"]["n_ok"] == ITEMS

    def median(rounds: list[dict[str, float]], key: str) -> float:
        return statistics.median(r[key] for r in rounds)

    harness_rate = ITEMS / median(harness_rounds, "send_s")
    bare_rate = ITEMS / median(bare_rounds, "send_s")
    info: dict[str, float] = {
        "wall_ratio": median(harness_rounds, "wall_s") / median(bare_rounds, "wall_s"),
        "harness_wall_s": median(harness_rounds, "wall_s"),
        "bare_wall_s": median(bare_rounds, "wall_s"),
        "harness_cpu_s": median(harness_rounds, "cpu_s"),
        "bare_cpu_s": median(bare_rounds, "cpu_s"),
        "harness_peak_mib": max(r["peak_mib"] for r in harness_rounds),
        "bare_peak_mib": max(r["peak_mib"] for r in bare_rounds),
        "send_rate_ratio": harness_rate / bare_rate,
        "harness_requests_per_s": harness_rate,
        "bare_requests_per_s": bare_rate,
    }
    for phase in ("start_s", "first_send_s", "send_s", "outputs_s", "exit_s"):
        info[phase] = median(harness_rounds, phase)
    info["loadavg_1m"] = os.getloadavg()[0]
    benchmark.extra_info.update({k: round(v, 3) for k, v in info.items()})
    print(
        f"\nexternal server, concurrency {concurrency}: " + ", ".join(f"{k} {v:.3f}" for k, v in info.items())
    )
