"""Load-sweep statistics: per load point the offered and achieved rates, throughput, latency from the
send and from the schedule, SLO shares and goodput, saturation and client honesty; across points the
knee and the highest rate meeting the SLO (with a bootstrap CI). Pure views over records plus the
manifest's `load` block (written by harness.runner.phases); the summary's `"load"` key comes from
`load_summary` alone.

Formulas (seconds on the run clock; a request's fields are Timing's):
    e2e          = done - sent                     e2e from schedule  = done - scheduled
    ttft         = first token - sent              ttft from schedule = first token - scheduled
                   (first byte when not streamed, so a sync request's TTFT is its e2e)
    itl          = mean gap between consecutive streamed tokens of one request (after the first)
    tpot         = (done - first token) / (completion tokens - 1)   (completion tokens include thinking)
    lag          = first attempt's send - scheduled (the client's own scheduling delay)
    window       = from the first measured send (or, if later, the point's k-th completion, k = its
                   warm-up requests) to the last measured completion; span = its length
    scheduled    = (n - 1) / (last scheduled - first scheduled)   the rate the arrival schedule asked for
    achieved     = (n - 1) / (last send - first send)      requests/s the client sent
    throughput   = ok completions in the window / span;  output tok/s = their completion tokens / span
    goodput      = measured requests meeting every SLO and completing in the window / span
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from harness.loadsweep import SaturationConfig, SloConfig
from harness.records import Record
from harness.stats.percentiles import percentiles

__all__ = [
    "CLIENT_CPU_LIMIT",
    "load_metric",
    "load_summary",
    "max_rate_at_slo",
    "point_stats",
    "saturation",
]

LATENCY_QS = (50.0, 95.0, 99.0)
# One Python event loop saturates one core: above this CPU share the client, not the service, is the
# likelier bottleneck.
CLIENT_CPU_LIMIT = 0.9
# An open-loop point whose p95 scheduling lag exceeds this share of the mean gap between arrivals
# (and 5 ms) was not sent on time.
LAG_SHARE = 0.5
BOOTSTRAP_RESAMPLES = 1000
FORMULAS = {
    "e2e_s": "done − sent (final attempt)",
    "e2e_from_schedule_s": "done − scheduled",
    "ttft_s": "first token − sent (first byte when not streamed)",
    "ttft_from_schedule_s": "first token − scheduled",
    "itl_s": "mean gap between a request's consecutive streamed tokens",
    "tpot_s": "(done − first token) / (completion tokens − 1)",
    "lag_s": "first send − scheduled",
    "scheduled_rps": "(n − 1) / (last scheduled − first scheduled)",
    "achieved_rps": "(n − 1) / (last send − first send)",
    "throughput_rps": "ok completions in the window / span (window: first measured send, or the k-th "
    "completion for k warm-up requests if later, to the last measured completion)",
    "output_tps": "completion tokens of the window's ok completions / span",
    "goodput_rps": "measured requests meeting every SLO, completed in the window / span",
}


def _sent(r: Record) -> float | None:
    return r.timing.sent_at_s


def _first_send(r: Record) -> float | None:
    t = r.timing
    return t.first_sent_at_s if t.first_sent_at_s is not None else t.sent_at_s


def _first_token(r: Record) -> float | None:
    t = r.timing
    return t.first_token_at_s if t.first_token_at_s is not None else t.first_byte_at_s


def _diff(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else a - b


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
        "lag_s": _diff(_first_send(r), t.scheduled_at_s),
    }


def meets_slo(metrics: Mapping[str, float | None], ok: bool, slo: SloConfig) -> dict[str, bool]:
    """Which bounds one request meets (a failed request, or a missing value, meets none)."""
    out: dict[str, bool] = {}
    for name in ("ttft_s", "itl_s", "e2e_s"):
        bound = getattr(slo, name)
        if bound is not None:
            value = metrics[name]
            out[name] = ok and value is not None and value <= bound
    out["all"] = all(out.values())
    return out


def _pcts(values: Sequence[float | None]) -> dict[str, Any]:
    block = percentiles(values, LATENCY_QS)
    return {k: block[k] for k in ("p50", "p95", "p99", "mean", "n")}


def _median(values: Sequence[float]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def point_stats(
    records: Sequence[Record],
    point: Mapping[str, Any],
    *,
    slo: SloConfig | None = None,
    saturation_config: SaturationConfig | None = None,
    phase: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The statistics of one load point over its measured records (warm-up and cool-down left out)."""
    measured = [r for r in records if r.load_window in (None, "measure")]
    measured.sort(key=lambda r: r.timing.scheduled_at_s)
    per = [request_metrics(r) for r in measured]
    ok = [r for r in measured if r.status == "ok"]
    sends = sorted(s for r in measured if (s := _first_send(r)) is not None)
    scheduled = [r.timing.scheduled_at_s for r in measured]
    dones = [r.timing.done_at_s for r in ok if r.timing.done_at_s is not None]
    # The measurement window opens at the first measured send or, if later, once as many requests of
    # the point have completed as it has warm-up requests (the warm-up's share of the service, wherever
    # the server queued it: the throughput phase sends all at once); it closes at the last measured
    # completion. Throughput counts every completion inside it, a cool-down one included.
    n_warm = sum(r.load_window == "warmup" for r in records)
    all_dones = sorted(d for r in records if (d := r.timing.done_at_s) is not None)
    start = sends[0] if sends else None
    if start is not None and n_warm and len(all_dones) >= n_warm:
        start = max(start, all_dones[n_warm - 1])
    end = max(dones) if dones else None
    span = end - start if start is not None and end is not None and end > start else None

    def inside(r: Record) -> bool:
        done = r.timing.done_at_s
        return span is not None and done is not None and start is not None and start < done <= (end or 0.0)

    window = [r for r in records if r.status == "ok" and inside(r)]
    send_span = sends[-1] - sends[0] if len(sends) >= 2 else 0.0
    sched_span = max(scheduled) - min(scheduled) if len(scheduled) >= 2 else 0.0
    tokens = sum(r.usage.completion_tokens for r in window if r.usage is not None)
    cost = sum(r.effective_cost_usd for r in measured)
    out: dict[str, Any] = {
        **{k: point.get(k) for k in ("id", "kind", "concurrency", "arrival")},
        "offered_rps": point.get("rate_rps"),
        "n": len(measured),
        "n_ok": len(ok),
        "n_error": len(measured) - len(ok),
        "n_excluded": len(records) - len(measured),
        "span_s": span,
        "scheduled_rps": (len(scheduled) - 1) / sched_span if sched_span > 0 else None,
        "achieved_rps": (len(sends) - 1) / send_span if send_span > 0 else None,
        "throughput_rps": len(window) / span if span else None,
        "output_tps": tokens / span if span else None,
        "cost_usd": cost,
        "cost_per_1k_requests_usd": 1000.0 * cost / len(measured) if measured else None,
        "latency": {
            name: _pcts([m[name] for m in per])
            for name in ("ttft_s", "ttft_from_schedule_s", "itl_s", "tpot_s", "e2e_s", "e2e_from_schedule_s")
        },
        "lag_s": _pcts([m["lag_s"] for m in per]),
    }
    out["queue_growth"] = _queue_growth([m["e2e_from_schedule_s"] for m in per])
    if slo is not None:
        verdicts = [meets_slo(m, r.status == "ok", slo) for m, r in zip(per, measured, strict=True)]
        n = len(verdicts)
        shares = {
            k: (sum(v[k] for v in verdicts) / n if n else None) for k in (verdicts[0] if verdicts else {})
        }
        met = sum(v["all"] for v in verdicts)
        met_inside = sum(v["all"] and inside(r) for v, r in zip(verdicts, measured, strict=True))
        out["slo"] = {
            "share": shares,
            "met": [bool(v["all"]) for v in verdicts],
            "goodput_rps": met_inside / span if span else None,
            "meets": bool(n) and met / n >= slo.quantile,
        }
    out["client"] = _client(out, phase)
    saturated, reason = saturation(out, saturation_config or SaturationConfig())
    out["saturated"], out["saturation_reason"] = saturated, reason
    return out


