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
from harness.stats.run import read_json
from harness.store import read_records

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
    summary: dict[str, Any]
    manifest: dict[str, Any] | None
    trials: dict[TrialKey, TrialRow] = field(default_factory=dict)
    scores: list[Score] = field(default_factory=list)
    primary_scorer: str | None = None

    @property
    def suite_name(self) -> str | None:
        suite = (self.manifest or {}).get("suite")
        if isinstance(suite, Mapping) and suite.get("name"):
            return str(suite["name"])
        name = self.summary.get("suite")
        return str(name) if name else None

    def cell_ids(self) -> list[str]:
        """Cells in the order the run lists them (summary order, else first appearance)."""
        ids = [str(c.get("cell_id")) for c in self.summary.get("cells") or [] if c.get("cell_id") is not None]
        ids.extend(key[0] for key in self.trials)
        return list(dict.fromkeys(ids))

    def summary_cell(self, cell_id: str) -> Mapping[str, Any] | None:
        for cell in self.summary.get("cells") or []:
            if cell.get("cell_id") == cell_id:
                return cell  # type: ignore[no-any-return]
        return None

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
            "n_trials": len(self.trials) if self.kind == "run" else _summary_trials(self.summary),
            "primary_scorer": self.primary_scorer,
        }


def load_side(path: Path, *, role: str) -> RunSide:
    """A run directory (records.jsonl present) or a summary file / directory holding only summary.json."""
    if path.is_file():
        return RunSide(path, "summary", _read_summary(path, role), None, primary_scorer=None)
    if not path.is_dir():
        raise StoreError(f"{role} {path}: no such run directory or summary file")
    summary_path = path / "summary.json"
    if not (path / "records.jsonl").exists():
        if summary_path.exists():
            return RunSide(path, "summary", _read_summary(summary_path, role), None)
        raise StoreError(f"{role} {path}: neither records.jsonl nor summary.json; is this a run directory?")
    manifest = read_json(path / "manifest.json", role)
    summary = _read_summary(summary_path, role) if summary_path.exists() else {}
    records = read_records(path)  # each trial's latest record
    scores = _read_scores(path, records, manifest)
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
        rates = {str(c.get("cell_id")): _error_rate(c) for c in side.summary.get("cells") or []}
        total = _error_rate(side.summary.get("overall") or {})
    if total > gate.max_error_rate:
        problems.append(f"{role} error rate {total:.1%} exceeds max_error_rate {gate.max_error_rate:.1%}")
    over = [f"{cell} ({rate:.1%})" for cell, rate in rates.items() if rate > gate.max_error_rate]
    if over and total <= gate.max_error_rate:
        problems.append(f"{role} cells over max_error_rate {gate.max_error_rate:.1%}: {', '.join(over)}")
    return problems


def _error_rate(cell: Mapping[str, Any]) -> float:
    rate = (cell.get("errors") or {}).get("rate")
    return float(rate) if isinstance(rate, int | float) else 0.0


def _summary_trials(summary: Mapping[str, Any]) -> int | None:
    n = (summary.get("overall") or {}).get("n_trials")
    return int(n) if isinstance(n, int) else None


def _read_summary(path: Path, role: str) -> dict[str, Any]:
    data = read_json(path, role)
    if not isinstance(data.get("cells"), list):
        raise StoreError(f"{role} {path}: not a summary.json (no 'cells' list)")
    return data


def _read_scores(run_dir: Path, records: Sequence[Record], manifest: Mapping[str, Any]) -> list[Score]:
    """scores.jsonl, or the manifest's scorers applied now when the run was never scored."""
    from harness.stats import read_run_scores

    if (run_dir / "scores.jsonl").exists():
        return read_run_scores(run_dir)
    suite = manifest.get("suite")
    specs = suite.get("scorers") if isinstance(suite, Mapping) else None
    if not specs:
        return []
    from harness.config import ScorerConfig
    from harness.scoring import score_records

    return list(score_records(records, [ScorerConfig.model_validate(s) for s in specs]))


def _scorer_names(side: RunSide) -> list[str]:
    names = side.summary.get("scorers")
    if isinstance(names, list) and names:
        return [str(n) for n in names]
    return [side.primary_scorer] if side.primary_scorer else []


def _primary_scorer(
    summary: Mapping[str, Any], manifest: Mapping[str, Any], scores: Sequence[Score]
) -> str | None:
    present = list(dict.fromkeys(s.scorer for s in scores))
    candidates: list[str] = [str(n) for n in summary.get("scorers") or []]
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
    per_trial: dict[str, dict[str, list[Score]]] = {}
    for score in scores:
        per_trial.setdefault(score.trial_key, {}).setdefault(score.scorer, []).append(score)
    rows: dict[TrialKey, TrialRow] = {}
    items = _load_item_ids(records)
    for record in records:
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
        timing = record.timing
        rows[(record.cell_id, items.get(record.trial_key, record.item_id), record.repeat)] = TrialRow(
            ok=record.status == "ok",
            values=values,
            binary=binary,
            answer=first.extracted if first else None,
            text=text[:MAX_TEXT_CHARS] if text else text,
            reference=record.reference,
            latency_s=_diff(timing.done_at_s, timing.sent_at_s),
            ttft_s=_diff(timing.first_token_at_s, timing.sent_at_s),
            cost_usd=record.effective_cost_usd,
        )
    return rows


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


def _diff(end: float | None, start: float | None) -> float | None:
    return None if end is None or start is None else end - start
