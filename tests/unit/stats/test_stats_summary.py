"""summarize(): the exact summary.json shape and each field on hand-computed runs."""

from __future__ import annotations

import json
import random
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from stats_builders import make_record, make_score

from harness.records import Record, Score
from harness.stats.ci import wilson_ci
from harness.stats.summary import summarize

TOP_KEYS = {
    "schema_version", "suite", "primary_metric", "scorers", "swept_axes", "overall", "cells",
    "comparisons", "main_effects", "rate", "cost",
}  # fmt: skip
CELL_KEYS = {
    "cell_id", "cell", "n_trials", "n_ok", "n_error", "n_results", "n_items", "metrics", "outcomes",
    "latency", "tokens", "cost", "errors",
}  # fmt: skip
STAT_KEYS = {"mean", "ci_low", "ci_high", "se", "n", "method"}
PCT_KEYS = {"p50", "p90", "p95", "p99", "mean", "max", "n"}
COMPARISON_KEYS = {
    "a",
    "b",
    "metric",
    "n_pairs",
    "diff",
    "ci_low",
    "ci_high",
    "mcnemar_p",
    "p_holm",
    "b01",
    "b10",
}


def _grid_run(right: dict[float, int], n_items: int = 20) -> tuple[list[Record], list[Score]]:
    """One cell per temperature; the first right[t] items are right in that cell."""
    records, scores = [], []
    for t, n_right in right.items():
        for i in range(n_items):
            rec = make_record(f"q{i:02d}", {"temperature": t}, sent=0.0, done=1.0 + i / 10)
            records.append(rec)
            scores.append(make_score(rec, 1.0 if i < n_right else 0.0))
    return records, scores


def _manifest(**extra: Any) -> dict[str, Any]:
    return {"suite": {"name": "demo", "scorers": [{"name": "numeric"}], "grid": {"axes": {}}}, **extra}


def test_shape_is_exactly_the_documented_one() -> None:
    records, scores = _grid_run({0.0: 15, 1.0: 10})
    s = summarize(records, scores, manifest=_manifest())
    assert set(s) == TOP_KEYS
    assert set(s["rate"]) == {"target_rps", "achieved_rps"}
    assert set(s["cost"]) == {"total_usd", "service_usd", "price_table_usd", "mismatch"}
    for cell in [s["overall"], *s["cells"]]:
        assert set(cell) == CELL_KEYS
        assert set(cell["metrics"]) == {"accuracy", "score:numeric"}
        assert all(set(stat) == STAT_KEYS for stat in cell["metrics"].values())
        assert set(cell["outcomes"]) == {"correct", "wrong", "no_answer", "truncated", "error", "invalid"}
        assert set(cell["latency"]) == {
            "e2e_s", "ttft_s", "ttft_answer_s", "itl_s", "output_tps", "e2e_from_schedule_s", "queue_s"
        }  # fmt: skip
        for pct in cell["latency"].values():
            assert pct is None or set(pct) == PCT_KEYS
        assert set(cell["tokens"]) == {
            "prompt", "completion", "thinking", "per_trial_prompt", "per_trial_completion", "per_trial_thinking"
        }  # fmt: skip
        assert set(cell["cost"]) == {
            "total_usd", "per_trial_usd", "per_correct_usd", "service_usd", "price_table_usd", "mismatch"
        }  # fmt: skip
        assert set(cell["errors"]) == {
            "count", "rate", "by_kind", "retries", "truncations", "rate_limit_wait_s", "retry_wait_s"
        }  # fmt: skip
    assert all(set(c) == COMPARISON_KEYS for c in s["comparisons"])
    assert set(s["main_effects"]["temperature"][0]) == {"value", "mean", "ci_low", "ci_high", "n"}
    json.dumps(s, allow_nan=False)  # plain JSON: no NaN, no numpy types


