"""Reads the two sides of a comparison: a run directory (manifest, records, scores, summary) or a
committed summary.json, into per-trial rows keyed by (cell_id, item_id, repeat). Also decides whether
two sides may be compared at all (exit 2) and whether each is complete (exit 3). Never writes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal

from harness.compare.model import TrialKey
from harness.config import GateConfig
from harness.errors import EXIT_USAGE, HarnessError, StoreError
from harness.records import Record, Score
from harness.rundir import RunDir, layout, read_json_object, summary_from_json
from harness.rundir.summary import Cell, Summary

# Answer texts kept per trial for the flipped-items listing (the whole text stays in records.jsonl).
MAX_TEXT_CHARS = 2000


class IncompatibleRunsError(HarnessError):
    """The two runs cannot be compared: different suites, different data, or nothing in common."""

    exit_code: ClassVar[int] = EXIT_USAGE


@dataclass(slots=True, frozen=True)
class TrialRow:
    """One trial of a run as the comparison sees it."""

    ok: bool
    values: Mapping[str, float | None]  # scorer -> mean value over the results (None: nothing scored)
    binary: Mapping[str, bool]  # scorer -> every scored result was exactly 0 or 1
    answer: str | None  # primary scorer's extracted answer of result 0
    text: str | None  # result 0's answer text, cut to MAX_TEXT_CHARS
    reference: Any
    latency_s: float | None  # done - sent of the final attempt
    ttft_s: float | None
    cost_usd: float


@dataclass(slots=True)
class RunSide:
    """One side of the comparison. `trials` is empty when only a summary is available."""

    path: Path
    kind: Literal["run", "summary"]
    summary: Summary | None  # None: a run directory not summarised yet
    manifest: dict[str, Any] | None
    trials: dict[TrialKey, TrialRow] = field(default_factory=dict)
    scores: list[Score] = field(default_factory=list)
    primary_scorer: str | None = None

    @property
    def suite_name(self) -> str | None:
        suite = (self.manifest or {}).get("suite")
        if isinstance(suite, Mapping) and suite.get("name"):
            return str(suite["name"])
        name = self.summary.suite if self.summary is not None else None
        return name or None

    def cell_ids(self) -> list[str]:
        """Cells in the order the run lists them (summary order, else first appearance)."""
        ids = [c.cell_id for c in self.summary.cells] if self.summary is not None else []
        ids.extend(key[0] for key in self.trials)
        return list(dict.fromkeys(ids))

    def summary_cell(self, cell_id: str) -> Cell | None:
        """The summary's cell of this id (grid cells only, not `overall`), or None."""
        cells = self.summary.cells if self.summary is not None else []
        return next((cell for cell in cells if cell.cell_id == cell_id), None)

    def describe(self) -> dict[str, Any]:
        manifest = self.manifest or {}
        return {
            "path": str(self.path),
            "kind": self.kind,
            "suite": self.suite_name,
            "status": manifest.get("status"),
            "started_at": manifest.get("started_at"),
            "git_commit": manifest.get("git_commit"),
            "harness_version": manifest.get("harness_version"),
            "targets": sorted((manifest.get("targets") or {}).keys()),
            "n_trials": len(self.trials)
            if self.kind == "run"
            else (self.summary.overall.n_trials if self.summary is not None else None),
            "primary_scorer": self.primary_scorer,
        }


def load_side(path: Path, *, role: str) -> RunSide:
    """A run directory (records.jsonl present) or a summary file / directory holding only summary.json."""
    if path.is_file():
        return RunSide(path, "summary", _read_summary(path, role), None, primary_scorer=None)
    if not path.is_dir():
        raise StoreError(f"{role} {path}: no such run directory or summary file")
    run = RunDir(path, role=role)
    if not run.has_records():
        if run.has_summary():
            return RunSide(path, "summary", _read_summary(run.summary_path, role), None)
        raise StoreError(
            f"{role} {path}: neither {layout.RECORDS} nor {layout.SUMMARY}; is this a run directory?"
        )
    manifest = run.manifest().to_dict()
    summary = _read_summary(run.summary_path, role) if run.has_summary() else None
    records = run.records()  # each trial's latest record
    scores = _read_scores(run, records, manifest)
    primary = _primary_scorer(summary, manifest, scores)
    side = RunSide(path, "run", summary, manifest, scores=scores, primary_scorer=primary)
    side.trials = _trial_rows(records, scores, primary)
    return side


