"""The report's words on what the run can conclude, from summary.json's `power` block: the verdict's
best-cell line (or "no cell is distinguishable from the best" and the tied set), and the "What this
run can tell apart" section with each cell's precision, the detectable differences and the race's
looks. Owns that wording; it computes no statistic.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from harness.report.cells import CellRef, dig, mapping, num, stat
from harness.report.context import Section, Table
from harness.report.formatting import DASH, fmt_int, fmt_stat
from harness.report.tables import cell, tag_cell
from harness.rundir import layout

MAX_TAGS = 12


def _points(value: float | None) -> str:
    return DASH if value is None else f"{value * 100:.1f} pts"


def _share(value: float | None) -> str:
    return DASH if value is None else f"{value * 100:.1f}%"


def _looks_table(racing: Mapping[str, Any], by_id: Mapping[str, CellRef]) -> Table:
    rows = []
    for look in racing.get("looks") or []:
        if not isinstance(look, Mapping):
            continue
        tests = [t for t in look.get("tests") or [] if isinstance(t, Mapping)]
        dropped = [str(t.get("cell_id")) for t in tests if t.get("dropped")]
        leader = by_id.get(str(look.get("leader")))
        rows.append(
            [
                cell(fmt_int(look.get("look")), num(look, "look")),
                cell(fmt_int(look.get("n_items")), num(look, "n_items")),
                cell(
                    f"{leader.tag} {leader.cell_id}" if leader else str(look.get("leader")),
                    color=leader.color if leader else None,
                    breaks=True,
                ),
                cell(_share(num(look, "leader_mean")), num(look, "leader_mean")),
                cell(fmt_int(len(tests) + 1), len(tests) + 1),
                cell(_tags(dropped, by_id) if dropped else DASH, len(dropped)),
                cell(f"{float(look.get('alpha') or 0):.3g}", num(look, "alpha")),
            ]
        )
    return Table(
        id="racing-looks",
        columns=[
            "look",
            "items",
            "leader",
            "leader's mean",
            "cells in the look",
            "dropped",
            "alpha of the look",
        ],
        numeric=[True, True, False, True, True, False, True],
        rows=rows,
        caption="Each look compares every surviving cell with the leader on the items all of them share.",
    )


def _tags(ids: Sequence[str], by_id: Mapping[str, CellRef]) -> str:
    tags = [by_id[i].tag if i in by_id else i for i in ids]
    shown = ", ".join(tags[:MAX_TAGS])
    return shown + (f" and {len(tags) - MAX_TAGS} more" if len(tags) > MAX_TAGS else "")


def best_cell_line(summary: Mapping[str, Any], refs: Sequence[CellRef], best: CellRef, metric: str) -> str:
    """The verdict's line on the best cell: a winner only when its paired comparisons support one."""
    verdict = mapping(dig(summary, "power", "verdict"))
    by_id = {r.cell_id: r for r in refs}
    lead = by_id.get(str(verdict.get("best")), best)
    name = f"{lead.tag} {lead.cell_id or lead.label} at {fmt_stat(metric, stat(lead.data, metric))}"
    if not verdict:
        return f"Best cell by {metric}: {name}."
    alpha = verdict.get("alpha", 0.05)
    tied = [str(t) for t in verdict.get("tied") or []]
    if tied:
        raced = [t for t in tied if t in (mapping(dig(summary, "power", "racing", "dropped")))]
        note = (
            f" The race dropped {len(raced)} of them ({_tags(raced, by_id)}) by its own tests against the "
            "leader at each look, which correct for fewer comparisons than the summary's."
            if raced
            else ""
        )
        return (
            f"No cell is distinguishable from the best by {metric}: {name} leads, but {len(tied)} other "
            f"cell{'s are' if len(tied) != 1 else ' is'} statistically tied with it ({_tags(tied, by_id)}; "
            f"paired comparison on shared items, Holm-corrected, alpha {alpha:g})." + note
        )
    return (
        f"Best cell by {metric}: {name}, better than every other cell "
        f"(paired comparisons on shared items, Holm-corrected, alpha {alpha:g})."
    )


