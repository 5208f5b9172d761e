"""`POST /v1/chat/completions` and `GET /v1/models`: an OpenAI-compatible (vLLM-style) face on the same
simulated model. Accepts `n`, `seed`, `stop`, `max_tokens`/`max_completion_tokens`, vLLM's extra
`top_k`/`min_p`/`repetition_penalty`, and `chat_template_kwargs.enable_thinking` or `reasoning_effort`
as the reasoning switch (reasoning goes in `reasoning_content`). Unknown body fields are ignored, as
vLLM does. Owns the OpenAI wire shapes only.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from typing import Any

import orjson
from aiohttp import web

from harness.capability import ModelCard, validate_settings
from harness.simulator.faults import REPLY_FAULTS
from harness.simulator.items import stream_pieces
from harness.simulator.model import Generation, Prompt
from harness.simulator.options import STATE_KEY, SimulatorState
from harness.simulator.reply_faults import (
    BAD_UTF8_MARK,
    STREAM_ONLY,
    ReplyEdit,
    edit_openai_reply,
    huge_padding,
    mangle_utf8,
)
from harness.simulator.transport import EARLY_FAULTS, JSON, SSEWriter, early_fault, openai_error, send_json

# OpenAI body field -> the harness's (Runware) setting name.
_FIELDS = {
    "temperature": "temperature",
    "top_p": "topP",
    "top_k": "topK",
    "min_p": "minP",
    "presence_penalty": "presencePenalty",
    "frequency_penalty": "frequencyPenalty",
    "repetition_penalty": "repetitionPenalty",
    "max_tokens": "maxTokens",
    "max_completion_tokens": "maxTokens",
    "stop": "stopSequences",
    "seed": "seed",
    "n": "numberResults",
}
_WIRE = {v: k for k, v in _FIELDS.items() if k != "max_completion_tokens"}
_LOW_EFFORT = ("none", "minimal", "low")
_ids = itertools.count(1)
_ERROR_200 = openai_error(
    "The server had an error while processing your request (simulated).", type_="server_error", code=500
)


class _BadRequest(Exception):
    def __init__(self, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.param = param


async def handle_models(request: web.Request) -> web.Response:
    state = request.app[STATE_KEY]
    ids = list(dict.fromkeys(state.default_card.models))
    body = {
        "object": "list",
        "data": [{"id": i, "object": "model", "created": 0, "owned_by": "harness-simulator"} for i in ids],
    }
    return web.Response(body=orjson.dumps(body), content_type=JSON)


def _reject(
    status: int, message: str, *, type_: str, code: str | int | None = None, param: str | None = None
) -> web.Response:
    return web.Response(
        status=status,
        body=orjson.dumps(openai_error(message, type_=type_, code=code, param=param)),
        content_type=JSON,
    )


async def handle_chat(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE_KEY]
    response = await _handle(request, state)
    state.stats.openai_status[response.status] += 1
    return response


async def _handle(request: web.Request, state: SimulatorState) -> web.StreamResponse:
    stats = state.stats
    stats.openai_requests += 1
    fault = state.draw_fault()
    if fault in EARLY_FAULTS:
        return await early_fault(
            request, fault or "", state.fault_plan.hang_s, state.fault_plan.retry_after_s, openai=True
        )
    if state.options.api_key is not None:
        header = request.headers.get("Authorization", "")
        if header[:7].lower() != "bearer " or header[7:].strip() != state.options.api_key:
            return _reject(
                401, "Incorrect API key provided.", type_="invalid_request_error", code="invalid_api_key"
            )
    try:
        body = orjson.loads(await request.read())
    except orjson.JSONDecodeError:
        body = None
    if not isinstance(body, dict):
        return _reject(400, "The body must be a JSON object.", type_="invalid_request_error")
    model_id = body.get("model")
    if not isinstance(model_id, str) or not model_id:
        return _reject(400, "`model` is required.", type_="invalid_request_error", param="model")
    card = state.card_for(model_id) or state.default_card
    try:
        prompt, seed, n = _prompt(state, card, body)
    except _BadRequest as exc:
        return _reject(400, str(exc), type_="invalid_request_error", param=exc.param)
    stream = bool(body.get("stream", False))
    stats.openai_by_mode["stream" if stream else "non_stream"] += 1
    state.model.prepare(prompt, card)
    gens = [state.model.generate(prompt, card, seed, i) for i in range(n)]
    usage = _usage(gens)
    created = int(time.time())
    chat_id = f"chatcmpl-sim{next(_ids):x}"
    head = {"id": chat_id, "created": created, "model": model_id}
    if stream:
        include_usage = bool((body.get("stream_options") or {}).get("include_usage", False))
        return await _stream(request, state, gens, head, usage if include_usage else None, fault)
    latency = state.latency
    wait = max(latency.duration(g.prompt_tokens, g.completion_tokens, g.u_ttft, g.u_tps) for g in gens)
    if wait > 0:
        await asyncio.sleep(wait)
    choices = []
    for i, g in enumerate(gens):
        message: dict[str, Any] = {"role": "assistant", "content": g.text}
        if g.reasoning:
            message["reasoning_content"] = g.reasoning
        choices.append({"index": i, "message": message, "finish_reason": g.finish_reason, "logprobs": None})
    payload = {**head, "object": "chat.completion", "choices": choices, "usage": usage}
    edit: ReplyEdit | None = None
    if fault in REPLY_FAULTS and fault not in STREAM_ONLY:
        edit = edit_openai_reply(fault or "", payload, state.fault_plan.huge_mb)
        if edit is None:  # error_200: the whole reply is an error envelope, with status 200
            response, _ = await send_json(request, 200, _ERROR_200, None)
            return response
    response, delivered = await send_json(request, 200, payload, fault, None if edit is None else edit.mangle)
    if delivered and (edit is None or chat_id not in edit.unbilled):
        _bill(state, model_id, gens, chat_id)
    return response


def _prompt(state: SimulatorState, card: ModelCard, body: dict[str, Any]) -> tuple[Prompt, int, int]:
    raw = body.get("messages")
    if not isinstance(raw, list) or not raw:
        raise _BadRequest("`messages` must be a non-empty array.", "messages")
    system: list[str] = []
    messages: list[dict[str, str]] = []
    images = 0
    for i, m in enumerate(raw):
        if not isinstance(m, dict) or m.get("role") not in ("system", "developer", "user", "assistant"):
            raise _BadRequest(
                f"messages[{i}].role must be system, developer, user or assistant.", f"messages.{i}.role"
            )
        text, n_images = _content(m.get("content"), i)
        images += n_images
        if m["role"] in ("system", "developer"):
            system.append(text)
        else:
            messages.append({"role": m["role"], "content": text})
    if not messages:
        raise _BadRequest("At least one user message is required.", "messages")
    given: dict[str, Any] = {}
    for wire, name in _FIELDS.items():
        if body.get(wire) is not None:
            value = body[wire]
            if name == "stopSequences" and isinstance(value, str):
                value = [value]
            if name == "topK" and value == -1 and "topK" not in card.settings:
                continue
            given[name] = value
    checked = {k: v for k, v in given.items() if k in card.settings or k in card.task}
    for v in validate_settings(card, checked):
        raise _BadRequest(v.message, _WIRE.get(v.parameter or "", v.parameter))
    settings = state.defaults(card)
    settings.update({k: v for k, v in given.items() if k not in ("seed", "numberResults")})
    if settings.get("topK") == -1:
        del settings["topK"]
    thinking = _thinking(body)
    if thinking is not None:
        settings["thinkingLevel"] = thinking
    settings.pop("reasoningEffort", None)
    prompt = Prompt(
        model=body["model"],
        messages=messages,
        system_prompt="\n\n".join(system) or None,
        settings=settings,
        images=images,
    )
    seed = given.get("seed")
    n = given.get("numberResults", 1)
    if not isinstance(n, int) or n < 1 or n > 16:
        raise _BadRequest("`n` must be an integer between 1 and 16.", "n")
    return prompt, state.new_seed() if seed is None else int(seed) % 2**32, n


def _content(content: Any, i: int) -> tuple[str, int]:
    if isinstance(content, str):
        return content, 0
    if isinstance(content, list):
        texts, images = [], 0
        for part in content:
            kind = part.get("type") if isinstance(part, dict) else None
            if kind == "text" and isinstance(part.get("text"), str):
                texts.append(part["text"])
            elif kind == "image_url":
                images += 1
            else:
                raise _BadRequest(
                    f"messages[{i}].content parts must be text or image_url.", f"messages.{i}.content"
                )
        return "\n".join(texts), images
    raise _BadRequest(
        f"messages[{i}].content must be a string or an array of parts.", f"messages.{i}.content"
    )


def _thinking(body: dict[str, Any]) -> str | None:
    kwargs = body.get("chat_template_kwargs")
    if isinstance(kwargs, dict) and isinstance(kwargs.get("enable_thinking"), bool):
        return "high" if kwargs["enable_thinking"] else "low"
    effort = body.get("reasoning_effort")
    if isinstance(effort, str):
        return "low" if effort in _LOW_EFFORT else "high"
    return None


def _usage(gens: list[Generation]) -> dict[str, Any]:
    prompt = gens[0].prompt_tokens  # counted once per request, however many choices
    completion = sum(g.completion_tokens for g in gens)
    thinking = sum(g.thinking_tokens for g in gens)
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "completion_tokens_details": {"reasoning_tokens": thinking},
    }


def _bill(state: SimulatorState, model: str, gens: list[Generation], chat_id: str) -> None:
    """Bill a delivered response: the prompt once, every choice's completion (as `usage` reports)."""
    stats = state.stats
    stats.openai_successful += 1
    prompt_price = state.model.prices(model).prompt_per_mtok / 1_000_000
    for i, g in enumerate(gens):
        prompt = g.prompt_tokens if i == 0 else 0
        cost = g.cost_usd - (g.prompt_tokens - prompt) * prompt_price
        stats.openai_billing.add_usage(prompt, g.completion_tokens, g.thinking_tokens, cost)
        stats.openai_ledger.add(chat_id, cost)