def gate_of(side: RunSide) -> GateConfig:
    """The `gate:` section of the run's suite (from its manifest), defaults when it has none."""
    suite = (side.manifest or {}).get("suite")
    raw = suite.get("gate") if isinstance(suite, Mapping) else None
    return GateConfig.model_validate(raw or {})


def check_compatible(baseline: RunSide, current: RunSide) -> None:
    """Raise IncompatibleRunsError with the reason when the two sides measure different things."""
    a, b = baseline.suite_name, current.suite_name
    if a and b and a != b:
        raise IncompatibleRunsError(f"different suites: baseline is {a!r}, current is {b!r}")
    sa, sb = _scorer_names(baseline), _scorer_names(current)
    if sa and sb and sa[0] != sb[0]:
        raise IncompatibleRunsError(
            f"different primary scorers: baseline scores with {sa[0]!r}, current with {sb[0]!r}"
        )
    if baseline.kind == "run":
        shared = baseline.trials.keys() & current.trials.keys()
        if not shared:
            raise IncompatibleRunsError(
                "no trial in common: (cell, item, repeat) keys do not overlap "
                f"(baseline cells: {', '.join(baseline.cell_ids()) or 'none'}; "
                f"current cells: {', '.join(current.cell_ids()) or 'none'})"
            )
        changed = [k for k in sorted(shared) if baseline.trials[k].reference != current.trials[k].reference]
        if changed:
            cell, item, _ = changed[0]
            raise IncompatibleRunsError(
                f"the data differ: {len(changed)} shared item(s) have a different reference answer, e.g. "
                f"item {item!r} in cell {cell!r}: baseline {baseline.trials[changed[0]].reference!r}, "
                f"current {current.trials[changed[0]].reference!r}"
            )
    elif not set(baseline.cell_ids()) & set(current.cell_ids()):
        raise IncompatibleRunsError(
            f"no cell in common: baseline has {', '.join(baseline.cell_ids()) or 'none'}; "
            f"current has {', '.join(current.cell_ids()) or 'none'}"
        )


def completeness_problems(side: RunSide, role: str, gate: GateConfig) -> list[str]:
    """Why a side cannot be trusted: an unfinished run, or more errors than gate.max_error_rate."""
    problems: list[str] = []
    if side.kind == "run":
        manifest = side.manifest or {}
        status = manifest.get("status")
        planned = (manifest.get("plan") or {}).get("trials")
        done = len(side.trials)
        if status != "complete" or (isinstance(planned, int) and done < planned):
            problems.append(
                f"{role} run {side.path} is not complete (status {status!r}, {done} of {planned} trials); "
                f"resume it with `harness run SUITE --resume {side.path}`"
            )
        per_cell: dict[str, list[bool]] = {}
        for (cell_id, _, _), row in side.trials.items():
            per_cell.setdefault(cell_id, []).append(row.ok)
        rates = {cell: sum(not ok for ok in oks) / len(oks) for cell, oks in per_cell.items()}
        total = sum(not row.ok for row in side.trials.values()) / done if done else 0.0
    else:
        cells = side.summary.cells if side.summary is not None else []
        rates = {c.cell_id: float(c.errors.rate) for c in cells}
        total = float(side.summary.overall.errors.rate) if side.summary is not None else 0.0
    if total > gate.max_error_rate:
        problems.append(f"{role} error rate {total:.1%} exceeds max_error_rate {gate.max_error_rate:.1%}")
    over = [f"{cell} ({rate:.1%})" for cell, rate in rates.items() if rate > gate.max_error_rate]
    if over and total <= gate.max_error_rate:
        problems.append(f"{role} cells over max_error_rate {gate.max_error_rate:.1%}: {', '.join(over)}")
    return problems


def _read_summary(path: Path, role: str) -> Summary:
    data = read_json_object(path, role)
    if not isinstance(data.get("cells"), list):
        raise StoreError(f"{role} {path}: not a {layout.SUMMARY} (no 'cells' list)")
    return summary_from_json(data, where=f"{role} {path}")


