"""A terse Markdown summary of summary.json for CI job summaries and PR comments: verdict, thresholds,
the best cell and a capped cell table. Owns that text only; model and data text is escaped so it
cannot break the table or inject markup.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from harness.report.cells import best_cell, cell_refs, dig, mapping, num, run_status, stat
from harness.report.formatting import fmt_int, fmt_seconds, fmt_stat, fmt_usd
from harness.rundir.layout import REPORT

MAX_ROWS = 30
MAX_FAILURES = 10


def md_escape(text: str) -> str:
    """Safe inside a Markdown table cell: no pipes, newlines, HTML or emphasis characters."""
    out = text.replace("\\", "\\\\").replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    for char in "|`*_[]#":
        out = out.replace(char, "\\" + char)
    return " ".join(out.split())


def render_markdown(
    summary: Mapping[str, Any], *, max_rows: int = MAX_ROWS, manifest: Mapping[str, Any] | None = None
) -> str:
    """The Markdown summary; `manifest` (manifest.json) adds a status line when the run did not complete."""
    metric = str(summary.get("primary_metric") or "accuracy")
    refs = cell_refs(summary)
    overall = mapping(summary.get("overall"))
    name = md_escape(str(summary.get("suite") or "run"))
    lines = [f"### {name}: {metric} {fmt_stat(metric, stat(overall, metric))}", ""]
    lines.append(
        f"{len(refs)} cells · {fmt_int(dig(overall, 'n_trials'))} trials · {fmt_int(dig(overall, 'n_error'))} failed · "
        f"p95 latency {fmt_seconds(num(overall, 'latency', 'e2e_s', 'p95'))} · total {fmt_usd(num(summary, 'cost', 'total_usd'))}"
    )
    lines.append("")
    status = run_status(manifest, summary)
    if status is not None:
        lines += [f"**{md_escape(status)}**", ""]
    results = [r for r in summary.get("thresholds") or [] if isinstance(r, Mapping)]
    if results:
        failed = [r for r in results if not r.get("passed")]
        if failed:
            lines.append(f"**Thresholds: {len(failed)} of {len(results)} checks FAIL**")
            lines += [
                f"- {md_escape(str(r.get('message') or r.get('metric')))}" for r in failed[:MAX_FAILURES]
            ]
            if len(failed) > MAX_FAILURES:
                lines.append(f"- … and {len(failed) - MAX_FAILURES} more")
        else:
            lines.append(f"**Thresholds: all {len(results)} checks pass**")
        lines.append("")
    best = best_cell(refs, metric)
    if best is not None and len(refs) > 1:
        from harness.report.power_view import best_cell_line

        lines += [md_escape(best_cell_line(summary, refs, best, metric)), ""]
    from harness.report.load_section import load_markdown

    lines += load_markdown(summary)  # load sweeps only
    if refs:
        lines.append(f"| # | cell | {metric} [95% CI] | p50 latency | p95 latency | cost / trial | errors |")
        lines.append("|---|---|---|---|---|---|---|")
        for ref in refs[:max_rows]:
            d = ref.data
            lines.append(
                f"| {ref.tag} | {md_escape(ref.cell_id or ref.label)} | {fmt_stat(metric, stat(d, metric))} | "
                f"{fmt_seconds(num(d, 'latency', 'e2e_s', 'p50'))} | {fmt_seconds(num(d, 'latency', 'e2e_s', 'p95'))} | "
                f"{fmt_usd(num(d, 'cost', 'per_trial_usd'))} | {fmt_int(num(d, 'errors', 'count'))} |"
            )
        if len(refs) > max_rows:
            lines.append(f"\n… {len(refs) - max_rows} more cells in {REPORT}")
    return "\n".join(lines).rstrip() + "\n"
