"""Applying scorers to records: `score_records` (pure, in memory) and `score_run` (reads a run directory's
records.jsonl, rewrites its scores.jsonl atomically). Scorers with a batch step (the judge) are prepared
first. Must not touch records.jsonl beyond reading it.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import cast

import orjson

from harness.config import ScorerConfig
from harness.errors import ConfigError, HarnessError, ScoringError, StoreError
from harness.records import Record, Score
from harness.scoring.base import Scorer, error_score
from harness.scoring.registry import build_scorer
from harness.store import read_records

SCORES_FILE = "scores.jsonl"


def build_scorers(scorers: Sequence[ScorerConfig]) -> list[tuple[str, Scorer]]:
    """Build every scorer of a suite (options checked now) with its metric label, in order.

    The label is `metric` when given, else the scorer name; two scorers may not share one.
    """
    built: list[tuple[str, Scorer]] = []
    seen: dict[str, int] = {}
    for i, config in enumerate(scorers):
        label = config.metric or config.name
        if label in seen:
            raise ConfigError(
                f"scorers {seen[label]} and {i} are both reported as {label!r}; give one a distinct `metric` name",
                field=f"scorers[{i}].metric",
            )
        seen[label] = i
        built.append((label, build_scorer(config, field=f"scorers[{i}]")))
    return built


def _preparers(
    built: Sequence[tuple[str, Scorer]],
) -> list[Callable[[Sequence[Record], Path], Awaitable[None]]]:
    out = []
    for _, scorer_ in built:
        prepare = getattr(scorer_, "prepare", None)
        if callable(prepare):
            out.append(cast(Callable[[Sequence[Record], Path], Awaitable[None]], prepare))
    return out


async def ascore_records(
    records: Sequence[Record], scorers: Sequence[ScorerConfig], *, run_dir: Path | None = None
) -> list[Score]:
    """`score_records` for callers already inside an event loop (runs batch steps such as the judge's)."""
    built = build_scorers(scorers)
    preparers = _preparers(built)
    if preparers:
        if run_dir is None:
            raise ScoringError("a scorer with a batch step (judge) needs the run directory to write to")
        usable = [r for r in records if r.status == "ok" and r.results]
        for prepare in preparers:
            await prepare(usable, run_dir)
    return _apply(records, built)


def score_records(
    records: Sequence[Record], scorers: Sequence[ScorerConfig], *, run_dir: Path | None = None
) -> list[Score]:
    """Score every result of every record with every scorer, in record, result, scorer order.

    A failed record (or one without results) gets one `error` Score per scorer at result index 0.
    Scorers with a batch step run it first, in a fresh event loop; inside a running loop use
    `ascore_records`.
    """
    built = build_scorers(scorers)
    if not _preparers(built):
        return _apply(records, built)
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(ascore_records(records, scorers, run_dir=run_dir))
    raise ScoringError("score_records was called inside a running event loop; await ascore_records instead")


def _apply(records: Sequence[Record], built: Sequence[tuple[str, Scorer]]) -> list[Score]:
    scores: list[Score] = []
    for record in records:
        if record.status != "ok" or not record.results:
            scores.extend(error_score(record, label) for label, _ in built)
            continue
        for index in range(len(record.results)):
            for label, scorer_ in built:
                scores.append(_one(record, index, label, scorer_))
    return scores


def _one(record: Record, index: int, label: str, scorer_: Scorer) -> Score:
    try:
        score = scorer_(record, index)
    except HarnessError:
        raise
    except Exception as exc:
        raise ScoringError(
            f"scorer {label!r} failed on trial {record.trial_key} (item {record.item_id!r}, result {index}): "
            f"{type(exc).__name__}: {exc}"
        ) from exc
    if score.scorer != label:
        score.scorer = label
    return score


def write_scores(run_dir: Path, scores: Sequence[Score]) -> Path:
    """Replace scores.jsonl atomically (temp file, fsync, rename): a reader never sees half a file."""
    path = run_dir / SCORES_FILE
    tmp = run_dir / f".{SCORES_FILE}.tmp"
    payload = b"".join(orjson.dumps(score.to_dict()) + b"\n" for score in scores)
    try:
        with tmp.open("wb") as fh:
            fh.write(payload)
            fh.flush()
            os.fsync(fh.fileno())
        tmp.replace(path)
    except OSError as exc:
        raise StoreError(f"{path}: cannot write scores ({exc})") from exc
    return path


def read_scores(run_dir: Path) -> list[Score]:
    """The Scores in a run directory's scores.jsonl (empty when it has none yet); the one reader of that
    file. A torn (unparseable) *last* line is skipped, any other bad line is a StoreError naming it."""
    path = Path(run_dir) / SCORES_FILE
    if not path.exists():
        return []
    lines = path.read_bytes().splitlines()
    while lines and not lines[-1].strip():
        lines.pop()
    out: list[Score] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            raw = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            if number == len(lines):
                break
            raise StoreError(
                f"{path}:{number}: not valid JSON ({exc}); only a torn last line is skipped"
            ) from exc
        if not isinstance(raw, dict):
            raise StoreError(f"{path}:{number}: expected a JSON object, found {type(raw).__name__}")
        try:
            out.append(Score.from_dict(raw))
        except (KeyError, TypeError, ValueError) as exc:
            raise StoreError(f"{path}:{number}: not a valid entry ({exc!r})") from exc
    return out


async def ascore_run(run_dir: Path, scorers: Sequence[ScorerConfig]) -> list[Score]:
    """`score_run` for callers inside an event loop."""
    records = read_records(Path(run_dir))
    scores = await ascore_records(records, scorers, run_dir=run_dir)
    write_scores(run_dir, scores)
    return scores


def score_run(run_dir: Path, scorers: Sequence[ScorerConfig]) -> list[Score]:
    """Re-score a run directory from its records alone and rewrite its scores.jsonl."""
    run_dir = Path(run_dir)
    records = read_records(run_dir)
    scores = score_records(records, scorers, run_dir=run_dir)
    write_scores(run_dir, scores)
    return scores