def _queue_growth(from_schedule: Sequence[float | None]) -> float | None:
    """Median latency-from-schedule of the last third over the first third, minus 1 (0 = flat)."""
    values = [v for v in from_schedule if v is not None]
    third = len(values) // 3
    if third < 2:
        return None
    first, last = _median(values[:third]), _median(values[-third:])
    if first is None or last is None or first <= 0:
        return None
    return last / first - 1.0


def _client(stats: Mapping[str, Any], phase: Mapping[str, Any] | None) -> dict[str, Any]:
    """The client's part: CPU share over the phase, scheduling lag, and whether it limited the rate."""
    phase = phase or {}
    wall, cpu = phase.get("wall_s"), phase.get("cpu_s")
    cpu_share = (
        cpu / wall if isinstance(cpu, int | float) and isinstance(wall, int | float) and wall > 0 else None
    )
    reasons: list[str] = []
    # Against the rate its own schedule asked for (a seeded Poisson draw of 30 gaps is itself ~20% off
    # the nominal rate), so only the client's lateness counts here.
    offered, achieved = stats.get("scheduled_rps"), stats.get("achieved_rps")
    lag95 = stats["lag_s"].get("p95")
    if stats.get("offered_rps") is None:
        offered = None  # closed loop: the client sends when a reply comes back, there is no schedule
    if offered and achieved is not None and achieved < 0.9 * offered:
        reasons.append(f"sent {achieved:.3g} of the {offered:.3g} requests/s scheduled")
    if offered and lag95 is not None and lag95 > max(0.005, LAG_SHARE / offered):
        reasons.append(f"p95 scheduling lag {lag95 * 1000:.0f} ms")
    if cpu_share is not None and cpu_share >= CLIENT_CPU_LIMIT:
        reasons.append(f"client CPU {cpu_share:.0%} of a core")
    embedded = bool(phase.get("embedded_simulator"))
    warning = None
    if reasons:
        warning = "the client, not the service, limited this point: " + "; ".join(reasons)
        if embedded:
            warning += " (the embedded simulator shares the client's process and its CPU)"
    return {
        "cpu_share": cpu_share,
        "cpu_s": cpu,
        "wall_s": wall,
        "embedded_simulator": embedded,
        "limited": bool(reasons),
        "warning": warning,
    }


