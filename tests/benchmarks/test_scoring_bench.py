"""Throughput of re-scoring: numeric and choice extraction over 4,000 realistic results (run by nox -s bench)."""

from __future__ import annotations

from typing import Any

from harness.config import ScorerConfig
from harness.records import Record, Result, Timing
from harness.scoring import score_records

REPLIES = [
    "Janet sells 16 - 3 - 4 = 9 duck eggs a day.\nShe makes 9 * 2 = $18 every day.\nThe answer is 18.",
    r"Let me think. 3 + 4 = 7, then 7 * 2 = 14. So $\boxed{14}$.",
    "Answer: (C) because faster rotation shortens the day.",
    "**B**",
    "I am not sure about this one, maybe 12 or 13.",
]


def records(reference: str) -> list[Record]:
    return [
        Record(
            trial_key=f"k{i}",
            cell_id="c",
            cell={},
            item_id=f"i{i}",
            repeat=0,
            seed=None,
            target="sim",
            model="m",
            delivery="sync",
            status="ok",
            timing=Timing(0.0),
            results=[Result(REPLIES[(i + j) % len(REPLIES)]) for j in range(4)],
            reference=reference,
            choices=["London", "Paris", "Berlin", "Madrid"],
        )
        for i in range(1000)
    ]


def test_bench_numeric(benchmark: Any) -> None:
    batch = records("18")
    scores = benchmark(score_records, batch, [ScorerConfig(name="numeric")])
    assert len(scores) == 4000


def test_bench_choice(benchmark: Any) -> None:
    batch = records("C")
    scores = benchmark(score_records, batch, [ScorerConfig(name="choice")])
    assert len(scores) == 4000
