"""What the simulator saw and billed, served by GET /stats and zeroed by POST /stats/reset.

"Billed" means a result fully delivered to the client: a sync body written whole, a stream that reached
its final chunk, a getResponse or webhook POST that carried the finished item (once per item). Faulted
responses (429/5xx, hangs, cut streams, malformed bodies) are never billed, so a client's recorded cost
reconciles exactly with `billed_cost_usd`; the exceptions (results billed although their bytes are bad:
bad_utf8, huge_text) are listed in docs/simulator.md. The ledger (`GET /stats?ledger=1`) says what was
billed per taskUUID (per chat completion id on the OpenAI endpoint). Owns counters only.
"""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

from harness.simulator.model import Generation


class _Billing:
    __slots__ = ("completion", "cost_usd", "prompt", "results", "thinking")

    def __init__(self) -> None:
        self.results = 0
        self.prompt = 0
        self.completion = 0
        self.thinking = 0
        self.cost_usd = 0.0

    def add(self, gen: Generation) -> None:
        self.add_usage(gen.prompt_tokens, gen.completion_tokens, gen.thinking_tokens, gen.cost_usd)

    def add_usage(self, prompt: int, completion: int, thinking: int, cost_usd: float) -> None:
        self.results += 1
        self.prompt += prompt
        self.completion += completion
        self.thinking += thinking
        self.cost_usd += cost_usd

    def tokens(self) -> dict[str, int]:
        return {
            "prompt": self.prompt,
            "completion": self.completion,
            "thinking": self.thinking,
            "total": self.prompt + self.completion,
        }


class _Ledger:
    """Per taskUUID (or completion id): cost billed, results billed, and when (time.monotonic(), the
    system-wide clock, so a test in another process can relate it to its own events)."""

    __slots__ = ("entries",)

    def __init__(self) -> None:
        self.entries: dict[str, list[float]] = {}

    def add(self, key: str, cost_usd: float) -> None:
        entry = self.entries.get(key)
        if entry is None:
            self.entries[key] = [cost_usd, 1, time.monotonic()]
        else:
            entry[0] += cost_usd
            entry[1] += 1
            entry[2] = time.monotonic()

    def snapshot(self) -> dict[str, dict[str, float]]:
        return {
            k: {"cost_usd": v[0], "results": int(v[1]), "billed_at": v[2]} for k, v in self.entries.items()
        }


class SimStats:
    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.started = time.monotonic()
        self.requests = 0
        self.status: Counter[int] = Counter()
        self.tasks = 0
        self.tasks_by_delivery: Counter[str] = Counter({"sync": 0, "async": 0, "stream": 0})
        self.webhook_tasks = 0
        self.polls = 0
        self.successful_tasks = 0
        self.task_errors: Counter[str] = Counter()
        self.faults: Counter[str] = Counter()
        self.billing = _Billing()
        self.ledger = _Ledger()
        self.webhook_posts = 0
        self.webhook_delivered = 0
        self.webhook_failed = 0
        self.openai_requests = 0
        self.openai_status: Counter[int] = Counter()
        self.openai_by_mode: Counter[str] = Counter({"stream": 0, "non_stream": 0})
        self.openai_successful = 0
        self.openai_billing = _Billing()
        self.openai_ledger = _Ledger()

    def bill(self, gen: Generation, task_uuid: str) -> None:
        self.billing.add(gen)
        self.ledger.add(task_uuid, gen.cost_usd)

    def snapshot(self, *, ledger: bool = False) -> dict[str, Any]:
        """The counters; with `ledger`, also what was billed per taskUUID (`ledger`, and
        `openai.ledger` per chat completion id)."""
        snap = self._counters()
        if ledger:
            snap["ledger"] = self.ledger.snapshot()
            snap["openai"]["ledger"] = self.openai_ledger.snapshot()
        return snap

    def _counters(self) -> dict[str, Any]:
        return {
            "uptime_s": round(time.monotonic() - self.started, 3),
            "requests": self.requests,
            "http_status": {str(k): v for k, v in sorted(self.status.items())},
            "tasks": self.tasks,
            "tasks_by_delivery": dict(self.tasks_by_delivery),
            "webhook_tasks": self.webhook_tasks,
            "polls": self.polls,
            "successful_tasks": self.successful_tasks,
            "task_errors": dict(self.task_errors),
            "results": self.billing.results,
            "billed_cost_usd": self.billing.cost_usd,
            "billed_tokens": self.billing.tokens(),
            "faults": dict(self.faults),
            "webhook": {
                "posts": self.webhook_posts,
                "delivered": self.webhook_delivered,
                "failed": self.webhook_failed,
            },
            "openai": {
                "requests": self.openai_requests,
                "http_status": {str(k): v for k, v in sorted(self.openai_status.items())},
                "by_mode": dict(self.openai_by_mode),
                "successful_requests": self.openai_successful,
                "results": self.openai_billing.results,
                "billed_cost_usd": self.openai_billing.cost_usd,
                "billed_tokens": self.openai_billing.tokens(),
            },
        }
