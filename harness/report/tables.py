"""The report's per-cell tables beyond the cell table: latency, tokens and money, reliability, and the
paired comparisons between cells of summary.json. Owns wording and rounding of those tables; it
computes no statistic.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from harness.report.cells import CellRef, dig, num
from harness.report.context import Table, TableCell
from harness.report.formatting import DASH, fmt_int, fmt_metric, fmt_seconds, fmt_tokens, fmt_usd, is_number
from harness.rundir.layout import SUMMARY


def cell(text: str, sort: float | str | None = None, **kw: Any) -> TableCell:
    return TableCell(text=text, sort=sort, **kw)


def known(value: float | None) -> float | None:
    return value if value is not None and is_number(value) else None


def tag_cell(ref: CellRef) -> TableCell:
    return cell(ref.tag, int(ref.tag[1:]), color=ref.color, title=ref.cell_id)


def label_cell(ref: CellRef, *, tagged: bool = False) -> TableCell:
    """The short grid-value label; the full cell id is the hover text (the cell table shows it)."""
    text = f"{ref.tag} {ref.label}" if tagged else ref.label
    return cell(text, ref.cell_id, title=ref.cell_id, cls="label", color=ref.color if tagged else None)


def drop_empty_columns(table: Table, *, keep: int = 2) -> Table:
    """Leave out columns with no value in any row (TTFT of a non-streamed run, say); the first `keep` stay."""
    wanted = [
        i
        for i in range(len(table.columns))
        if i < keep or any(row[i].sort is not None or row[i].text not in ("", DASH) for row in table.rows)
    ]
    if len(wanted) == len(table.columns) or not table.rows:
        return table
    return table.model_copy(
        update={
            "columns": [table.columns[i] for i in wanted],
            "numeric": [table.numeric[i] for i in wanted],
            "rows": [[row[i] for i in wanted] for row in table.rows],
        }
    )


def latency_table(refs: Sequence[CellRef]) -> Table:
    columns = [
        "#",
        "cell",
        "p50",
        "p90",
        "p95",
        "p99",
        "TTFT p50",
        "TTFT p95",
        "inter-token p50",
        "output p50",
        "queue p50",
    ]
    rows = []
    for ref in refs:
        row = [tag_cell(ref), label_cell(ref)]
        for key, pct in (
            ("e2e_s", "p50"),
            ("e2e_s", "p90"),
            ("e2e_s", "p95"),
            ("e2e_s", "p99"),
            ("ttft_s", "p50"),
            ("ttft_s", "p95"),
            ("itl_s", "p50"),
        ):
            value = num(ref.data, "latency", key, pct)
            row.append(cell(fmt_seconds(value), value))
        tps = num(ref.data, "latency", "output_tps", "p50")
        row.append(cell(f"{fmt_tokens(tps)} tok/s" if tps is not None else DASH, tps))
        queue = num(ref.data, "latency", "queue_s", "p50")
        row.append(cell(fmt_seconds(queue), queue))
        rows.append(row)
    return drop_empty_columns(
        Table(
            id="latency",
            columns=columns,
            numeric=[True, False] + [True] * 9,
            rows=rows,
            caption="Seconds from the request leaving the client; queue is the wait between schedule and send.",
        )
    )


def money_table(refs: Sequence[CellRef]) -> Table:
    columns = [
        "#",
        "cell",
        "prompt tokens",
        "completion (thinking)",
        "per trial: in · out · think",
        "cost",
        "per trial",
        "per correct",
        "service-reported",
        "price table",
        "",
    ]
    rows = []
    for ref in refs:
        d = ref.data
        prompt, completion, thinking = (num(d, "tokens", k) for k in ("prompt", "completion", "thinking"))
        row = [
            tag_cell(ref),
            label_cell(ref),
            cell(fmt_int(prompt), prompt),
            cell(f"{fmt_int(completion)} ({fmt_int(thinking)})", completion),
            cell(
                " · ".join(
                    fmt_tokens(num(d, "tokens", f"per_trial_{k}"))
                    for k in ("prompt", "completion", "thinking")
                ),
                num(d, "tokens", "per_trial_completion"),
            ),
        ]
        for key in ("total_usd", "per_trial_usd", "per_correct_usd", "service_usd", "price_table_usd"):
            value = num(d, "cost", key)
            row.append(cell(fmt_usd(value), value))
        mismatch = bool(dig(d, "cost", "mismatch"))
        row.append(
            cell("mismatch" if mismatch else "", 1 if mismatch else None, cls="warn" if mismatch else None)
        )
        rows.append(row)
    table = Table(
        id="money",
        columns=columns,
        numeric=[True, False] + [True] * 8 + [False],
        rows=rows,
        caption="Completion tokens include thinking tokens, as the API reports them. Cost is the service's figure when it reported one, else the price table's.",
    )
    return drop_empty_columns(table)


def reliability_table(refs: Sequence[CellRef]) -> Table:
    columns = [
        "#",
        "cell",
        "trials",
        "failed",
        "error rate",
        "by kind",
        "retries",
        "truncated",
        "rate-limit wait",
        "retry wait",
    ]
    rows = []
    for ref in refs:
        d = ref.data
        kinds = dig(d, "errors", "by_kind") or {}
        by_kind = ", ".join(f"{k} {v}" for k, v in sorted(kinds.items())) if kinds else DASH
        rate = num(d, "errors", "rate")
        count = num(d, "errors", "count")
        row = [
            tag_cell(ref),
            label_cell(ref),
            cell(fmt_int(dig(d, "n_trials")), num(d, "n_trials")),
            cell(fmt_int(count), count, cls="fail" if count else None),
            cell(f"{rate * 100:.1f}%" if rate is not None else DASH, rate),
            cell(by_kind),
        ]
        for key in ("retries", "truncations"):
            value = num(d, "errors", key)
            row.append(cell(fmt_int(value), value))
        for key in ("rate_limit_wait_s", "retry_wait_s"):
            value = num(d, "errors", key)
            row.append(cell(fmt_seconds(value), value))
        rows.append(row)
    return Table(
        id="reliability",
        columns=columns,
        numeric=[True, False, True, True, True, False, True, True, True, True],
        rows=rows,
        caption="Retry wait is the time trials spent backing off between attempts; rate-limit wait is the part caused by 429s.",
    )


def pairwise_table(summary: Mapping[str, Any], refs: Sequence[CellRef], *, limit: int = 20) -> Table | None:
    """summary.json's paired cell comparisons (a − b on shared items), the most significant first."""
    comparisons = [c for c in summary.get("comparisons") or [] if isinstance(c, Mapping)]
    if not comparisons:
        return None
    comparisons.sort(
        key=lambda c: (num(c, "p_holm") if num(c, "p_holm") is not None else 2.0, -abs(num(c, "diff") or 0.0))
    )
    tags = {r.cell_id: r for r in refs}
    rows = []
    for comp in comparisons[:limit]:
        metric = str(comp.get("metric") or "accuracy")
        sides = []
        for key in ("a", "b"):
            ref = tags.get(str(comp.get(key)))
            sides.append(
                label_cell(ref, tagged=True) if ref else cell(str(comp.get(key)), str(comp.get(key)))
            )
        diff, low, high = num(comp, "diff"), num(comp, "ci_low"), num(comp, "ci_high")
        p_holm = num(comp, "p_holm")
        if p_holm is not None:
            significant = p_holm < 0.05
        else:
            significant = low is not None and high is not None and (low > 0 or high < 0)
        ci = (
            f" [{_signed(metric, low)}, {_signed(metric, high)}]"
            if low is not None and high is not None
            else ""
        )
        rows.append(
            [
                *sides,
                cell(metric),
                cell(fmt_int(comp.get("n_pairs")), num(comp, "n_pairs")),
                cell(_signed(metric, diff) + ci, diff, cls="pass" if significant else None),
                cell(f"{fmt_int(comp.get('b10'))} / {fmt_int(comp.get('b01'))}", num(comp, "b10")),
                cell(_p(num(comp, "mcnemar_p")), num(comp, "mcnemar_p")),
                cell(_p(p_holm), p_holm),
            ]
        )
    caption = (
        "Paired on the items both cells answered: difference = a − b. Highlighted: significant at 5% after "
        "Holm's correction for the number of comparisons (or, without a p-value, a CI that excludes zero)."
    )
    if len(comparisons) > limit:
        caption += (
            f" Showing the {limit} most significant of {len(comparisons)} comparisons (all are in {SUMMARY})."
        )
    return Table(
        id="pairwise",
        columns=[
            "a",
            "b",
            "metric",
            "pairs",
            "a − b [95% CI]",
            "only a right / only b right",
            "McNemar p",
            "Holm p",
        ],
        numeric=[False, False, False, True, True, True, True, True],
        rows=rows,
        caption=caption,
    )


def _signed(metric: str, value: float | None) -> str:
    if value is None:
        return DASH
    text = fmt_metric(metric, abs(value))
    return ("+" if value > 0 else "−" if value < 0 else "±") + text


def _p(value: float | None) -> str:
    if value is None:
        return DASH
    return "<0.001" if value < 0.001 else f"{value:.3f}"
