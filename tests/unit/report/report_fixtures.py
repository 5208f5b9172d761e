"""Synthetic run directories for the report's tests: manifest, records, scores and a summary.json of
the documented shape, written directly so the report is tested without the runner, scorers or stats.
Also imported (by path) by the report's browser test and benchmark.
"""

from __future__ import annotations

import hashlib
import itertools
import math
from pathlib import Path
from typing import Any

import orjson

HOSTILE = (
    "<script>alert(1)</script>",
    "</textarea>",
    "<img src=x onerror=alert(1)>",
    "{{ 7*7 }}",
)
# Payloads that would leave a trace if they ever ran in a browser.
BROWSER_PAYLOADS = (
    "<script>window.__pwned = 'script'</script>",
    "<img src=x onerror=\"window.__pwned='img'\">",
    "</textarea><svg onload=\"window.__pwned='svg'\">",
    '</pre><iframe src="http://127.0.0.1:9/"></iframe>',
    "{{ 7*7 }}",
)


def _unit(*parts: object) -> float:
    """A deterministic number in [0, 1) from its arguments."""
    digest = hashlib.sha256(repr(parts).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def _wilson(k: int, n: int) -> tuple[float | None, float | None]:
    if n == 0:
        return None, None
    z = 1.959963984540054
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def _pct(values: list[float]) -> dict[str, Any] | None:
    if not values:
        return None
    data = sorted(values)

    def q(p: float) -> float:
        pos = p * (len(data) - 1)
        low = math.floor(pos)
        high = min(low + 1, len(data) - 1)
        return data[low] + (data[high] - data[low]) * (pos - low)

    return {
        "p50": q(0.5),
        "p90": q(0.9),
        "p95": q(0.95),
        "p99": q(0.99),
        "mean": sum(data) / len(data),
        "max": data[-1],
        "n": len(data),
    }


def _cell_id(cell: dict[str, Any]) -> str:
    return ",".join(f"{k}={v}" for k, v in cell.items())


def _block(
    cell_id: str, cell: dict[str, Any], recs: list[dict[str, Any]], scores: list[dict[str, Any]]
) -> dict[str, Any]:
    values = [s["value"] if s["value"] is not None else 0.0 for s in scores if s["outcome"] != "invalid"]
    correct = sum(1 for v in values if v == 1.0)
    low, high = _wilson(correct, len(values))
    mean = correct / len(values) if values else None
    stat = {"mean": mean, "ci_low": low, "ci_high": high, "se": None, "n": len(values), "method": "wilson"}
    ok = [r for r in recs if r["status"] == "ok"]
    e2e = [r["timing"]["done_at_s"] - r["timing"]["sent_at_s"] for r in ok]
    ttft = [
        r["timing"]["first_token_at_s"] - r["timing"]["sent_at_s"]
        for r in ok
        if r["timing"]["first_token_at_s"] is not None
    ]
    itl = [g for r in ok for g in (r.get("itl_s") or [])]
    cost = sum(r["cost_usd"] or 0.0 for r in recs)
    errors = [r for r in recs if r["status"] == "error"]
    by_kind: dict[str, int] = {}
    for r in errors:
        by_kind[r["error"]["kind"]] = by_kind.get(r["error"]["kind"], 0) + 1
    outcomes = {
        o: sum(1 for s in scores if s["outcome"] == o)
        for o in ("correct", "wrong", "no_answer", "truncated", "error", "invalid")
    }
    prompt = sum(r["usage"]["prompt_tokens"] for r in ok)
    completion = sum(r["usage"]["completion_tokens"] for r in ok)
    thinking = sum(r["usage"]["thinking_tokens"] for r in ok)
    n = max(len(recs), 1)
    return {
        "cell_id": cell_id,
        "cell": cell,
        "n_trials": len(recs),
        "n_ok": len(ok),
        "n_error": len(errors),
        "n_results": len(scores),
        "n_items": len({r["item_id"] for r in recs}),
        "metrics": {"accuracy": stat, "score:numeric": stat},
        "outcomes": outcomes,
        "latency": {
            "e2e_s": _pct(e2e),
            "ttft_s": _pct(ttft),
            "ttft_answer_s": _pct(ttft),
            "itl_s": _pct(itl),
            "output_tps": _pct([40.0 + i for i in range(len(ok))]),
            "e2e_from_schedule_s": _pct(e2e),
            "queue_s": _pct([0.001] * len(ok)),
        },
        "tokens": {
            "prompt": prompt,
            "completion": completion,
            "thinking": thinking,
            "per_trial_prompt": prompt / n,
            "per_trial_completion": completion / n,
            "per_trial_thinking": thinking / n,
        },
        "cost": {
            "total_usd": cost,
            "per_trial_usd": cost / n,
            "per_correct_usd": cost / correct if correct else None,
            "service_usd": cost,
            "price_table_usd": cost * 1.01,
            "mismatch": False,
        },
        "errors": {
            "count": len(errors),
            "rate": len(errors) / n,
            "by_kind": by_kind,
            "retries": sum(r["attempts"] - 1 for r in recs),
            "truncations": sum(1 for s in scores if s["outcome"] == "truncated"),
            "rate_limit_wait_s": sum(r["rate_limit_wait_s"] for r in recs),
            "retry_wait_s": sum(r["retry_wait_s"] for r in recs),
        },
    }


def write_run(
    run_dir: Path,
    *,
    axes: dict[str, list[Any]] | None = None,
    n_items: int = 6,
    repeats: int = 1,
    hostile: tuple[str, ...] = HOSTILE,
    error_every: int = 7,
    itl_len: int = 20,
    text_len: int = 0,
    rate_rps: float | None = None,
    max_items: int | None = None,
    thresholds: bool = True,
    with_summary: bool = True,
) -> dict[str, Any]:
    """Write a complete run directory; returns the summary it wrote ({} with with_summary=False)."""
    axes = (
        axes
        if axes is not None
        else {"temperature": [0.0, 0.6], "topK": [20, 40], "thinkingLevel": ["low", "high"]}
    )
    run_dir.mkdir(parents=True, exist_ok=True)
    cells = [dict(zip(axes, values, strict=True)) for values in itertools.product(*axes.values())] or [{}]
    records: list[dict[str, Any]] = []
    scores: list[dict[str, Any]] = []
    clock = 0.0
    for ci, cell in enumerate(cells):
        cell_id = _cell_id(cell) or "default"
        skill = 0.35 + 0.5 * ci / max(len(cells) - 1, 1)
        for item in range(n_items):
            item_id = f"item-{item}"
            for rep in range(repeats):
                key = hashlib.sha256(f"{cell_id}|{item_id}|{rep}".encode()).hexdigest()[:32]
                clock += 0.05
                failed = error_every > 0 and (len(records) + 1) % error_every == 0
                latency = 0.4 + 2.0 * _unit(key, "lat") + 0.3 * ci
                right = _unit(key, "right") < skill
                answer = "42" if right else "41"
                payload = " ".join(hostile) if item == 0 else ""
                text = f"The answer is {answer}. {payload}" + ("x" * text_len)
                record: dict[str, Any] = {
                    "trial_key": key,
                    "cell_id": cell_id,
                    "cell": cell,
                    "item_id": item_id,
                    "repeat": rep,
                    "seed": rep,
                    "target": "sim",
                    "model": "alibaba:qwen@3.5-397b",
                    "delivery": "stream",
                    "status": "error" if failed else "ok",
                    "timing": {
                        "scheduled_at_s": clock,
                        "sent_at_s": clock + 0.001,
                        "first_byte_at_s": None if failed else clock + 0.1,
                        "first_token_at_s": None if failed else clock + 0.1 + 0.2 * _unit(key, "ttft"),
                        "first_answer_token_at_s": None,
                        "done_at_s": clock + latency,
                        "first_sent_at_s": clock + 0.001,
                    },
                    "results": []
                    if failed
                    else [
                        {
                            "text": text,
                            "reasoning": f"Thinking about {payload} step by step." + ("y" * text_len),
                            "finish_reason": "stop",
                            "seed": rep,
                        }
                    ],
                    "usage": None
                    if failed
                    else {
                        "prompt_tokens": 120,
                        "completion_tokens": 60 + ci,
                        "thinking_tokens": 30,
                        "total_tokens": 180 + ci,
                    },
                    "cost_usd": None if failed else 0.0001 * (1 + ci),
                    "price_table_cost_usd": None if failed else 0.000101 * (1 + ci),
                    "attempts": 2 if failed else 1,
                    "retry_wait_s": 0.5 if failed else 0.0,
                    "rate_limit_wait_s": 0.5 if failed else 0.0,
                    "itl_s": None
                    if failed
                    else [round(0.01 + 0.02 * _unit(key, g), 4) for g in range(itl_len)],
                    "client_completion_tokens": None,
                    "error": {
                        "kind": "timeout" if len(records) % 2 else "server",
                        "message": f"upstream said {payload}",
                        "status": 504,
                        "code": None,
                        "failure": "transient",
                    }
                    if failed
                    else None,
                    "number_results": 1,
                    "reference": "42" if item else f"42 {payload}",
                    "choices": None,
                    "task_uuid": None,
                    "schema": 1,
                }
                records.append(record)
                if failed:
                    scores.append(
                        {
                            "trial_key": key,
                            "result_index": 0,
                            "scorer": "numeric",
                            "value": None,
                            "outcome": "error",
                            "extracted": None,
                            "explanation": "error",
                            "cell_id": cell_id,
                            "item_id": item_id,
                            "repeat": rep,
                        }
                    )
                else:
                    scores.append(
                        {
                            "trial_key": key,
                            "result_index": 0,
                            "scorer": "numeric",
                            "value": 1.0 if right else 0.0,
                            "outcome": "correct" if right else "wrong",
                            "extracted": f"{answer} {payload}".strip(),
                            "explanation": None,
                            "cell_id": cell_id,
                            "item_id": item_id,
                            "repeat": rep,
                        }
                    )
    with (run_dir / "records.jsonl").open("wb") as fh:
        fh.writelines(orjson.dumps(r) + b"\n" for r in records)
    with (run_dir / "scores.jsonl").open("wb") as fh:
        fh.writelines(orjson.dumps(s) + b"\n" for s in scores)
    report = {"title": None, "max_items": max_items if max_items is not None else 50, "baseline_cell": None}
    suite = {
        "name": "demo",
        "description": f"A synthetic suite {' '.join(hostile)}",
        "scorers": [{"name": "numeric", "options": {}, "metric": None}],
        "thresholds": [
            {"metric": "accuracy", "op": ">=", "value": 0.5, "on": "point", "scope": "best_cell"},
            {"metric": "p95_latency_s", "op": "<=", "value": 2.5, "on": "point", "scope": "each_cell"},
        ]
        if thresholds
        else [],
        "report": report,
        "grid": {"axes": axes},
    }
    manifest = {
        "schema_version": 1,
        "harness_version": "0.1.0",
        "git_commit": "abc1234",
        "machine": {"cpus": 2, "python": "3.11"},
        "command": [
            "harness",
            "run",
            "suites/demo.yaml",
            "--target",
            "sim",
            "--set",
            f"description={hostile[0] if hostile else ''}",
        ],
        "suite": suite,
        "targets": {
            "sim": {
                "name": "sim",
                "provider": "simulator",
                "model": "alibaba:qwen@3.5-397b",
                "delivery": "stream",
                "prices": {"prompt_per_mtok": 0.5, "completion_per_mtok": 2.0, "placeholder": True},
            }
        },
        "plan": {
            "cells": len(cells),
            "trials": len(records),
            "requests": len(records),
            "results": len(records),
        },
        "run": {"concurrency": 8, "rate_rps": rate_rps, "arrival": "constant"},
        "started_at": "2026-11-27T09:00:00+00:00",
        "ended_at": "2026-11-27T09:01:30+00:00",
        "status": "complete",
        "stop_reason": None,
        "target_rps": rate_rps,
        "achieved_rps": rate_rps * 0.97 if rate_rps else None,
        "concurrency_history": [[0.0, 8], [10.0, 4], [20.0, 6]],
        "wall_time_s": 90.0,
    }
    (run_dir / "manifest.json").write_bytes(orjson.dumps(manifest))
    if not with_summary:
        return {}
    summary = build_summary(records, scores, axes, cells, thresholds=thresholds)
    (run_dir / "summary.json").write_bytes(orjson.dumps(summary))
    return summary


def build_summary(
    records: list[dict[str, Any]],
    scores: list[dict[str, Any]],
    axes: dict[str, list[Any]],
    cells: list[dict[str, Any]],
    *,
    thresholds: bool,
) -> dict[str, Any]:
    blocks = []
    for cell in cells:
        cell_id = _cell_id(cell) or "default"
        blocks.append(
            _block(
                cell_id,
                cell,
                [r for r in records if r["cell_id"] == cell_id],
                [s for s in scores if s["cell_id"] == cell_id],
            )
        )
    swept = [a for a, v in axes.items() if len(v) > 1]
    effects = {}
    for axis in swept:
        rows = []
        for value in axes[axis]:
            ids = {b["cell_id"] for b in blocks if b["cell"].get(axis) == value}
            vals = [1.0 if s["outcome"] == "correct" else 0.0 for s in scores if s["cell_id"] in ids]
            low, high = _wilson(int(sum(vals)), len(vals))
            rows.append(
                {
                    "value": value,
                    "mean": sum(vals) / len(vals) if vals else None,
                    "ci_low": low,
                    "ci_high": high,
                    "n": len(vals),
                }
            )
        effects[axis] = rows
    comparisons = []
    if len(blocks) > 1:
        a, b = blocks[-1], blocks[0]
        diff = (a["metrics"]["accuracy"]["mean"] or 0) - (b["metrics"]["accuracy"]["mean"] or 0)
        comparisons.append(
            {
                "a": a["cell_id"],
                "b": b["cell_id"],
                "metric": "accuracy",
                "n_pairs": 6,
                "diff": diff,
                "ci_low": diff - 0.2,
                "ci_high": diff + 0.2,
                "mcnemar_p": 0.03,
                "p_holm": 0.06,
                "b01": 1,
                "b10": 3,
            }
        )
    overall = _block("__overall__", {}, records, scores)
    results = []
    if thresholds:
        best = max(blocks, key=lambda b: b["metrics"]["accuracy"]["mean"] or 0)
        results.append(
            {
                "metric": "accuracy",
                "op": ">=",
                "value": 0.5,
                "on": "point",
                "scope": "best_cell",
                "cell_id": best["cell_id"],
                "observed": best["metrics"]["accuracy"]["mean"],
                "passed": True,
                "message": "accuracy ok",
            }
        )
        for b in blocks:
            p95 = (b["latency"]["e2e_s"] or {}).get("p95")
            passed = p95 is not None and p95 <= 2.5
            results.append(
                {
                    "metric": "p95_latency_s",
                    "op": "<=",
                    "value": 2.5,
                    "on": "point",
                    "scope": "each_cell",
                    "cell_id": b["cell_id"],
                    "observed": p95,
                    "passed": passed,
                    "message": f"p95_latency_s = {p95} <= 2.5: {'ok' if passed else 'FAILED'}",
                }
            )
    return {
        "schema_version": 1,
        "suite": "demo",
        "primary_metric": "accuracy",
        "scorers": ["numeric"],
        "swept_axes": swept,
        "overall": overall,
        "cells": blocks,
        "comparisons": comparisons,
        "main_effects": effects,
        "rate": {"target_rps": None, "achieved_rps": None},
        "cost": {k: overall["cost"][k] for k in ("total_usd", "service_usd", "price_table_usd", "mismatch")},
        "thresholds": results,
    }


# --- a small DOM for asserting on the page's structure, not on string matches -----------------------

from dataclasses import dataclass, field  # noqa: E402
from html.parser import HTMLParser  # noqa: E402

_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


@dataclass
class Node:
    tag: str
    attrs: dict[str, str | None] = field(default_factory=dict)
    children: list[Node] = field(default_factory=list)
    text_parts: list[str] = field(default_factory=list)
    parent: Node | None = None

    def iter(self, tag: str | None = None) -> list[Node]:
        found: list[Node] = []
        stack = list(reversed(self.children))
        while stack:
            node = stack.pop()
            if tag is None or node.tag == tag:
                found.append(node)
            stack.extend(reversed(node.children))
        return found

    def find_id(self, element_id: str) -> Node:
        for node in self.iter():
            if node.attrs.get("id") == element_id:
                return node
        raise AssertionError(f"no element with id {element_id!r}")

    def text(self) -> str:
        parts = list(self.text_parts)
        for child in self.children:
            parts.append(child.text())
        return "".join(parts)

    def ancestors(self) -> list[str]:
        out = []
        node = self.parent
        while node is not None:
            out.append(node.tag)
            node = node.parent
        return out


class _TreeBuilder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#document")
        self.current = self.root

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, dict(attrs), parent=self.current)
        self.current.children.append(node)
        if tag not in _VOID:
            self.current = node

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.current.children.append(Node(tag, dict(attrs), parent=self.current))

    def handle_endtag(self, tag: str) -> None:
        node: Node | None = self.current
        while node is not None and node.tag != tag:
            node = node.parent
        if node is None:
            raise AssertionError(f"stray closing tag </{tag}>")
        self.current = node.parent or self.root

    def handle_data(self, data: str) -> None:
        self.current.text_parts.append(data)


def parse_html(text: str) -> Node:
    builder = _TreeBuilder()
    builder.feed(text)
    builder.close()
    return builder.root
