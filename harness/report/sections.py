"""The report's header, verdict (thresholds, best cell, best cell within budget) and cell table, from
manifest.json and summary.json. Owns their wording and rounding; it computes no statistic and draws
no figure.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from harness.report.cells import CellRef, best_cell, dig, mapping, metric_names, num, run_status, stat
from harness.report.context import Fact, Header, Table, Verdict
from harness.report.formatting import (
    DASH,
    fmt_int,
    fmt_metric,
    fmt_rate,
    fmt_seconds,
    fmt_stat,
    fmt_tokens,
    fmt_usd,
    is_number,
)
from harness.report.tables import cell, drop_empty_columns, known, tag_cell
from harness.rundir.layout import RECORDS

_COST_METRICS = ("cost_per_trial_usd", "cost_per_correct_usd", "total_cost_usd")


def _duration(manifest: Mapping[str, Any]) -> float | None:
    wall = num(manifest, "wall_time_s")
    if wall is not None:
        return wall
    try:
        start = datetime.fromisoformat(str(manifest["started_at"]))
        end = datetime.fromisoformat(str(manifest["ended_at"]))
    except (KeyError, TypeError, ValueError):
        return None
    return (end - start).total_seconds()


def build_header(
    manifest: Mapping[str, Any], summary: Mapping[str, Any], *, n_records: int, skipped: int
) -> Header:
    suite = mapping(manifest.get("suite"))
    name = str(summary.get("suite") or dig(suite, "name") or "run")
    title = str(dig(suite, "report", "title") or name)
    facts = [Fact(label="Suite", value=name)]
    run_delivery = dig(manifest, "run", "delivery")  # the suite's run.delivery overrides a target's
    for tname, target in (manifest.get("targets") or {}).items():
        if isinstance(target, Mapping):
            parts = [
                str(target.get("provider") or ""),
                str(target.get("model") or ""),
                str(run_delivery or target.get("delivery") or ""),
            ]
            facts.append(Fact(label=f"Target {tname}", value=" · ".join(p for p in parts if p)))
    facts.append(Fact(label="Started", value=str(manifest.get("started_at") or DASH)))
    facts.append(Fact(label="Duration", value=fmt_seconds(_duration(manifest))))
    status = str(manifest.get("status") or DASH)
    if manifest.get("stop_reason"):
        status += f" ({manifest['stop_reason']})"
    facts.append(Fact(label="Status", value=status))
    plan = mapping(manifest.get("plan"))
    facts.append(
        Fact(
            label="Plan",
            value=f"{fmt_int(plan.get('cells'))} cells · {fmt_int(plan.get('trials'))} trials · "
            f"{fmt_int(plan.get('requests'))} requests · {fmt_int(plan.get('results'))} results",
        )
    )
    overall = mapping(summary.get("overall"))
    facts.append(
        Fact(
            label="Done",
            value=f"{fmt_int(n_records)} trials ({fmt_int(dig(overall, 'n_ok'))} ok, {fmt_int(dig(overall, 'n_error'))} failed)",
        )
    )
    facts.append(Fact(label="Total spend", value=fmt_usd(num(summary, "cost", "total_usd"))))
    run = mapping(manifest.get("run"))
    points = dig(manifest, "load", "points")
    if isinstance(points, list) and points:
        load = f"load sweep, {len(points)} points (see Load sweep)"
    elif run.get("rate_rps"):
        load = f"open loop, {fmt_rate(run.get('rate_rps'))} {run.get('arrival', '')} arrivals, ≤{run.get('concurrency')} in flight"
    else:
        load = f"closed loop, {run.get('concurrency', DASH)} in flight"
    facts.append(Fact(label="Load", value=load))
    facts.append(
        Fact(
            label="Harness",
            value=f"{manifest.get('harness_version') or DASH} · commit {str(manifest.get('git_commit') or 'unknown')[:12]}",
        )
    )
    machine = mapping(manifest.get("machine"))
    if machine:
        parts = [
            f"{machine['cpu_count']} CPUs" if "cpu_count" in machine else "",
            f"Python {machine['python']}" if "python" in machine else "",
            str(machine.get("platform") or ""),
        ]
        facts.append(Fact(label="Machine", value=" · ".join(p for p in parts if p)))
    command = manifest.get("command")
    command_text = shlex.join(str(c) for c in command) if isinstance(command, list) and command else None
    notes = []
    if skipped:
        notes.append(
            f"{skipped} unreadable line(s) of {RECORDS} were skipped (a torn last line after a crash is normal)."
        )
    for tname, target in (manifest.get("targets") or {}).items():
        if isinstance(target, Mapping) and dig(target, "prices", "placeholder"):
            notes.append(
                f"Target {tname} uses placeholder prices: price-table costs are estimates, not the provider's prices."
            )
    if dig(summary, "cost", "mismatch"):
        notes.append("Service-reported cost and price-table cost disagree; see Tokens and money.")
    description = str(dig(suite, "description") or "") or None
    return Header(title=title, description=description, facts=facts, command=command_text, notes=notes)


def _rule_text(result: Mapping[str, Any]) -> str:
    value = result.get("value")
    text = (
        f"{result.get('metric')} {result.get('op')} {value:g}"
        if is_number(value)
        else f"{result.get('metric')} {result.get('op')} {value}"
    )
    if result.get("on") not in (None, "point"):
        text += f" (on {result.get('on')})"
    return text


def _budgets(thresholds: Sequence[Mapping[str, Any]]) -> list[tuple[str, str, float]]:
    """Upper bounds on cost or latency among the suite's thresholds: the budgets a best cell must meet."""
    found: dict[tuple[str, str, float], None] = {}
    for rule in thresholds:
        metric, op, value = str(rule.get("metric")), str(rule.get("op")), rule.get("value")
        if (
            op in ("<=", "<")
            and is_number(value)
            and (metric in _COST_METRICS or metric.endswith(("_latency_s", "_ttft_s")))
        ):
            found[(metric, op, float(value))] = None  # type: ignore[arg-type]
    return list(found)


