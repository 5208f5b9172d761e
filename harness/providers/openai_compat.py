"""OpenAI-compatible chat completions (vLLM, SGLang, llama.cpp, OpenAI, Runware's /chat/completions),
streamed or not. Maps our API-named settings onto that protocol's names and back; one trial per
request (no batching); never retries.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

import aiohttp
import orjson

from harness.config import TargetConfig
from harness.errors import ConfigError
from harness.providers import Clock, MalformedResponseError, StreamCutError, TaskOutcome
from harness.providers._http import (
    HTTPProvider,
    error_from_item,
    error_items,
    has_bad_text,
    loads,
    loads_lenient,
    mapped_errors,
)
from harness.providers._wire import negative
from harness.records import Result, Trial, Usage

# Our (Runware) setting names -> chat-completions body fields. top_k, min_p and repetition_penalty are
# the extra fields vLLM, SGLang and llama.cpp accept.
SETTING_NAMES: dict[str, str] = {
    "temperature": "temperature",
    "topP": "top_p",
    "topK": "top_k",
    "minP": "min_p",
    "maxTokens": "max_tokens",
    "presencePenalty": "presence_penalty",
    "frequencyPenalty": "frequency_penalty",
    "repetitionPenalty": "repetition_penalty",
    "stopSequences": "stop",
}
_FINISH = {"stop": "stop", "length": "length", "content_filter": "content_filter"}


def build_body(
    trial: Trial, *, stream: bool, reasoning_switch: Mapping[str, Mapping[str, object]] | None
) -> dict[str, Any]:
    """The chat-completions body for one trial. thinkingLevel becomes the target's configured extra
    fields for that level (e.g. chat_template_kwargs), or is left out when none is configured."""
    messages: list[dict[str, Any]] = []
    if trial.system_prompt:
        messages.append({"role": "system", "content": trial.system_prompt})
    messages.extend({"role": m.role, "content": m.content} for m in trial.messages)
    body: dict[str, Any] = {"model": trial.model, "messages": messages}
    for name, value in trial.settings.items():
        if name == "thinkingLevel":
            extra = (reasoning_switch or {}).get(str(value))
            if extra:
                body.update(extra)
            continue
        body[SETTING_NAMES.get(name, name)] = value
    if trial.seed is not None:
        body["seed"] = trial.seed
    if trial.number_results != 1:
        body["n"] = trial.number_results
    if stream:
        body["stream"] = True
        body["stream_options"] = {"include_usage": True}
    return body


def usage_from_openai(raw: Any) -> Usage | None:
    if not isinstance(raw, Mapping):
        return None
    prompt = int(raw.get("prompt_tokens") or 0)
    completion = int(raw.get("completion_tokens") or 0)
    details = raw.get("completion_tokens_details")
    thinking = int(details.get("reasoning_tokens") or 0) if isinstance(details, Mapping) else 0
    total = raw.get("total_tokens")
    return Usage(prompt, completion, thinking, int(total) if total is not None else prompt + completion)


def _reasoning_of(message: Mapping[str, Any]) -> str | None:
    value = message.get("reasoning_content")
    if value is None:
        value = message.get("reasoning")
    return value if isinstance(value, str) else None


def _finish(value: Any) -> str | None:
    return None if value is None else _FINISH.get(str(value), str(value))


class OpenAIProvider(HTTPProvider):
    """A chat-completions target at `{endpoint}/chat/completions`; `delivery: stream` streams."""

    max_batch = 1

    def __init__(
        self,
        target: TargetConfig,
        *,
        session: aiohttp.ClientSession | None = None,
        concurrency: int = 16,
        clock: Clock = time.perf_counter,
    ) -> None:
        if not target.endpoint:
            raise ConfigError(
                "an endpoint URL (ending in /v1) is required", field=f"targets.{target.name}.endpoint"
            )
        if target.delivery == "async":
            raise ConfigError(
                "the openai provider has no async delivery",
                field=f"targets.{target.name}.delivery",
                allowed=["sync", "stream"],
            )
        base = target.endpoint.rstrip("/")
        url = base if base.endswith("/chat/completions") else base + "/chat/completions"
        super().__init__(target, url, session=session, concurrency=concurrency, clock=clock)

    async def send(self, trials: Sequence[Trial]) -> list[TaskOutcome]:
        if len(trials) != 1:
            raise ValueError("the openai provider sends one trial per request")
        trial = trials[0]
        stream = self.delivery == "stream"
        body = orjson.dumps(build_body(trial, stream=stream, reasoning_switch=self._target.reasoning_switch))
        if stream:
            return [await self._send_stream(trial, body)]
        return [await self._send_plain(trial, body)]

    async def _send_plain(self, trial: Trial, body: bytes) -> TaskOutcome:
        async with mapped_errors(self._target.timeouts, secret=self._secret) as guard:
            sent = self._clock()
            first_byte, raw = await self._post(guard, body)
        done = self._clock()
        payload, lenient = loads_lenient(raw, "chat completion")
        if not isinstance(payload, Mapping):
            raise MalformedResponseError("chat completion is not a JSON object")
        outcome = TaskOutcome(str(payload.get("id") or ""), sent, done, [], first_byte_at_s=first_byte)
        errors = error_items(payload)
        if errors:
            outcome.error = error_from_item(errors[0], status=None, retry_after_s=None, secret=self._secret)
            return outcome
        choices = sorted(
            (c for c in payload.get("choices") or [] if isinstance(c, Mapping)),
            key=lambda c: int(c.get("index") or 0),
        )
        for choice in choices:
            message = choice.get("message") or {}
            outcome.results.append(
                Result(
                    text=str(message.get("content") or ""),
                    reasoning=_reasoning_of(message),
                    finish_reason=_finish(choice.get("finish_reason")),
                    seed=trial.seed if trial.number_results == 1 else None,
                )
            )
        outcome.usage = usage_from_openai(payload.get("usage"))
        problem = _problem(outcome, lenient and has_bad_text(payload.get("choices")))
        if problem is not None:
            outcome.error = problem
        elif len(outcome.results) < trial.number_results:
            outcome.error = MalformedResponseError(
                f"reply held {len(outcome.results)} of {trial.number_results} choices"
            )
        return outcome

    async def _send_stream(self, trial: Trial, body: bytes) -> TaskOutcome:
        acc = _ChoiceStream(trial.number_results, self._secret)
        async with mapped_errors(self._target.timeouts, secret=self._secret) as guard:
            sent = self._clock()
            first_byte = await self._post_stream(guard, body, self._headers, acc.on_event)
        done = self._clock()
        hint = self.cut_hint(reading=False) if any(f is None for f in acc.finishes) else ""
        n = trial.number_results
        outcome = TaskOutcome(
            acc.task_id,
            sent,
            done,
            [
                Result(
                    text="".join(acc.texts[i]),
                    reasoning="".join(acc.reasonings[i]) if acc.reasonings[i] else None,
                    finish_reason=acc.finishes[i],
                    seed=trial.seed if n == 1 else None,
                )
                for i in range(n)
            ],
            usage=acc.usage,
            first_byte_at_s=first_byte,
            first_token_at_s=acc.first_token,
            first_answer_token_at_s=acc.first_answer,
            itl_s=acc.gaps,
        )
        missing = sum(f is None for f in acc.finishes)
        outcome.error = _problem(outcome, False) or acc.error
        if outcome.error is None and missing:
            outcome.error = StreamCutError(f"stream ended with {missing} of {n} choices unfinished{hint}")
        return outcome


def _problem(outcome: TaskOutcome, bad_text: bool) -> MalformedResponseError | None:
    """A malformed reply (invalid UTF-8 in a choice, negative usage): its results are no answer,
    but a usable usage report stays, since the completion was billed."""
    if negative(outcome.usage, None):
        outcome.usage = None
        outcome.results = []
        return MalformedResponseError("negative token usage reported")
    if bad_text:
        outcome.results = []
        return MalformedResponseError("invalid UTF-8 in the completion")
    return None


class _ChoiceStream:
    """One streamed chat completion: deltas of its `n` choices (interleaved, by index) into texts and
    reasonings, the first finish_reason of each, first-token times and the gaps between deltas (over
    all choices), the last usage seen. An error chunk raises; an undecodable chunk is kept as `error`
    and the stream read on."""

    __slots__ = (
        "_last_at",
        "_secret",
        "error",
        "finishes",
        "first_answer",
        "first_token",
        "gaps",
        "reasonings",
        "task_id",
        "texts",
        "usage",
    )

    def __init__(self, n: int, secret: str | None) -> None:
        self._secret = secret
        self.texts: list[list[str]] = [[] for _ in range(n)]
        self.reasonings: list[list[str]] = [[] for _ in range(n)]
        self.finishes: list[str | None] = [None] * n
        self.gaps: list[float] = []
        self.first_token: float | None = None
        self.first_answer: float | None = None
        self._last_at = 0.0
        self.usage: Usage | None = None
        self.task_id = ""
        self.error: MalformedResponseError | None = None

    def on_event(self, event: bytes, now: float) -> None:
        try:
            chunk = loads(event, "stream chunk")
        except MalformedResponseError as exc:
            # The answer is spoiled, but the usage chunk (what was billed) may still come: read on.
            self.error = self.error or exc
            return
        errors = error_items(chunk)
        if errors:
            raise error_from_item(errors[0], status=None, retry_after_s=None, secret=self._secret)
        self.task_id = self.task_id or str(chunk.get("id") or "")
        if chunk.get("usage"):
            self.usage = usage_from_openai(chunk["usage"])
        n = len(self.finishes)
        for choice in chunk.get("choices") or ():
            index = int(choice.get("index") or 0)
            if not 0 <= index < n:
                continue
            delta = choice.get("delta") or {}
            text = delta.get("content")
            reasoning = delta.get("reasoning_content") or delta.get("reasoning")
            if text or reasoning:
                if self.first_token is None:
                    self.first_token = now
                else:
                    self.gaps.append(round(now - self._last_at, 4))
                self._last_at = now
                if reasoning:
                    self.reasonings[index].append(reasoning)
                if text:
                    self.texts[index].append(text)
                    if self.first_answer is None:
                        self.first_answer = now
            if choice.get("finish_reason") is not None and self.finishes[index] is None:
                self.finishes[index] = _finish(choice["finish_reason"])
