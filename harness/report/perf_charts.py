"""Decides the performance figures of a run and prepares their data: latency CDFs (per cell, or per
group when there are many cells), inter-token gaps, achieved vs target rate, tokens and money,
reliability. The drawing is in `perf_figures.py`; the tables in `tables.py`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from harness.report import perf_figures, tables
from harness.report.canvas import series_color
from harness.report.cells import CellRef, dig, mapping, num
from harness.report.charts import distinct_values
from harness.report.context import Figure, Section
from harness.report.formatting import fmt_int, fmt_rate, fmt_seconds, fmt_usd, fmt_value
from harness.report.rundata import ITL_SAMPLES_PER_RECORD, RunFiles

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

MAX_CDF_LINES = 8
MAX_BAR_CELLS = 40


def _groups(files: RunFiles, refs: Sequence[CellRef]) -> tuple[dict[str, str], dict[str, str], str]:
    """(cell_id -> group, group -> colour, how): cells themselves when few, else an axis's values."""
    if len(refs) <= MAX_CDF_LINES:
        return (
            {r.cell_id: f"{r.tag} {r.label}" for r in refs},
            {f"{r.tag} {r.label}": r.color for r in refs},
            "per cell",
        )
    axes = [str(a) for a in files.summary.get("swept_axes") or []]
    options = sorted(
        (len(distinct_values(refs, a)), i, a)
        for i, a in enumerate(axes)
        if 2 <= len(distinct_values(refs, a)) <= MAX_CDF_LINES
    )
    if not options:
        return {r.cell_id: "all cells" for r in refs}, {"all cells": series_color(0, 1)}, "all cells together"
    axis = options[0][2]
    group_of = {r.cell_id: f"{axis}={fmt_value(dig(r.data, 'cell', axis))}" for r in refs}
    names = list(dict.fromkeys(group_of.values()))
    return (
        group_of,
        {g: series_color(i, len(names)) for i, g in enumerate(names)},
        f"grouped by {axis} ({len(refs)} cells)",
    )


def in_flight_cap(manifest: Mapping[str, Any]) -> int | None:
    """The most requests the run allowed in flight: run.concurrency, or a target's lower max_concurrency."""
    cap = mapping(manifest.get("run")).get("concurrency")
    if not isinstance(cap, int):
        return None
    for target in mapping(manifest.get("targets")).values():
        limit = mapping(target).get("max_concurrency")
        if isinstance(limit, int):
            cap = min(cap, limit)
    return cap


def share_at_cap(records: pd.DataFrame, cap: int) -> float | None:
    """Share of the run (first send to last answer) during which `cap` or more trials were in flight."""
    import numpy as np

    spans = records[["sent_s", "done_s"]].dropna()
    if spans.empty or cap < 1:
        return None
    times = np.concatenate([spans["sent_s"].to_numpy(), spans["done_s"].to_numpy()])
    steps = np.concatenate([np.ones(len(spans)), -np.ones(len(spans))])
    order = np.lexsort((steps, times))  # by time; at equal times an answer frees its slot first
    times, level = times[order], np.cumsum(steps[order])
    total = float(times[-1] - times[0])
    if total <= 0:
        return None
    return float(np.diff(times)[level[:-1] >= cap].sum() / total)


def rate_shortfall_note(
    records: pd.DataFrame, manifest: Mapping[str, Any], target: float, achieved: float
) -> str:
    """Why an open-loop run sent slower than its target: the in-flight cap when it was full for most of
    the run (then the queue wait and the --concurrency that would do), else the client or the service."""
    import math

    head = f"The run achieved {fmt_rate(achieved)} of the {fmt_rate(target)} it aimed for"
    cap = in_flight_cap(manifest)
    batch = max(
        [
            _batch(mapping(t), dig(manifest, "run", "delivery"))
            for t in mapping(manifest.get("targets")).values()
        ]
        or [1]
    )
    # Records are trials; a request carries up to batch_size of them.
    share = share_at_cap(records, cap * batch) if cap is not None else None
    if cap is None or share is None or share < 0.5:
        return (
            head
            + ": the client or the service could not keep up, so latencies understate an overloaded service."
        )
    text = (
        f"{head} because of the in-flight cap, not the service: {cap} requests (run.concurrency) were in "
        f"flight for {share:.0%} of the run"
    )
    wait = (records["sent_s"] - records["scheduled_s"]).dropna()
    if len(wait):
        text += f", so requests waited a median {fmt_seconds(float(wait.median()))} for a free slot"
    latency = records.loc[records["status"] == "ok", "e2e_s"].dropna()
    needed = math.ceil(target * float(latency.median())) if len(latency) else None
    if needed is not None and needed > cap:
        return (
            text
            + f". Raise --concurrency to about {needed} (target rate x median latency) to reach the target."
        )
    return text + ". Raise --concurrency to reach the target."


