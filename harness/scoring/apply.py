"""Applying scorers to records: `score_records` (pure, in memory) and `score_run` (reads a run directory's
records, rewrites its scores.jsonl atomically). Sends no request, ever: the judge's calls are sent
beforehand by the orchestration's judge stage (harness.orchestration.judge). Must not touch records.jsonl
beyond reading it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from harness.config import ScorerConfig
from harness.errors import ConfigError, HarnessError, ScoringError
from harness.records import Record, Score
from harness.rundir import RunDir, read_records, read_scores, write_scores
from harness.scoring.base import NO_CONTEXT, Scorer, ScoringContext, error_score
from harness.scoring.registry import build_scorer

__all__ = [
    "ScoresAhead",
    "ascore_records",
    "ascore_run",
    "build_scorers",
    "read_scores",
    "score_records",
    "score_run",
    "write_scores",
]


def build_scorers(
    scorers: Sequence[ScorerConfig], *, context: ScoringContext = NO_CONTEXT
) -> list[tuple[str, Scorer]]:
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
        built.append((label, build_scorer(config, field=f"scorers[{i}]", context=context)))
    return built


def score_records(
    records: Sequence[Record],
    scorers: Sequence[ScorerConfig],
    *,
    run_dir: Path | None = None,
    known: Sequence[Sequence[Score] | None] | None = None,
) -> list[Score]:
    """Score every result of every record with every scorer, in record, result, scorer order.

    A failed record (or one without results) gets one `error` Score per scorer at result index 0.
    `run_dir` is the run directory the records come from, for scorers that read derived data there
    (the judge reads its calls from RUN_DIR/judge/). `known[i]`, when not None, is what these scorers
    gave records[i] already (ScoresAhead); it is used as is. Sends nothing.
    """
    context = ScoringContext(RunDir(run_dir) if run_dir is not None else None)
    built = build_scorers(scorers, context=context)
    if known is None:
        return _apply(records, built)
    scores: list[Score] = []
    for record, done in zip(records, known, strict=True):
        scores.extend(done if done is not None else _apply([record], built))
    return scores


class ScoresAhead:
    """Scores of records.jsonl lines computed while a run is still sending (the outputs worker does it
    on the second core), kept by the line's bytes: a line's scores are a function of those bytes and
    the scorers alone, so `build_outputs` reuses them for the lines it finds unchanged. Only for
    scorers that read nothing but the record: not the judge, which reads RUN_DIR/judge/."""

    def __init__(self, scorers: Sequence[ScorerConfig]) -> None:
        if any(config.name == "judge" for config in scorers):
            raise ValueError("a judge's scores depend on RUN_DIR/judge/, not on the record alone")
        self.scorers = list(scorers)
        self._built = build_scorers(self.scorers)
        self._by_line: dict[bytes, list[Score]] = {}

    def add(self, line: bytes) -> None:
        """Score one complete line (without its newline); a line that is not a valid record is left
        for the build, which reports it."""
        import orjson

        try:
            record = Record.from_dict(orjson.loads(line))
            self._by_line[line] = _apply([record], self._built)
        except Exception:
            return

    def get(self, line: bytes) -> list[Score] | None:
        return self._by_line.get(line)

    def __len__(self) -> int:
        return len(self._by_line)


async def ascore_records(
    records: Sequence[Record], scorers: Sequence[ScorerConfig], *, run_dir: Path | None = None
) -> list[Score]:
    """`score_records`, for callers inside an event loop (kept for code written when the judge sent
    its calls from scoring; scoring is synchronous now)."""
    return score_records(records, scorers, run_dir=run_dir)


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


async def ascore_run(run_dir: Path, scorers: Sequence[ScorerConfig]) -> list[Score]:
    """`score_run`, for callers inside an event loop (see ascore_records)."""
    return score_run(run_dir, scorers)


def score_run(run_dir: Path, scorers: Sequence[ScorerConfig]) -> list[Score]:
    """Re-score a run directory from its records alone and rewrite its scores.jsonl."""
    run_dir = Path(run_dir)
    records = read_records(run_dir)  # a StoreError when there is no records file
    scores = score_records(records, scorers, run_dir=run_dir)
    write_scores(run_dir, scores)
    return scores