def power_view_section(summary: Mapping[str, Any], refs: Sequence[CellRef]) -> Section | None:
    """ "What this run can tell apart": precision, detectable differences and the race, if any."""
    power = mapping(summary.get("power"))
    if not power or len(refs) < 1:
        return None
    metric = str(summary.get("primary_metric") or "accuracy")
    measured = mapping(power.get("measured"))
    accuracy, correlation = num(measured, "accuracy"), num(measured, "correlation")
    parts = []
    if accuracy is not None:
        parts.append(f"measured {metric} {accuracy:.2f}")
    parts.append(
        f"item correlation between cells {correlation:.2f}"
        if correlation is not None
        else "item correlation not measurable (assumed 0)"
    )
    intro = (
        f"Detectable differences are at {float(power.get('power') or 0.8):.0%} power for the paired comparison of a "
        f"cell with the best on their shared items, at alpha {float(power.get('alpha') or 0.05):g}/"
        f"{fmt_int(power.get('comparisons'))} (Holm's strictest step over the summary's comparisons), "
        f"using this run's {' and '.join(parts)}. A difference smaller than a cell's figure may be real "
        "but this run cannot show it; more items (or a higher item correlation) shrink it."
    )
    detect = mapping(power.get("detect"))
    if detect:
        intro += (
            f" To detect the suite's plan.detect of {float(detect.get('difference') or 0) * 100:g} points, a "
            f"comparison needs {fmt_int(detect.get('items'))} items per cell at these rates "
            f"({fmt_int(detect.get('items_one'))} for a single comparison at alpha {float(power.get('alpha') or 0.05):g})."
        )
    by_id = {r.cell_id: r for r in refs}
    racing = mapping(power.get("racing"))
    dropped = mapping(racing.get("dropped"))
    rows = []
    by_cell = {str(c.get("cell_id")): c for c in power.get("cells") or [] if isinstance(c, Mapping)}
    for ref in refs:
        entry = mapping(by_cell.get(ref.cell_id))
        half = num(entry, "half_width")
        row = [
            tag_cell(ref),
            cell(ref.cell_id or ref.label, ref.cell_id, title=ref.label, breaks=True),
            cell(fmt_int(entry.get("n_items")), num(entry, "n_items")),
            cell(f"±{half * 100:.1f} pts" if half is not None else DASH, half),
            cell(_points(num(entry, "mde_vs_best")), num(entry, "mde_vs_best")),
        ]
        if racing:
            gone = mapping(dropped.get(ref.cell_id))
            if gone:
                leader = by_id.get(str(gone.get("leader")))
                winner = by_id.get(str(gone.get("dominated_by")))
                if gone.get("dominated_by"):
                    text = (
                        f"dominated at look {gone.get('look')} ({fmt_int(gone.get('n_items'))} items) by "
                        f"{winner.tag if winner else gone.get('dominated_by')}: significantly cheaper and faster, "
                        "and not less accurate beyond the margin"
                    )
                else:
                    text = (
                        f"dropped at look {gone.get('look')} ({fmt_int(gone.get('n_items'))} items): "
                        f"{_share(num(gone, 'mean'))} vs {_share(num(gone, 'leader_mean'))} for the leader "
                        f"{leader.tag if leader else gone.get('leader')}, "
                        f"p_holm {float(gone.get('p_holm') or 0):.2g} < {float(gone.get('alpha') or 0):.2g}"
                    )
                row.append(cell(text, float(gone.get("look") or 0), cls="muted"))
            else:
                row.append(cell("survived", 1e9, cls="pass"))
        rows.append(row)
    columns = ["#", "cell", "items", f"{metric} ± (95% CI)", "detectable vs best"]
    if racing:
        columns.append("race")
    tables = [
        Table(
            id="power",
            columns=columns,
            numeric=[True, False, True, True, True, False][: len(columns)],
            rows=rows,
        )
    ]
    if racing:
        tables.append(_looks_table(racing, by_id))
    notes = []
    if racing:
        share = num(racing, "share_of_grid")
        notes.append(
            f"Racing: {fmt_int(racing.get('trials'))} trials of the full grid's {fmt_int(racing.get('grid_trials'))}"
            + (f" ({share:.0%})" if share is not None else "")
            + f", {fmt_int(racing.get('looks_done'))} of {fmt_int(racing.get('looks_planned'))} planned looks; "
            f"{len(racing.get('survivors') or [])} cell(s) survived"
            + (f"; the race ended because {racing.get('stop_reason')}." if racing.get("stop_reason") else ".")
        )
        notes.append(f"Correction for the repeated looks: {racing.get('correction')}.")
        notes.append(
            "A dropped cell's accuracy is measured on fewer items and is biased low (it stopped when it looked "
            "worst); the survivors' are biased a little high (winner's curse). Compare cells on the items they "
            f"share (the comparisons in {layout.SUMMARY} do)."
        )
    return Section(id="power", title="What this run can tell apart", intro=intro, tables=tables, notes=notes)