def test_accuracy_per_cell_with_wilson_ci() -> None:
    records, scores = _grid_run({0.0: 15, 1.0: 10})
    s = summarize(records, scores, manifest=_manifest())
    assert [c["cell_id"] for c in s["cells"]] == ["temperature=0.0", "temperature=1.0"]
    acc = s["cells"][0]["metrics"]["accuracy"]
    low, high = wilson_ci(15, 20)
    assert acc == {"mean": 0.75, "ci_low": low, "ci_high": high, "se": pytest.approx((0.75 * 0.25 / 20) ** 0.5),
                   "n": 20, "method": "wilson"}  # fmt: skip
    assert s["cells"][1]["metrics"]["accuracy"]["mean"] == 0.5
    # Overall pools both cells; every item appears twice, so the CI is clustered by item.
    assert s["overall"]["metrics"]["accuracy"]["mean"] == 0.625
    assert s["overall"]["metrics"]["accuracy"]["method"] == "cluster-bootstrap"
    assert s["overall"]["n_items"] == 20
    assert s["swept_axes"] == ["temperature"]
    assert s["suite"] == "demo"


def test_outcomes_invalid_excluded_and_failures_count_zero() -> None:
    recs = [make_record(f"q{i}") for i in range(6)]
    err = make_record("q6", status="error", error_kind="timeout")
    scores = [
        make_score(recs[0], 1.0),
        make_score(recs[1], 0.0),
        make_score(recs[2], None, outcome="no_answer", extracted=None),
        make_score(recs[3], None, outcome="truncated", extracted=None),
        make_score(recs[4], None, outcome="invalid", extracted=None),
        make_score(recs[5], 1.0),
    ]  # the failed trial has no score: it counts as one error sample
    s = summarize([*recs, err], scores, manifest=None)
    cell = s["cells"][0]
    assert cell["outcomes"] == {
        "correct": 2,
        "wrong": 1,
        "no_answer": 1,
        "truncated": 1,
        "error": 1,
        "invalid": 1,
    }
    acc = cell["metrics"]["accuracy"]
    assert (acc["mean"], acc["n"]) == (2 / 6, 6)
    assert cell["n_error"] == 1
    assert cell["errors"]["by_kind"] == {"timeout": 1}
    assert cell["errors"]["rate"] == pytest.approx(1 / 7)


def test_n_results_count_latency_and_cost_once() -> None:
    rec = make_record("q1", texts=("1", "2", "3", "4"), sent=0.0, done=2.0, cost=0.01, usage=(10, 80, 0))
    scores = [make_score(rec, v, result_index=i) for i, v in enumerate([1.0, 0.0, 1.0, 1.0])]
    cell = summarize([rec], scores, manifest=None)["cells"][0]
    assert (cell["n_trials"], cell["n_results"]) == (1, 4)
    assert cell["latency"]["e2e_s"]["n"] == 1
    assert cell["cost"]["total_usd"] == 0.01
    assert cell["cost"]["per_trial_usd"] == 0.01
    assert cell["cost"]["per_correct_usd"] == pytest.approx(0.01 / 3)
    assert cell["tokens"]["completion"] == 80
    assert cell["metrics"]["accuracy"]["method"] == "cluster-bootstrap"  # 4 samples of one item


def test_cost_mismatch_flag_beyond_tolerance() -> None:
    close = [make_record(f"q{i}", cost=0.0104, table_cost=0.01) for i in range(3)]
    far = [make_record(f"q{i}", cost=0.0110, table_cost=0.01) for i in range(3)]
    s_close = summarize(close, [], manifest=None)
    s_far = summarize(far, [], manifest=None)
    assert s_close["cost"] == {"total_usd": pytest.approx(0.0312), "service_usd": pytest.approx(0.0312),
                               "price_table_usd": pytest.approx(0.03), "mismatch": False}  # fmt: skip
    assert s_far["cost"]["mismatch"] is True
    assert summarize(close, [], manifest=None, cost_tolerance=0.01)["cost"]["mismatch"] is True
    only_table = summarize([make_record("a", table_cost=0.02)], [], manifest=None)
    assert only_table["cost"] == {
        "total_usd": 0.02,
        "service_usd": None,
        "price_table_usd": 0.02,
        "mismatch": False,
    }


