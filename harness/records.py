"""The versioned on-disk schema of a run directory: Trial (what to send), Record (what came back),
Score (derived), Manifest. Owns the shapes only; writing and resuming live in `store.py`.

Records are plain slotted dataclasses serialised with orjson: they are built on the hot path, once per
request, where pydantic validation would cost more than the request bookkeeping itself. Reading a run
back goes through `Record.from_dict`, which tolerates fields added by later schema versions.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from harness.derived import effective_cost_usd

SCHEMA_VERSION = 1
_T = TypeVar("_T")

RecordStatus = Literal["ok", "error"]
FinishReason = Literal["stop", "length", "content_filter", "unknown"]
LoadWindow = Literal["warmup", "measure", "cooldown"]


@dataclass(slots=True, frozen=True)
class Message:
    role: str
    content: str


@dataclass(slots=True, frozen=True)
class Trial:
    """One API task to run: a cell of the grid applied to one item, one repeat.

    `settings` uses the API's own names (temperature, topK, maxTokens, thinkingLevel, ...);
    `key` is the content hash of everything that determines the request (see plan.trial_key).
    """

    key: str
    cell_id: str
    cell: dict[str, Any]
    item_id: str
    repeat: int
    target: str
    model: str
    messages: tuple[Message, ...]
    system_prompt: str | None = None
    settings: dict[str, Any] = field(default_factory=dict)
    seed: int | None = None
    number_results: int = 1
    inputs: dict[str, list[str]] | None = None
    # Gold answer and choices travel with the trial so scoring needs no data set; never sent.
    reference: Any = None
    choices: list[str] | None = None
    prompt_tokens_estimate: int | None = None
    # Load sweeps (harness.loadsweep): the load point this trial belongs to, and whether it is in the
    # point's warm-up, measured or cool-down window. Part of the key (two points send the same items).
    load_point: str | None = None
    load_window: LoadWindow | None = None


@dataclass(slots=True)
class Result:
    """One generated answer (a task with numberResults=N has N of these)."""

    text: str
    reasoning: str | None = None
    finish_reason: str | None = None
    seed: int | None = None


@dataclass(slots=True)
class Usage:
    """Token usage as the server reported it (summed over a task's results)."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    thinking_tokens: int = 0
    total_tokens: int = 0


@dataclass(slots=True)
class Timing:
    """Seconds on the run's monotonic clock (perf_counter minus the run's start; see Manifest.started_at).

    Latencies are differences of these fields, never measured twice. `None` = never happened
    (e.g. no first token for a non-streamed request).
    """

    scheduled_at_s: float
    sent_at_s: float | None = None  # first byte of the *final* attempt left the client
    first_byte_at_s: float | None = None  # first response byte of the final attempt
    first_token_at_s: float | None = None  # first reasoning or text delta (stream only)
    first_answer_token_at_s: float | None = None  # first text delta (stream only)
    done_at_s: float | None = None
    first_sent_at_s: float | None = None  # first attempt's send: queue/retry time = sent - first_sent


@dataclass(slots=True)
class ErrorInfo:
    kind: str  # rate_limited | server | timeout | auth | payment | bad_request | ...
    message: str
    status: int | None = None
    code: str | None = None
    failure: str = "permanent"  # permanent | transient | rate_limited


@dataclass(slots=True)
class Record:
    """One finished trial: success, or failure after retries. One line of records.jsonl."""

    trial_key: str
    cell_id: str
    cell: dict[str, Any]
    item_id: str
    repeat: int
    seed: int | None
    target: str
    model: str
    delivery: str
    status: RecordStatus
    timing: Timing
    results: list[Result] = field(default_factory=list)
    usage: Usage | None = None
    # As the service reported it (includeCost), summed over every attempt that reported one: a failed
    # attempt whose result came but was unusable (malformed) was billed all the same.
    cost_usd: float | None = None
    price_table_cost_usd: float | None = None  # from the target's price table (every attempt's usage)
    attempts: int = 1
    retry_wait_s: float = 0.0  # time spent backing off between attempts
    rate_limit_wait_s: float = 0.0  # part of retry_wait_s caused by 429s
    itl_s: list[float] | None = None  # inter-token gaps of the final stream, rounded to 0.1 ms
    client_completion_tokens: int | None = None  # client-side count, made when no usage was reported
    error: ErrorInfo | None = None
    number_results: int = 1
    reference: Any = None
    choices: list[str] | None = None
    task_uuid: str | None = None
    # The request's prompt as sent (system prompt and messages), so reports and judges need no data set.
    system_prompt: str | None = None
    messages: list[dict[str, str]] | None = None
    # taskUUIDs of earlier attempts that reported usage or cost (billed, counted in cost_usd above)
    earlier_task_uuids: list[str] | None = None
    load_point: str | None = None  # the trial's load point (load sweeps only), see Trial
    load_window: LoadWindow | None = None
    schema: int = SCHEMA_VERSION

    @property
    def effective_cost_usd(self) -> float:
        """Service-reported cost when present, else the price-table estimate, else 0 (harness.derived)."""
        return effective_cost_usd(self.cost_usd, self.price_table_cost_usd)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Record:
        known = _field_names(cls)
        data = {k: v for k, v in raw.items() if k in known}
        data["timing"] = _build(Timing, raw["timing"])
        data["results"] = [_build(Result, r) for r in raw.get("results") or []]
        data["usage"] = _build(Usage, raw["usage"]) if raw.get("usage") else None
        data["error"] = _build(ErrorInfo, raw["error"]) if raw.get("error") else None
        return cls(**data)


@dataclass(slots=True)
class Score:
    """One scorer's verdict on one result. One line of scores.jsonl (derived, rewritable).

    outcome: correct | wrong | no_answer | truncated | error | invalid (judge reply unparseable)
    """

    trial_key: str
    result_index: int
    scorer: str
    value: float | None
    outcome: str
    extracted: str | None = None
    explanation: str | None = None
    cell_id: str = ""
    item_id: str = ""
    repeat: int = 0

    def to_dict(self) -> dict[str, Any]:
        # Every field is a scalar: no deep copy (dataclasses.asdict's) is needed.
        return {name: getattr(self, name) for name in _field_order(Score)}

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Score:
        return _build(cls, raw)


# Field names per dataclass, in order and as a set: dataclasses.fields() walks the class each call,
# and reading a run builds thousands of records.
_FIELD_ORDER: dict[type[Any], tuple[str, ...]] = {}
_FIELD_NAMES: dict[type[Any], frozenset[str]] = {}


def _field_order(cls: type[Any]) -> tuple[str, ...]:
    names = _FIELD_ORDER.get(cls)
    if names is None:
        names = _FIELD_ORDER[cls] = tuple(f.name for f in dataclasses.fields(cls))
    return names


def _field_names(cls: type[Any]) -> frozenset[str]:
    names = _FIELD_NAMES.get(cls)
    if names is None:
        names = _FIELD_NAMES[cls] = frozenset(_field_order(cls))
    return names


def _build(cls: type[_T], raw: dict[str, Any]) -> _T:
    known = _field_names(cls)
    return cls(**{k: v for k, v in raw.items() if k in known})