def latency_section(files: RunFiles, refs: Sequence[CellRef]) -> Section:
    import numpy as np

    records = files.records
    ok = records[records["status"] == "ok"]
    group_of, colors, how = _groups(files, refs)
    out = []
    for column, what in (("e2e_s", "end-to-end latency"), ("ttft_s", "time to first token")):
        data = ok[["cell_id", column]].dropna()
        if data.empty:
            continue
        frame = data.assign(
            group=data["cell_id"].map(lambda c: group_of.get(c, "other")), value_s=data[column]
        )
        out.append(
            Figure(
                title=f"{what.capitalize()} CDF",
                svg=perf_figures.latency_cdf(frame, colors, what=what),
                caption=f"Successful trials, {how}.",
            )
        )
    if files.itl_ms:
        pooled: dict[str, list[np.ndarray]] = {}
        for cell_id, gaps in files.itl_ms.items():
            pooled.setdefault(group_of.get(cell_id, "other"), []).append(gaps)
        gaps_by_group = {
            g: np.concatenate(parts)
            for g, parts in sorted(
                pooled.items(), key=lambda kv: list(colors).index(kv[0]) if kv[0] in colors else 1_000_000
            )
        }
        out.append(
            Figure(
                title="Inter-token gaps",
                svg=perf_figures.itl_distribution(gaps_by_group, colors),
                caption=f"Streamed answers, {how}; up to {ITL_SAMPLES_PER_RECORD} gaps sampled evenly from each stream.",
            )
        )
    notes = []
    manifest = files.manifest
    target = num(manifest, "target_rps") or num(files.summary, "rate", "target_rps")
    achieved = num(manifest, "achieved_rps") or num(files.summary, "rate", "achieved_rps")
    if target:
        svg = perf_figures.request_rate(
            records["sent_s"].to_numpy(dtype=float), target, done_s=records["done_s"].to_numpy(dtype=float)
        )
        out.append(
            Figure(
                title="Achieved vs target request rate",
                svg=svg,
                caption=f"Open-loop run: target {fmt_rate(target)}, achieved {fmt_rate(achieved)}.",
            )
        )
        if achieved is not None and achieved < 0.9 * target:
            notes.append(rate_shortfall_note(records, manifest, target, achieved))
    history = manifest.get("concurrency_history")
    if (
        isinstance(history, list)
        and len({tuple(p)[1] for p in history if isinstance(p, list | tuple) and len(p) == 2}) > 1
    ):
        points = [p for p in history if isinstance(p, list | tuple) and len(p) == 2]
        out.append(
            Figure(
                title="Concurrency limit",
                svg=perf_figures.concurrency_history(points),
                caption="Adaptive concurrency: the in-flight limit shrinks on rate limits and grows back.",
            )
        )
    intro = "" if len(ok) else "No trial finished successfully, so there is no latency to show."
    return Section(
        id="latency",
        title="Latency",
        intro=intro,
        figures=out,
        tables=[tables.latency_table(refs)] if refs else [],
        notes=notes,
    )


