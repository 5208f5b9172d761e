"""Config -> RunPlan: the grid's cells, one Trial per (cell, item, repeat) with a stable content-hash key,
the request/result counts and the token and cost estimate printed by --dry-run. Pure: no I/O, no
network; token counting and prices are passed in by the caller.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from harness.config import EstimateConfig, PriceConfig, SuiteConfig, TargetConfig
from harness.errors import PlanError
from harness.grid import Cell, expand_grid, format_value
from harness.providers import max_batch
from harness.records import Message, Trial

_KEY_VERSION = 1
_KEY_HEX = 24
_SEED_SPACE = 2**32


@dataclass(frozen=True, slots=True)
class PlanItem:
    """An item as the plan needs it: rendered prompt plus gold answer (never sent)."""

    id: str
    messages: tuple[Message, ...]
    system_prompt: str | None = None
    inputs: dict[str, list[str]] | None = None
    reference: Any = None
    choices: list[str] | None = None


@dataclass(frozen=True, slots=True)
class CellEstimate:
    cell_id: str
    trials: int
    prompt_tokens: int
    completion_tokens: int
    thinking_tokens: int
    cost_usd: float


@dataclass(frozen=True, slots=True)
class PlanEstimate:
    """Expected tokens and cost of a plan. Completion tokens include thinking tokens, as the API counts them."""

    prompt_tokens: int
    completion_tokens: int
    thinking_tokens: int
    prompt_cost_usd: float
    completion_cost_usd: float
    thinking_cost_usd: float
    cost_usd: float
    cells: tuple[CellEstimate, ...]
    tokenizer: str
    driver: str


@dataclass(frozen=True, slots=True)
class RunPlan:
    """The cells, the trials and what they turn into on the wire."""

    cells: tuple[Cell, ...]
    trials: tuple[Trial, ...]
    n_items: int
    requests_by_target: dict[str, int]
    results: int
    estimate: PlanEstimate | None = field(default=None)

    @property
    def n_cells(self) -> int:
        return len(self.cells)

    @property
    def n_trials(self) -> int:
        return len(self.trials)

    @property
    def n_requests(self) -> int:
        return sum(self.requests_by_target.values())

    def counts(self) -> dict[str, int]:
        """The plan size as the manifest records it."""
        return {
            "cells": self.n_cells,
            "items": self.n_items,
            "trials": self.n_trials,
            "requests": self.n_requests,
            "results": self.results,
        }


def _canonical(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def trial_key(
    *,
    target: str,
    model: str,
    cell: str,
    item_id: str,
    repeat: int,
    messages: Sequence[Message],
    system_prompt: str | None,
    settings: Mapping[str, Any],
    seed: int | None,
    number_results: int,
    inputs: Mapping[str, list[str]] | None,
) -> str:
    """Content hash of everything that determines a request (plus the cell and item it belongs to, so two
    trials can never share a key). Key order of mappings does not matter."""
    payload = {
        "v": _KEY_VERSION,
        "target": target,
        "model": model,
        "cell": cell,
        "item": item_id,
        "repeat": repeat,
        "messages": [[m.role, m.content] for m in messages],
        "system": system_prompt,
        "settings": dict(settings),
        "seed": seed,
        "numberResults": number_results,
        "inputs": dict(inputs) if inputs else None,
    }
    return hashlib.sha256(_canonical(payload)).hexdigest()[:_KEY_HEX]


@dataclass(frozen=True, slots=True)
class CellSettings:
    """A cell resolved against the suite: where it goes and what it sends."""

    target: str
    repeats: int
    seed: int | None
    number_results: int
    settings: dict[str, Any]
    system_prompt: str | None


def resolve_cell(suite: SuiteConfig, cell: Cell, default_target: str) -> CellSettings:
    """Merge the suite's fixed settings with a cell's values and split off the non-wire axes."""
    merged: dict[str, Any] = {**suite.settings, **cell.values}
    target = str(merged.pop("target", default_target))
    repeats = int(merged.pop("repeats", suite.repeats))
    seed_raw = merged.pop("seed", None)
    number_results = int(merged.pop("numberResults", 1))
    system_prompt = merged.pop("systemPrompt", None)
    return CellSettings(
        target=target,
        repeats=repeats,
        seed=None if seed_raw is None else int(seed_raw),
        number_results=number_results,
        settings=merged,
        system_prompt=None if system_prompt is None else str(system_prompt),
    )


def build_plan(
    suite: SuiteConfig,
    items: Sequence[PlanItem],
    targets: Mapping[str, TargetConfig],
    *,
    default_target: str,
    cells: Sequence[Cell] | None = None,
    count_tokens: Callable[[str], int] | None = None,
) -> RunPlan:
    """Every (repeat, item, cell) trial, repeat-major then item-major so a partial run stays balanced
    across cells. A repeat's seed is `seed + repeat` (mod 2**32), so repeats differ but reproduce."""
    if not items:
        raise PlanError(f"suite {suite.name!r}: the data set has no items: nothing to run")
    grid_cells = list(cells) if cells is not None else expand_grid(suite.grid)
    resolved = [resolve_cell(suite, c, default_target) for c in grid_cells]
    for res in resolved:
        if res.target not in targets:
            raise PlanError(
                f"cell targets {res.target!r}, which was not loaded (loaded: {', '.join(targets)})"
            )
    max_repeats = max(r.repeats for r in resolved)
    prompt_counts: dict[tuple[str, str | None], int] = {}
    trials: list[Trial] = []
    for repeat in range(max_repeats):
        for item in items:
            for cell, res in zip(grid_cells, resolved, strict=True):
                if repeat >= res.repeats:
                    continue
                target = targets[res.target]
                system = res.system_prompt if res.system_prompt is not None else item.system_prompt
                seed = None if res.seed is None else (res.seed + repeat) % _SEED_SPACE
                key = trial_key(
                    target=target.name,
                    model=target.model,
                    cell=cell.id,
                    item_id=item.id,
                    repeat=repeat,
                    messages=item.messages,
                    system_prompt=system,
                    settings=res.settings,
                    seed=seed,
                    number_results=res.number_results,
                    inputs=item.inputs,
                )
                estimate = None
                if count_tokens is not None:
                    memo = (item.id, system)
                    if memo not in prompt_counts:
                        prompt_counts[memo] = _prompt_tokens(item.messages, system, count_tokens)
                    estimate = prompt_counts[memo]
                trials.append(
                    Trial(
                        key=key,
                        cell_id=cell.id,
                        cell=dict(cell.values),
                        item_id=item.id,
                        repeat=repeat,
                        target=target.name,
                        model=target.model,
                        messages=item.messages,
                        system_prompt=system,
                        settings=dict(res.settings),
                        seed=seed,
                        number_results=res.number_results,
                        inputs=item.inputs,
                        reference=item.reference,
                        choices=item.choices,
                        prompt_tokens_estimate=estimate,
                    )
                )
    per_target: dict[str, int] = {}
    for trial in trials:
        per_target[trial.target] = per_target.get(trial.target, 0) + 1
    by_name = {t.name: t for t in targets.values()}
    requests = {}
    for name, n in per_target.items():
        target = by_name[name]
        requests[name] = math.ceil(n / max_batch(target, suite.run.delivery))
    results = sum(t.number_results for t in trials)
    return RunPlan(
        cells=tuple(grid_cells),
        trials=tuple(trials),
        n_items=len(items),
        requests_by_target=requests,
        results=results,
    )


