"""How the report names and colours cells, and reads their statistics out of summary.json: a short tag
(`#3`), a label of its grid values, one colour used by every figure. Owns lookups only; it computes
no statistic.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from harness.report.canvas import cell_colors
from harness.report.formatting import fmt_value, is_number

OUTCOMES = ("correct", "wrong", "no_answer", "truncated", "error", "invalid")


@dataclass(slots=True, frozen=True)
class CellRef:
    cell_id: str
    tag: str  # "#3": its row in the cell table, its label in crowded figures
    label: str  # grid values in axis order, "0.6 · 20 · high"
    color: str
    data: Mapping[str, Any]  # the summary.json CELL


def cell_refs(summary: Mapping[str, Any]) -> list[CellRef]:
    cells: list[Mapping[str, Any]] = [c for c in summary.get("cells") or [] if isinstance(c, Mapping)]
    axes = [str(a) for a in summary.get("swept_axes") or []]
    colors = cell_colors([str(c.get("cell_id", "")) for c in cells])
    refs = []
    for index, cell in enumerate(cells):
        cell_id = str(cell.get("cell_id", ""))
        values = cell.get("cell") or {}
        names = axes or list(values)
        label = " · ".join(fmt_value(values.get(a)) for a in names) if names else cell_id or "all"
        refs.append(CellRef(cell_id, f"#{index + 1}", label, colors[cell_id], cell))
    return refs


def mapping(value: Any) -> Mapping[str, Any]:
    """`value` when it is a JSON object, else an empty one: summary fields may be missing or null."""
    return value if isinstance(value, Mapping) else {}


def dig(data: Mapping[str, Any] | None, *path: str) -> Any:
    """data[path[0]][path[1]]... or None when any step is missing."""
    node: Any = data
    for key in path:
        if not isinstance(node, Mapping):
            return None
        node = node.get(key)
    return node


def num(data: Mapping[str, Any] | None, *path: str) -> float | None:
    value = dig(data, *path)
    return float(value) if is_number(value) else None


def stat(cell: Mapping[str, Any] | None, metric: str) -> Mapping[str, Any] | None:
    value = dig(cell, "metrics", metric)
    return value if isinstance(value, Mapping) else None


def metric_names(summary: Mapping[str, Any], refs: Sequence[CellRef]) -> list[str]:
    """The primary metric first, then the others the cells report (score:<primary> is the same number)."""
    primary = str(summary.get("primary_metric") or "accuracy")
    scorers = [str(s) for s in summary.get("scorers") or []]
    duplicate = f"score:{scorers[0]}" if scorers else None
    names: dict[str, None] = {primary: None}
    for ref in refs:
        for name in dig(ref.data, "metrics") or {}:
            if name != duplicate:
                names.setdefault(str(name), None)
    return list(names)


def best_cell(refs: Sequence[CellRef], metric: str, *, allowed: set[str] | None = None) -> CellRef | None:
    """Highest mean; ties go to the higher CI lower bound, then the cheaper cell."""

    def key(ref: CellRef) -> tuple[float, float, float]:
        s = stat(ref.data, metric) or {}
        mean = float(s["mean"]) if is_number(s.get("mean")) else float("-inf")
        low = float(s["ci_low"]) if is_number(s.get("ci_low")) else float("-inf")
        cost = num(ref.data, "cost", "per_trial_usd")
        return (mean, low, -(cost if cost is not None else 0.0))

    pool = [
        r
        for r in refs
        if (allowed is None or r.cell_id in allowed) and is_number((stat(r.data, metric) or {}).get("mean"))
    ]
    return max(pool, key=key) if pool else None


def run_status(manifest: Mapping[str, Any] | None, summary: Mapping[str, Any]) -> str | None:
    """ "Run interrupted: 13 of 200 planned trials done (why)." when the manifest's status is not
    complete (None when it is, or when there is no manifest): a verdict on part of a run says so."""
    status = (manifest or {}).get("status")
    if manifest is None or status in (None, "complete"):
        return None
    done = dig(summary, "overall", "n_trials")
    planned = dig(mapping(manifest.get("plan")), "trials")
    text = f"Run {status}"
    if isinstance(done, int) and isinstance(planned, int):
        text += f": {done:,} of {planned:,} planned trials done"
    reason = manifest.get("stop_reason")
    if reason:
        text += f" ({reason})"
    return text + "; figures and thresholds cover only the finished trials."
