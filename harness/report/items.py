"""The items drill-down: which items the report shows (wrong and disputed first, capped) and each item's
results with their texts, cut to a size budget so a 10,000-trial run stays a small file. Owns the
selection and the per-item views; it re-reads only the records it shows.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import orjson

from harness.report.cells import CellRef
from harness.report.context import ItemsSection, ItemView, ResultView
from harness.report.formatting import DASH, fmt_seconds, fmt_usd, is_number, sig
from harness.report.rundata import RunFiles, frame_rows
from harness.rundir.layout import RECORDS

DEFAULT_MAX_ITEMS = 50
# Characters of model text (answers and reasoning together) the drill-down may hold in all.
TEXT_BUDGET_CHARS = 5_000_000
# Results (answers) the drill-down may show in all: each costs ~700 bytes of markup besides its text.
MAX_RESULTS = 5_000
MIN_TEXT_CHARS = 400
MAX_TEXT_CHARS = 8_000
_WRONG = ("wrong", "no_answer", "truncated")


def max_items_of(manifest: Mapping[str, Any], override: int | None) -> int:
    if override is not None:
        return max(0, override)
    suite = manifest.get("suite")
    value = (
        suite.get("report", {}).get("max_items")
        if isinstance(suite, Mapping) and isinstance(suite.get("report"), Mapping)
        else None
    )
    return int(value) if isinstance(value, int) and not isinstance(value, bool) else DEFAULT_MAX_ITEMS


def _natural(text: str) -> tuple[Any, ...]:
    return tuple(int(part) if part.isdigit() else part for part in re.split(r"(\d+)", text))


def item_flags(files: RunFiles) -> dict[str, tuple[bool, bool, bool]]:
    """item_id -> (wrong, changed between cells, error) over every record and primary score."""
    flags: dict[str, list[bool]] = {}
    records = files.records
    for item_id in records["item_id"].unique().tolist():
        flags[item_id] = [False, False, False]
    for item_id in records.loc[records["status"] == "error", "item_id"].unique().tolist():
        flags[item_id][2] = True
    results = files.results
    if not results.empty:
        for item_id in results.loc[results["outcome"].isin(_WRONG), "item_id"].unique().tolist():
            flags.setdefault(item_id, [False, False, False])[0] = True
        scored = results[results["outcome"] != "invalid"]
        means = (
            scored.assign(metric=scored["value"].fillna(0.0)).groupby(["item_id", "cell_id"])["metric"].mean()
        )
        right = (means > 0.5).groupby(level="item_id").nunique()
        for item_id in right[right > 1].index.tolist():
            flags.setdefault(item_id, [False, False, False])[1] = True
    return {k: (v[0], v[1], v[2]) for k, v in flags.items()}


def select_items(flags: Mapping[str, tuple[bool, bool, bool]], limit: int) -> list[str]:
    """Disputed (changed between cells) first, then wrong, then failed, then the rest; by item id."""

    def rank(item_id: str) -> tuple[int, tuple[Any, ...]]:
        wrong, changed, error = flags[item_id]
        group = 0 if changed else 1 if wrong else 2 if error else 3
        return group, _natural(item_id)

    return sorted(flags, key=rank)[:limit]


def _clip(text: str, limit: int) -> tuple[str, int]:
    return (text, 0) if len(text) <= limit else (text[:limit], len(text) - limit)


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()


def _prompt(record: Mapping[str, Any]) -> str | None:
    """The prompt when the record carries it (records.jsonl does not require it; see the report's note)."""
    parts = []
    if isinstance(record.get("system_prompt"), str):
        parts.append(f"[system]\n{record['system_prompt']}")
    for message in record.get("messages") or []:
        if isinstance(message, Mapping):
            parts.append(f"[{message.get('role', '?')}]\n{_as_text(message.get('content'))}")
    if isinstance(record.get("prompt"), str):
        parts.append(record["prompt"])
    return "\n\n".join(parts) if parts else None


def _within_result_budget(files: RunFiles, chosen: list[str]) -> tuple[list[str], bool]:
    """The leading items of `chosen` whose results fit MAX_RESULTS (at least one item), and whether any were cut."""
    per_item = files.records.assign(n=files.records["n_results"].clip(lower=1)).groupby("item_id")["n"].sum()
    total = 0
    for index, item_id in enumerate(chosen):
        total += int(per_item.get(item_id, 1))
        if total > MAX_RESULTS and index > 0:
            return chosen[:index], True
    return chosen, False


def prompt_template(manifest: Mapping[str, Any]) -> str | None:
    """The suite's prompt templates (system, user or turns), as the suite file wrote them."""
    suite = manifest.get("suite")
    prompt = suite.get("prompt") if isinstance(suite, Mapping) else None
    if not isinstance(prompt, Mapping):
        return None
    parts = []
    if prompt.get("system"):
        parts.append(f"[system]\n{prompt['system']}")
    for turn in prompt.get("messages") or []:
        if isinstance(turn, Mapping):
            parts.append(f"[{turn.get('role', '?')}]\n{turn.get('content', '')}")
    if not prompt.get("messages"):
        parts.append(f"[user]\n{prompt.get('template') or '{{ input }}'}")
    fewshot = prompt.get("fewshot")
    if isinstance(fewshot, Mapping):
        parts.insert(1 if prompt.get("system") else 0, f"[{fewshot.get('n')} few-shot examples]")
    return "\n\n".join(parts)


def items_section(files: RunFiles, refs: Sequence[CellRef], *, max_items: int | None = None) -> ItemsSection:
    limit = max_items_of(files.manifest, max_items)
    flags = item_flags(files)
    chosen = select_items(flags, limit)
    chosen, capped = _within_result_budget(files, chosen)
    order = {r.cell_id: i for i, r in enumerate(refs)}
    by_cell = {r.cell_id: r for r in refs}
    records = files.records[files.records["item_id"].isin(set(chosen))]
    records = records.assign(_order=records["cell_id"].map(lambda c: order.get(c, len(order)))).sort_values(
        ["_order", "repeat", "line"]
    )
    scores: dict[tuple[str, int], tuple[float | None, str, Any]] = {}
    results = files.results
    if not results.empty:
        subset = results[results["item_id"].isin(set(chosen))]
        for score in frame_rows(subset):
            value = score["value"] if is_number(score["value"]) else None  # NaN -> None
            scores[(str(score["trial_key"]), int(score["result_index"]))] = (
                value,
                str(score["outcome"]),
                score["extracted"],
            )
    n_results = max(1, int(records["n_results"].clip(lower=1).sum()))
    cap = int(min(MAX_TEXT_CHARS, max(MIN_TEXT_CHARS, TEXT_BUDGET_CHARS // (2 * n_results))))

    views: dict[str, list[ResultView]] = {item_id: [] for item_id in chosen}
    heads: dict[str, Mapping[str, Any]] = {}
    for row in frame_rows(records):
        record = orjson.loads(files.lines[int(row["line"])])
        heads.setdefault(str(row["item_id"]), record)
        ref = by_cell.get(str(row["cell_id"]))
        common = {
            "cell_tag": ref.tag if ref else "",
            "cell_id": str(row["cell_id"]),
            "cell_label": ref.label if ref else str(row["cell_id"]),
            "color": ref.color if ref else "#888888",
            "repeat": int(row["repeat"]),
            "status": str(row["status"]),
            "latency": fmt_seconds(row["e2e_s"]),
            "cost": fmt_usd(row["cost_usd"]),
        }
        error = record.get("error") or {}
        error_text = (
            f"{error.get('kind', 'error')}: {error.get('message', '')}"
            if record.get("status") == "error"
            else ""
        )
        answers = record.get("results") or []
        if not answers:
            views[str(row["item_id"])].append(
                ResultView(
                    **common,
                    index=0,
                    outcome="error" if error_text else DASH,
                    score=DASH,
                    extracted="",
                    text="",
                    text_cut=0,
                    reasoning="",
                    reasoning_cut=0,
                    error=error_text[:2000],
                )
            )
            continue
        for index, answer in enumerate(answers):
            value, outcome, extracted = scores.get((str(row["trial_key"]), index), (None, "unscored", None))
            text, text_cut = _clip(_as_text(answer.get("text")), cap)
            reasoning, reasoning_cut = _clip(_as_text(answer.get("reasoning")), cap)
            finish = answer.get("finish_reason")
            views[str(row["item_id"])].append(
                ResultView(
                    **common,
                    index=index,
                    outcome=outcome + (f" (finish: {finish})" if finish not in (None, "stop") else ""),
                    score=sig(value) if value is not None and is_number(value) else DASH,
                    extracted=_as_text(extracted)[:500],
                    text=text,
                    text_cut=text_cut,
                    reasoning=reasoning,
                    reasoning_cut=reasoning_cut,
                    error=error_text[:2000],
                )
            )
    items = []
    for item_id in chosen:
        head = heads.get(item_id, {})
        wrong, changed, error = flags[item_id]
        shown = views[item_id]
        correct = sum(v.outcome.startswith("correct") for v in shown)
        scored = sum(not v.outcome.startswith(("unscored", "invalid", DASH)) for v in shown)
        choices = head.get("choices")
        items.append(
            ItemView(
                item_id=item_id,
                prompt=_prompt(head),
                gold=_as_text(head.get("reference")) or DASH,
                choices=[_as_text(c) for c in choices] if isinstance(choices, list) else [],
                wrong=wrong,
                changed=changed,
                error=error,
                tally=f"{correct} of {scored} scored results correct",
                results=shown,
            )
        )
    template = None
    notes = []
    if items and all(i.prompt is None for i in items):
        template = prompt_template(files.manifest)
        notes.append(
            f"{RECORDS} does not store rendered prompts; "
            + (
                "the suite's prompt template is shown instead."
                if template
                else "the drill-down shows each item's gold answer and results."
            )
        )
    if capped:
        notes.append(
            f"Only {len(items)} items fit the drill-down's budget of {MAX_RESULTS:,} results; the rest are left out to keep this file small."
        )
    if items and all(i.prompt is None for i in items):
        notes.append(
            f"{RECORDS} does not store prompts, so the drill-down shows each item's gold answer and results only."
        )
    if any(v.text_cut or v.reasoning_cut for i in items for v in i.results):
        notes.append(
            f"Texts longer than {cap:,} characters are cut to keep this file small; {RECORDS} has them in full."
        )
    return ItemsSection(
        items=items,
        prompt_template=template,
        total=len(flags),
        left_out=len(flags) - len(items),
        max_items=limit,
        n_wrong=sum(f[0] for f in flags.values()),
        n_changed=sum(f[1] for f in flags.values()),
        n_error=sum(f[2] for f in flags.values()),
        notes=notes,
    )
