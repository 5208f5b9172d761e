"""Scoring: turns the results in a run directory into Scores, without sending a request (the judge's
calls are sent beforehand by the orchestration's judge stage, harness.orchestration.judge). Owns the `Scorer` protocol, the lazy
registry and `score_run`; multi-sample metrics live in `harness.scoring.metrics`.

A scorer is a factory registered by name that takes its options as keyword arguments and returns a
callable `(record, result_index) -> Score`:

    @scorer("numeric")
    def numeric(*, tolerance: float = 0.0) -> Scorer: ...

Custom scorers are named in a suite by dotted path, `mypkg.scorers:my_scorer`: the factory is called with
the suite's options (checked against its signature) and its callable may return a `Score`, a bool, a
number in [0, 1] (correct when >= 0.5) or None (no answer). A factory that declares a keyword-only
`context: ScoringContext` gets the run directory being scored (read-only).
"""

from __future__ import annotations

from harness.scoring.apply import (
    ascore_records,
    ascore_run,
    build_scorers,
    read_scores,
    score_records,
    score_run,
    write_scores,
)
from harness.scoring.base import OUTCOMES, Outcome, Scorer, ScoringContext
from harness.scoring.registry import build_scorer, scorer, scorer_names

__all__ = [
    "OUTCOMES",
    "Outcome",
    "Scorer",
    "ScoringContext",
    "ascore_records",
    "ascore_run",
    "build_scorer",
    "build_scorers",
    "read_scores",
    "score_records",
    "score_run",
    "scorer",
    "scorer_names",
    "write_scores",
]
