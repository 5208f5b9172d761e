"""The load-sweep check of a comparison: `max_rate_at_slo` (the highest rate meeting the suite's SLO,
from each side's summary.json `"load"` key), as a ratio current / baseline. The current side's 95% CI
(bootstrap over its requests, harness.stats.load) is divided by the baseline's value, which is taken as
exact; a regression is a ratio whose whole CI lies below 1 / ratio. Pure: summaries in, Checks out.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from harness.compare.model import Check, CheckVerdict
from harness.config import GateConfig

__all__ = ["SWEEP_CELL", "SWEEP_METRIC", "sweep_checks"]

SWEEP_METRIC = "max_rate_at_slo"
SWEEP_CELL = "load sweep"
_TEST = "current's bootstrap CI / baseline value"


def _slo(summary: Mapping[str, Any]) -> Mapping[str, Any] | None:
    load = summary.get("load")
    slo = load.get("slo") if isinstance(load, Mapping) else None
    return slo if isinstance(slo, Mapping) else None


def _num(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def sweep_checks(baseline: Mapping[str, Any], current: Mapping[str, Any], gate: GateConfig) -> list[Check]:
    """One check of max_rate_at_slo when either run is a load sweep with an SLO (none otherwise)."""
    base, cur = _slo(baseline), _slo(current)
    if base is None and cur is None:
        return []
    override = gate.metrics.get(SWEEP_METRIC)
    limit = override.ratio if override is not None and override.ratio is not None else gate.latency_ratio
    b = _num(base.get(SWEEP_METRIC)) if base is not None else None
    c = _num(cur.get(SWEEP_METRIC)) if cur is not None else None
    if base is None or cur is None or b is None or c is None or b <= 0:
        which = "baseline" if base is None or b is None else "current"
        why = f"{SWEEP_METRIC}: the {which} run has no rate meeting its SLO to compare"
        if b is not None and b <= 0:
            why = f"{SWEEP_METRIC}: baseline is {b:g}, no ratio"
        return [
            Check(
                SWEEP_CELL,
                SWEEP_METRIC,
                "load",
                _TEST,
                0,
                b,
                c,
                None,
                None,
                None,
                None,
                None,
                limit,
                "skipped",
                why,
            )
        ]
    low_c, high_c = _num(cur.get("max_rate_ci_low")), _num(cur.get("max_rate_ci_high"))
    ratio = c / b
    low = low_c / b if low_c is not None else None
    high = high_c / b if high_c is not None else None
    verdict: CheckVerdict = "pass"
    if high is not None and high < 1.0 / limit:
        verdict, why = "regression", f"the whole CI is below x{1.0 / limit:.3g}"
    elif low is not None and low > limit:
        verdict, why = "improvement", "improved"
    else:
        why = f"within x{1.0 / limit:.3g}"
    ci = "n/a" if low is None or high is None else f"[{low:.3f}, {high:.3f}]"
    message = f"{SWEEP_METRIC} {b:.4g} req/s -> {c:.4g} req/s (x{ratio:.3f}, 95% CI {ci}): {why}"
    return [
        Check(
            SWEEP_CELL,
            SWEEP_METRIC,
            "load",
            _TEST,
            0,
            b,
            c,
            ratio,
            low,
            high,
            None,
            None,
            limit,
            verdict,
            message,
        )
    ]
