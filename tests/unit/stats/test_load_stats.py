"""harness.stats.load on hand-built records: goodput, SLO shares and max rate at SLO computed by hand."""

from __future__ import annotations

from typing import Any

import pytest

from harness.loadsweep import SaturationConfig, SloConfig
from harness.records import Record, Timing, Usage
from harness.stats.load import load_metric, load_summary, max_rate_at_slo, point_stats


def rec(
    point: str,
    i: int,
    *,
    sched: float,
    sent: float,
    first: float,
    done: float,
    itl: list[float] | None = None,
    ok: bool = True,
    window: str = "measure",
    tokens: int = 10,
) -> Record:
    return Record(
        trial_key=f"{point}-{i}",
        cell_id="default",
        cell={},
        item_id=f"q{i}",
        repeat=0,
        seed=1,
        target="sim",
        model="m",
        delivery="stream",
        status="ok" if ok else "error",
        timing=Timing(
            scheduled_at_s=sched,
            sent_at_s=sent,
            first_byte_at_s=first,
            first_token_at_s=first,
            done_at_s=done,
        ),
        usage=Usage(completion_tokens=tokens),
        cost_usd=0.001,
        itl_s=itl if itl is not None else [0.01, 0.01],
        load_point=point,
        load_window=window,  # type: ignore[arg-type]
    )


SLO = SloConfig(ttft_s=0.5, e2e_s=1.0, quantile=0.75)
POINT = {"id": "rate=2", "kind": "rate", "concurrency": 8, "rate_rps": 2.0, "arrival": "constant"}


def four_requests() -> list[Record]:
    # sends at 0, 0.5, 1.0, 1.5 (rate 2/s). Request 2 misses the TTFT bound (0.6 s), request 3 fails.
    return [
        rec("rate=2", 0, sched=0.0, sent=0.0, first=0.2, done=0.8),
        rec("rate=2", 1, sched=0.5, sent=0.5, first=0.7, done=1.3),
        rec("rate=2", 2, sched=1.0, sent=1.0, first=1.6, done=1.9),
        rec("rate=2", 3, sched=1.5, sent=1.5, first=1.7, done=2.0, ok=False),
    ]


def test_point_rates_and_goodput_match_hand_computation() -> None:
    stats = point_stats(four_requests(), POINT, slo=SLO)
    # span: first send 0.0 to the last ok completion 1.9
    assert stats["span_s"] == pytest.approx(1.9)
    assert stats["scheduled_rps"] == pytest.approx(3 / 1.5)
    assert stats["achieved_rps"] == pytest.approx(3 / 1.5)
    assert stats["throughput_rps"] == pytest.approx(3 / 1.9)
    assert stats["output_tps"] == pytest.approx(30 / 1.9)
    assert stats["slo"]["share"] == {"ttft_s": 0.5, "e2e_s": 0.75, "all": 0.5}
    assert stats["slo"]["goodput_rps"] == pytest.approx(2 / 1.9)
    assert stats["slo"]["meets"] is False  # 50% < quantile 75%
    assert stats["cost_per_1k_requests_usd"] == pytest.approx(1.0)


def test_warmup_is_excluded_and_opens_the_window_late() -> None:
    records = [
        rec("rate=2", 9, sched=-0.5, sent=-0.5, first=-0.3, done=0.4, window="warmup"),
        *four_requests(),
    ]
    stats = point_stats(records, POINT, slo=SLO)
    assert stats["n"] == 4
    assert stats["n_excluded"] == 1
    assert stats["span_s"] == pytest.approx(1.9 - 0.4)  # from the warm-up's completion


def test_a_streamed_one_token_answer_meets_the_itl_bound() -> None:
    slo = SloConfig(itl_s=0.05)
    stats = point_stats([rec("p", 0, sched=0, sent=0, first=0.1, done=0.1, itl=[])], POINT, slo=slo)
    assert stats["slo"]["share"]["itl_s"] == 1.0


def test_open_loop_shortfall_saturates() -> None:
    # scheduled at 10/s, completed far slower: saturated by the shortfall rule
    records = [
        rec("p", i, sched=i * 0.1, sent=i * 0.1, first=i * 0.5 + 0.1, done=i * 0.5 + 0.2) for i in range(6)
    ]
    point = {**POINT, "rate_rps": 10.0}
    stats = point_stats(records, point, saturation_config=SaturationConfig(rate_shortfall=0.1))
    assert stats["saturated"] is True
    assert "scheduled" in stats["saturation_reason"]


