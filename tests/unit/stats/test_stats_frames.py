"""records -> frames: each derived latency is the documented difference of recorded times."""

from __future__ import annotations

import math

import pytest
from stats_builders import make_record, make_score

from harness.stats.frames import METRIC_DEFINITIONS, itl_frame, records_frame, scores_frame


def test_stream_latencies_and_tps() -> None:
    rec = make_record(
        "q1", {"temperature": 0.6}, scheduled=1.0, first_sent=1.5, sent=2.0, first_token=2.4,
        first_answer=2.9, done=4.4, usage=(10, 40, 15),
    )  # fmt: skip
    row = records_frame([rec]).iloc[0]
    assert row["e2e_s"] == pytest.approx(2.4)
    assert row["ttft_s"] == pytest.approx(0.4)
    assert row["ttft_answer_s"] == pytest.approx(0.9)
    assert row["e2e_from_schedule_s"] == pytest.approx(3.4)
    assert row["queue_s"] == pytest.approx(1.0)
    assert row["dispatch_lag_s"] == pytest.approx(0.5)
    assert row["retry_s"] == pytest.approx(0.5)
    assert row["output_tps"] == pytest.approx(40 / 2.0)  # completion tokens over done - first_token
    assert bool(row["streamed"]) is True
    assert row["cell.temperature"] == 0.6


def test_non_stream_tps_uses_send_to_done() -> None:
    row = records_frame([make_record("q1", sent=1.0, done=3.0, usage=(5, 30, 0))]).iloc[0]
    assert math.isnan(row["ttft_s"])
    assert row["output_tps"] == pytest.approx(15.0)
    assert row["queue_s"] == pytest.approx(1.0)  # no first_sent: falls back to sent
    assert row["retry_s"] == 0.0


def test_tps_is_nan_for_zero_duration_and_client_tokens_fill_missing_usage() -> None:
    rows = records_frame([make_record("a", sent=1.0, done=1.0), make_record("b", usage=None)])
    assert math.isnan(rows.loc[0, "output_tps"])
    assert math.isnan(rows.loc[1, "output_tps"])  # no usage and no client count


def test_tokens_cost_retries_and_errors() -> None:
    ok = make_record("a", usage=(10, 20, 5), cost=0.002, table_cost=0.0021, attempts=3, retry_wait=1.5)
    err = make_record("b", status="error", table_cost=None, error_kind="timeout")
    df = records_frame([ok, err])
    assert df["prompt_tokens"].tolist() == [10, 0]
    assert df["thinking_tokens"].tolist() == [5, 0]
    assert df["retries"].tolist() == [2, 0]
    assert df["effective_cost_usd"].tolist() == [0.002, 0.0]
    assert df["error_kind"].isna().tolist() == [True, False]
    assert df.loc[1, "error_kind"] == "timeout"
    assert df["has_usage"].tolist() == [True, False]


def test_n_results_and_truncations_count_once_per_trial() -> None:
    rec = make_record("a", texts=("1", "2", "3"), finish="length")
    row = records_frame([rec]).iloc[0]
    assert (row["n_results"], row["n_truncated"], row["number_results"]) == (3, 3, 3)


def test_empty_records_frame_has_columns() -> None:
    df = records_frame([])
    assert len(df) == 0
    assert {"e2e_s", "ttft_s", "output_tps", "queue_s", "effective_cost_usd"} <= set(df.columns)


def test_itl_frame_one_row_per_gap() -> None:
    recs = [make_record("a", itl=[0.01, 0.02]), make_record("b"), make_record("c", itl=[0.03])]
    df = itl_frame(recs)
    assert df["trial_key"].tolist() == [recs[0].trial_key] * 2 + [recs[2].trial_key]
    assert df["gap_index"].tolist() == [0, 1, 0]
    assert df["itl_s"].tolist() == [0.01, 0.02, 0.03]
    assert len(itl_frame([])) == 0


def test_scores_frame_fills_cell_from_records() -> None:
    rec = make_record("a", {"t": 1}, seed=7)
    score = make_score(rec, 1.0)
    score.cell_id = ""
    score.item_id = ""
    df = scores_frame([score], [rec])
    assert df.loc[0, "cell_id"] == "t=1"
    assert df.loc[0, "item_id"] == "a"
    assert df.loc[0, "seed"] == 7
    assert df.loc[0, "value"] == 1.0


def test_every_reported_latency_has_a_definition() -> None:
    for name in ("e2e_s", "ttft_s", "ttft_answer_s", "itl_s", "output_tps", "e2e_from_schedule_s", "queue_s"):
        assert METRIC_DEFINITIONS[name]
