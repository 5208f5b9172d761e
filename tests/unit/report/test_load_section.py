"""The report's load-sweep section: absent without load points; with them, three figures, the per-point
table and the formulas, the knee, the SLO and the client warnings in its notes."""

from __future__ import annotations

from typing import Any

from harness.report.load_section import KNEE_COLOR, SLO_COLOR, latency_vs_rate, load_markdown, load_section


def pct(p50: float) -> dict[str, Any]:
    return {"p50": p50, "p95": p50 * 1.5, "p99": p50 * 2, "mean": p50, "n": 10}


def point(pid: str, kind: str, rate: float | None, thr: float, e2e: float, share: float) -> dict[str, Any]:
    names = ("ttft_s", "ttft_from_schedule_s", "itl_s", "tpot_s", "e2e_s", "e2e_from_schedule_s")
    return {
        "id": pid,
        "kind": kind,
        "concurrency": 8,
        "arrival": "constant",
        "offered_rps": rate,
        "scheduled_rps": rate,
        "achieved_rps": rate or thr,
        "throughput_rps": thr,
        "output_tps": thr * 20,
        "cost_per_1k_requests_usd": 0.5,
        "latency": {n: pct(e2e) for n in names},
        "lag_s": pct(0.001),
        "client": {"cpu_share": 0.3, "limited": False, "warning": None},
        "saturated": kind == "throughput",
        "saturation_reason": None,
        "slo": {"share": {"all": share, "e2e_s": share}, "goodput_rps": thr * share, "meets": share >= 0.9},
    }


def load_summary() -> dict[str, Any]:
    return {
        "load": {
            "profile": "sweep",
            "points": [
                point("concurrency=1", "concurrency", None, 4.0, 0.25, 1.0),
                point("throughput", "throughput", None, 16.0, 1.2, 0.1),
                point("rate=8", "rate", 8.0, 8.0, 0.26, 1.0),
                point("rate=16", "rate", 16.0, 14.0, 0.9, 0.6),
            ],
            "knee_rps": 16.0,
            "knee_from": "throughput",
            "first_saturated": None,
            "stopped_early": "rate=16 saturated the service",
            "formulas": {"e2e_s": "done − sent"},
            "warnings": [
                "rate=16: the client, not the service, limited this point: p95 scheduling lag 40 ms"
            ],
            "slo": {
                "e2e_s": 1.0,
                "quantile": 0.9,
                "max_rate_at_slo": 10.3,
                "max_rate_ci_low": 9.0,
                "max_rate_ci_high": 11.0,
                "max_rate_is_lower_bound": False,
                "max_rate_method": "interp",
                "goodput_rps": 8.4,
            },
        }
    }


def test_no_section_without_load_points() -> None:
    assert load_section({"cells": []}) is None
    assert load_section({"load": {"points": []}}) is None


def test_section_has_the_figures_table_formulas_and_notes() -> None:
    section = load_section(load_summary())
    assert section is not None
    assert [f.title for f in section.figures] == [
        "Latency against achieved rate",
        "Throughput against offered rate",
        "SLO attainment",
    ]
    assert all(f.svg.startswith("<svg ") for f in section.figures)
    points, formulas = section.tables
    assert [row[0].text for row in points.rows] == ["concurrency=1", "throughput", "rate=8", "rate=16"]
    assert "goodput" in points.columns
    assert formulas.rows[0][1].text == "done − sent"
    notes = " ".join(section.notes)
    assert "Saturation knee: 16" in notes
    assert "stopped early" in notes
    assert "client, not the service" in notes
    assert "10.3" in notes


def test_latency_figure_marks_the_slo_bound_and_the_knee() -> None:
    points = load_summary()["load"]["points"]
    marked = latency_vs_rate(points, 16.0, {"e2e_s": 1.0})
    bare = latency_vs_rate(points, None, None)
    assert SLO_COLOR in marked
    assert KNEE_COLOR in marked
    assert SLO_COLOR not in bare
    assert KNEE_COLOR not in bare


def test_markdown_lines_name_the_knee_the_rate_at_slo_and_each_point() -> None:
    lines = load_markdown(load_summary())
    assert lines[0].startswith("**Load sweep** (4 points): knee 16 req/s · max rate at SLO 10.3 req/s")
    assert any(
        line.startswith("- `rate=16`: completed 14 req/s") and "meets SLO 60%" in line for line in lines
    )
    assert any("(saturated)" in line for line in lines if "`throughput`" in line)
    assert load_markdown({"cells": []}) == []
