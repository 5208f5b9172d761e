"""`POST /v1`: Runware's task-array protocol (runware-protocol.md) over the simulated model: both auth
forms, batches with per-task errors, sync / async (+ getResponse) / stream delivery, webhooks, and
validation against the capability card. Owns the Runware wire shapes; the model and faults live apart.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Any

import orjson
from aiohttp import web

from harness.capability import validate_task
from harness.simulator.faults import REPLY_FAULTS
from harness.simulator.items import result_item, stream_pieces, usage_dict
from harness.simulator.model import Generation, Prompt
from harness.simulator.options import STATE_KEY, AsyncTask, SimulatorState
from harness.simulator.reply_faults import (
    STREAM_ONLY,
    ReplyEdit,
    edit_runware_reply,
    edit_runware_stream,
    mangle_utf8,
)
from harness.simulator.transport import EARLY_FAULTS, JSON, SSEWriter, early_fault, runware_error, send_json

log = logging.getLogger("harness.simulator")
_TASK_TYPES = ["authentication", "textInference", "getResponse", "ping"]


@dataclass(slots=True)
class _Job:
    task_uuid: str
    model: str
    delivery: str  # sync | async | stream
    generations: list[Generation]
    durations: list[float]
    usage: bool
    cost: bool
    webhook: str | None


def _error_response(status: int, code: str, message: str, **extra: Any) -> web.Response:
    body = {"data": [], "errors": [runware_error(code, message, **extra)]}
    return web.Response(status=status, body=orjson.dumps(body), content_type=JSON)


async def handle_runware(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE_KEY]
    started = time.perf_counter()
    response = await _handle(request, state)
    state.stats.status[response.status] += 1
    if log.isEnabledFor(logging.DEBUG):
        log.debug("POST /v1 %d %.1f ms", response.status, (time.perf_counter() - started) * 1000)
    return response


async def _handle(request: web.Request, state: SimulatorState) -> web.StreamResponse:
    stats = state.stats
    stats.requests += 1
    fault = state.draw_fault()
    if fault in EARLY_FAULTS:
        return await early_fault(
            request, fault or "", state.fault_plan.hang_s, state.fault_plan.retry_after_s
        )
    try:
        tasks = orjson.loads(await request.read())
    except orjson.JSONDecodeError:
        tasks = None
    if not isinstance(tasks, list) or not tasks:
        return _error_response(
            400, "invalidRequestBody", "The body must be a non-empty JSON array of task objects."
        )
    key: Any = None
    first = tasks[0]
    if isinstance(first, dict) and first.get("taskType") == "authentication":
        key, tasks = first.get("apiKey"), tasks[1:]
    else:
        header = request.headers.get("Authorization", "")
        if header[:7].lower() == "bearer ":
            key = header[7:].strip()
    auth_error = {"parameter": "apiKey", "type": "string", "taskType": "authentication"}
    if not isinstance(key, str) or not key:
        return _error_response(
            401,
            "missingApiKey",
            "Missing API key. Send `Authorization: Bearer <key>` or an authentication task.",
            **auth_error,
        )
    if state.options.api_key is not None and key != state.options.api_key:
        return _error_response(
            401, "invalidApiKey", "Invalid API key. Get one at https://my.runware.ai/signup", **auth_error
        )
    return await _process(request, state, tasks, fault)


async def _process(
    request: web.Request, state: SimulatorState, tasks: list[Any], fault: str | None
) -> web.StreamResponse:
    data: list[dict[str, Any]] = []
    result_of: list[tuple[str, int] | None] = []  # per data item: the (taskUUID, index) it bills
    errors: list[dict[str, Any]] = []
    jobs: list[_Job] = []
    polled: list[tuple[AsyncTask, int]] = []
    seen: set[str] = set()
    n_infer = sum(1 for t in tasks if isinstance(t, dict) and t.get("taskType") == "textInference")
    for task in tasks:
        if not isinstance(task, dict):
            errors.append(
                runware_error("invalidParameter", "Each task must be a JSON object.", parameter="task")
            )
            continue
        task_type = task.get("taskType")
        if task_type == "textInference":
            job = _accept(state, task, seen, errors, alone=n_infer == 1 and len(tasks) == 1)
            if job is not None:
                jobs.append(job)
                if job.delivery != "sync":
                    data.append({"taskType": "textInference", "taskUUID": job.task_uuid})
                    result_of.append(None)
                else:
                    prices = state.model.prices(job.model)
                    for i, g in enumerate(job.generations):
                        data.append(result_item(job.task_uuid, g, prices, job.usage, job.cost))
                        result_of.append((job.task_uuid, i))
        elif task_type == "getResponse":
            state.stats.polls += 1
            _poll(state, task, data, polled, result_of)
        elif task_type == "ping":
            data.append({"taskType": "ping", "pong": True})
            result_of.append(None)
        else:
            errors.append(
                runware_error(
                    "invalidTaskType",
                    f"Unsupported taskType {task_type!r}"
                    + (" (authentication must come first)." if task_type == "authentication" else "."),
                    parameter="taskType",
                    allowedValues=_TASK_TYPES,
                    taskUUID=task.get("taskUUID"),
                )
            )
    if len(jobs) == 1 and jobs[0].delivery == "stream" and not errors:
        return await _stream(request, state, jobs[0], fault)
    wait = max((max(j.durations) for j in jobs if j.delivery == "sync"), default=0.0)
    if wait > 0:
        await asyncio.sleep(wait)
    status = 200 if data or not errors else 400
    edit: ReplyEdit | None = None
    if fault in REPLY_FAULTS and fault not in STREAM_ONLY:
        edit = edit_runware_reply(
            fault or "", data, errors, result_of, state.faults.pick_rng, state.fault_plan.huge_mb
        )
        status = 200
    payload: dict[str, Any] = {"data": data}
    if errors:
        payload["errors"] = errors
    response, delivered = await send_json(
        request, status, payload, fault, None if edit is None else edit.mangle
    )
    if delivered:
        if edit is not None:
            jobs = [j for j in jobs if j.task_uuid not in edit.unbilled]
            polled = [(t, i) for t, i in polled if (t.task_uuid, i) not in edit.unbilled_polls]
        _delivered(state, jobs, polled)
    return response


def _accept(
    state: SimulatorState, task: dict[str, Any], seen: set[str], errors: list[dict[str, Any]], *, alone: bool
) -> _Job | None:
    """Validate one textInference task and generate its results; None (and errors) when invalid."""
    stats = state.stats
    stats.tasks += 1
    raw_uuid = task.get("taskUUID")
    task_uuid = raw_uuid if isinstance(raw_uuid, str) else None

    def reject(code: str, message: str, **extra: Any) -> None:
        stats.task_errors[code] += 1
        errors.append(runware_error(code, message, **extra, taskType="textInference", taskUUID=task_uuid))

    card = state.card_for(task.get("model"))
    if card is None or card.provider != "runware":
        if "model" in task:
            reject(
                "invalidModel",
                f"Unknown model {task.get('model')!r}.",
                parameter="model",
                type="string",
                allowedValues=state.default_card.models,
            )
            return None
        card = state.default_card
    violations = validate_task(card, task)
    if not violations and task.get("deliveryMethod") == "stream" and not alone and "webhookURL" not in task:
        reject(
            "incompatibleParameters",
            "A stream task must be the only task of its request.",
            parameter="deliveryMethod",
        )
        return None
    if violations:
        for v in violations:
            stats.task_errors[v.code] += 1
            errors.append(v.to_error_dict(task_uuid))
        return None
    assert task_uuid is not None
    if task_uuid in seen or task_uuid in state.used_uuids:
        reject(
            "conflictTaskUUID", f"taskUUID {task_uuid} was already used.", parameter="taskUUID", type="string"
        )
        return None
    seen.add(task_uuid)
    raw_settings = task.get("settings") or {}
    settings = state.defaults(card)
    settings.update(raw_settings)
    system = settings.pop("systemPrompt", None)
    inputs = task.get("inputs") or {}
    prompt = Prompt(
        model=task["model"],
        messages=task["messages"],
        system_prompt=system,
        settings=settings,
        images=len(inputs.get("images") or ()),
        videos=len(inputs.get("videos") or ()),
    )
    state.model.prepare(prompt, card)
    seed = task.get("seed")
    if seed is None:
        seed = state.new_seed()
    gens = [state.model.generate(prompt, card, seed, i) for i in range(task.get("numberResults", 1))]
    latency = state.latency
    webhook = task.get("webhookURL")
    delivery = "async" if webhook else task.get("deliveryMethod", "sync")
    stats.tasks_by_delivery[delivery] += 1
    if webhook:
        stats.webhook_tasks += 1
    return _Job(
        task_uuid=task_uuid,
        model=prompt.model,
        delivery=delivery,
        generations=gens,
        durations=[latency.duration(g.prompt_tokens, g.completion_tokens, g.u_ttft, g.u_tps) for g in gens],
        usage=bool(task.get("includeUsage", False)),
        cost=bool(task.get("includeCost", False)),
        webhook=webhook,
    )


def _poll(
    state: SimulatorState,
    task: dict[str, Any],
    data: list[dict[str, Any]],
    polled: list[tuple[AsyncTask, int]],
    result_of: list[tuple[str, int] | None],
) -> None:
    found = state.async_tasks.get(task.get("taskUUID"))  # type: ignore[arg-type]
    if found is None:
        return  # unknown or expired: nothing, as the real service answers {"data": []}
    now = time.monotonic()
    prices = state.model.prices(found.model)
    for i, gen in enumerate(found.generations):
        if now >= found.ready_at[i]:
            data.append(
                result_item(found.task_uuid, gen, prices, found.include_usage, found.include_cost, "success")
            )
            result_of.append((found.task_uuid, i))
            polled.append((found, i))
        else:
            total = max(1e-9, found.ready_at[i] - found.submitted_at)
            progress = int(100 * (now - found.submitted_at) / total)
            data.append(
                {
                    "taskType": "textInference",
                    "taskUUID": found.task_uuid,
                    "status": "processing",
                    "progress": progress,
                }
            )
            result_of.append(None)


def bill_async(state: SimulatorState, task: AsyncTask, index: int) -> None:
    if task.billed[index]:
        return
    task.billed[index] = True
    state.stats.bill(task.generations[index], task.task_uuid)
    if all(task.billed) and not task.counted_success:
        task.counted_success = True
        state.stats.successful_tasks += 1


def _delivered(state: SimulatorState, jobs: list[_Job], polled: list[tuple[AsyncTask, int]]) -> None:
    """The response reached the client whole: bill sync results, register async tasks, bill polled items."""
    now = time.monotonic()
    for job in jobs:
        state.remember_uuid(job.task_uuid)
        if job.delivery == "sync":
            for gen in job.generations:
                state.stats.bill(gen, job.task_uuid)
            state.stats.successful_tasks += 1
            continue
        stored = AsyncTask(
            task_uuid=job.task_uuid,
            model=job.model,
            generations=job.generations,
            ready_at=[now + d for d in job.durations],
            submitted_at=now,
            include_usage=job.usage,
            include_cost=job.cost,
            billed=[False] * len(job.generations),
        )
        state.store_async(stored)
        if job.webhook:
            state.spawn(_webhook(state, stored, job.webhook))
    for task, index in polled:
        bill_async(state, task, index)


async def _webhook(state: SimulatorState, task: AsyncTask, url: str) -> None:
    """POST each result to `url` when it is ready, retrying non-2xx answers with doubling back-off."""
    import aiohttp

    session = await state.http()
    prices = state.model.prices(task.model)
    for i, gen in enumerate(task.generations):
        delay = task.ready_at[i] - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        body = orjson.dumps(
            {"data": [result_item(task.task_uuid, gen, prices, task.include_usage, task.include_cost)]}
        )
        for attempt in range(state.options.webhook_retries + 1):
            if attempt:
                await asyncio.sleep(state.options.webhook_backoff_s * 2 ** (attempt - 1))
            state.stats.webhook_posts += 1
            try:
                async with session.post(url, data=body, headers={"Content-Type": JSON}) as resp:
                    ok = 200 <= resp.status < 300
            except (aiohttp.ClientError, TimeoutError):
                ok = False
            if ok:
                state.stats.webhook_delivered += 1
                bill_async(state, task, i)
                break
        else:
            state.stats.webhook_failed += 1


async def _stream(
    request: web.Request, state: SimulatorState, job: _Job, fault: str | None
) -> web.StreamResponse:
    gen = job.generations[0]
    latency = state.latency
    base = {"taskType": "textInference", "taskUUID": job.task_uuid}
    if fault == "error_200":
        error = runware_error(
            "providerInternalError", "The provider failed to generate a result (simulated).", **base
        )
        response, _ = await send_json(request, 200, {"data": [], "errors": [error]}, None)
        return response
    writer = SSEWriter(request, fault, latency.ping_s)
    deltas: list[dict[str, Any]] = [
        {**base, "delta": {"reasoningContent": p}} for p in stream_pieces(gen.reasoning, latency.enabled)
    ]
    deltas += [
        {**base, "delta": {"text": p}, "finishReason": None} for p in stream_pieces(gen.text, latency.enabled)
    ]
    final: dict[str, Any] = {**base, "delta": {}, "finishReason": gen.finish_reason}
    if job.usage:
        final["usage"] = usage_dict(gen, state.model.prices(job.model), job.cost)
    if job.cost:
        final["cost"] = gen.cost_usd
    finals, billed, mangled = edit_runware_stream(
        fault, base, deltas, final, state.faults.pick_rng, state.fault_plan.huge_mb
    )
    try:
        await writer.open()
        if latency.enabled:
            await writer.wait(latency.ttft(gen.prompt_tokens, gen.u_ttft))
            gap = latency.token_gap(gen.u_tps)
            loop = asyncio.get_running_loop()
            start = loop.time()
            for i, event in enumerate(deltas):
                left = start + i * gap - loop.time()
                if left > 0:
                    await writer.wait(left)
                writer.add(event, mangle_utf8 if i == mangled else None)
        else:
            for i, event in enumerate(deltas):
                writer.add(event, mangle_utf8 if i == mangled else None)
        delivered = await writer.finish(finals)
    except (ConnectionError, RuntimeError):
        delivered = False
    if delivered and billed:
        state.remember_uuid(job.task_uuid)
        state.stats.bill(gen, job.task_uuid)
        state.stats.successful_tasks += 1
    return writer.response