# Chat-template tokens around each message (<|im_start|>role\n ... <|im_end|>\n) and the reply header.
_TOKENS_PER_MESSAGE = 5
_TOKENS_REPLY_HEADER = 3


def _prompt_tokens(messages: Sequence[Message], system: str | None, count: Callable[[str], int]) -> int:
    total = _TOKENS_REPLY_HEADER
    for message in messages:
        total += count(message.content) + _TOKENS_PER_MESSAGE
    if system:
        total += count(system) + _TOKENS_PER_MESSAGE
    return total


def expected_output_tokens(
    settings: Mapping[str, Any], estimate: EstimateConfig, *, default_thinking_level: str | None
) -> tuple[int, int]:
    """(answer tokens, thinking tokens) expected per result, both capped so that their sum fits maxTokens."""
    level = settings.get("thinkingLevel", default_thinking_level)
    thinking = estimate.thinking_tokens.get(str(level), 0) if level is not None else 0
    answer = estimate.completion_tokens
    cap = settings.get("maxTokens")
    if isinstance(cap, int) and not isinstance(cap, bool):
        thinking = min(thinking, cap)
        answer = min(answer, cap - thinking)
    return answer, thinking


def estimate_plan(
    plan: RunPlan,
    estimates: Mapping[str, EstimateConfig],
    prices: Mapping[str, PriceConfig],
    *,
    cost: Callable[[PriceConfig, int, int, int], float],
    tokenizer: str,
    default_thinking_level: Mapping[str, str | None] | None = None,
) -> PlanEstimate:
    """Expected tokens and cost per cell and in total, and a sentence naming the largest cost driver.

    `estimates`, `prices` and `default_thinking_level` (the card's default) are keyed by target name.
    `cost(prices, prompt, completion, thinking)` prices one trial (completion includes thinking); the
    prompt side needs `Trial.prompt_tokens_estimate` (build_plan with count_tokens).
    """
    levels = default_thinking_level or {}
    per_cell: dict[str, list[float]] = {}
    parts = {"prompt": 0.0, "completion": 0.0, "thinking": 0.0}
    order: list[str] = []
    for trial in plan.trials:
        price = prices[trial.target]
        answer, thinking = expected_output_tokens(
            trial.settings, estimates[trial.target], default_thinking_level=levels.get(trial.target)
        )
        n = trial.number_results
        prompt = trial.prompt_tokens_estimate or 0
        completion = (answer + thinking) * n
        thinking_all = thinking * n
        trial_cost = cost(price, prompt, completion, thinking_all)
        prompt_cost = cost(price, prompt, 0, 0)
        answer_cost = cost(price, 0, answer * n, 0)
        parts["prompt"] += prompt_cost
        parts["completion"] += answer_cost
        parts["thinking"] += max(trial_cost - prompt_cost - answer_cost, 0.0)
        if trial.cell_id not in per_cell:
            per_cell[trial.cell_id] = [0, 0, 0, 0, 0.0]
            order.append(trial.cell_id)
        acc = per_cell[trial.cell_id]
        acc[0] += 1
        acc[1] += prompt
        acc[2] += completion
        acc[3] += thinking_all
        acc[4] += trial_cost
    cells = tuple(
        CellEstimate(cid, int(a[0]), int(a[1]), int(a[2]), int(a[3]), float(a[4]))
        for cid, a in ((c, per_cell[c]) for c in order)
    )
    total = sum(c.cost_usd for c in cells)
    return PlanEstimate(
        prompt_tokens=sum(c.prompt_tokens for c in cells),
        completion_tokens=sum(c.completion_tokens for c in cells),
        thinking_tokens=sum(c.thinking_tokens for c in cells),
        prompt_cost_usd=parts["prompt"],
        completion_cost_usd=parts["completion"],
        thinking_cost_usd=parts["thinking"],
        cost_usd=total,
        cells=cells,
        tokenizer=tokenizer,
        driver=_cost_driver(plan, cells, parts, total),
    )


