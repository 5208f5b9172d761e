"""The report's comparison section: the verdict of `harness compare` against a baseline run, per-cell
checks with their CIs, and the items that flipped. Reads the dict of `Comparison.to_dict()`
(see harness.compare); it recomputes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from harness.report.cells import CellRef, mapping, num
from harness.report.context import Section, Table, TableCell
from harness.report.formatting import DASH, fmt_int, fmt_metric, fmt_seconds, fmt_usd, is_number

MAX_FLIPS = 100
_VERDICT_CLASS = {"regression": "fail", "improvement": "pass", "pass": None, "skipped": "muted"}


def _value(metric: str, value: float | None) -> str:
    if value is None:
        return DASH
    if metric.endswith(("_latency_s", "_ttft_s")):
        return fmt_seconds(value)
    if metric.endswith("_usd"):
        return fmt_usd(value)
    return fmt_metric(metric, value)


def _estimate(check: Mapping[str, Any]) -> str:
    estimate, low, high = num(check, "estimate"), num(check, "ci_low"), num(check, "ci_high")
    if estimate is None:
        return DASH
    if check.get("kind") == "quality":
        metric = str(check.get("metric"))
        text = ("+" if estimate >= 0 else "−") + fmt_metric(metric, abs(estimate))
        if low is not None and high is not None:
            text += f" [{'+' if low >= 0 else '−'}{fmt_metric(metric, abs(low))}, {'+' if high >= 0 else '−'}{fmt_metric(metric, abs(high))}]"
        return text
    text = f"×{estimate:.3g}"
    if low is not None and high is not None:
        text += f" [{low:.3g}, {high:.3g}]"
    return text


def comparison_section(comparison: Mapping[str, Any], refs: Sequence[CellRef]) -> Section:
    tags = {r.cell_id: r for r in refs}
    baseline = mapping(comparison.get("baseline"))
    intro = f"Against the baseline at {baseline.get('path', DASH)} ({baseline.get('started_at') or 'unknown time'}, commit {baseline.get('git_commit') or 'unknown'}): {comparison.get('headline', '')}"
    rows = []
    for check in comparison.get("checks") or []:
        if not isinstance(check, Mapping):
            continue
        metric = str(check.get("metric"))
        ref = tags.get(str(check.get("cell_id")))
        limit = check.get("limit")
        limit_text = (
            (
                f"drop ≤ {fmt_metric(metric, limit)}"
                if check.get("kind") == "quality"
                else f"ratio ≤ {limit:g}"
            )
            if is_number(limit)
            else DASH
        )
        verdict = str(check.get("verdict", ""))
        rows.append(
            [
                TableCell(
                    text=f"{ref.tag + ' ' if ref else ''}{check.get('cell_id')}",
                    sort=str(check.get("cell_id")),
                    breaks=True,
                    color=ref.color if ref else None,
                ),
                TableCell(text=metric),
                TableCell(text=fmt_int(check.get("n")), sort=num(check, "n")),
                TableCell(text=_value(metric, num(check, "baseline")), sort=num(check, "baseline")),
                TableCell(text=_value(metric, num(check, "current")), sort=num(check, "current")),
                TableCell(text=_estimate(check), sort=num(check, "estimate")),
                TableCell(text=limit_text),
                TableCell(
                    text=verdict, cls=_VERDICT_CLASS.get(verdict), title=str(check.get("message") or "")
                ),
            ]
        )
    tables = [
        Table(
            id="comparison-checks",
            columns=["cell", "metric", "n", "baseline", "current", "change [95% CI]", "allowed", "verdict"],
            numeric=[False, False, True, True, True, True, False, False],
            rows=rows,
            caption="Quality: current − baseline on paired items. Latency and cost: current / baseline. A regression is a change whose whole CI lies beyond the allowed limit.",
        )
    ]
    flips = [f for f in comparison.get("flips") or [] if isinstance(f, Mapping)]
    if flips:
        flip_rows = []
        for flip in flips[:MAX_FLIPS]:
            ref = tags.get(str(flip.get("cell_id")))
            direction = str(flip.get("direction", ""))
            flip_rows.append(
                [
                    TableCell(
                        text=f"{ref.tag + ' ' if ref else ''}{flip.get('cell_id')}",
                        sort=str(flip.get("cell_id")),
                        breaks=True,
                        color=ref.color if ref else None,
                    ),
                    TableCell(text=str(flip.get("item_id")), sort=str(flip.get("item_id"))),
                    TableCell(text=str(flip.get("repeat")), sort=num(flip, "repeat")),
                    TableCell(
                        text=direction.replace("_", " "),
                        cls="fail" if direction == "right_to_wrong" else "pass",
                    ),
                    TableCell(text=str(flip.get("reference") if flip.get("reference") is not None else DASH)),
                    TableCell(
                        text=str(
                            flip.get("baseline_answer") if flip.get("baseline_answer") is not None else DASH
                        )
                    ),
                    TableCell(
                        text=str(
                            flip.get("current_answer") if flip.get("current_answer") is not None else DASH
                        )
                    ),
                ]
            )
        counts = mapping(comparison.get("flip_counts"))
        caption = f"{fmt_int(counts.get('right_to_wrong'))} right → wrong, {fmt_int(counts.get('wrong_to_right'))} wrong → right."
        if len(flips) > MAX_FLIPS:
            caption += f" Showing {MAX_FLIPS} of {len(flips)}."
        tables.append(
            Table(
                id="comparison-flips",
                columns=["cell", "item", "repeat", "change", "gold", "baseline answer", "current answer"],
                numeric=[False, False, True, False, False, False, False],
                rows=flip_rows,
                caption=caption,
            )
        )
    notes = [f"Incomplete: {p}" for p in comparison.get("problems") or []] + [
        str(n) for n in comparison.get("notes") or []
    ]
    pairing = mapping(comparison.get("pairing"))
    if pairing:
        notes.append(
            f"{fmt_int(pairing.get('matched'))} trials paired; {fmt_int(pairing.get('only_baseline'))} only in the baseline, "
            f"{fmt_int(pairing.get('only_current'))} only in this run, {fmt_int(pairing.get('error_pairs'))} pairs left out because a side failed."
        )
    return Section(
        id="comparison", title="Comparison with the baseline", intro=intro, tables=tables, notes=notes
    )
