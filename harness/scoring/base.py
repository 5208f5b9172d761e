"""What every scorer shares: the `Scorer` protocol and its `ScoringContext`, the text a scorer may look at, and the outcome rules
(no answer, truncated, error) that turn an extraction into a `Score`. Must not import a scorer family,
do I/O, or know about any particular answer format.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from harness.errors import ScoringError
from harness.records import Record, Result, Score
from harness.rundir import RunDir

Outcome = Literal["correct", "wrong", "no_answer", "truncated", "error", "invalid"]
OUTCOMES: tuple[Outcome, ...] = ("correct", "wrong", "no_answer", "truncated", "error", "invalid")
TRUNCATED_NOTE = "output truncated (finishReason length)"


class Scorer(Protocol):
    """The one scorer protocol: score one result of one record, as a pure function of the record (and,
    for a scorer that reads derived data, of its `ScoringContext`). It never sends a request and never
    writes; what a scorer needs sent beforehand (the judge's calls) is an orchestration stage.

    A scorer is built by a factory registered by name (`@scorer("numeric")`) from the suite's options
    as keyword arguments. A factory that declares a keyword-only `context: ScoringContext` parameter
    also gets the run directory being scored (read-only); it is not a suite option.
    """

    def __call__(self, record: Record, result_index: int) -> Score: ...


@dataclass(slots=True, frozen=True)
class ScoringContext:
    """What a scorer factory may read besides its options: the run directory being scored (None when
    scoring records in memory)."""

    run_dir: RunDir | None = None


NO_CONTEXT = ScoringContext()


_THINK_BLOCK = re.compile(r"<think>.*?(?:</think>|\Z)", re.DOTALL | re.IGNORECASE)


def scored_text(result: Result, *, use_reasoning: bool = False) -> str:
    """The text a scorer looks at: the answer, without reasoning unless asked for.

    Some OpenAI-compatible servers leave `<think>...</think>` inline in the answer; that block is
    reasoning too, so it is dropped (an unclosed block, cut by maxTokens, runs to the end).
    """
    if use_reasoning:
        parts = [p for p in (result.reasoning, result.text) if p]
        return "\n".join(parts)
    return _THINK_BLOCK.sub("", result.text or "")


def result_at(record: Record, result_index: int) -> Result:
    """The result a scorer was asked about, or a ScoringError naming the trial."""
    if not 0 <= result_index < len(record.results):
        raise ScoringError(
            f"trial {record.trial_key} (item {record.item_id}) has {len(record.results)} result(s); "
            f"result index {result_index} does not exist"
        )
    return record.results[result_index]


def make_score(
    record: Record,
    result_index: int,
    scorer: str,
    *,
    value: float | None,
    outcome: Outcome,
    extracted: str | None = None,
    explanation: str | None = None,
) -> Score:
    """A Score carrying the record's trial key, cell, item and repeat."""
    return Score(
        trial_key=record.trial_key,
        result_index=result_index,
        scorer=scorer,
        value=value,
        outcome=outcome,
        extracted=extracted,
        explanation=explanation,
        cell_id=record.cell_id,
        item_id=record.item_id,
        repeat=record.repeat,
    )


def error_score(record: Record, scorer: str) -> Score:
    """The one Score a failed request gets per scorer: outcome error, value 0."""
    if record.error is not None:
        why = f"request failed: {record.error.kind}: {record.error.message}"
    elif record.status == "error":
        why = "request failed"
    else:
        why = "the service returned no result"
    return make_score(record, 0, scorer, value=0.0, outcome="error", explanation=why)


def verdict(
    record: Record,
    result_index: int,
    scorer: str,
    *,
    extracted: str | None,
    correct: bool,
    how: str | None = None,
    value: float | None = None,
) -> Score:
    """Apply the outcome rules to an extraction.

    No extraction is `no_answer`, or `truncated` when the result hit maxTokens; both score 0. An
    extraction is scored normally (`value` defaults to 1.0/0.0 from `correct`), and a truncation is
    kept in the explanation.
    """
    result = result_at(record, result_index)
    truncated = result.finish_reason == "length"
    if extracted is None:
        if truncated:
            return make_score(
                record,
                result_index,
                scorer,
                value=0.0,
                outcome="truncated",
                explanation=_join("no answer extracted", TRUNCATED_NOTE, how),
            )
        return make_score(
            record,
            result_index,
            scorer,
            value=0.0,
            outcome="no_answer",
            explanation=_join("no answer extracted", how),
        )
    return make_score(
        record,
        result_index,
        scorer,
        value=(1.0 if correct else 0.0) if value is None else value,
        outcome="correct" if correct else "wrong",
        extracted=extracted,
        explanation=_join(how, TRUNCATED_NOTE if truncated else None),
    )


def require_reference(record: Record, scorer: str) -> Any:
    """The record's gold answer, or a ScoringError: the data set's field mapping lost it."""
    if record.reference is None or (isinstance(record.reference, str | list) and not record.reference):
        raise ScoringError(
            f"scorer {scorer!r}: item {record.item_id!r} (trial {record.trial_key}) has no reference "
            "answer; check the data set's field mapping for the reference"
        )
    return record.reference


def references(record: Record, scorer: str) -> list[Any]:
    """The gold answers of a record: a list reference means 'any of these'."""
    ref = require_reference(record, scorer)
    return list(ref) if isinstance(ref, list | tuple) else [ref]


def _join(*parts: str | None) -> str | None:
    text = "; ".join(p for p in parts if p)
    return text or None