def _read_scores(run: RunDir, records: Sequence[Record], manifest: Mapping[str, Any]) -> list[Score]:
    """The run's scores, or the manifest's scorers applied now when the run was never scored (a judge
    scorer then reads the calls already in RUN_DIR/judge/; compare sends nothing)."""
    if run.has_scores():
        return run.scores()
    suite = manifest.get("suite")
    specs = suite.get("scorers") if isinstance(suite, Mapping) else None
    if not specs:
        return []
    from harness.config import ScorerConfig
    from harness.scoring import score_records

    return list(score_records(records, [ScorerConfig.model_validate(s) for s in specs], run_dir=run.path))


def _scorer_names(side: RunSide) -> list[str]:
    names = side.summary.scorers if side.summary is not None else []
    if names:
        return list(names)
    return [side.primary_scorer] if side.primary_scorer else []


def _primary_scorer(
    summary: Summary | None, manifest: Mapping[str, Any], scores: Sequence[Score]
) -> str | None:
    present = list(dict.fromkeys(s.scorer for s in scores))
    candidates: list[str] = list(summary.scorers) if summary is not None else []
    suite = manifest.get("suite")
    for spec in (suite.get("scorers") or []) if isinstance(suite, Mapping) else []:
        if isinstance(spec, str):
            candidates.append(spec)
        elif isinstance(spec, Mapping):
            candidates.extend(str(spec[k]) for k in ("metric", "name") if spec.get(k))
    for name in candidates:
        if name in present:
            return name
    return present[0] if present else None


def _trial_rows(
    records: Sequence[Record], scores: Sequence[Score], primary: str | None
) -> dict[TrialKey, TrialRow]:
    from harness.stats.frames import records_frame

    derived = records_frame(records)[["e2e_s", "ttft_s", "effective_cost_usd"]]
    latency = [_or_none(v) for v in derived["e2e_s"].tolist()]
    ttft = [_or_none(v) for v in derived["ttft_s"].tolist()]
    cost = [float(v) for v in derived["effective_cost_usd"].tolist()]
    per_trial: dict[str, dict[str, list[Score]]] = {}
    for score in scores:
        per_trial.setdefault(score.trial_key, {}).setdefault(score.scorer, []).append(score)
    rows: dict[TrialKey, TrialRow] = {}
    items = _load_item_ids(records)
    for index, record in enumerate(records):
        by_scorer = per_trial.get(record.trial_key, {})
        values: dict[str, float | None] = {}
        binary: dict[str, bool] = {}
        for scorer, found in by_scorer.items():
            # `invalid` (an unparseable judge reply) is excluded; other empty values count as 0.
            kept = [0.0 if s.value is None else float(s.value) for s in found if s.outcome != "invalid"]
            values[scorer] = sum(kept) / len(kept) if kept else None
            binary[scorer] = all(v in (0.0, 1.0) for v in kept)
        first = next((s for s in by_scorer.get(primary or "", []) if s.result_index == 0), None)
        text = record.results[0].text if record.results else None
        rows[(record.cell_id, items.get(record.trial_key, record.item_id), record.repeat)] = TrialRow(
            ok=record.status == "ok",
            values=values,
            binary=binary,
            answer=first.extracted if first else None,
            text=text[:MAX_TEXT_CHARS] if text else text,
            reference=record.reference,
            latency_s=latency[index],
            ttft_s=ttft[index],
            cost_usd=cost[index],
        )
    return rows


def _or_none(value: float) -> float | None:
    return None if value != value else float(value)  # NaN: a timestamp was missing


def _load_item_ids(records: Sequence[Record]) -> dict[str, str]:
    """A load sweep sends each item at every load point, some several times: `ITEM@POINT` for the
    first copy, `ITEM@POINT#k` for the k-th after it in dispatch order (deterministic, so two sweeps of
    one suite pair up point by point). Empty for runs without load points."""
    loaded = sorted((r for r in records if r.load_point is not None), key=lambda r: r.timing.scheduled_at_s)
    seen: dict[tuple[str, str, str, int], int] = {}
    out: dict[str, str] = {}
    for r in loaded:
        base = (r.cell_id, r.item_id, r.load_point or "", r.repeat)
        k = seen.get(base, 0)
        seen[base] = k + 1
        out[r.trial_key] = f"{r.item_id}@{r.load_point}" + (f"#{k}" if k else "")
    return out
