"""The faults that hide inside an HTTP 200 reply (`faults.REPLY_FAULTS`): error envelopes, batches
answered in part, unknown or duplicated taskUUIDs, invalid UTF-8, huge texts, negative or missing
usage. Pure edits of a reply that is about to be sent, plus what the edit means for billing; the
routes apply them and bill. Which reply item a fault hits is drawn from the injector's seeded stream.

Billing rules (docs/simulator.md): a result whose bytes are bad but whose generation ran (bad_utf8,
huge_text) is billed; a result left out, replaced by an error, or whose usage report is broken
(bad_usage, no_usage) is not, and its taskUUID stays unused, so a retry with it would succeed.
"""

from __future__ import annotations

import os
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from harness.simulator.transport import runware_error

BAD_UTF8_MARK = "\u2063BAD-UTF8\u2063"  # replaced by invalid bytes once the body is serialised
_BAD_UTF8_BYTES = b"\xff\xfe\xc3("
_ERROR_200 = ("providerInternalError", "The provider failed to generate a result (simulated).")
_PARTIAL = ("timeoutProvider", "The external provider did not respond within the timeout window.")
# Faults that only make sense on a stream; on other replies they change nothing.
STREAM_ONLY = frozenset({"no_final", "stream_error"})


def mangle_utf8(body: bytes) -> bytes:
    """Put invalid UTF-8 where BAD_UTF8_MARK was serialised."""
    return body.replace(BAD_UTF8_MARK.encode(), _BAD_UTF8_BYTES)


