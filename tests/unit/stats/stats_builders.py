"""Small builders of records and scores for the stats tests."""

from __future__ import annotations

from typing import Any

from harness.records import ErrorInfo, Record, Result, Score, Timing, Usage


def cell_id_of(cell: dict[str, Any]) -> str:
    return ",".join(f"{k}={cell[k]}" for k in sorted(cell)) or "default"


def make_record(
    item: str,
    cell: dict[str, Any] | None = None,
    *,
    repeat: int = 0,
    seed: int | None = None,
    status: str = "ok",
    texts: tuple[str, ...] = ("42",),
    finish: str = "stop",
    scheduled: float = 0.0,
    sent: float | None = 0.0,
    first_sent: float | None = None,
    first_token: float | None = None,
    first_answer: float | None = None,
    done: float | None = 1.0,
    usage: tuple[int, int, int] | None = (10, 20, 5),
    cost: float | None = None,
    table_cost: float | None = None,
    attempts: int = 1,
    retry_wait: float = 0.0,
    rate_limit_wait: float = 0.0,
    itl: list[float] | None = None,
    error_kind: str | None = None,
) -> Record:
    cell = dict(cell or {})
    cid = cell_id_of(cell)
    key = f"{cid}|{item}|{repeat}|{seed}"
    results = [] if status == "error" else [Result(text=t, finish_reason=finish) for t in texts]
    return Record(
        trial_key=key,
        cell_id=cid,
        cell=cell,
        item_id=item,
        repeat=repeat,
        seed=seed,
        target="sim",
        model="m",
        delivery="stream" if first_token is not None else "sync",
        status=status,  # type: ignore[arg-type]
        timing=Timing(
            scheduled_at_s=scheduled,
            sent_at_s=sent,
            first_token_at_s=first_token,
            first_answer_token_at_s=first_answer,
            done_at_s=done,
            first_sent_at_s=first_sent,
        ),
        results=results,
        usage=None
        if usage is None or status == "error"
        else Usage(usage[0], usage[1], usage[2], usage[0] + usage[1]),
        cost_usd=cost,
        price_table_cost_usd=table_cost,
        attempts=attempts,
        retry_wait_s=retry_wait,
        rate_limit_wait_s=rate_limit_wait,
        itl_s=itl,
        error=ErrorInfo(kind=error_kind or "server", message="boom") if status == "error" else None,
        number_results=len(texts),
    )


def make_score(
    record: Record,
    value: float | None,
    *,
    result_index: int = 0,
    scorer: str = "numeric",
    outcome: str | None = None,
    extracted: str | None = "42",
) -> Score:
    if outcome is None:
        outcome = "correct" if value == 1.0 else "wrong"
    return Score(
        trial_key=record.trial_key,
        result_index=result_index,
        scorer=scorer,
        value=value,
        outcome=outcome,
        extracted=extracted,
        cell_id=record.cell_id,
        item_id=record.item_id,
        repeat=record.repeat,
    )
