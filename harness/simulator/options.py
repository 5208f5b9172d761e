"""SimulatorOptions (what a caller or `harness simulator` chooses) and SimulatorState (everything one
running server holds: cards, model, faults, stats, async tasks). Owns no routes.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

from harness.capability import ModelCard, find_card, load_card
from harness.errors import ConfigError
from harness.pricing import load_prices
from harness.simulator.answer_key import AnswerKey, load_answer_key
from harness.simulator.capacity import CapacityGate, CapacityModel, parse_capacity
from harness.simulator.faults import FaultInjector, FaultPlan, parse_faults
from harness.simulator.latency import LatencyModel, parse_latency
from harness.simulator.model import Generation, SimulatedModel
from harness.simulator.skill import SkillCurve, parse_skill
from harness.simulator.stats import SimStats

DEFAULT_CARD = "qwen3.5-397b"


@dataclass(slots=True)
class SimulatorOptions:
    """How to run the simulator. Spec strings are parsed as the CLI flags are (see docs/simulator.md)."""

    host: str = "127.0.0.1"
    port: int = 0
    seed: int = 0
    latency: str | LatencyModel | None = "0"
    faults: str | FaultPlan | None = None
    capacity: str | CapacityModel | None = None  # None: unlimited concurrency, no queue
    api_key: str | None = None  # None: any non-empty key is accepted
    skill: str | Path | SkillCurve | Mapping[str, Any] | None = None
    answer_key: Mapping[str, Any] | str | Path | AnswerKey | None = None
    card: str = DEFAULT_CARD  # card used when a request names no known model (OpenAI endpoint)
    retention_s: float = 600.0  # how long async results and used taskUUIDs are kept
    webhook_retries: int = 3
    webhook_backoff_s: float = 0.5  # doubles per retry
    # Settings (API names) accepted and validated but generated as if absent; a comma-separated string
    # as `--ignore-settings minP,topK` gives it, or a sequence.
    ignore_settings: str | Sequence[str] = ()


def parse_ignored(spec: str | Sequence[str], card: ModelCard) -> tuple[str, ...]:
    """The setting names to ignore, checked against the card's settings (`minP,topK` or a list)."""
    names = spec.split(",") if isinstance(spec, str) else list(spec)
    cleaned = tuple(dict.fromkeys(n.strip() for n in names if n.strip()))
    unknown = [n for n in cleaned if n not in card.settings]
    if unknown:
        raise ConfigError(
            f"cannot ignore {', '.join(map(repr, unknown))}: not a setting of card {card.name}",
            field="simulator.ignore_settings (--ignore-settings)",
            allowed=sorted(card.settings),
        )
    return cleaned


@dataclass(slots=True)
class AsyncTask:
    task_uuid: str
    model: str
    generations: list[Generation]
    ready_at: list[float]
    submitted_at: float
    include_usage: bool
    include_cost: bool
    billed: list[bool] = field(default_factory=list)
    counted_success: bool = False


class SimulatorState:
    """Everything one running simulator holds; created per serve_simulator()."""

    def __init__(self, options: SimulatorOptions) -> None:
        self.options = options
        self.latency = parse_latency(options.latency)
        self.fault_plan = parse_faults(options.faults)
        self.faults = FaultInjector(self.fault_plan, options.seed)
        capacity = parse_capacity(options.capacity)
        self.capacity = CapacityGate(capacity) if capacity is not None else None
        self.skill = parse_skill(options.skill)
        self.default_card = load_card(options.card)
        self.ignored = parse_ignored(options.ignore_settings, self.default_card)
        self.model = SimulatedModel(
            self.skill, load_answer_key(options.answer_key), load_prices, ignored=self.ignored
        )
        for model_id in self.default_card.models:
            self.model.prices(model_id)  # fail at start, not on the first request, if prices are broken
        self.rng = random.Random(f"seeds:{options.seed}")
        self.stats = SimStats()
        self.async_tasks: dict[str, AsyncTask] = {}
        self.used_uuids: dict[str, float] = {}
        self.background: set[asyncio.Task[None]] = set()
        self._cards: dict[str, ModelCard | None] = {}
        self._defaults: dict[str, dict[str, Any]] = {}
        self._http: Any = None
        if options.webhook_retries < 0 or options.retention_s <= 0:
            raise ConfigError(
                "webhook_retries >= 0 and retention_s > 0 are required",
                field="simulator",
            )

    def defaults(self, card: ModelCard) -> dict[str, Any]:
        """A fresh copy of the card's default settings."""
        found = self._defaults.get(card.name)
        if found is None:
            found = self._defaults[card.name] = card.defaults()
        return dict(found)

    def card_for(self, model_id: Any) -> ModelCard | None:
        """The card describing `model_id` (cached), or None."""
        if not isinstance(model_id, str):
            return None
        if model_id not in self._cards:
            self._cards[model_id] = (
                self.default_card if model_id in self.default_card.models else find_card(model_id)
            )
        return self._cards[model_id]

    def set_answer_key(self, mapping: Mapping[str, Any] | str | Path | AnswerKey) -> None:
        self.model.answer_key = load_answer_key(mapping)
        self.model.clear_caches()

    def new_seed(self) -> int:
        return self.rng.randrange(2**32)

    def draw_fault(self) -> str | None:
        fault = self.faults.draw()
        if fault is not None:
            self.stats.faults[fault] += 1
        return fault

    def remember_uuid(self, task_uuid: str) -> None:
        now = time.monotonic()
        self.used_uuids[task_uuid] = now
        horizon = now - self.options.retention_s
        while self.used_uuids:
            oldest = next(iter(self.used_uuids))
            if self.used_uuids[oldest] >= horizon and len(self.used_uuids) <= 500_000:
                break
            del self.used_uuids[oldest]

    def store_async(self, task: AsyncTask) -> None:
        self.async_tasks[task.task_uuid] = task
        horizon = task.submitted_at - self.options.retention_s
        while self.async_tasks:
            oldest = next(iter(self.async_tasks.values()))
            if oldest.submitted_at >= horizon:
                break
            del self.async_tasks[oldest.task_uuid]

    def spawn(self, coro: Any) -> None:
        task: asyncio.Task[None] = asyncio.get_running_loop().create_task(coro)
        self.background.add(task)
        task.add_done_callback(self.background.discard)

    async def http(self) -> Any:
        """The aiohttp client session used for webhooks (created on first use)."""
        if self._http is None:
            import aiohttp

            self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))
        return self._http

    async def close(self) -> None:
        for task in list(self.background):
            task.cancel()
        if self.background:
            await asyncio.gather(*self.background, return_exceptions=True)
        if self._http is not None:
            await self._http.close()
            self._http = None


STATE_KEY: web.AppKey[SimulatorState] = web.AppKey("state", SimulatorState)
