"""Builders shared by the engine integration tests (trials, targets, fast retry settings)."""

from __future__ import annotations

from typing import Any

from harness.config import RetryConfig, RunConfig, TargetConfig, TimeoutConfig
from harness.records import Message, Trial

MODEL = "alibaba:qwen@3.5-397b"


def make_trials(n: int, *, number_results: int = 1, max_tokens: int = 64, target: str = "sim") -> list[Trial]:
    return [
        Trial(
            key=f"trial-{i:05d}",
            cell_id="temperature=0.6",
            cell={"temperature": 0.6},
            item_id=f"q{i}",
            repeat=0,
            target=target,
            model=MODEL,
            messages=(Message("user", f"What is {i} + {2 * i}?"),),
            settings={"temperature": 0.6, "maxTokens": max_tokens},
            seed=1000 + i,
            number_results=number_results,
            reference=str(3 * i),
        )
        for i in range(n)
    ]


def sim_target(url: str, **kw: Any) -> dict[str, TargetConfig]:
    fields: dict[str, Any] = {
        "name": "sim",
        "provider": "simulator",
        "endpoint": url,
        "model": MODEL,
        "poll_initial_s": 0.005,
        "poll_max_s": 0.02,
        "timeouts": TimeoutConfig(connect_s=2, first_byte_s=5, idle_s=5, total_s=20),
    }
    fields.update(kw)
    return {"sim": TargetConfig(**fields)}


def quick_run(**kw: Any) -> RunConfig:
    fields: dict[str, Any] = {
        "concurrency": 16,
        "retries": RetryConfig(max_attempts=4, base_s=0.001, max_backoff_s=0.01),
    }
    fields.update(kw)
    return RunConfig(**fields)
