"""Pure helpers that read Runware wire payloads into harness values: result items, usage, cost,
reasoning (string or list), and the per-task accumulation of a stream. No I/O and no retry logic.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from harness.errors import ProviderError
from harness.records import Result, Usage


def reasoning_text(value: Any) -> str | None:
    """`reasoningContent` arrives as a string or a list of strings."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "".join(str(v) for v in value if v is not None)
    return str(value)


def _int(value: Any) -> int:
    if type(value) is int:  # the usual case first (bool, an int subclass, is not a count)
        return value
    if isinstance(value, bool) or value is None:
        return 0
    if isinstance(value, int):
        return value
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def usage_from_runware(raw: Any) -> Usage | None:
    """Runware `usage` (camelCase; legacy inputTokens/outputTokens tolerated)."""
    if not isinstance(raw, Mapping):
        return None
    prompt = _int(raw.get("promptTokens", raw.get("inputTokens")))
    completion = _int(raw.get("completionTokens", raw.get("outputTokens")))
    thinking = raw.get("thinkingTokens")
    if thinking is None:
        details = raw.get("completionTokensDetails")
        if isinstance(details, Mapping):
            thinking = details.get("reasoningTokens")
    total = raw.get("totalTokens")
    return Usage(
        prompt_tokens=prompt,
        completion_tokens=completion,
        thinking_tokens=_int(thinking),
        total_tokens=_int(total) if total is not None else prompt + completion,
    )


def negative(usage: Usage | None, cost: float | None) -> bool:
    """A usage or cost report no meter could produce (negative tokens or dollars)."""
    if cost is not None and cost < 0:
        return True
    return usage is not None and (
        usage.prompt_tokens < 0
        or usage.completion_tokens < 0
        or usage.thinking_tokens < 0
        or usage.total_tokens < 0
    )


def add_usage(a: Usage | None, b: Usage | None) -> Usage | None:
    if a is None:
        return b
    if b is None:
        return a
    return Usage(
        prompt_tokens=a.prompt_tokens + b.prompt_tokens,
        completion_tokens=a.completion_tokens + b.completion_tokens,
        thinking_tokens=a.thinking_tokens + b.thinking_tokens,
        total_tokens=a.total_tokens + b.total_tokens,
    )


def add_cost(a: float | None, raw: Any) -> float | None:
    if raw is None or isinstance(raw, bool):
        return a
    try:
        value = float(raw)
    except (TypeError, ValueError):
        return a
    return value if a is None else a + value


def result_from_item(item: Mapping[str, Any]) -> Result:
    seed = item.get("seed")
    return Result(
        text=str(item.get("text") or ""),
        reasoning=reasoning_text(item.get("reasoningContent")),
        finish_reason=item.get("finishReason"),
        seed=seed if isinstance(seed, int) else None,
    )


def is_error_item(item: Mapping[str, Any]) -> bool:
    return item.get("status") == "error" or isinstance(item.get("error"), Mapping)


class StreamAccumulator:
    """One task's stream: deltas into results, first-token times, inter-token gaps, usage and cost.

    numberResults > 1 streamed one result after another: a delta after a finishReason starts the
    next result. Within a result the first finishReason wins and usage/cost are the last seen;
    a task's usage and cost are summed over its results.
    """

    __slots__ = (
        "_cost",
        "_finish",
        "_last_at",
        "_reasoning",
        "_text",
        "_usage",
        "cost",
        "error",
        "first_answer_at",
        "first_token_at",
        "gaps",
        "results",
        "usage",
    )

    def __init__(self) -> None:
        self.results: list[Result] = []
        self._text: list[str] = []
        self._reasoning: list[str] = []
        self._finish: str | None = None
        self._usage: Usage | None = None
        self._cost: float | None = None
        self.first_token_at: float | None = None
        self.first_answer_at: float | None = None
        self._last_at = 0.0
        self.gaps: list[float] = []
        self.usage: Usage | None = None
        self.cost: float | None = None
        self.error: ProviderError | None = None

    def chunk(
        self, text: str | None, reasoning: str | None, finish: Any, usage: Any, cost: Any, now: float
    ) -> None:
        if text or reasoning:
            if self._finish is not None:
                self._commit()
            if self.first_token_at is None:
                self.first_token_at = now
            else:
                self.gaps.append(round(now - self._last_at, 4))
            self._last_at = now
            if reasoning:
                self._reasoning.append(reasoning)
            if text:
                self._text.append(text)
                if self.first_answer_at is None:
                    self.first_answer_at = now
        if finish is not None and self._finish is None:
            self._finish = str(finish)
        if usage is not None:
            self._usage = usage_from_runware(usage)
        if cost is not None:
            self._cost = add_cost(None, cost)

    def _commit(self) -> None:
        self.results.append(
            Result(
                text="".join(self._text),
                reasoning="".join(self._reasoning) if self._reasoning else None,
                finish_reason=self._finish,
            )
        )
        self.usage = add_usage(self.usage, self._usage)
        if self._cost is not None:
            self.cost = add_cost(self.cost, self._cost)
        self._text = []
        self._reasoning = []
        self._finish = None
        self._usage = None
        self._cost = None

    def end(self) -> bool:
        """Close the stream; True when every result that started also finished."""
        if self._finish is not None:
            self._commit()
            return True
        return not (self._text or self._reasoning)
