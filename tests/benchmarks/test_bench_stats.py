"""Benchmarks of the statistics layer: summarize() on 100,000 records, one big and one wide grid."""

from __future__ import annotations

import random
from typing import Any

import pytest

from harness.records import Record, Result, Score, Timing, Usage
from harness.stats import summarize


def _run(n_cells: int, n_items: int, seed: int = 0) -> tuple[list[Record], list[Score]]:
    rng = random.Random(seed)
    records: list[Record] = []
    scores: list[Score] = []
    for c in range(n_cells):
        cell: dict[str, Any] = {"temperature": round(0.1 * (c % 10), 1), "topK": 20 * (c // 10 + 1)}
        cell_id = f"temperature={cell['temperature']},topK={cell['topK']}"
        p_right = 0.3 + 0.5 * rng.random()
        for i in range(n_items):
            sent = rng.random()
            stream = i % 2 == 0
            key = f"{c}-{i}"
            records.append(
                Record(
                    trial_key=key, cell_id=cell_id, cell=cell, item_id=f"q{i}", repeat=0, seed=1,
                    target="sim", model="m", delivery="stream" if stream else "sync", status="ok",
                    timing=Timing(
                        scheduled_at_s=sent, sent_at_s=sent, first_token_at_s=sent + 0.3 if stream else None,
                        first_answer_token_at_s=sent + 0.5 if stream else None, done_at_s=sent + 1 + rng.random(),
                    ),
                    results=[Result(text="42", finish_reason="stop")], usage=Usage(100, 50, 10, 150),
                    cost_usd=0.001, price_table_cost_usd=0.00101,
                    itl_s=[0.01 * rng.random() for _ in range(20)] if stream else None,
                )
            )  # fmt: skip
            right = rng.random() < p_right
            scores.append(
                Score(trial_key=key, result_index=0, scorer="numeric", value=1.0 if right else 0.0,
                      outcome="correct" if right else "wrong", extracted="42", cell_id=cell_id, item_id=f"q{i}")
            )  # fmt: skip
    return records, scores


@pytest.mark.parametrize(("n_cells", "n_items"), [(50, 2000), (1000, 100)])
def test_summarize_100k_records(benchmark: Any, n_cells: int, n_items: int) -> None:
    records, scores = _run(n_cells, n_items)
    summary = benchmark.pedantic(summarize, args=(records, scores), kwargs={"manifest": None}, rounds=1)
    assert summary["overall"]["n_trials"] == 100_000
    assert len(summary["cells"]) == n_cells
