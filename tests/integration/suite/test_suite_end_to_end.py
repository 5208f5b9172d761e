"""Whole runs through the CLI on the embedded simulator: the shipped gsm8k suite, dry-run counts against
hand-computed numbers, the dry-run cost estimate against what the simulator bills, resume, exit codes."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.cli import main
from harness.loading import load_suite_source
from harness.orchestration.suite import run_suite
from harness.paths import configs_dir, suites_dir
from harness.preflight import RunOptions

ROWS = [{"id": f"q{i}", "question": f"What is {i} + {i + 1}?", "answer": str(2 * i + 1)} for i in range(7)]


def fast_sim_target(tmp_path: Path, **changes: Any) -> Path:
    """The shipped sim target without latency (same estimate lengths), for quick tests."""
    data = yaml.safe_load((configs_dir() / "targets" / "sim.yaml").read_text())
    data["simulator"] = {"latency": "0", "seed": 0}
    data.update(changes)
    path = tmp_path / "fast-sim.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def write_rows(tmp_path: Path) -> None:
    (tmp_path / "rows.jsonl").write_text("".join(json.dumps(r) + "\n" for r in ROWS))


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


@pytest.mark.slow
def test_gsm8k_limit_50_on_sim_end_to_end(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "run"
    code = main(
        [
            "run",
            str(suites_dir() / "gsm8k.yaml"),
            "--target",
            "sim",
            "--limit",
            "50",
            "--out",
            str(out),
            "--no-progress",
        ]
    )
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert f"report: {out / 'report.html'}" in captured.out
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) == [
        "manifest.json",
        "records.jsonl",
        "report.html",
        "scores.jsonl",
        "summary.json",
    ]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "complete"
    assert manifest["plan"]["trials"] == 50
    assert manifest["suite"]["name"] == "gsm8k"
    assert manifest["suite"]["dataset"]["limit"] == 50
    assert "test-key" not in (out / "manifest.json").read_text()
    records = read_jsonl(out / "records.jsonl")
    assert len(records) == 50
    assert len({r["trial_key"] for r in records}) == 50
    assert all(r["status"] == "ok" for r in records)
    assert {r["item_id"] for r in records} == {f"gsm8k-test-{i:04d}" for i in range(50)}
    assert all(r["reference"] is not None for r in records)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["overall"]["n_trials"] == 50
    assert 0.5 <= summary["overall"]["metrics"]["accuracy"]["mean"] <= 1.0
    assert len(read_jsonl(out / "scores.jsonl")) == 50
    assert (out / "report.html").read_text().lstrip().lower().startswith("<!doctype html")


def test_dry_run_counts_match_hand_computed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_rows(tmp_path)
    (tmp_path / "s.yaml").write_text(
        "name: counts\n"
        "dataset: {path: rows.jsonl, fields: {id: id, input: question, target: answer}}\n"
        "grid:\n  temperature: [0, 0.6, 1.2]\n  thinkingLevel: [low, high]\n"
        "  cells: [{temperature: 0.3, numberResults: 2}]\n"
        "repeats: 2\nscorers: [numeric]\n"
    )
    target = fast_sim_target(tmp_path, batch_size=4)
    assert main(["run", str(tmp_path / "s.yaml"), "--target", str(target), "--dry-run"]) == 0
    text = capsys.readouterr().out
    counts = {
        k: int(v) for k, v in re.findall(r"^  (cells|items|trials|requests|results)\s+(\d+)", text, re.M)
    }
    # 3 x 2 cells + 1 explicit = 7; 7 cells x 7 items x 2 repeats = 98 trials; 98 / 4 per POST -> 25 requests;
    # results: 6 cells x 7 x 2 x 1 + 1 cell x 7 x 2 x 2 = 112.
    assert counts == {"cells": 7, "items": 7, "trials": 98, "requests": 25, "results": 112}
    assert "nothing was sent" in text
    assert not (tmp_path / "reports").exists()


def test_dry_run_counts_one_request_per_trial_when_streaming(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A stream is one SSE body per task, so batch_size does not batch a streamed run."""
    write_rows(tmp_path)
    (tmp_path / "s.yaml").write_text(
        "name: counts\ndataset: {path: rows.jsonl, fields: {id: id, input: question, target: answer}}\n"
        "repeats: 2\nrun: {delivery: stream}\n"
    )
    target = fast_sim_target(tmp_path, batch_size=4)
    assert main(["run", str(tmp_path / "s.yaml"), "--target", str(target), "--dry-run"]) == 0
    text = capsys.readouterr().out
    counts = dict(re.findall(r"^  (trials|requests)\s+(\d+)", text, re.M))
    assert counts == {"trials": "14", "requests": "14"}


