"""Why an open-loop run fell short of its target rate: the in-flight cap when it was full, else the
client or the service."""

from __future__ import annotations

from typing import Any

import pandas as pd

from harness.report.perf_charts import rate_shortfall_note, share_at_cap


def _records(n: int, *, in_flight: int, latency_s: float, target_rps: float) -> pd.DataFrame:
    """`n` requests of `latency_s` each, `in_flight` at a time back to back, scheduled at the target rate."""
    rows = []
    for i in range(n):
        sent = (i // in_flight) * latency_s
        rows.append(
            {
                "scheduled_s": i / target_rps,
                "sent_s": sent,
                "done_s": sent + latency_s,
                "e2e_s": latency_s,
                "status": "ok",
            }
        )
    return pd.DataFrame(rows)


def _manifest(concurrency: int, **target: Any) -> dict[str, Any]:
    return {"run": {"concurrency": concurrency}, "targets": {"t": {"name": "t", **target}}}


def test_a_full_in_flight_cap_is_named_with_the_concurrency_that_would_do() -> None:
    records = _records(64, in_flight=32, latency_s=1.0, target_rps=50.0)
    assert share_at_cap(records, 32) == 1.0
    note = rate_shortfall_note(records, _manifest(32), target=50.0, achieved=32.0)
    assert "because of the in-flight cap, not the service" in note
    assert "32 requests (run.concurrency) were in flight for 100% of the run" in note
    assert "waited a median" in note
    assert "Raise --concurrency to about 50 (target rate x median latency)" in note
    assert "could not keep up" not in note


def test_a_target_max_concurrency_is_the_cap_when_lower() -> None:
    records = _records(40, in_flight=4, latency_s=0.5, target_rps=20.0)
    note = rate_shortfall_note(records, _manifest(32, max_concurrency=4), target=20.0, achieved=8.0)
    assert "4 requests (run.concurrency) were in flight for 100%" in note


def test_without_a_full_cap_the_client_or_the_service_is_blamed() -> None:
    records = _records(20, in_flight=1, latency_s=0.1, target_rps=50.0)
    assert share_at_cap(records, 32) == 0.0
    note = rate_shortfall_note(records, _manifest(32), target=50.0, achieved=10.0)
    assert note.endswith(
        "the client or the service could not keep up, so latencies understate an overloaded service."
    )