def saturation(stats: Mapping[str, Any], config: SaturationConfig) -> tuple[bool, str | None]:
    """Whether a point saturated the service, and why: completions fell short of the offered rate, or
    the queue grew over the phase. A shortfall the client caused is not counted against the service."""
    offered = stats.get("scheduled_rps") if stats.get("offered_rps") is not None else None
    throughput = stats.get("throughput_rps")
    client_limited = bool(stats.get("client", {}).get("limited"))
    if (
        offered
        and throughput is not None
        and throughput < (1 - config.rate_shortfall) * offered
        and not client_limited
    ):
        return True, (
            f"completed {throughput:.3g} requests/s of {offered:.3g} scheduled "
            f"(more than {config.rate_shortfall:.0%} short)"
        )
    growth = stats.get("queue_growth")
    if growth is not None and growth > config.queue_growth:
        return True, f"latency from the schedule grew {growth:.0%} over the phase (a growing queue)"
    return False, None


def max_rate_at_slo(
    rates: Sequence[float], shares: Sequence[float], quantile: float
) -> tuple[float | None, bool]:
    """The highest rate at which the share of requests meeting the SLO is at least `quantile`, and
    whether it is only a lower bound (every point met it). Points are taken by rising rate; between the
    last point that meets the SLO and the next one that does not, the crossing is interpolated linearly.
    None when even the lowest rate misses it."""
    pairs = sorted(zip(rates, shares, strict=True))
    best: float | None = None
    for i, (rate, share) in enumerate(pairs):
        if share < quantile:
            if i == 0:
                return None, False
            r0, s0 = pairs[i - 1]
            return r0 + (rate - r0) * (s0 - quantile) / (s0 - share), False
        best = rate
    return best, True


