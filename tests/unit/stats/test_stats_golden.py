"""The committed tiny run directory tests/golden/run_small, summarised and checked field by field.

Two cells (temperature 0.0 and 1.0) x four items. Cell 0.0: right, right, wrong, no answer; e2e 1..4 s;
$0.001 a trial both ways. Cell 1.0: q1 streamed and right (TTFT 0.5 s, gaps 0.1/0.2/0.3 s), q2 wrong after
one rate-limited retry, q3 truncated, q4 failed (timeout, 3 attempts); the service charged $0.002 where
the price table says $0.0015.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import orjson
import pytest

from harness.stats import load_run, summarize
from harness.stats.notebook import read_run_records, read_run_scores

GOLDEN = Path(__file__).resolve().parents[2] / "golden" / "run_small"


@pytest.fixture(scope="module")
def summary() -> dict:  # type: ignore[type-arg]
    manifest = json.loads((GOLDEN / "manifest.json").read_text())
    return summarize(read_run_records(GOLDEN), read_run_scores(GOLDEN), manifest=manifest)


def test_header(summary: dict) -> None:  # type: ignore[type-arg]
    assert summary["schema_version"] == 1
    assert summary["suite"] == "golden"
    assert summary["primary_metric"] == "accuracy"
    assert summary["scorers"] == ["numeric"]
    assert summary["swept_axes"] == ["temperature"]
    assert summary["rate"] == {"target_rps": 2.0, "achieved_rps": 1.95}


def test_counts_and_outcomes(summary: dict) -> None:  # type: ignore[type-arg]
    c0, c1 = summary["cells"]
    assert (c0["cell_id"], c0["cell"]) == ("temperature=0.0", {"temperature": 0.0})
    assert (c0["n_trials"], c0["n_ok"], c0["n_error"], c0["n_results"], c0["n_items"]) == (4, 4, 0, 4, 4)
    assert (c1["n_trials"], c1["n_ok"], c1["n_error"], c1["n_results"], c1["n_items"]) == (4, 3, 1, 3, 4)
    assert c0["outcomes"] == {
        "correct": 2,
        "wrong": 1,
        "no_answer": 1,
        "truncated": 0,
        "error": 0,
        "invalid": 0,
    }
    assert c1["outcomes"] == {
        "correct": 1,
        "wrong": 1,
        "no_answer": 0,
        "truncated": 1,
        "error": 1,
        "invalid": 0,
    }
    assert summary["overall"]["n_trials"] == 8
    assert summary["overall"]["n_items"] == 4


def test_accuracy_wilson(summary: dict) -> None:  # type: ignore[type-arg]
    # Wilson 95%: 2/4 -> (0.1500, 0.8500); 1/4 -> (0.0456, 0.6994).
    a0 = summary["cells"][0]["metrics"]["accuracy"]
    a1 = summary["cells"][1]["metrics"]["accuracy"]
    assert (a0["mean"], a0["n"], a0["method"], a0["se"]) == (0.5, 4, "wilson", 0.25)
    assert (a0["ci_low"], a0["ci_high"]) == (pytest.approx(0.1500, abs=1e-4), pytest.approx(0.8500, abs=1e-4))
    assert (a1["mean"], a1["se"]) == (0.25, pytest.approx((0.25 * 0.75 / 4) ** 0.5))
    assert (a1["ci_low"], a1["ci_high"]) == (pytest.approx(0.0456, abs=1e-4), pytest.approx(0.6994, abs=1e-4))
    overall = summary["overall"]["metrics"]["accuracy"]
    assert (overall["mean"], overall["n"], overall["method"]) == (0.375, 8, "cluster-bootstrap")
    assert summary["cells"][0]["metrics"]["score:numeric"] == a0


def test_latency(summary: dict) -> None:  # type: ignore[type-arg]
    l0 = summary["cells"][0]["latency"]
    assert l0["e2e_s"] == {"p50": 2.5, "p90": pytest.approx(3.7), "p95": pytest.approx(3.85),
                           "p99": pytest.approx(3.97), "mean": 2.5, "max": 4.0, "n": 4}  # fmt: skip
    assert (l0["ttft_s"], l0["ttft_answer_s"], l0["itl_s"]) == (None, None, None)
    assert l0["output_tps"]["max"] == 50.0  # 50 tokens in 1 s, non-streamed: done - sent
    l1 = summary["cells"][1]["latency"]
    assert (l1["e2e_s"]["n"], l1["e2e_s"]["p50"], l1["e2e_s"]["max"]) == (
        3,
        2.0,
        3.0,
    )  # the failure is left out
    assert (l1["ttft_s"]["p50"], l1["ttft_s"]["n"]) == (0.5, 1)
    assert l1["ttft_answer_s"]["p50"] == 0.8
    assert (l1["itl_s"]["p50"], l1["itl_s"]["n"], l1["itl_s"]["max"]) == (0.2, 3, 0.3)
    # q1: 60 tokens / (2.0 - 0.5) s streamed; q2: 60 / 1.5; q3: 60 / 3.
    assert sorted([l1["output_tps"]["p50"], l1["output_tps"]["mean"]]) == [pytest.approx(100 / 3), 40.0]
    assert l1["queue_s"]["max"] == pytest.approx(1.1)  # q2 was scheduled at 0, sent (after its retry) at 1.1
    assert l1["e2e_from_schedule_s"]["max"] == pytest.approx(3.0)
    assert l1["e2e_from_schedule_s"]["p50"] == pytest.approx(2.6)


def test_tokens_and_cost(summary: dict) -> None:  # type: ignore[type-arg]
    c0, c1 = summary["cells"]
    assert c0["tokens"] == {"prompt": 400, "completion": 200, "thinking": 40, "per_trial_prompt": 100.0,
                            "per_trial_completion": 50.0, "per_trial_thinking": 10.0}  # fmt: skip
    assert c1["tokens"]["prompt"] == 360
    assert c1["tokens"]["per_trial_thinking"] == 20.0
    assert c0["cost"] == {"total_usd": pytest.approx(0.004), "per_trial_usd": pytest.approx(0.001),
                          "per_correct_usd": pytest.approx(0.002), "service_usd": pytest.approx(0.004),
                          "price_table_usd": pytest.approx(0.004), "mismatch": False}  # fmt: skip
    assert c1["cost"] == {"total_usd": pytest.approx(0.006), "per_trial_usd": pytest.approx(0.0015),
                          "per_correct_usd": pytest.approx(0.006), "service_usd": pytest.approx(0.006),
                          "price_table_usd": pytest.approx(0.0045), "mismatch": True}  # fmt: skip
    assert summary["cost"] == {"total_usd": pytest.approx(0.01), "service_usd": pytest.approx(0.01),
                               "price_table_usd": pytest.approx(0.0085), "mismatch": True}  # fmt: skip


def test_errors(summary: dict) -> None:  # type: ignore[type-arg]
    assert summary["cells"][0]["errors"]["count"] == 0
    assert summary["cells"][1]["errors"] == {"count": 1, "rate": 0.25, "by_kind": {"timeout": 1}, "retries": 3,
                                             "truncations": 1, "rate_limit_wait_s": 0.9,
                                             "retry_wait_s": pytest.approx(2.9)}  # fmt: skip


def test_comparison_and_main_effect(summary: dict) -> None:  # type: ignore[type-arg]
    (comp,) = summary["comparisons"]
    assert (comp["a"], comp["b"], comp["metric"], comp["n_pairs"]) == (
        "temperature=0.0",
        "temperature=1.0",
        "accuracy",
        4,
    )
    assert (comp["diff"], comp["b01"], comp["b10"], comp["mcnemar_p"], comp["p_holm"]) == (
        0.25,
        0,
        1,
        1.0,
        1.0,
    )
    assert comp["ci_low"] <= 0.25 <= comp["ci_high"]
    effect = summary["main_effects"]["temperature"]
    assert [(e["value"], e["mean"], e["n"]) for e in effect] == [(0.0, 0.5, 4), (1.0, 0.25, 4)]


def test_copied_run_recomputes_identical_summary(tmp_path: Path, summary: dict) -> None:  # type: ignore[type-arg]
    copy = tmp_path / "copy"
    shutil.copytree(GOLDEN, copy)
    run = load_run(copy)  # no summary.json in the copy: computed
    assert orjson.dumps(run.summary) == orjson.dumps(summary)
    assert len(run.records) == 8
    assert len(run.scores) == 8
    assert run.manifest["suite"]["name"] == "golden"