async def _stream(
    request: web.Request,
    state: SimulatorState,
    gens: list[Generation],
    head: dict[str, Any],
    usage: dict[str, Any] | None,
    fault: str | None,
) -> web.StreamResponse:
    latency = state.latency
    if fault == "error_200":
        response, _ = await send_json(request, 200, _ERROR_200, None)
        return response
    writer = SSEWriter(request, fault, latency.ping_s)
    chunk = {**head, "object": "chat.completion.chunk"}
    last = len(gens) - 1
    cut = fault in ("no_final", "partial", "stream_error")
    billed = fault not in ("bad_usage", "no_usage") and not cut
    mangled: int | None = None
    try:
        await writer.open()
        loop = asyncio.get_running_loop()
        for i, g in enumerate(gens):
            writer.add(
                {
                    **chunk,
                    "choices": [
                        {"index": i, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}
                    ],
                }
            )
            deltas = [("reasoning_content", p) for p in stream_pieces(g.reasoning, latency.enabled)]
            deltas += [("content", p) for p in stream_pieces(g.text, latency.enabled)]
            if i == last and cut:
                del deltas[len(deltas) // 2 :]
            elif i == last and fault == "huge_text":
                deltas.append(("content", huge_padding(state.fault_plan.huge_mb)))
            elif i == last and fault == "bad_utf8" and deltas:
                mangled = state.faults.pick_rng.randrange(len(deltas))
                field_, piece_ = deltas[mangled]
                deltas[mangled] = (field_, piece_ + BAD_UTF8_MARK)
            if latency.enabled:
                await writer.wait(latency.ttft(g.prompt_tokens, g.u_ttft) if i == 0 else 0.0)
                gap, start = latency.token_gap(g.u_tps), loop.time()
            for j, (field, piece) in enumerate(deltas):
                if latency.enabled and (left := start + j * gap - loop.time()) > 0:
                    await writer.wait(left)
                writer.add(
                    {**chunk, "choices": [{"index": i, "delta": {field: piece}, "finish_reason": None}]},
                    mangle_utf8 if i == last and j == mangled else None,
                )
            if i < len(gens) - 1:
                writer.add(
                    {**chunk, "choices": [{"index": i, "delta": {}, "finish_reason": g.finish_reason}]}
                )
        finals = _stream_finals(chunk, gens[last].finish_reason, last, usage, fault)
        delivered = await writer.finish(finals)
    except (ConnectionError, RuntimeError):
        delivered = False
    if delivered and billed:
        _bill(state, head["model"], gens, head["id"])
    return writer.response


def _stream_finals(
    chunk: dict[str, Any], finish: str, last: int, usage: dict[str, Any] | None, fault: str | None
) -> list[dict[str, Any]]:
    """The events after the last delta, as a reply fault leaves them."""
    if fault in ("no_final", "partial"):
        return []
    if fault == "stream_error":
        return [_ERROR_200]
    finals = [{**chunk, "choices": [{"index": last, "delta": {}, "finish_reason": finish}]}]
    if usage is not None and fault != "no_usage":
        if fault == "bad_usage":
            usage = {**usage, "prompt_tokens": -abs(usage["prompt_tokens"]), "completion_tokens": -1}
        finals.append({**chunk, "choices": [], "usage": usage})
        if fault == "dup_uuid":
            finals.append(finals[-1])
    return finals
