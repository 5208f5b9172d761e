"""Each per-trial metric derived once: end-to-end latency, time to first (answer) token, queue wait,
output tokens/s and effective cost, from a record's timestamps, usage and costs. Stats, the report,
compare, the engine's budget and resume all take them from here; no other module subtracts two
timestamps or decides which cost counts. Pure: no I/O; pandas/numpy are imported inside the functions.

`trial_frame(lines)` builds the per-trial frame straight from the parsed JSON lines of records.jsonl
(the report's fast path for 100,000 records: no Record objects); `add_derived(frame)` adds the derived
columns to any frame that has the raw ones (harness.stats.frames builds one from Records).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

    from harness.records import Record

__all__ = [
    "METRIC_DEFINITIONS",
    "TIMING_FIELDS",
    "add_derived",
    "effective_cost_usd",
    "first_send_at_s",
    "request_metrics",
    "trial_frame",
]

# The formula of each derived metric, for reports to print beside the numbers they show.
METRIC_DEFINITIONS: dict[str, str] = {
    "e2e_s": "done - sent: end-to-end latency of the final attempt, send to last byte",
    "ttft_s": "first_token - sent: time to the first streamed token, reasoning included (streams only)",
    "ttft_answer_s": "first_answer_token - sent: time to the first streamed answer (non-reasoning) token",
    "itl_s": "gaps between consecutive streamed token chunks of the final attempt",
    "output_tps": (
        "completion_tokens / (done - first_token) for streams (decode rate after the first token; "
        "completion tokens include thinking tokens); completion_tokens / (done - sent) for "
        "non-streamed requests, which have no first-token time"
    ),
    "e2e_from_schedule_s": "done - scheduled: latency as a user arriving on schedule sees it (open loop)",
    "queue_s": "sent - scheduled: wait before the final attempt left, scheduler lag and retries included",
    "dispatch_lag_s": "first_sent - scheduled: scheduler lag before the first attempt",
    "retry_s": "sent - first_sent: time spent on failed attempts and back-off",
    "cost_per_correct_usd": "total cost of the cell / number of correct results",
    "per_trial_usd": "total cost of the cell / its trials (failed ones included); a task with N results is one trial",
    "per_trial_tokens": "total tokens of the cell / its trials that reported usage",
    "cost_total_usd": "service-reported cost where present, else the price-table estimate, summed over trials",
    "cost_mismatch": "service total differs from the price-table total by more than the tolerance (default 5%), "
    "over trials priced both ways",
    "pass@k": "unbiased estimator 1 - C(n-c, k) / C(n, k) per item, averaged over items",
    "pass^k": "C(c, k) / C(n, k) per item (all k right), averaged over items",
    "maj@k": "the majority extracted answer of an item's first k samples is right, averaged over items",
    "diversity": "distinct extracted answers / k among an item's first k samples, averaged over items",
}

TIMING_FIELDS = (
    "scheduled_at_s",
    "first_sent_at_s",
    "sent_at_s",
    "first_byte_at_s",
    "first_token_at_s",
    "first_answer_token_at_s",
    "done_at_s",
)


def effective_cost_usd(service_usd: float | None, price_table_usd: float | None) -> float:
    """The cost a trial counts for: the service-reported cost when present, else the price-table
    estimate, else 0 (the rule behind every total, budget and resume figure)."""
    if service_usd is not None:
        return float(service_usd)
    return float(price_table_usd or 0.0)


def add_derived(df: pd.DataFrame) -> pd.DataFrame:
    """Add the derived columns (METRIC_DEFINITIONS) to a frame holding the raw TIMING_FIELDS (float,
    NaN when missing), `attempts`, `has_usage`, `completion_tokens`, `client_completion_tokens`,
    `cost_usd` and `price_table_cost_usd`; returns the same frame."""
    import numpy as np

    df["retries"] = df["attempts"] - 1
    sent = df["sent_at_s"]
    first_sent = df["first_sent_at_s"].fillna(sent)
    df["e2e_s"] = df["done_at_s"] - sent
    df["ttft_s"] = df["first_token_at_s"] - sent
    df["ttft_answer_s"] = df["first_answer_token_at_s"] - sent
    df["ttfb_s"] = df["first_byte_at_s"] - sent
    df["e2e_from_schedule_s"] = df["done_at_s"] - df["scheduled_at_s"]
    df["queue_s"] = sent - df["scheduled_at_s"]
    df["dispatch_lag_s"] = first_sent - df["scheduled_at_s"]
    df["retry_s"] = sent - first_sent
    df["streamed"] = df["first_token_at_s"].notna()
    out_tokens = (
        df["completion_tokens"].astype(np.float64).where(df["has_usage"], df["client_completion_tokens"])
    )
    decode_s = (df["done_at_s"] - df["first_token_at_s"]).where(df["streamed"], df["e2e_s"])
    df["output_tps"] = (out_tokens / decode_s).where(decode_s > 0)
    # NaN when the trial was priced neither way (the report shows it as unknown); 0 in totals.
    df["priced_cost_usd"] = df["cost_usd"].fillna(df["price_table_cost_usd"])
    df["effective_cost_usd"] = df["priced_cost_usd"].fillna(0.0)
    return df


def _number(value: Any) -> float:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else float("nan")


def trial_frame(lines: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """One row per parsed records.jsonl object, in order: identity and status columns, the raw
    TIMING_FIELDS, usage and costs, and every derived column of `add_derived`. Built in one pass over
    plain dicts (no Record objects), so 100,000 records take well under a second."""
    import numpy as np
    import pandas as pd

    names = (
        "trial_key", "cell_id", "item_id", "repeat", "status", "error_kind", "attempts", "n_results",
        *TIMING_FIELDS, "has_usage", "completion_tokens", "client_completion_tokens", "cost_usd",
        "price_table_cost_usd",
    )  # fmt: skip
    cols: dict[str, list[Any]] = {name: [] for name in names}
    timing_cols = [cols[name] for name in TIMING_FIELDS]
    for rec in lines:
        timing = rec.get("timing") or {}
        usage = rec.get("usage")
        error = rec.get("error") or {}
        status = str(rec.get("status", ""))
        cols["trial_key"].append(str(rec["trial_key"]))
        cols["cell_id"].append(str(rec.get("cell_id", "")))
        cols["item_id"].append(str(rec.get("item_id", "")))
        cols["repeat"].append(int(rec.get("repeat") or 0))
        cols["status"].append(status)
        cols["error_kind"].append(error.get("kind") if status == "error" else None)
        cols["attempts"].append(int(rec.get("attempts") or 1))
        cols["n_results"].append(len(rec.get("results") or []))
        for name, col in zip(TIMING_FIELDS, timing_cols, strict=True):
            col.append(_number(timing.get(name)))
        cols["has_usage"].append(bool(usage))
        cols["completion_tokens"].append(int((usage or {}).get("completion_tokens") or 0))
        cols["client_completion_tokens"].append(_number(rec.get("client_completion_tokens")))
        cols["cost_usd"].append(_number(rec.get("cost_usd")))
        cols["price_table_cost_usd"].append(_number(rec.get("price_table_cost_usd")))
    df = pd.DataFrame(cols)
    for name in ("repeat", "attempts", "n_results", "completion_tokens"):
        df[name] = df[name].astype(np.int64)
    df["has_usage"] = df["has_usage"].astype(bool)
    for name in (*TIMING_FIELDS, "client_completion_tokens", "cost_usd", "price_table_cost_usd"):
        df[name] = df[name].astype(np.float64)
    return add_derived(df)


# Per-request latencies of a load sweep (harness.stats.load, LOAD_DEFINITIONS there): defined on one
# Record, where a failed request has no e2e and TTFT falls back to the first byte (a non-streamed reply).
def _sent(r: Record) -> float | None:
    return r.timing.sent_at_s


def first_send_at_s(r: Record) -> float | None:
    """When the trial's first attempt left (its final attempt's send when it had only one)."""
    t = r.timing
    return t.first_sent_at_s if t.first_sent_at_s is not None else t.sent_at_s


def _first_token(r: Record) -> float | None:
    t = r.timing
    return t.first_token_at_s if t.first_token_at_s is not None else t.first_byte_at_s


def _diff(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else a - b


def e2e_s(r: Record) -> float | None:
    """A record's end-to-end latency, send to last byte; None when either timestamp is missing."""
    return _diff(r.timing.done_at_s, _sent(r))


def request_metrics(r: Record) -> dict[str, float | None]:
    """One request's latencies (None where they do not exist, e.g. a failed request's e2e)."""
    ok = r.status == "ok"
    t = r.timing
    done = t.done_at_s if ok else None
    first = _first_token(r) if ok else None
    itl = None
    if ok and r.itl_s is not None:  # a streamed one-token answer has no gap, so none that is too long
        itl = sum(r.itl_s) / len(r.itl_s) if r.itl_s else 0.0
    tokens = r.usage.completion_tokens if r.usage is not None else 0
    tpot = None
    if ok and t.first_token_at_s is not None and done is not None and tokens > 1:
        tpot = (done - t.first_token_at_s) / (tokens - 1)
    return {
        "e2e_s": _diff(done, _sent(r)),
        "e2e_from_schedule_s": _diff(done, t.scheduled_at_s),
        "ttft_s": _diff(first, _sent(r)),
        "ttft_from_schedule_s": _diff(first, t.scheduled_at_s),
        "itl_s": itl,
        "tpot_s": tpot,
        "lag_s": _diff(first_send_at_s(r), t.scheduled_at_s),
    }
