"""GitHub-flavoured Markdown of a comparison, for $GITHUB_STEP_SUMMARY or a pull-request comment: the
verdict first, one table row per cell x gated metric, then the flipped items with both answers.
Rendering only; numbers are formatted, never recomputed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness.compare.model import Check, Comparison, Flip

MAX_FLIPS_SHOWN = 50
MAX_ANSWER_CHARS = 120
_ICONS = {"pass": "✅", "regression": "❌", "improvement": "🟢", "skipped": "⚪", "incomplete": "⚠️"}


def render_markdown(comparison: Comparison) -> str:
    """The whole Markdown document."""
    icon = _ICONS[comparison.verdict]
    suite = f" — suite `{comparison.suite}`" if comparison.suite else ""
    out = [f"## {icon} harness compare: {_escape_text(comparison.headline())}{suite}", ""]
    base, cur = comparison.baseline, comparison.current
    out.append(
        f"**{comparison.mode}** comparison of `{cur.get('path')}` against baseline `{base.get('path')}`"
        + (f" ({comparison.pairing.matched} matched trials)." if comparison.mode == "paired" else ".")
    )
    out.append("")
    if comparison.problems:
        out += ["**Incomplete:**", "", *(f"- {_escape_text(p)}" for p in comparison.problems), ""]
    out += _checks_table(comparison.checks)
    out += _flips_section(comparison.flips)
    notes = list(comparison.notes)
    if comparison.pairing.cells_only_baseline:
        notes.append(f"cells only in the baseline: {', '.join(comparison.pairing.cells_only_baseline)}")
    if comparison.pairing.cells_only_current:
        notes.append(f"cells only in the current run: {', '.join(comparison.pairing.cells_only_current)}")
    if notes:
        out += ["**Notes**", "", *(f"- {_escape_text(n)}" for n in notes), ""]
    gate = comparison.gate
    out.append(
        f"<sub>Gate: quality tolerance {gate.tolerance * 100:g} pts, latency ratio ×{gate.latency_ratio:g}, "
        f"cost ratio ×{gate.cost_ratio:g}, max error rate {gate.max_error_rate:.0%}, alpha {gate.alpha:g}. "
        "A regression is a change whose whole 95% CI lies beyond its limit.</sub>"
    )
    return "\n".join(out) + "\n"


def write_markdown(comparison: Comparison, path: Path) -> None:
    """Write the Markdown; appends when the file exists (GITHUB_STEP_SUMMARY collects several steps)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as handle:
        handle.write(render_markdown(comparison))


def write_markdown_error(message: str, path: Path) -> None:
    """Append why the runs could not be compared (exit 2)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as handle:
        handle.write(
            f"## {_ICONS['incomplete']} harness compare: runs are not comparable\n\n{_escape_text(message)}\n"
        )


def _checks_table(checks: list[Check]) -> list[str]:
    if not checks:
        return ["_No cell in common: nothing was compared._", ""]
    rows = [
        "| cell | metric | baseline | current | change [95% CI] | p (Holm) | limit | verdict |",
        "|---|---|---:|---:|---|---:|---:|---|",
    ]
    for c in checks:
        rows.append(
            "| "
            + " | ".join(
                [
                    _code(c.cell_id),
                    _escape_cell(c.metric),
                    _value(c, c.baseline),
                    _value(c, c.current),
                    _change(c),
                    _p(c),
                    _limit(c),
                    f"{_ICONS[c.verdict]} {c.verdict}",
                ]
            )
            + " |"
        )
    return [*rows, ""]


def _flips_section(flips: list[Flip]) -> list[str]:
    if not flips:
        return []
    out: list[str] = []
    for direction, title in (("right_to_wrong", "right → wrong"), ("wrong_to_right", "wrong → right")):
        found = [f for f in flips if f.direction == direction]
        if not found:
            continue
        shown = found[:MAX_FLIPS_SHOWN]
        more = f", first {len(shown)} shown" if len(found) > len(shown) else ""
        out += [
            f"<details><summary>Flipped {title}: {len(found)} item(s){more}</summary>",
            "",
            "| cell | item | repeat | reference | baseline answer | current answer |",
            "|---|---|---:|---|---|---|",
        ]
        for f in shown:
            out.append(
                f"| {_code(f.cell_id)} | {_code(f.item_id)} | {f.repeat} | {_answer(f.reference)} | "
                f"{_answer(f.baseline_answer if f.baseline_answer is not None else f.baseline_text)} | "
                f"{_answer(f.current_answer if f.current_answer is not None else f.current_text)} |"
            )
        out += ["", "</details>", ""]
    return out


def _value(check: Check, value: float | None) -> str:
    if value is None:
        return "–"
    if check.kind == "quality":
        return f"{value:.1%}"
    if check.kind == "cost":
        return f"${value:.4g}"
    if check.kind == "load":
        return f"{value:.3g} req/s"
    return f"{value:.3g} s"


def _change(check: Check) -> str:
    est, low, high = check.estimate, check.ci_low, check.ci_high
    if est is None:
        return _escape_cell(check.message)
    if check.kind == "quality":
        ci = "" if low is None or high is None else f" [{low * 100:+.1f}, {high * 100:+.1f}]"
        return f"{est * 100:+.1f} pts{ci}"
    ci = "" if low is None or high is None else f" [{low:.2f}, {high:.2f}]"
    return f"×{est:.2f}{ci}"


def _p(check: Check) -> str:
    if check.p_value is None:
        return "–"
    holm = f" ({check.p_holm:.2g})" if check.p_holm is not None else ""
    return f"{check.p_value:.2g}{holm}"


def _limit(check: Check) -> str:
    return f"−{check.limit * 100:g} pts" if check.kind == "quality" else f"×{check.limit:g}"


def _answer(value: Any) -> str:
    if value is None:
        return "–"
    text = " ".join(str(value).split())
    if len(text) > MAX_ANSWER_CHARS:
        text = text[: MAX_ANSWER_CHARS - 1] + "…"
    return _escape_cell(text)


def _code(text: str) -> str:
    # Inside a code span HTML is inert; only the table's pipe and the span's backtick need care.
    return "`" + text.replace("`", "'").replace("|", "\\|").replace("\n", " ") + "`"


def _escape_cell(text: str) -> str:
    return _escape_text(text).replace("|", "\\|").replace("\n", " ")


def _escape_text(text: str) -> str:
    # Keep user text (answers, ids) from opening HTML tags in the rendered summary.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