def test_latency_uses_ok_trials_and_streams_only_for_ttft() -> None:
    recs = [
        make_record("a", sent=0.0, first_token=0.2, first_answer=0.5, done=1.0, itl=[0.01, 0.03]),
        make_record("b", sent=0.0, first_token=0.4, first_answer=0.6, done=2.0, itl=[0.02]),
        make_record("c", status="error", sent=0.0, done=30.0),
    ]
    lat = summarize(recs, [], manifest=None)["cells"][0]["latency"]
    assert (lat["e2e_s"]["n"], lat["e2e_s"]["max"], lat["e2e_s"]["p50"]) == (2, 2.0, 1.5)
    assert lat["ttft_s"]["mean"] == pytest.approx(0.3)
    assert lat["ttft_answer_s"]["max"] == pytest.approx(0.6)
    assert (lat["itl_s"]["n"], lat["itl_s"]["p50"]) == (3, 0.02)
    no_stream = summarize([make_record("a")], [], manifest=None)["cells"][0]["latency"]
    assert no_stream["ttft_s"] is None
    assert no_stream["itl_s"] is None
    assert no_stream["queue_s"]["n"] == 1


def test_errors_retries_truncations_and_waits() -> None:
    recs = [
        make_record("a", attempts=3, retry_wait=2.0, rate_limit_wait=1.5),
        make_record("b", texts=("x", "y"), finish="length"),
        make_record("c", status="error", attempts=4, retry_wait=3.0, error_kind="rate_limited"),
    ]
    errors = summarize(recs, [], manifest=None)["cells"][0]["errors"]
    assert errors == {"count": 1, "rate": pytest.approx(1 / 3), "by_kind": {"rate_limited": 1}, "retries": 5,
                      "truncations": 2, "rate_limit_wait_s": 1.5, "retry_wait_s": 5.0}  # fmt: skip


def test_tokens_total_and_per_trial() -> None:
    recs = [
        make_record("a", usage=(10, 20, 4)),
        make_record("b", usage=(30, 40, 6)),
        make_record("c", status="error"),
    ]
    tokens = summarize(recs, [], manifest=None)["cells"][0]["tokens"]
    assert tokens == {"prompt": 40, "completion": 60, "thinking": 10, "per_trial_prompt": 20.0,
                      "per_trial_completion": 30.0, "per_trial_thinking": 5.0}  # fmt: skip


def test_identical_cells_report_no_difference() -> None:
    records, scores = _grid_run({0.0: 12, 1.0: 12})
    (comp,) = summarize(records, scores, manifest=None)["comparisons"]
    assert comp == {"a": "temperature=0.0", "b": "temperature=1.0", "metric": "accuracy", "n_pairs": 20,
                    "diff": 0.0, "ci_low": 0.0, "ci_high": 0.0, "mcnemar_p": 1.0, "p_holm": 1.0,
                    "b01": 0, "b10": 0}  # fmt: skip


def test_comparison_counts_discordant_pairs_and_holm() -> None:
    records, scores = _grid_run({0.0: 20, 1.0: 10, 2.0: 9})
    comps = summarize(records, scores, manifest=None)["comparisons"]
    first = comps[0]
    assert (first["a"], first["b"], first["b10"], first["b01"]) == (
        "temperature=0.0",
        "temperature=1.0",
        10,
        0,
    )
    assert first["diff"] == 0.5
    assert first["mcnemar_p"] == pytest.approx(2 / 1024)
    ps = sorted(c["mcnemar_p"] for c in comps)
    assert sorted(c["p_holm"] for c in comps)[0] == pytest.approx(min(1.0, 3 * ps[0]))


def test_main_effects_in_declared_order() -> None:
    records, scores = _grid_run({1.0: 10, 0.0: 15})
    manifest = _manifest()
    manifest["suite"]["grid"]["axes"] = {"temperature": [1.0, 0.0]}
    s = summarize(records, scores, manifest=manifest)
    assert [c["cell_id"] for c in s["cells"]] == ["temperature=1.0", "temperature=0.0"]
    assert [(e["value"], e["mean"], e["n"]) for e in s["main_effects"]["temperature"]] == [
        (1.0, 0.5, 20),
        (0.0, 0.75, 20),
    ]