def test_max_rate_interpolates_between_bracketing_points() -> None:
    # shares 1.0 at 2/s, 0.9 at 4/s, 0.5 at 6/s; quantile 0.8 is crossed a quarter of the way 4 -> 6
    value, lower_bound = max_rate_at_slo([2.0, 4.0, 6.0], [1.0, 0.9, 0.5], 0.8)
    assert value == pytest.approx(4.5)
    assert lower_bound is False


def test_max_rate_is_a_lower_bound_when_every_point_meets_it() -> None:
    assert max_rate_at_slo([2.0, 4.0], [1.0, 0.95], 0.9) == (4.0, True)


def test_max_rate_is_none_when_the_lowest_point_misses() -> None:
    assert max_rate_at_slo([2.0, 4.0], [0.5, 0.4], 0.9) == (None, False)


def manifest_with(points: list[dict[str, Any]], slo: dict[str, Any] | None) -> dict[str, Any]:
    return {"suite": {"slo": slo, "load": {"profile": "points"}}, "load": {"points": points, "phases": {}}}


def test_load_summary_gives_goodput_and_max_rate_from_the_records() -> None:
    # rate=2: sends every 0.5 s, e2e 0.4 s, all meet e2e <= 1 s; dones 0.4 .. 1.9
    low = [
        rec("rate=2", i, sched=i * 0.5, sent=i * 0.5, first=i * 0.5 + 0.1, done=i * 0.5 + 0.4)
        for i in range(4)
    ]
    # rate=4: sends every 0.25 s, e2e 1.5, 0.5, 0.5, 0.5: 3 of 4 meet; dones 1.5, 0.75, 1.0, 1.25
    e2e = [1.5, 0.5, 0.5, 0.5]
    high = [
        rec("rate=4", i, sched=i * 0.25, sent=i * 0.25, first=i * 0.25 + 0.1, done=i * 0.25 + e2e[i])
        for i in range(4)
    ]
    points = [
        {"id": "rate=2", "kind": "rate", "concurrency": 8, "rate_rps": 2.0, "arrival": "constant"},
        {"id": "rate=4", "kind": "rate", "concurrency": 8, "rate_rps": 4.0, "arrival": "constant"},
    ]
    load = load_summary(low + high, manifest_with(points, {"e2e_s": 1.0, "quantile": 0.8}))
    assert load is not None
    a, b = load["points"]
    x_low, x_high = 4 / 1.9, 4 / 1.5  # completed requests over (last done - first send)
    assert a["throughput_rps"] == pytest.approx(x_low)
    assert b["throughput_rps"] == pytest.approx(x_high)
    assert (a["slo"]["share"]["all"], b["slo"]["share"]["all"]) == (1.0, 0.75)
    # the share falls from 1.0 to 0.75 between the two rates: 0.8 is crossed 0.2/0.25 of the way
    expected = x_low + (x_high - x_low) * (1.0 - 0.8) / (1.0 - 0.75)
    assert load["slo"]["max_rate_at_slo"] == pytest.approx(expected)
    assert load["slo"]["max_rate_is_lower_bound"] is False
    assert load["slo"]["max_rate_ci_low"] <= expected <= load["slo"]["max_rate_ci_high"]
    # goodput: rate=2: 4 met / 1.9 s; rate=4: 3 met / 1.5 s = 2.0; the best point's is reported
    assert a["slo"]["goodput_rps"] == pytest.approx(4 / 1.9)
    assert b["slo"]["goodput_rps"] == pytest.approx(2.0)
    assert load["slo"]["goodput_rps"] == pytest.approx(4 / 1.9)
    assert "met" not in a["slo"]  # per-request flags stay out of summary.json
    assert load_metric({"load": load}, "max_rate_at_slo") == (pytest.approx(expected), "")


def test_no_load_block_means_no_load_summary() -> None:
    assert load_summary(four_requests(), {"suite": {}}) is None
    value, why = load_metric({}, "max_rate_at_slo")
    assert value is None
    assert "no load points" in why


def test_a_warmup_request_the_server_queued_last_does_not_empty_the_window() -> None:
    # the throughput phase: all five sent at once, served one per 0.25 s; the warm-up one came last
    records = [rec("throughput", 9, sched=0, sent=0, first=1.2, done=1.25, window="warmup")]
    records += [rec("throughput", i, sched=0, sent=0, first=0.2 * i, done=0.25 * (i + 1)) for i in range(4)]
    stats = point_stats(records, {"id": "throughput", "kind": "throughput", "concurrency": 5})
    # the window opens at the first completion (one warm-up request) and closes at 1.0
    assert stats["span_s"] == pytest.approx(0.75)
    assert stats["throughput_rps"] == pytest.approx(3 / 0.75)