def _cost_driver(
    plan: RunPlan, cells: Sequence[CellEstimate], parts: Mapping[str, float], total: float
) -> str:
    if total <= 0:
        return "no cost expected (free target or no tokens)"
    name = max(parts, key=lambda k: parts[k])
    text = f"{name} tokens ({parts[name] / total:.0%} of the cost)"
    by_cell = {c.cell_id: c.cost_usd for c in cells}
    axes = {n for c in plan.cells for n in c.values}
    best_axis, best_ratio, best_pair = "", 1.0, ("", "")
    for axis in sorted(axes):
        sums: dict[str, float] = {}
        for cell in plan.cells:
            if axis in cell.values:
                label = format_value(cell.values[axis])
                sums[label] = sums.get(label, 0.0) + by_cell.get(cell.id, 0.0)
        if len(sums) < 2:
            continue
        hi = max(sums, key=lambda k: sums[k])
        lo = min(sums, key=lambda k: sums[k])
        ratio = sums[hi] / sums[lo] if sums[lo] > 0 else math.inf
        if ratio > best_ratio:
            best_axis, best_ratio, best_pair = axis, ratio, (hi, lo)
    if best_axis:
        shown = "∞" if math.isinf(best_ratio) else f"{best_ratio:.1f}x"
        text += f"; axis {best_axis}: {best_axis}={best_pair[0]} costs {shown} {best_axis}={best_pair[1]}"
    return text