def test_summary_does_not_depend_on_record_order() -> None:
    records, scores = _grid_run({0.0: 15, 0.5: 7, 1.0: 10})
    shuffled_r, shuffled_s = records[:], scores[:]
    random.Random(3).shuffle(shuffled_r)
    random.Random(4).shuffle(shuffled_s)
    a = orjson.dumps(summarize(records, scores, manifest=_manifest()))
    assert orjson.dumps(summarize(shuffled_r, shuffled_s, manifest=_manifest())) == a


def test_empty_run() -> None:
    s = summarize([], [], manifest=None)
    assert s["cells"] == []
    assert s["comparisons"] == []
    assert s["scorers"] == []
    assert s["overall"]["n_trials"] == 0
    assert s["overall"]["metrics"] == {}
    assert s["overall"]["cost"]["per_trial_usd"] is None
    assert s["overall"]["latency"]["e2e_s"]["n"] == 0
    json.dumps(s, allow_nan=False)


def test_single_trial() -> None:
    rec = make_record("a")
    s = summarize([rec], [make_score(rec, 1.0)], manifest=None)
    acc = s["cells"][0]["metrics"]["accuracy"]
    assert (acc["mean"], acc["n"], acc["ci_high"]) == (1.0, 1, 1.0)
    assert s["cells"][0]["cell_id"] == "default"
    assert s["swept_axes"] == []
    assert s["main_effects"] == {}


def test_rate_from_manifest_else_from_sends() -> None:
    recs = [make_record(f"q{i}", sent=i * 0.5) for i in range(5)]
    assert summarize(recs, [], manifest={"target_rps": 2.0, "achieved_rps": 1.9})["rate"] == {
        "target_rps": 2.0, "achieved_rps": 1.9
    }  # fmt: skip
    assert summarize(recs, [], manifest={"target_rps": 2.0})["rate"]["achieved_rps"] == pytest.approx(2.0)


def test_scorers_in_suite_order_and_primary_first() -> None:
    rec = make_record("a")
    scores = [make_score(rec, 0.0, scorer="exact"), make_score(rec, 1.0, scorer="numeric")]
    manifest = {"suite": {"scorers": [{"name": "numeric"}, {"name": "exact"}]}}
    s = summarize([rec], scores, manifest=manifest)
    assert s["scorers"] == ["numeric", "exact"]
    metrics = s["cells"][0]["metrics"]
    assert list(metrics) == ["accuracy", "score:numeric", "score:exact"]
    assert metrics["accuracy"]["mean"] == 1.0
    assert metrics["score:exact"]["mean"] == 0.0


def test_rejects_negative_tolerance() -> None:
    with pytest.raises(ValueError, match="cost_tolerance"):
        summarize([], [], manifest=None, cost_tolerance=-0.1)


_costs = st.lists(
    st.tuples(
        st.sampled_from([0.0, 1.0]),
        st.one_of(st.none(), st.floats(min_value=0, max_value=1, allow_nan=False)),
        st.one_of(st.none(), st.floats(min_value=0, max_value=1, allow_nan=False)),
    ),
    min_size=1,
    max_size=12,
)


@settings(max_examples=25, deadline=None)
@given(_costs, _costs)
def test_cost_is_additive_over_cells_and_runs(part_a: list[Any], part_b: list[Any]) -> None:
    def records(part: list[Any], t: float) -> list[Record]:
        return [
            make_record(f"q{i}", {"temperature": t}, cost=svc, table_cost=tbl)
            for i, (_, svc, tbl) in enumerate(part)
        ]

    rec_a, rec_b = records(part_a, 0.0), records(part_b, 1.0)
    total_a = summarize(rec_a, [], manifest=None)["cost"]["total_usd"]
    total_b = summarize(rec_b, [], manifest=None)["cost"]["total_usd"]
    both = summarize(rec_a + rec_b, [], manifest=None)
    assert both["cost"]["total_usd"] == pytest.approx(total_a + total_b, abs=1e-12)
    assert both["cost"]["total_usd"] == pytest.approx(
        sum(c["cost"]["total_usd"] for c in both["cells"]), abs=1e-12
    )
    expected = sum(svc if svc is not None else (tbl or 0.0) for _, svc, tbl in part_a + part_b)
    assert both["cost"]["total_usd"] == pytest.approx(expected, abs=1e-12)