def test_dry_run_says_when_prices_are_placeholders(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_rows(tmp_path)
    (tmp_path / "s.yaml").write_text(
        "name: prices\ndataset: {path: rows.jsonl, fields: {id: id, input: question, target: answer}}\n"
    )
    placeholder = fast_sim_target(tmp_path, batch_size=1)
    assert main(["run", str(tmp_path / "s.yaml"), "--target", str(placeholder), "--dry-run"]) == 0
    assert "uses placeholder prices" in capsys.readouterr().out
    real = tmp_path / "real-prices.yaml"
    real.write_text(
        placeholder.read_text()
        + "prices: {prompt_per_mtok: 0.5, completion_per_mtok: 3.0, placeholder: false}\n"
    )
    assert main(["run", str(tmp_path / "s.yaml"), "--target", str(real), "--dry-run"]) == 0
    assert "placeholder" not in capsys.readouterr().out


@pytest.mark.slow
def test_dry_run_estimate_within_20_percent_of_simulator_bill(tmp_path: Path) -> None:
    target = fast_sim_target(tmp_path)
    source = load_suite_source(suites_dir() / "demo.yaml", overrides=["dataset.limit=10"])
    planned = run_suite(source, RunOptions(target=str(target), dry_run=True), out=io.StringIO())
    assert planned.estimate is not None
    estimated = planned.estimate.cost_usd
    result = run_suite(source, RunOptions(target=str(target), out=tmp_path / "run", progress=False))
    assert result.exit_code == 0
    assert result.plan.n_trials == planned.plan.n_trials == 120
    billed = sum(r["cost_usd"] for r in read_jsonl(tmp_path / "run" / "records.jsonl"))
    assert billed > 0
    assert abs(estimated - billed) / billed < 0.20, (estimated, billed)
    assert planned.estimate.prompt_tokens == result.summary["overall"]["tokens"]["prompt"]  # type: ignore[index]


def test_resume_sends_only_missing_trials(tmp_path: Path) -> None:
    write_rows(tmp_path)
    (tmp_path / "s.yaml").write_text(
        "name: resume\ndataset: {path: rows.jsonl, fields: {id: id, input: question, target: answer}}\n"
        "grid: {topK: [10, 20]}\nscorers: [numeric]\n"
    )
    target = str(fast_sim_target(tmp_path))
    out = tmp_path / "run"
    assert (
        main(
            [
                "run",
                str(tmp_path / "s.yaml"),
                "--target",
                target,
                "--out",
                str(out),
                "--limit",
                "3",
                "--no-progress",
            ]
        )
        == 0
    )
    first = read_jsonl(out / "records.jsonl")
    assert len(first) == 6
    code = main(["run", str(tmp_path / "s.yaml"), "--target", target, "--resume", str(out), "--no-progress"])
    assert code == 0
    records = read_jsonl(out / "records.jsonl")
    assert len(records) == 14  # 7 items x 2 cells, the first 6 not sent again
    assert records[:6] == first
    assert len({r["trial_key"] for r in records}) == 14


def test_out_dir_with_records_needs_resume(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_rows(tmp_path)
    (tmp_path / "s.yaml").write_text(
        "name: x\ndataset: {path: rows.jsonl, fields: {input: question, target: answer}}\n"
    )
    target = str(fast_sim_target(tmp_path))
    out = tmp_path / "run"
    assert (
        main(["run", str(tmp_path / "s.yaml"), "--target", target, "--out", str(out), "--no-progress"]) == 0
    )
    assert (
        main(["run", str(tmp_path / "s.yaml"), "--target", target, "--out", str(out), "--no-progress"]) == 2
    )
    assert "--resume" in capsys.readouterr().err


def test_failed_threshold_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_rows(tmp_path)
    (tmp_path / "s.yaml").write_text(
        "name: t\ndataset: {path: rows.jsonl, fields: {input: question, target: answer}}\n"
        "scorers: [numeric]\nthresholds: ['accuracy >= 1.01 in overall']\n"
    )
    code = main(
        [
            "run",
            str(tmp_path / "s.yaml"),
            "--target",
            str(fast_sim_target(tmp_path)),
            "--out",
            str(tmp_path / "r"),
            "--no-progress",
        ]
    )
    captured = capsys.readouterr()
    assert code == 1
    assert "threshold failed" in captured.err
    assert (tmp_path / "r" / "report.html").exists()


def test_unreachable_target_exits_3(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import socket

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    write_rows(tmp_path)
    (tmp_path / "s.yaml").write_text(
        "name: t\ndataset: {path: rows.jsonl, fields: {input: question, target: answer}}\nscorers: [numeric]\n"
        "run: {retries: {max_attempts: 1}, circuit_breaker_window: 5}\n"
    )
    (tmp_path / "t.yaml").write_text(
        f"provider: runware\nendpoint: http://127.0.0.1:{port}/v1\nmodel: alibaba:qwen@3.5-397b\n"
    )
    code = main(
        [
            "run",
            str(tmp_path / "s.yaml"),
            "--target",
            str(tmp_path / "t.yaml"),
            "--out",
            str(tmp_path / "r"),
            "--no-progress",
        ]
    )
    err = capsys.readouterr().err
    assert code == 3, err
    assert "resume with: harness run" in err


def test_demo_command_prints_report_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # The shipped demo on a latency-free copy of the project's sim target (the shipped one takes ~20 s).
    home = tmp_path / "home"
    (home / "configs" / "targets").mkdir(parents=True)
    (home / "configs" / "models").symlink_to(configs_dir() / "models")
    (home / "configs" / "prices.yaml").symlink_to(configs_dir() / "prices.yaml")
    fast_sim_target(tmp_path).rename(home / "configs" / "targets" / "sim.yaml")
    (home / "suites").mkdir()
    demo = yaml.safe_load((suites_dir() / "demo.yaml").read_text())
    demo["dataset"]["path"] = str(suites_dir() / demo["dataset"]["path"])
    demo["dataset"]["limit"] = 5
    (home / "suites" / "demo.yaml").write_text(yaml.safe_dump(demo))
    monkeypatch.setenv("HARNESS_HOME", str(home))
    assert main(["demo", "--out", str(tmp_path / "demo"), "--no-progress"]) == 0
    assert f"report: {tmp_path / 'demo' / 'report.html'}" in capsys.readouterr().out
    summary = json.loads((tmp_path / "demo" / "summary.json").read_text())
    assert len(summary["cells"]) == 12


@pytest.mark.slow
def test_ctrl_c_exits_130_and_prints_the_resume_command(tmp_path: Path) -> None:
    import signal
    import subprocess
    import sys
    import time

    write_rows(tmp_path)
    (tmp_path / "s.yaml").write_text(
        "name: t\ndataset: {path: rows.jsonl, fields: {input: question, target: answer}}\nscorers: [numeric]\n"
        "repeats: 20\nrun: {concurrency: 2}\n"
    )
    target = fast_sim_target(tmp_path, simulator={"latency": "ttft=0.2", "seed": 0})
    out = tmp_path / "run"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "harness",
            "run",
            str(tmp_path / "s.yaml"),
            "--target",
            str(target),
            "--out",
            str(out),
            "--no-progress",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not (out / "records.jsonl").exists():
        time.sleep(0.05)
    time.sleep(0.3)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert f"--resume {out}" in err
    done = read_jsonl(out / "records.jsonl")
    assert 0 < len(done) < 140
