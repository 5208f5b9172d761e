"""The result shapes of the Runware protocol (sync/async/webhook items with usage and cost) and how a
text is cut into stream deltas. Pure functions over a Generation; no HTTP.
"""

from __future__ import annotations

from typing import Any

from harness.config import PriceConfig
from harness.simulator.model import Generation
from harness.tokens import split_tokens


def usage_dict(gen: Generation, prices: PriceConfig, include_cost: bool) -> dict[str, Any]:
    usage: dict[str, Any] = {
        "promptTokens": gen.prompt_tokens,
        "completionTokens": gen.completion_tokens,
        "totalTokens": gen.prompt_tokens + gen.completion_tokens,
        "thinkingTokens": gen.thinking_tokens,
        "completionTokensDetails": {"reasoningTokens": gen.thinking_tokens},
    }
    if include_cost:
        prompt_cost = round(gen.prompt_tokens * prices.prompt_per_mtok / 1_000_000, 12)
        usage["costBreakdown"] = {
            "total": gen.cost_usd,
            "tokens": {
                "prompt": {"billableTokens": gen.prompt_tokens, "cost": prompt_cost},
                "completion": {
                    "billableTokens": gen.completion_tokens,
                    "textTokens": gen.completion_tokens - gen.thinking_tokens,
                    "reasoningTokens": gen.thinking_tokens,
                    "cost": round(gen.cost_usd - prompt_cost, 12),
                },
            },
        }
    return usage


def result_item(
    task_uuid: str, gen: Generation, prices: PriceConfig, usage: bool, cost: bool, status: str | None = None
) -> dict[str, Any]:
    item: dict[str, Any] = {"taskType": "textInference", "taskUUID": task_uuid}
    if status is not None:
        item["status"] = status
    item["text"] = gen.text
    item["finishReason"] = gen.finish_reason
    item["seed"] = gen.seed
    if gen.reasoning:
        item["reasoningContent"] = [gen.reasoning]
    if cost:
        item["cost"] = gen.cost_usd
    if usage:
        item["usage"] = usage_dict(gen, prices, cost)
    return item


def stream_pieces(text: str, per_token: bool) -> list[str]:
    """Deltas of a stream: one per token when latency is simulated, else one per line (cheaper)."""
    lines = text.splitlines(keepends=True)
    if not per_token:
        return lines
    return [piece for line in lines for piece in split_tokens(line)]