def _within(ref: CellRef, metric: str, op: str, bound: float) -> bool:
    paths: dict[str, tuple[str, ...]] = {
        "cost_per_trial_usd": ("cost", "per_trial_usd"),
        "cost_per_correct_usd": ("cost", "per_correct_usd"),
        "total_cost_usd": ("cost", "total_usd"),
    }
    path = paths.get(metric)
    if path is None:
        pct, _, rest = metric.partition("_")
        key = {"latency_s": "e2e_s", "ttft_s": "ttft_s"}.get(rest, rest)
        path = ("latency", key, pct)
    value = num(ref.data, *path)
    return value is not None and (value <= bound if op == "<=" else value < bound)


def build_verdict(
    summary: Mapping[str, Any], refs: Sequence[CellRef], manifest: Mapping[str, Any] | None = None
) -> Verdict:
    metric = str(summary.get("primary_metric") or "accuracy")
    results = [r for r in summary.get("thresholds") or [] if isinstance(r, Mapping)]
    status = run_status(manifest, summary)
    lines = [] if status is None else [status]
    best = best_cell(refs, metric)
    if best is not None:
        from harness.report.power_view import best_cell_line

        lines.append(best_cell_line(summary, refs, best, metric))
    budgets = _budgets(results)
    if budgets and refs:
        within = {r.cell_id for r in refs if all(_within(r, m, op, b) for m, op, b in budgets)}
        rule = " and ".join(f"{m} {op} {b:g}" for m, op, b in budgets)
        pick = best_cell(refs, metric, allowed=within)
        if pick is None:
            lines.append(f"No cell meets the budget ({rule}).")
        else:
            lines.append(
                f"Best cell within the budget ({rule}): {pick.tag} {pick.cell_id or pick.label} at {fmt_stat(metric, stat(pick.data, metric))}."
            )
    if not results:
        return Verdict(
            passed=None, headline="No thresholds are set for this suite.", lines=lines, thresholds=None
        )
    tags = {r.cell_id: r for r in refs}
    rows = []
    for result in results:
        passed = bool(result.get("passed"))
        cell_id = result.get("cell_id")
        ref = tags.get(str(cell_id)) if cell_id is not None else None
        where = f"{ref.tag} {cell_id}" if ref else (str(cell_id) if cell_id is not None else "pooled run")
        observed = result.get("observed")
        rows.append(
            [
                cell(_rule_text(result)),
                cell(str(result.get("scope") or DASH)),
                cell(where, color=ref.color if ref else None, breaks=True),
                cell(
                    fmt_metric(str(result.get("metric")), observed), observed if is_number(observed) else None
                ),
                cell("pass" if passed else "FAIL", int(passed), cls="pass" if passed else "fail"),
                cell(str(result.get("message") or "")),
            ]
        )
    failed = sum(not r.get("passed") for r in results)
    headline = (
        f"All {len(results)} threshold checks pass."
        if not failed
        else f"{failed} of {len(results)} threshold checks FAIL."
    )
    table = Table(
        id="thresholds",
        columns=["rule", "scope", "where", "observed", "result", "detail"],
        numeric=[False, False, False, True, False, False],
        rows=rows,
    )
    return Verdict(passed=not failed, headline=headline, lines=lines, thresholds=table)


