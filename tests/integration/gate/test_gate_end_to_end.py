"""The regression gate end to end: `harness run` of a compact suite on the simulator, then
`harness compare`. An 8-point accuracy drop injected at one cell (skill curve) and a 30% slow-down
injected through the simulator's latency model must both be caught, with the right cell named."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import xmlschema
from gate_helpers import compare, run_suite, write_target

XSD = Path(__file__).resolve().parents[2] / "data" / "junit.xsd"

pytestmark = pytest.mark.slow


def test_an_8_point_drop_at_one_cell_exits_1_naming_that_cell(tmp_path: Path) -> None:
    base = run_suite(tmp_path / "base", write_target(tmp_path, "base"), seed=7)
    # Same seed: every answer the drop does not touch is the same, so the pairing sees the drop alone.
    cur = run_suite(tmp_path / "cur", write_target(tmp_path, "drop", drop_at=1.0), seed=7)
    junit, md = tmp_path / "junit.xml", tmp_path / "summary.md"
    code, printed = compare(cur, base, "--junit", str(junit), "--markdown", str(md))
    assert code == 1, printed
    assert "regression in 1 check(s): accuracy at 'temperature=1.0'" in " ".join(printed.split())

    xmlschema.XMLSchema(str(XSD)).validate(str(junit))
    text = junit.read_text(encoding="utf-8")
    assert text.count("<failure ") == 1
    assert 'name="accuracy [temperature=1.0]"' in text

    summary = md.read_text(encoding="utf-8")
    assert summary.startswith(
        "## ❌ harness compare: regression in 1 check(s): accuracy at 'temperature=1.0'"
    )
    assert "| `temperature=0.6` | accuracy |" in summary
    assert "Flipped right → wrong" in summary

    # The comparison section lands in the current run's report, beside its summary.
    report = (cur / "report.html").read_text(encoding="utf-8")
    assert "Comparison with the baseline" in report
    assert "temperature=1.0" in report


def test_a_30_percent_slowdown_is_caught_per_cell_and_the_same_latency_passes(tmp_path: Path) -> None:
    from harness.compare import compare_runs

    # Low concurrency: client and simulator share one event loop here, and bursts of requests on a
    # busy 2-core machine would add their own queueing to the latencies under test.
    latency = "ttft=0.25,jitter=0.3"
    small = ("--set", "dataset.limit=24", "--concurrency", "8", "--set", "gate.gate_latency=true")
    base = run_suite(tmp_path / "base", write_target(tmp_path, "base", latency=latency), seed=3, extra=small)
    slow_target = write_target(tmp_path, "slow", latency=f"{latency},scale=1.3")
    slow = run_suite(tmp_path / "slow", slow_target, seed=3, extra=small)
    bench = tmp_path / "bench.json"
    code, printed = compare(slow, base, "--no-report", "--benchmark-json", str(bench))
    assert code == 1, printed
    assert "regression in 4 check(s): p50_latency_s, p95_latency_s" in " ".join(printed.split())

    comparison = compare_runs(slow, base)
    latency_checks = [c for c in comparison.checks if c.kind == "latency"]
    assert {(c.cell_id, c.metric) for c in latency_checks} == {
        (cell, metric)
        for cell in ("temperature=0.6", "temperature=1.0")
        for metric in ("p50_latency_s", "p95_latency_s")
    }
    for check in latency_checks:
        assert check.verdict == "regression", check.message
        assert check.estimate == pytest.approx(1.3, abs=0.1)
        assert check.ci_low is not None
        assert check.ci_low > 1.2
    assert all(c.verdict != "regression" for c in comparison.checks if c.kind != "latency")

    doc = json.loads(bench.read_text(encoding="utf-8"))
    p50 = {b["name"]: b["stats"]["median"] for b in doc["benchmarks"]}
    assert 0.25 * 1.3 * 0.7 <= p50["p50_latency_s[temperature=0.6]"] <= 0.25 * 1.3 * 1.3 + 0.1

    # Another seed, same latency model: different jitter draws, no slow-down, no alarm.
    again = run_suite(
        tmp_path / "again", write_target(tmp_path, "again", latency=latency), seed=4, extra=small
    )
    code, printed = compare(again, base, "--no-report")
    assert code == 0, printed
