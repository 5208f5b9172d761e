"""The values a comparison produces: one `Check` per cell and gated metric, the flipped items, the
pairing bookkeeping, and the `Comparison` that decides the exit code. Plain data with `to_dict()`;
nothing here computes a statistic or reads a file.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from harness.config import GateConfig
from harness.errors import EXIT_INFRA, EXIT_OK, EXIT_REGRESSION

COMPARISON_SCHEMA_VERSION = 1

Mode = Literal["paired", "unpaired"]
CheckKind = Literal["quality", "latency", "cost", "load"]
CheckVerdict = Literal["pass", "regression", "improvement", "skipped"]
FlipDirection = Literal["right_to_wrong", "wrong_to_right"]
TrialKey = tuple[str, str, int]  # (cell_id, item_id, repeat)


@dataclass(slots=True, frozen=True)
class Check:
    """One gated metric of one cell: the two values, the estimate with its 95% CI, and the verdict.

    Quality: `estimate` is current - baseline (a drop is negative) and `limit` the tolerance.
    Latency and cost: `estimate` is current / baseline and `limit` the largest allowed ratio.
    """

    cell_id: str
    metric: str
    kind: CheckKind
    test: str
    n: int
    baseline: float | None
    current: float | None
    estimate: float | None
    ci_low: float | None
    ci_high: float | None
    p_value: float | None
    p_holm: float | None
    limit: float
    verdict: CheckVerdict
    message: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(slots=True, frozen=True)
class Flip:
    """An item (one repeat) that was right in one run and wrong in the other, with both answers."""

    cell_id: str
    item_id: str
    repeat: int
    direction: FlipDirection
    reference: Any
    baseline_value: float
    current_value: float
    baseline_answer: str | None
    current_answer: str | None
    baseline_text: str | None
    current_text: str | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(slots=True)
class Pairing:
    """How the trials of the two runs matched up by (cell_id, item_id, repeat)."""

    matched: int = 0
    only_baseline: list[TrialKey] = field(default_factory=list)
    only_current: list[TrialKey] = field(default_factory=list)
    cells_only_baseline: list[str] = field(default_factory=list)
    cells_only_current: list[str] = field(default_factory=list)
    error_pairs: int = 0  # matched pairs left out of the tests because a side errored

    def to_dict(self, *, max_keys: int = 50) -> dict[str, Any]:
        def keys(found: list[TrialKey]) -> list[dict[str, Any]]:
            return [{"cell_id": c, "item_id": i, "repeat": r} for c, i, r in found[:max_keys]]

        return {
            "matched": self.matched,
            "only_baseline": len(self.only_baseline),
            "only_current": len(self.only_current),
            "only_baseline_examples": keys(self.only_baseline),
            "only_current_examples": keys(self.only_current),
            "cells_only_baseline": list(self.cells_only_baseline),
            "cells_only_current": list(self.cells_only_current),
            "error_pairs": self.error_pairs,
        }


@dataclass(slots=True)
class Comparison:
    """The whole result of `harness compare`; `exit_code` is what the CLI returns."""

    mode: Mode
    suite: str
    baseline: dict[str, Any]
    current: dict[str, Any]
    gate: GateConfig
    checks: list[Check] = field(default_factory=list)
    flips: list[Flip] = field(default_factory=list)
    pairing: Pairing = field(default_factory=Pairing)
    problems: list[str] = field(default_factory=list)  # why a run is incomplete: exit 3
    notes: list[str] = field(default_factory=list)

    @property
    def regressions(self) -> list[Check]:
        return [c for c in self.checks if c.verdict == "regression"]

    @property
    def verdict(self) -> Literal["pass", "regression", "incomplete"]:
        if self.problems:
            return "incomplete"
        return "regression" if self.regressions else "pass"

    @property
    def exit_code(self) -> int:
        # An incomplete or error-ridden run makes every verdict untrustworthy, so 3 wins over 1.
        return {"pass": EXIT_OK, "regression": EXIT_REGRESSION, "incomplete": EXIT_INFRA}[self.verdict]

    def headline(self) -> str:
        """One line for a terminal, a Markdown title or a JUnit suite name."""
        if self.verdict == "incomplete":
            return f"incomplete: {'; '.join(self.problems)}"
        if self.verdict == "regression":
            cells = sorted({c.cell_id for c in self.regressions})
            metrics = sorted({c.metric for c in self.regressions})
            return (
                f"regression in {len(self.regressions)} check(s): {', '.join(metrics)} "
                f"at {', '.join(repr(c) for c in cells)}"
            )
        return f"no regression ({len(self.checks)} checks, {self.mode})"

    def to_dict(self, *, max_flips: int = 200) -> dict[str, Any]:
        """The `comparison` passed to `harness.report.build_outputs` (shape: see harness.compare)."""
        flips = self.flips[:max_flips]
        return {
            "schema_version": COMPARISON_SCHEMA_VERSION,
            "mode": self.mode,
            "suite": self.suite,
            "verdict": self.verdict,
            "exit_code": self.exit_code,
            "headline": self.headline(),
            "baseline": dict(self.baseline),
            "current": dict(self.current),
            "gate": self.gate.model_dump(mode="json"),
            "checks": [c.to_dict() for c in self.checks],
            "flips": [f.to_dict() for f in flips],
            "flip_counts": {
                "right_to_wrong": sum(f.direction == "right_to_wrong" for f in self.flips),
                "wrong_to_right": sum(f.direction == "wrong_to_right" for f in self.flips),
                "shown": len(flips),
            },
            "pairing": self.pairing.to_dict(),
            "problems": list(self.problems),
            "notes": list(self.notes),
        }
