"""A load sweep end to end on the embedded simulator with a capacity model: the sweep profile finds the
configured knee (slots / service time), every point has its own trials, and a resume sends nothing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.cli import main

ROWS = [{"id": f"q{i}", "question": f"What is {i} + {i + 1}?", "answer": str(2 * i + 1)} for i in range(10)]
SLOTS = 2
SERVICE_S = 0.1  # ttft only: no decode time, no jitter, so every request holds its slot 0.1 s
KNEE_RPS = SLOTS / SERVICE_S


def write_suite(tmp_path: Path, load: dict[str, Any], **extra: Any) -> Path:
    (tmp_path / "rows.jsonl").write_text("".join(json.dumps(r) + "\n" for r in ROWS))
    target = {
        "provider": "simulator",
        "model": "alibaba:qwen@3.5-397b",
        "capability": "qwen3.5-397b",
        "delivery": "stream",
        "simulator": {
            "latency": f"ttft={SERVICE_S},tps=0,jitter=0,per_ktok=0",
            "capacity": f"slots={SLOTS}",
        },
    }
    (tmp_path / "capacity-sim.yaml").write_text(yaml.safe_dump(target))
    suite = {
        "name": "sweep-test",
        "dataset": {"path": "rows.jsonl", "fields": {"id": "id", "input": "question", "target": "answer"}},
        "settings": {"maxTokens": 256, "thinkingLevel": "low", "seed": 3},
        "scorers": ["numeric"],
        "target": str(tmp_path / "capacity-sim.yaml"),
        "run": {"retries": {"max_attempts": 1}},
        "load": load,
        **extra,
    }
    path = tmp_path / "suite.yaml"
    path.write_text(yaml.safe_dump(suite))
    return path


def run(suite: Path, *args: str) -> int:
    return main(["run", str(suite), "--no-progress", *args])


def records(out: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (out / "records.jsonl").read_text().splitlines() if line]


@pytest.mark.slow
def test_sweep_finds_the_configured_knee_and_resume_sends_nothing(tmp_path: Path) -> None:
    suite = write_suite(
        tmp_path,
        {"profile": "sweep", "rates": 3, "requests": 24, "warmup": 2, "arrival": ["constant"]},
        slo={"e2e_s": 0.3, "quantile": 0.9},
    )
    out = tmp_path / "run"
    assert run(suite, "--out", str(out)) == 0
    summary = json.loads((out / "summary.json").read_text())
    load = summary["load"]
    ids = [p["id"] for p in load["points"]]
    assert ids[:2] == ["concurrency=1", "throughput"]
    assert len(ids) >= 3  # at least one open-loop rate ran (fewer than 3 only if one saturated)
    assert load["knee_from"] == "throughput"
    assert abs(load["knee_rps"] - KNEE_RPS) / KNEE_RPS <= 0.10
    floor = load["points"][0]
    assert floor["throughput_rps"] <= 1.05 / SERVICE_S  # one request at a time: never above one slot's rate
    assert load["points"][1]["saturated"] is True  # everything sent at once: the queue grows
    got = records(out)
    assert len(got) == 24 * len(ids)
    assert len({r["trial_key"] for r in got}) == len(got)
    assert {r["load_point"] for r in got} == set(ids)
    assert sum(r["load_window"] == "warmup" for r in got) == 2 * len(ids)
    manifest = json.loads((out / "manifest.json").read_text())
    assert (
        manifest["load"]["rates"] == [p["offered_rps"] for p in load["points"][2:]] or load["stopped_early"]
    )
    assert "resumed" not in manifest  # each phase is an engine session, but this run was not resumed

    assert run(suite, "--resume", str(out)) == 0
    assert len(records(out)) == len(got)
    again = json.loads((out / "manifest.json").read_text())
    assert again["load"]["rates"] == manifest["load"]["rates"]
    assert len(again["resumed"]) == 1


def test_warmup_that_leaves_nothing_to_measure_is_refused_before_sending(tmp_path: Path) -> None:
    suite = write_suite(tmp_path, {"concurrency": [1], "warmup": 6, "cooldown": 4})
    out = tmp_path / "run"
    assert run(suite, "--out", str(out)) == 2
    assert not (out / "records.jsonl").exists()


def test_fixed_points_stop_at_the_first_saturated_rate_and_say_so(tmp_path: Path) -> None:
    # knee 20 req/s: 40 req/s completes at ~20/s (half the schedule), so 80 req/s is never run
    suite = write_suite(tmp_path, {"rate": [10, 40, 80], "requests": 32}, slo={"e2e_s": 0.5, "quantile": 0.9})
    out = tmp_path / "run"
    assert run(suite, "--out", str(out)) == 0
    load = json.loads((out / "summary.json").read_text())["load"]
    assert [p["id"] for p in load["points"]] == ["rate=10", "rate=40"]
    low, high = load["points"]
    assert low["saturated"] is False
    assert high["saturated"] is True
    assert load["first_saturated"] == "rate=40"
    assert load["stopped_early"].startswith("rate=40 saturated the service")
    assert "1 higher load points were not run" in load["stopped_early"]
    assert high["throughput_rps"] == pytest.approx(KNEE_RPS, rel=0.15)
    # e2e <= 0.5 s: at 10/s a request takes its 0.1 s; at 40/s the n-th waits ~n x 0.025 s more in
    # the queue, so only about the first 17 of 32 meet it
    assert low["slo"]["meets"] is True
    assert high["slo"]["share"]["all"] < 0.75
    assert load["slo"]["max_rate_is_lower_bound"] is False
    assert low["throughput_rps"] <= load["slo"]["max_rate_at_slo"] <= high["throughput_rps"]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["plan"]["trials"] == 32 * 2  # the skipped point is no longer planned

    # compare pairs the two sweeps' requests point by point: complete, and the load check present
    from harness.compare import compare_runs

    comparison = compare_runs(out, out)
    assert comparison.problems == []
    assert comparison.pairing.matched == 64
    (check,) = [c for c in comparison.checks if c.metric == "max_rate_at_slo"]
    assert check.verdict == "pass"
    assert check.estimate == pytest.approx(1.0)
