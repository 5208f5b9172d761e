"""Builds small synthetic run directories (manifest, records, scores, summary) for compare tests."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from harness.records import Record, Result, Score, Timing, Usage
from harness.stats import summarize


@dataclass
class CellSpec:
    """One cell: per-item correctness (1/0), per-item latency in seconds, and which items errored."""

    values: Sequence[int]
    latency_s: Sequence[float] | None = None
    cost_usd: float = 0.001
    errors: set[int] = field(default_factory=set)
    references: Sequence[str] | None = None


def write_run(
    path: Path,
    cells: Mapping[str, CellSpec],
    *,
    suite: str = "gate-test",
    gate: Mapping[str, Any] | None = None,
    status: str = "complete",
    planned: int | None = None,
    scorer: str = "numeric",
    summary: bool = True,
) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    records: list[Record] = []
    scores: list[Score] = []
    for cell_id, spec in cells.items():
        for i, value in enumerate(spec.values):
            key = f"{cell_id}-{i}"
            item = f"q{i:03d}"
            reference = spec.references[i] if spec.references else str(i)
            answer = reference if value else f"{i}9"
            latency = spec.latency_s[i] if spec.latency_s is not None else 1.0 + (i % 7) / 10
            failed = i in spec.errors
            record = Record(
                trial_key=key,
                cell_id=cell_id,
                cell={"temperature": cell_id},
                item_id=item,
                repeat=0,
                seed=1,
                target="sim",
                model="m",
                delivery="sync",
                status="error" if failed else "ok",
                timing=Timing(scheduled_at_s=0.0, sent_at_s=0.0, first_byte_at_s=latency, done_at_s=latency),
                results=[] if failed else [Result(text=f"The answer is {answer}", finish_reason="stop")],
                usage=None if failed else Usage(10, 5, 0, 15),
                cost_usd=None if failed else spec.cost_usd,
                reference=reference,
            )
            records.append(record)
            scores.append(
                Score(
                    trial_key=key,
                    result_index=0,
                    scorer=scorer,
                    value=0.0 if failed else float(value),
                    outcome="error" if failed else ("correct" if value else "wrong"),
                    extracted=None if failed else answer,
                    cell_id=cell_id,
                    item_id=item,
                    repeat=0,
                )
            )
    manifest = {
        "schema_version": 1,
        "harness_version": "0.1.0",
        "git_commit": "abc123",
        "suite": {"name": suite, "scorers": [{"name": scorer}], "gate": dict(gate or {})},
        "targets": {"sim": {"provider": "simulator"}},
        "plan": {"cells": len(cells), "trials": planned if planned is not None else len(records)},
        "started_at": "2026-01-01T00:00:00+00:00",
        "ended_at": "2026-01-01T00:01:00+00:00",
        "status": status,
    }
    (path / "manifest.json").write_bytes(orjson.dumps(manifest))
    (path / "records.jsonl").write_bytes(b"".join(orjson.dumps(r.to_dict()) + b"\n" for r in records))
    (path / "scores.jsonl").write_bytes(b"".join(orjson.dumps(s.to_dict()) + b"\n" for s in scores))
    if summary:
        data = summarize(records, scores, manifest=manifest)
        (path / "summary.json").write_bytes(orjson.dumps(data, option=orjson.OPT_SERIALIZE_NUMPY))
    return path


def ones_then_zeros(n: int, correct: int) -> list[int]:
    return [1] * correct + [0] * (n - correct)