def cell_table(summary: Mapping[str, Any], refs: Sequence[CellRef]) -> Table:
    metrics = metric_names(summary, refs)
    columns = ["#", "cell", "trials", *(f"{m} [95% CI]" for m in metrics[:1]), *metrics[1:]]
    columns += [
        "latency p50 · p95",
        "TTFT p50",
        "tokens in · out",
        "cost",
        "cost / correct",
        "errors · truncated",
    ]
    numeric = [True, False] + [True] * (len(columns) - 2)
    rows = []
    for ref in refs:
        d = ref.data
        row = [
            tag_cell(ref),
            cell(ref.cell_id or ref.label, ref.cell_id, title=ref.label, breaks=True),
            cell(fmt_int(dig(d, "n_trials")), known(num(d, "n_trials"))),
        ]
        for name in metrics:
            s = stat(d, name)
            mean = num(s, "mean")
            row.append(
                cell(fmt_stat(name, s), mean, title=f"n={dig(s, 'n')} ({dig(s, 'method')})" if s else None)
            )
        p50, p95 = num(d, "latency", "e2e_s", "p50"), num(d, "latency", "e2e_s", "p95")
        row.append(cell(f"{fmt_seconds(p50)} · {fmt_seconds(p95)}", p95, title="sorted by p95"))
        ttft = num(d, "latency", "ttft_s", "p50")
        row.append(cell(fmt_seconds(ttft), ttft))
        prompt, completion = num(d, "tokens", "per_trial_prompt"), num(d, "tokens", "per_trial_completion")
        row.append(
            cell(
                f"{fmt_tokens(prompt)} · {fmt_tokens(completion)}",
                completion,
                title="per trial; sorted by output",
            )
        )
        for key in ("total_usd", "per_correct_usd"):
            value = num(d, "cost", key)
            row.append(cell(fmt_usd(value), value))
        errors, truncations = num(d, "errors", "count"), num(d, "errors", "truncations")
        row.append(
            cell(
                f"{fmt_int(errors)} · {fmt_int(truncations)}",
                errors,
                cls="fail" if errors else ("warn" if truncations else None),
            )
        )
        rows.append(row)
    return drop_empty_columns(
        Table(
            id="cells",
            columns=columns,
            numeric=numeric,
            rows=rows,
            caption="Click a column header to sort. Latency is end-to-end (request sent to last byte); tokens are per trial.",
        )
    )
