"""The terminal view of a comparison: a rich table of the checks, the verdict line, and the first
flipped items. Rendering only; writes to the Console it is given.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from harness.compare.model import Check, Comparison

if TYPE_CHECKING:
    from rich.console import Console

MAX_FLIPS_PRINTED = 10
_STYLES = {"pass": "green", "regression": "bold red", "improvement": "cyan", "skipped": "dim"}


def print_comparison(comparison: Comparison, console: Console) -> None:
    """Print the checks table, flipped items and the verdict."""
    from rich.table import Table
    from rich.text import Text

    table = Table(
        title=f"harness compare: {comparison.suite} ({comparison.mode})",
        title_justify="left",
        show_lines=False,
    )
    for header, justify in (
        ("cell", "left"),
        ("metric", "left"),
        ("baseline", "right"),
        ("current", "right"),
        ("change [95% CI]", "left"),
        ("p (Holm)", "right"),
        ("limit", "right"),
        ("verdict", "left"),
    ):
        table.add_column(header, justify=justify)  # type: ignore[arg-type]
    for check in comparison.checks:
        # Text, not markup: cell ids and answers may contain square brackets.
        table.add_row(
            Text(check.cell_id),
            Text(check.metric),
            Text(_value(check, check.baseline)),
            Text(_value(check, check.current)),
            Text(_change(check)),
            Text(_p(check)),
            Text(f"-{check.limit * 100:g} pts" if check.kind == "quality" else f"x{check.limit:g}"),
            Text(check.verdict, style=_STYLES[check.verdict]),
        )
    console.print(table)
    counts = comparison.to_dict(max_flips=0)["flip_counts"]
    if comparison.flips:
        console.print(
            f"flipped: {counts['right_to_wrong']} right->wrong, {counts['wrong_to_right']} wrong->right",
            highlight=False,
        )
        for flip in comparison.flips[:MAX_FLIPS_PRINTED]:
            arrow = "right->wrong" if flip.direction == "right_to_wrong" else "wrong->right"
            console.print(
                f"  {arrow} {flip.cell_id} item {flip.item_id}#{flip.repeat}: "
                f"ref {flip.reference!r}, baseline {flip.baseline_answer!r}, current {flip.current_answer!r}",
                highlight=False,
                markup=False,
            )
    for note in comparison.notes:
        console.print(f"note: {note}", highlight=False, markup=False)
    for problem in comparison.problems:
        console.print(Text(f"incomplete: {problem}", style="yellow"))
    style = {"pass": "bold green", "regression": "bold red", "incomplete": "bold yellow"}[comparison.verdict]
    console.print(Text(f"{comparison.headline()} (exit {comparison.exit_code})", style=style))


def _value(check: Check, value: float | None) -> str:
    if value is None:
        return "-"
    if check.kind == "quality":
        return f"{value:.1%}"
    if check.kind == "cost":
        return f"${value:.4g}"
    if check.kind == "load":
        return f"{value:.3g} req/s"
    return f"{value:.3g}s"


def _change(check: Check) -> str:
    est, low, high = check.estimate, check.ci_low, check.ci_high
    if est is None:
        return check.message
    if check.kind == "quality":
        ci = "" if low is None or high is None else f" [{low * 100:+.1f}, {high * 100:+.1f}]"
        return f"{est * 100:+.1f} pts{ci}"
    ci = "" if low is None or high is None else f" [{low:.2f}, {high:.2f}]"
    return f"x{est:.2f}{ci}"


def _p(check: Check) -> str:
    if check.p_value is None:
        return "-"
    return f"{check.p_value:.2g}" + (f" ({check.p_holm:.2g})" if check.p_holm is not None else "")