def _bootstrap_max_rate(
    rates: Sequence[float], met: Sequence[Sequence[bool]], quantile: float, seed: int = 0
) -> tuple[float | None, float | None]:
    """95% percentile CI of max_rate_at_slo, resampling each point's requests (rates held fixed)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    share_draws = []
    for flags in met:
        x = np.asarray(flags, dtype=np.float64)
        if x.size == 0:
            share_draws.append(np.zeros(BOOTSTRAP_RESAMPLES))
            continue
        idx = rng.integers(0, x.size, size=(BOOTSTRAP_RESAMPLES, x.size))
        share_draws.append(x[idx].mean(axis=1))
    values = []
    for b in range(BOOTSTRAP_RESAMPLES):
        value, _ = max_rate_at_slo(rates, [float(d[b]) for d in share_draws], quantile)
        values.append(0.0 if value is None else value)
    low, high = np.percentile(values, [2.5, 97.5])
    return float(low), float(high)


def _rate_of(point: Mapping[str, Any]) -> float | None:
    """The x of a point on the SLO and latency curves: the completed-request rate it achieved."""
    value = point.get("throughput_rps")
    return float(value) if isinstance(value, int | float) and math.isfinite(value) else None


def load_summary(records: Sequence[Record], manifest: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """summary.json's `"load"` block, or None when the run has no load points."""
    block = (manifest or {}).get("load")
    if not isinstance(block, Mapping) or not block.get("points"):
        return None
    suite = (manifest or {}).get("suite") or {}
    slo = SloConfig.model_validate(suite["slo"]) if suite.get("slo") else None
    load_cfg = suite.get("load") or {}
    sat = SaturationConfig.model_validate(load_cfg.get("saturation") or {})
    by_point: dict[str, list[Record]] = {}
    for r in records:
        if r.load_point is not None:
            by_point.setdefault(r.load_point, []).append(r)
    phases = block.get("phases") or {}
    points = [
        point_stats(by_point.get(p["id"], []), p, slo=slo, saturation_config=sat, phase=phases.get(p["id"]))
        for p in block["points"]
        if p["id"] in by_point
    ]
    saturated = [p for p in points if p["saturated"]]
    ceiling = next((p for p in points if p["kind"] == "throughput"), None)
    knee_source = (
        ceiling
        if ceiling is not None
        else max(saturated, key=lambda p: p["throughput_rps"] or 0, default=None)
    )
    first_saturated = min(
        (p for p in saturated if p["kind"] == "rate"), key=lambda p: p["offered_rps"], default=None
    )
    out: dict[str, Any] = {
        "profile": load_cfg.get("profile", "points"),
        "points": points,
        "knee_rps": knee_source["throughput_rps"] if knee_source is not None else None,
        "knee_from": knee_source["id"] if knee_source is not None else None,
        "first_saturated": first_saturated["id"] if first_saturated is not None else None,
        "stopped_early": block.get("stopped_early"),
        "formulas": FORMULAS,
        "warnings": [f"{p['id']}: {p['client']['warning']}" for p in points if p["client"]["warning"]],
        "slo": None,
    }
    if slo is not None:
        curve = [p for p in points if p["kind"] != "throughput" and _rate_of(p) is not None]
        rates = [_rate_of(p) or 0.0 for p in curve]
        shares = [p["slo"]["share"]["all"] or 0.0 for p in curve]
        value, lower_bound = max_rate_at_slo(rates, shares, slo.quantile) if curve else (None, False)
        low, high = (
            _bootstrap_max_rate(rates, [p["slo"]["met"] for p in curve], slo.quantile)
            if curve
            else (None, None)
        )
        goodputs = [g for p in points if (g := p["slo"]["goodput_rps"]) is not None]
        out["slo"] = {
            **slo.model_dump(mode="json"),
            "max_rate_at_slo": value,
            "max_rate_ci_low": low,
            "max_rate_ci_high": high,
            "max_rate_is_lower_bound": lower_bound,
            "max_rate_method": "linear interpolation of the share meeting every SLO between the bracketing "
            "points (by achieved rate); 95% CI: bootstrap over each point's requests, rates held fixed",
            "goodput_rps": max(goodputs, default=None),
        }
    for p in points:
        if "slo" in p:
            p["slo"] = {k: v for k, v in p["slo"].items() if k != "met"}
    return out


def load_metric(summary: Mapping[str, Any], metric: str, on: str = "point") -> tuple[float | None, str]:
    """A load-sweep metric of a summary (goodput_rps: the best point's goodput; max_rate_at_slo, with
    `on` ci_low / ci_high its CI bounds; knee_rps), or None and why it is missing."""
    load = summary.get("load")
    if not isinstance(load, Mapping):
        return None, 'this run has no load points (no load: section), so summary.json has no "load"'
    if metric == "knee_rps":
        value: Any = load.get("knee_rps")
        return (
            (float(value), "")
            if isinstance(value, int | float)
            else (None, "no saturated load point, so no knee")
        )
    slo = load.get("slo")
    if not isinstance(slo, Mapping):
        return None, "the suite has no slo: section, so there is no goodput or rate at the SLO"
    key = (
        "goodput_rps"
        if metric == "goodput_rps"
        else {"point": "max_rate_at_slo", "ci_low": "max_rate_ci_low", "ci_high": "max_rate_ci_high"}[on]
    )
    value = slo.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None, f"load.slo.{key} is empty (no load point met the SLO?)"
    return float(value), ""
