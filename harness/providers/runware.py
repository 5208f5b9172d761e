"""Runware `textInference` over REST: sync, stream (SSE) and async (ack + getResponse polling), with
several tasks per POST matched back by taskUUID. Turns replies into TaskOutcomes and error envelopes
into classified errors; never retries (the runner decides). Also serves `provider: simulator`.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import aiohttp
import orjson

from harness.config import TargetConfig
from harness.errors import ConfigError, ProviderError, TransientError
from harness.providers import Clock, MalformedResponseError, StreamCutError, TaskOutcome, max_batch
from harness.providers._http import (
    HTTPProvider,
    error_from_item,
    error_items,
    loads,
    loads_lenient,
    mapped_errors,
)
from harness.providers._replies import (
    collect_items,
    fill_outcome,
    item_problem,
    keep_billing,
    lacks_figures,
    single_item,
)
from harness.providers._wire import (
    StreamAccumulator,
    negative,
    reasoning_text,
)
from harness.records import Trial

_POLL_TRANSIENT_LIMIT = 5  # consecutive failed polls before the attempt fails
_COLLECT_SILENT = 3  # replies in a row saying nothing of a task before `collect` deems it unknown
_COLLECT_ROUNDS = 200  # polls at most (a task still processing after that is sent again)
_VARIANT = "89ab" * 4  # RFC 4122 variant nibble from a random one


def new_task_uuid() -> str:
    """A random (version 4) UUID string, as `str(uuid.uuid4())` but without building a UUID object
    (half the cost; one per task on the hot path)."""
    x = os.urandom(16).hex()
    return f"{x[:8]}-{x[8:12]}-4{x[13:16]}-{_VARIANT[int(x[16], 16)]}{x[17:20]}-{x[20:]}"


def build_task(trial: Trial, task_uuid: str, delivery: str, include_cost: bool) -> dict[str, Any]:
    """The wire task for one trial (settings keep the API's own names)."""
    task: dict[str, Any] = {
        "taskType": "textInference",
        "taskUUID": task_uuid,
        "model": trial.model,
        "deliveryMethod": delivery,
        "numberResults": trial.number_results,
        "includeCost": include_cost,
        "includeUsage": True,
        "messages": [{"role": m.role, "content": m.content} for m in trial.messages],
    }
    if trial.seed is not None:
        task["seed"] = trial.seed
    settings = trial.settings  # serialised at once, never mutated: no copy unless extended
    if trial.system_prompt:
        settings = {**settings, "systemPrompt": trial.system_prompt}
    if settings:
        task["settings"] = settings
    if trial.inputs:
        task["inputs"] = trial.inputs
    return task


class RunwareProvider(HTTPProvider):
    """A Runware REST target. The API key is read from the environment once, here, and kept out of
    every repr, message and record."""

    def __init__(
        self,
        target: TargetConfig,
        *,
        session: aiohttp.ClientSession | None = None,
        concurrency: int = 16,
        clock: Clock = time.perf_counter,
    ) -> None:
        if not target.endpoint:
            raise ConfigError("an endpoint URL is required", field=f"targets.{target.name}.endpoint")
        super().__init__(target, target.endpoint, session=session, concurrency=concurrency, clock=clock)
        self.max_batch = max_batch(target)
        if not self._secret and target.provider == "simulator":
            # The embedded simulator accepts any non-empty key unless it was started with one.
            self._headers["Authorization"] = "Bearer simulator"
        self._stream_headers = {**self._headers, "Accept": "text/event-stream"}
        # Called with (trials, taskUUIDs) before an async submit goes (the engine journals them, so a
        # resume after a kill can `collect` the results instead of paying for them again).
        self.on_submit: Callable[[Sequence[Trial], list[str]], None] | None = None
        self._reports_usage = False  # a collected result has come with usage or cost (see collect)

    async def send(self, trials: Sequence[Trial]) -> list[TaskOutcome]:
        uuids = [new_task_uuid() for _ in trials]
        include_cost = self._target.include_cost
        body = orjson.dumps(
            [build_task(t, u, self.delivery, include_cost) for t, u in zip(trials, uuids, strict=True)]
        )
        if self.delivery == "stream":
            return await self._send_stream(trials, uuids, body)
        if self.delivery == "async":
            if self.on_submit is not None:
                self.on_submit(trials, uuids)
            return await self._send_async(trials, uuids, body)
        return await self._send_sync(trials, uuids, body)

    async def _send_sync(self, trials: Sequence[Trial], uuids: list[str], body: bytes) -> list[TaskOutcome]:
        async with mapped_errors(self._target.timeouts, secret=self._secret) as guard:
            sent = self._clock()
            first_byte, raw = await self._post(guard, body)
        done = self._clock()
        # Lenient: invalid UTF-8 inside one result must not cost the well-formed results beside it.
        payload, lenient = loads_lenient(raw, "textInference response")
        if len(trials) == 1 and not lenient:
            item = single_item(payload, uuids[0])
            if item is not None:  # the common reply: one task, one result, no error
                outcome = TaskOutcome(uuids[0], sent, done, [], first_byte_at_s=first_byte)
                fill_outcome(outcome, trials[0], [item], None)
                return [outcome]
        found = collect_items(payload, uuids, secret=self._secret)
        outcomes = []
        for trial, task_uuid in zip(trials, uuids, strict=True):
            items, error = found.get(task_uuid, ([], None))
            outcome = TaskOutcome(task_uuid, sent, done, [], first_byte_at_s=first_byte)
            fill_outcome(outcome, trial, items, error, lenient=lenient)
            outcomes.append(outcome)
        return outcomes

    async def _send_async(self, trials: Sequence[Trial], uuids: list[str], body: bytes) -> list[TaskOutcome]:
        """Submit, then poll until every task is final. Results that arrived are kept whatever ends
        the polling (a timeout, failed polls): they were paid for, and only the tasks still pending
        fail with that error."""
        target = self._target
        states: dict[str, tuple[dict[Any, Mapping[str, Any]], ProviderError | None, float | None]] = {
            u: ({}, None, None) for u in uuids
        }
        by_uuid = dict(zip(uuids, trials, strict=True))
        bad: dict[str, int] = {}
        sent = first_byte = self._clock()
        stopped: ProviderError | None = None
        try:
            async with mapped_errors(target.timeouts, secret=self._secret) as guard:
                sent = self._clock()
                first_byte, raw = await self._post(guard, body)
                pending = self._absorb(states, by_uuid, loads(raw, "async acknowledgement"), bad, False)
                # The SDKs' schedule: first poll after poll_initial_s, the next half that later, then x1.5.
                delay = target.poll_initial_s
                polls = failures = 0
                while pending:
                    guard.pause(delay)
                    await asyncio.sleep(delay)
                    polls += 1
                    delay = min(target.poll_max_s, target.poll_initial_s / 2 if polls == 1 else delay * 1.5)
                    guard.expect_first_byte()
                    poll = orjson.dumps([{"taskType": "getResponse", "taskUUID": u} for u in pending])
                    try:
                        _, raw = await self._post(guard, poll)
                        payload, lenient = loads_lenient(raw, "getResponse reply")
                    except Exception as exc:
                        # A poll cut mid-body is one failed poll, not the attempt's end: the results
                        # already taken (billed, maybe spoiled) must not go with it.
                        failed = guard.translate(exc)
                        if not isinstance(failed, TransientError):
                            raise
                        failures += 1
                        if failures >= _POLL_TRANSIENT_LIMIT:
                            raise failed from exc
                        continue
                    failures = 0
                    pending = self._absorb(states, by_uuid, payload, bad, lenient)
        except ProviderError as exc:
            if not any(
                items or (done is not None and error is None) for items, error, done in states.values()
            ):
                raise  # nothing came back: the whole request failed
            stopped = exc  # the tasks still pending fail with it; what came back is kept
        outcomes = []
        for trial, task_uuid in zip(trials, uuids, strict=True):
            items, error, done = states[task_uuid]
            if done is None and stopped is not None:
                error = stopped
            done_at = done if done is not None else self._clock()
            outcome = TaskOutcome(task_uuid, sent, done_at, [], first_byte_at_s=first_byte)
            fill_outcome(outcome, trial, list(items.values()), error, lenient=bool(bad.get(task_uuid)))
            outcomes.append(outcome)
        return outcomes

    async def collect(self, trials: Sequence[Trial], uuids: Sequence[str]) -> list[TaskOutcome | None]:
        """The results of tasks submitted earlier (by a run that was killed meanwhile), by getResponse
        polling as in async delivery; None for a task the service does not know (never received, or
        expired) or that failed: such a trial must be sent again. A task counts as unknown only when
        several replies in a row say nothing of it, and transient failures are polled through, since
        giving up on a known task means paying for it twice. A task that failed (or went silent)
        after a reply brought its result spoiled (invalid UTF-8: billed all the same) is an error
        outcome carrying that cost, not None: the trial is sent again, and its record must hold what
        this task cost. A finished copy without usage is asked for again a few times when the service
        is seen to report usage (another copy had it): the killed session may have been billed for a
        copy that had it. A service that never reports usage costs no extra polls."""
        target = self._target
        by_uuid = dict(zip(uuids, trials, strict=True))
        copies: dict[str, dict[Any, Mapping[str, Any]]] = {u: {} for u in uuids}
        found: set[str] = set()
        silent = dict.fromkeys(uuids, 0)
        unpaid = dict.fromkeys(uuids, 0)
        failed: dict[str, ProviderError] = {}
        pending = list(uuids)
        delay = target.poll_initial_s
        failures = 0
        sent = self._clock()
        done_at: dict[str, float] = {}
        for attempt in range(_COLLECT_ROUNDS):
            if not pending:
                break
            if attempt:
                await asyncio.sleep(delay)
                delay = min(target.poll_max_s, delay * 1.5)
            poll = orjson.dumps([{"taskType": "getResponse", "taskUUID": u} for u in pending])
            try:
                async with mapped_errors(target.timeouts, secret=self._secret) as guard:
                    _, raw = await self._post(guard, poll)
                payload, lenient = loads_lenient(raw, "getResponse reply")
            except TransientError:
                failures += 1
                if failures >= _POLL_TRANSIENT_LIMIT:
                    raise
                continue
            failures = 0
            still: list[str] = []
            for task_uuid, (items, error) in collect_items(payload, pending, secret=self._secret).items():
                finished = [i for i in items if i.get("status") == "success" or "text" in i]
                finished = [i for i in finished if i.get("status") not in ("processing", "pending")]
                held = copies[task_uuid]
                spoiled = any(item_problem(i, lenient) for i in finished)
                if not all(map(lacks_figures, finished)):
                    self._reports_usage = True
                for position, item in enumerate(finished):
                    index = item.get("resultIndex", position)
                    if not spoiled:
                        held[index] = keep_billing(held.get(index), item)
                    elif index not in held or item_problem(held[index], lenient=False):
                        held[index] = item  # an earlier copy with sound figures is kept
                if error is not None and error.failure == "permanent":
                    failed[task_uuid] = error
                elif finished and not spoiled:
                    if len(held) < by_uuid[task_uuid].number_results:
                        still.append(task_uuid)
                    elif (
                        self._reports_usage
                        and unpaid[task_uuid] < _POLL_TRANSIENT_LIMIT
                        and any(map(lacks_figures, held.values()))
                    ):
                        # No usage on this copy: the session that was killed may have taken (and been
                        # billed for) the copy that had it, and a later copy may carry it again.
                        unpaid[task_uuid] += 1
                        still.append(task_uuid)
                    else:
                        found.add(task_uuid)
                        done_at[task_uuid] = self._clock()
                elif items and error is None:
                    still.append(task_uuid)  # processing, or malformed this time: ask again
                else:
                    silent[task_uuid] += 1  # nothing about it (or a transient error)
                    if silent[task_uuid] < _COLLECT_SILENT:
                        still.append(task_uuid)
                    elif error is not None:
                        failed[task_uuid] = error
            pending = still
        outcomes: list[TaskOutcome | None] = []
        for trial, task_uuid in zip(trials, uuids, strict=True):
            held = copies[task_uuid]
            if task_uuid in found and task_uuid not in failed:
                outcome = TaskOutcome(task_uuid, sent, done_at[task_uuid], [])
                fill_outcome(outcome, trial, list(held.values()), None)
            elif any(item_problem(i, lenient=False) is None for i in held.values()):
                outcome = TaskOutcome(task_uuid, sent, self._clock(), [])
                error = failed.get(task_uuid) or MalformedResponseError(
                    f"task {task_uuid}: no whole copy of its result came back from getResponse"
                )
                fill_outcome(outcome, trial, list(held.values()), error, lenient=True)
                if outcome.error is None:  # whole figures, spoiled text: never an answer
                    outcome.results, outcome.error = [], error
            else:
                outcomes.append(None)
                continue
            outcomes.append(outcome)
        return outcomes

    def _absorb(
        self,
        states: dict[str, tuple[dict[Any, Mapping[str, Any]], ProviderError | None, float | None]],
        by_uuid: Mapping[str, Trial],
        payload: Any,
        bad: dict[str, int],
        lenient: bool,
    ) -> list[str]:
        """Merge one ack/poll reply into the per-task state; return the task UUIDs still pending.
        A finished item that is malformed (invalid UTF-8, negative usage) is polled for again, a few
        times, since the service keeps the result: the next reply may carry it whole. It is kept
        meanwhile: its usage and cost say the result was billed, so a whole copy that comes without
        usage takes them (keep_billing), and if the task ends in an error before a whole copy comes,
        the outcome still carries that cost to the record."""
        now = self._clock()
        found = collect_items(payload, list(states), secret=self._secret)
        for task_uuid, (items, error) in found.items():
            results, old_error, done = states[task_uuid]
            if done is not None:
                continue
            finished = [
                i
                for i in items
                if i.get("status") == "success"
                or ("text" in i and i.get("status") not in ("processing", "pending"))
            ]
            tries = bad.get(task_uuid, 0)
            if finished and tries < _POLL_TRANSIENT_LIMIT and any(item_problem(i, lenient) for i in finished):
                bad[task_uuid] = tries + 1
                for position, item in enumerate(finished):
                    index = item.get("resultIndex", position)
                    if index not in results or item_problem(results[index], lenient=False):
                        results[index] = item  # an earlier copy with sound figures is kept
                continue
            if error is not None and not finished:
                states[task_uuid] = (results, error, now)
                continue
            for position, item in enumerate(finished):
                index = item.get("resultIndex", position)
                results[index] = keep_billing(results.get(index), item)
            if len(results) >= by_uuid[task_uuid].number_results:
                states[task_uuid] = (results, old_error, now)
        return [u for u, (_, _, done) in states.items() if done is None]

    async def _send_stream(self, trials: Sequence[Trial], uuids: list[str], body: bytes) -> list[TaskOutcome]:
        accs = {u: StreamAccumulator() for u in uuids}
        only = accs[uuids[0]] if len(uuids) == 1 else None
        clock = self._clock
        async with mapped_errors(self._target.timeouts, secret=self._secret) as guard:
            sent = clock()
            first_byte = await self._post_stream(
                guard, body, self._stream_headers, lambda event, now: self._on_event(event, accs, only, now)
            )
        done = clock()
        outcomes = []
        for trial, task_uuid in zip(trials, uuids, strict=True):
            acc = accs[task_uuid]
            complete = acc.end()
            hint = (
                "" if complete and len(acc.results) >= trial.number_results else self.cut_hint(reading=False)
            )
            outcome = TaskOutcome(
                task_uuid,
                sent,
                done,
                acc.results,
                usage=acc.usage,
                cost_usd=acc.cost,
                first_byte_at_s=first_byte,
                first_token_at_s=acc.first_token_at,
                first_answer_token_at_s=acc.first_answer_at,
                itl_s=acc.gaps,
                error=acc.error,
            )
            if negative(acc.usage, acc.cost):
                outcome.usage = outcome.cost_usd = None
                outcome.error = outcome.error or MalformedResponseError(
                    f"negative usage or cost reported for task {task_uuid}"
                )
            if outcome.error is None and (not complete or len(acc.results) < trial.number_results):
                outcome.error = StreamCutError(
                    f"stream ended after {len(acc.results)} of {trial.number_results} results"
                    + ("" if complete else " (a result had no finishReason)")
                    + hint
                )
            outcomes.append(outcome)
        return outcomes

    def _on_event(
        self, event: bytes, accs: dict[str, StreamAccumulator], only: StreamAccumulator | None, now: float
    ) -> None:
        try:
            obj = loads(event, "stream chunk")
        except MalformedResponseError as bad:
            # One bad chunk spoils its task's answer, not the stream: read on, so the final chunk's
            # usage and cost (what was billed) still reach the record.
            for spoiled in [only] if only is not None else list(accs.values()):
                if spoiled.error is None:
                    spoiled.error = bad
            return
        inner = obj.get("data") if isinstance(obj, dict) else None
        chunks = inner if isinstance(inner, list) else [inner] if isinstance(inner, dict) else [obj]
        for error in error_items(obj):
            failed = error.get("taskUUID") or obj.get("taskUUID")
            exc = error_from_item(error, status=None, retry_after_s=None, secret=self._secret)
            for task_uuid, failing in accs.items():
                if (failed is None or failed == task_uuid) and failing.error is None:
                    failing.error = exc
        for chunk in chunks:
            if not isinstance(chunk, dict) or "errors" in chunk:
                continue
            chunk_uuid = chunk.get("taskUUID")
            acc = accs.get(chunk_uuid) if chunk_uuid else only  # a chunk of a task never sent is ignored
            if acc is None:
                continue
            delta = chunk.get("delta")
            text = reasoning = None
            if isinstance(delta, dict):
                text = delta.get("text")
                if text is None:
                    text = delta.get("content")
                reasoning = reasoning_text(delta.get("reasoningContent"))
            elif delta is None and isinstance(chunk.get("text"), str):  # a whole result item (JSON reply)
                text = chunk["text"]
                reasoning = reasoning_text(chunk.get("reasoningContent"))
            acc.chunk(text, reasoning, chunk.get("finishReason"), chunk.get("usage"), chunk.get("cost"), now)