def money_section(files: RunFiles, refs: Sequence[CellRef]) -> Section:
    import pandas as pd

    summary = files.summary
    shown = list(refs)[:MAX_BAR_CELLS]
    cells = pd.DataFrame(
        [
            {
                "cell_id": r.cell_id,
                "tag": f"{r.tag} {r.label}"[:28],
                "prompt": num(r.data, "tokens", "per_trial_prompt"),
                "answer": max(
                    0.0,
                    (num(r.data, "tokens", "per_trial_completion") or 0.0)
                    - (num(r.data, "tokens", "per_trial_thinking") or 0.0),
                ),
                "thinking": num(r.data, "tokens", "per_trial_thinking"),
                "cost_per_trial": num(r.data, "cost", "per_trial_usd"),
            }
            for r in shown
        ]
    )
    out = []
    if not cells.empty:
        caption = "Answer tokens are completion tokens minus thinking tokens."
        if len(refs) > len(shown):
            caption += f" The first {len(shown)} of {len(refs)} cells."
        out.append(
            Figure(
                title="Tokens and cost per trial",
                svg=perf_figures.tokens_and_cost(cells, {r.cell_id: r.color for r in refs}),
                caption=caption,
                wide=True,
            )
        )
    cost = mapping(summary.get("cost"))
    notes = [
        f"Total {fmt_usd(num(cost, 'total_usd'))}; service-reported {fmt_usd(num(cost, 'service_usd'))}; price table {fmt_usd(num(cost, 'price_table_usd'))}."
    ]
    if dig(cost, "mismatch"):
        notes.append(
            "The service-reported cost and the price-table cost disagree: check the target's price table."
        )
    judge = mapping(summary.get("judge"))
    if judge:
        notes.append(
            f"Judge (not included above): {fmt_int(judge.get('trials'))} calls "
            f"({fmt_int(judge.get('errors'))} failed), {fmt_int(judge.get('prompt_tokens'))} prompt and "
            f"{fmt_int(judge.get('completion_tokens'))} completion tokens, {fmt_usd(num(judge, 'cost_usd'))}."
        )
    return Section(
        id="money",
        title="Tokens and money",
        figures=out,
        tables=[tables.money_table(refs)] if refs else [],
        notes=notes,
    )


def reliability_section(files: RunFiles, refs: Sequence[CellRef]) -> Section:
    import pandas as pd

    overall = mapping(files.summary.get("overall"))
    errors = dig(overall, "errors") or {}
    notes = [
        f"{int(errors.get('count') or 0)} failed trials, {int(errors.get('retries') or 0)} retries, "
        f"{fmt_seconds(errors.get('retry_wait_s') or 0.0)} spent backing off "
        f"({fmt_seconds(errors.get('rate_limit_wait_s') or 0.0)} of it waiting out rate limits)."
    ]
    kinds = sorted({str(k) for r in refs for k in (dig(r.data, "errors", "by_kind") or {})})
    out = []
    failing = [r for r in refs if num(r.data, "errors", "count")][:MAX_BAR_CELLS]
    if kinds and failing:
        counts = pd.DataFrame(
            [[float((dig(r.data, "errors", "by_kind") or {}).get(k, 0)) for k in kinds] for r in failing],
            index=[f"{r.tag} {r.label}"[:28] for r in failing],
            columns=kinds,
        )
        out.append(
            Figure(
                title="Errors by kind and cell",
                svg=perf_figures.errors_by_kind(counts),
                caption="Cells without errors are left out.",
            )
        )
    eventful = any(
        num(r.data, "errors", k) for r in refs for k in ("count", "retries", "truncations", "retry_wait_s")
    )
    return Section(
        id="reliability",
        title="Reliability",
        intro="" if eventful or not refs else "No trial failed, was retried or was cut short.",
        figures=out,
        tables=[tables.reliability_table(refs)] if eventful else [],
        notes=notes if eventful else [],
    )


def _batch(target: Mapping[str, Any], run_delivery: object) -> int:
    """Trials one request to this target carried (the manifest keeps targets as plain dicts)."""
    from harness.config import TargetConfig
    from harness.providers import max_batch

    try:
        config = TargetConfig.model_validate(target)
    except ValueError:
        return int(target.get("batch_size") or 1)
    return max_batch(config, str(run_delivery) if run_delivery else None)