def huge_padding(megabytes: float) -> str:
    line = "This line pads a huge simulated answer; it carries no information at all.\n"
    return line * max(1, -(-int(megabytes * 1_000_000) // len(line)))


def random_uuid() -> str:
    x = os.urandom(16).hex()
    return f"{x[:8]}-{x[8:12]}-4{x[13:16]}-a{x[17:20]}-{x[20:]}"


@dataclass(slots=True)
class ReplyEdit:
    """What a fault did to a reply: task UUIDs (and polled (UUID, result index) pairs) not to bill,
    and a byte-level edit of the serialised body."""

    unbilled: set[str] = field(default_factory=set)
    unbilled_polls: set[tuple[str, int]] = field(default_factory=set)
    mangle: Callable[[bytes], bytes] | None = None


def _is_result(item: dict[str, Any]) -> bool:
    return "text" in item and item.get("status") != "processing"


def edit_runware_reply(
    fault: str,
    data: list[dict[str, Any]],
    errors: list[dict[str, Any]],
    result_of: list[tuple[str, int] | None],
    rng: random.Random,
    huge_mb: float,
) -> ReplyEdit:
    """Edit a sync/ack/poll reply in place. `result_of[i]` names what `data[i]` bills: (taskUUID,
    result index), or None for items that bill nothing (acks, processing items, pongs)."""
    edit = ReplyEdit()
    billable = [i for i, r in enumerate(result_of) if r is not None]
    answered = list(dict.fromkeys(str(item.get("taskUUID")) for item in data if "taskUUID" in item))
    if fault == "error_200":
        for task_uuid in answered:
            errors.append(runware_error(*_ERROR_200, taskType="textInference", taskUUID=task_uuid))
        _drop(edit, data, result_of, set(range(len(data))))
        return edit
    if fault == "partial":
        # Every second task of the reply (from a drawn offset) goes unanswered: an error entry for
        # half of them, nothing at all for the others. A task alone in its reply is left out.
        offset = rng.randrange(2)
        dropped = {u for k, u in enumerate(answered) if len(answered) == 1 or k % 2 == offset}
        for k, task_uuid in enumerate(sorted(dropped)):
            acked = any(item.get("taskUUID") == task_uuid and not _is_result(item) for item in data)
            if acked or k % 2 == 0:
                errors.append(runware_error(*_PARTIAL, taskType="textInference", taskUUID=task_uuid))
        _drop(edit, data, result_of, {i for i, item in enumerate(data) if item.get("taskUUID") in dropped})
        return edit
    if fault == "unknown_uuid":
        source = data[billable[0]] if billable else {"taskType": "textInference"}
        data.append({**source, "taskUUID": random_uuid()})
        result_of.append(None)
        return edit
    if not billable:
        return edit
    index = billable[rng.randrange(len(billable))]
    item = data[index]
    task_uuid, position = result_of[index] or ("", 0)
    if fault == "dup_uuid":
        data.insert(index + 1, dict(item))
        result_of.insert(index + 1, None)
    elif fault == "bad_utf8":
        text = str(item.get("text") or "")
        cut = len(text) // 2
        item["text"] = text[:cut] + BAD_UTF8_MARK + text[cut:]
        edit.mangle = mangle_utf8
    elif fault == "huge_text":
        item["text"] = str(item.get("text") or "") + "\n" + huge_padding(huge_mb)
    elif fault == "bad_usage":
        usage = dict(item.get("usage") or {})
        usage["promptTokens"] = -abs(int(usage.get("promptTokens") or 1))
        usage["totalTokens"] = -abs(int(usage.get("totalTokens") or 1))
        item["usage"] = usage
        item["cost"] = -abs(float(item.get("cost") or 0.001))
        _unbill(edit, item, task_uuid, position)
    elif fault == "no_usage":
        item.pop("usage", None)
        item.pop("cost", None)
        _unbill(edit, item, task_uuid, position)
    return edit


def _unbill(edit: ReplyEdit, item: dict[str, Any], task_uuid: str, position: int) -> None:
    if item.get("status") == "success":
        edit.unbilled_polls.add((task_uuid, position))
    else:
        edit.unbilled.add(task_uuid)


def _drop(
    edit: ReplyEdit, data: list[dict[str, Any]], result_of: list[tuple[str, int] | None], drop: set[int]
) -> None:
    for i in sorted(drop, reverse=True):
        item = data.pop(i)
        what = result_of.pop(i)
        if what is not None and item.get("status") == "success":
            edit.unbilled_polls.add(what)
        elif "taskUUID" in item and item.get("status") is None:
            edit.unbilled.add(str(item["taskUUID"]))  # a sync result or an ack: not taken


def edit_runware_stream(
    fault: str | None,
    base: dict[str, Any],
    deltas: list[dict[str, Any]],
    final: dict[str, Any],
    rng: random.Random,
    huge_mb: float,
) -> tuple[list[dict[str, Any]], bool, int | None]:
    """Apply a reply fault to a stream's events (in place): the final events to send, whether the
    stream is billed when it is delivered, and the index of the delta to send as invalid UTF-8."""
    if fault in ("no_final", "partial"):
        del deltas[len(deltas) // 2 :]
        return [], False, None
    if fault == "stream_error":
        del deltas[len(deltas) // 2 :]
        error = runware_error(
            "timeoutProvider", "The external provider did not respond within the timeout window.", **base
        )
        return [{"errors": [error]}], False, None
    if fault == "unknown_uuid":
        stray = {"taskType": "textInference", "taskUUID": random_uuid(), "delta": {"text": "stray text"}}
        deltas.insert(rng.randrange(len(deltas) + 1), stray)
    elif fault == "dup_uuid":
        return [final, dict(final)], True, None
    elif fault == "bad_utf8" and deltas:
        index = rng.randrange(len(deltas))
        delta = dict(deltas[index]["delta"])
        key = "text" if "text" in delta else "reasoningContent"
        delta[key] = str(delta[key]) + BAD_UTF8_MARK
        deltas[index] = {**deltas[index], "delta": delta}
        return [final], True, index
    elif fault == "huge_text":
        deltas.append({**base, "delta": {"text": huge_padding(huge_mb)}, "finishReason": None})
    elif fault == "bad_usage":
        usage = dict(final.get("usage") or {})
        usage["promptTokens"] = -abs(int(usage.get("promptTokens") or 1))
        final["usage"] = usage
        final["cost"] = -abs(float(final.get("cost") or 0.001))
        return [final], False, None
    elif fault == "no_usage":
        final.pop("usage", None)
        final.pop("cost", None)
        return [final], False, None
    return [final], True, None


def edit_openai_reply(fault: str, payload: dict[str, Any], huge_mb: float) -> ReplyEdit | None:
    """Edit a non-streamed chat completion in place; None when the whole reply becomes an error
    (error_200). The ReplyEdit's `unbilled` holds the completion id when it must not be billed."""
    edit = ReplyEdit()
    choices = payload.get("choices") or []
    message = choices[0]["message"] if choices else {}
    if fault == "error_200":
        return None
    if fault == "bad_utf8" and message:
        text = str(message.get("content") or "")
        message["content"] = text[: len(text) // 2] + BAD_UTF8_MARK + text[len(text) // 2 :]
        edit.mangle = mangle_utf8
    elif fault == "huge_text" and message:
        message["content"] = str(message.get("content") or "") + "\n" + huge_padding(huge_mb)
    elif fault == "bad_usage":
        usage = dict(payload.get("usage") or {})
        usage["prompt_tokens"] = -abs(int(usage.get("prompt_tokens") or 1))
        usage["completion_tokens"] = -abs(int(usage.get("completion_tokens") or 1))
        payload["usage"] = usage
        edit.unbilled.add(str(payload.get("id")))
    elif fault == "no_usage":
        payload.pop("usage", None)
        edit.unbilled.add(str(payload.get("id")))
    return edit
