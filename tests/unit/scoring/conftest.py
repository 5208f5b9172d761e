"""Builders of test records for the scoring tests."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from harness.records import ErrorInfo, Record, Result, Timing

MakeRecord = Callable[..., Record]


def build_record(
    texts: list[str] | str = "",
    *,
    reference: Any = None,
    choices: list[str] | None = None,
    finish: str | None = "stop",
    reasoning: str | None = None,
    status: str = "ok",
    key: str = "t1",
    item: str = "item-1",
    cell: str = "temperature=0.6",
    repeat: int = 0,
) -> Record:
    if isinstance(texts, str):
        texts = [texts]
    error = ErrorInfo(kind="server", message="HTTP 503") if status == "error" else None
    return Record(
        trial_key=key,
        cell_id=cell,
        cell={"temperature": 0.6},
        item_id=item,
        repeat=repeat,
        seed=None,
        target="sim",
        model="alibaba:qwen@3.5-397b",
        delivery="sync",
        status=status,  # type: ignore[arg-type]
        timing=Timing(scheduled_at_s=0.0),
        results=[]
        if status == "error"
        else [Result(t, reasoning=reasoning, finish_reason=finish) for t in texts],
        error=error,
        reference=reference,
        choices=choices,
        number_results=max(1, len(texts)),
    )


@pytest.fixture
def make_record() -> MakeRecord:
    return build_record
