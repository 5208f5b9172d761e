"""Reads a run directory (manifest, summary, records, scores, through harness.rundir.RunDir) into the
compact frames the report needs. Owns reading only: it never writes, re-scores or summarises.

Records come from RunDir.latest_lines (each trial's latest record, parsed once with orjson) into one
row each of harness.derived.trial_frame, where latency and cost are derived; their texts are not
kept, only each line's bytes, so the items drill-down can re-read the few records it shows without a
second pass over a 100,000-line file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import orjson

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from harness.rundir import RunDir

# Inter-token gaps kept per record: enough for a distribution, small enough for 100,000 streams.
ITL_SAMPLES_PER_RECORD = 32

AXIS_PREFIX = "ax:"


@dataclass(slots=True)
class RunFiles:
    """Everything the report reads from one run directory."""

    run_dir: Path
    manifest: dict[str, Any]
    summary: dict[str, Any]
    records: pd.DataFrame  # one row per record; `line` indexes `lines`
    results: pd.DataFrame  # one row per scored result of the primary scorer
    lines: list[bytes]
    itl_ms: dict[str, np.ndarray] = field(default_factory=dict)  # cell_id -> sampled gaps in ms
    primary_scorer: str | None = None
    skipped_lines: int = 0


def frame_rows(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """A frame's rows as dicts (pandas' own typing of to_dict is too loose for mypy --strict)."""
    return cast(list[dict[str, Any]], frame.to_dict("records"))


def axis_key(value: Any) -> Any:
    """Grid values as hashable, comparable keys (lists become JSON text)."""
    if isinstance(value, list | dict):
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()
    return value


# Report column -> trial_frame column (harness.derived computes each once).
_FROM_TRIALS = {
    "trial_key": "trial_key",
    "cell_id": "cell_id",
    "item_id": "item_id",
    "repeat": "repeat",
    "status": "status",
    "scheduled_s": "scheduled_at_s",
    "sent_s": "sent_at_s",
    "done_s": "done_at_s",
    "e2e_s": "e2e_s",
    "ttft_s": "ttft_s",
    "cost_usd": "priced_cost_usd",
    "error_kind": "error_kind",
    "attempts": "attempts",
    "n_results": "n_results",
}


def load_run_files(run_dir: Path, *, summary: dict[str, Any] | None = None) -> RunFiles:
    """Read a run directory. `summary` replaces summary.json when the caller has just computed it."""
    import numpy as np
    import pandas as pd

    from harness.derived import trial_frame
    from harness.rundir import RunDir, summary_to_json

    run = RunDir(run_dir)
    manifest = run.manifest().to_dict()
    if summary is None:
        summary = summary_to_json(run.summary())
    axes = [str(a) for a in summary.get("swept_axes") or []]

    latest, torn = run.latest_lines()
    skipped = 0 if torn is None else 1
    lines = [raw for raw, _ in latest]
    trials = trial_frame(rec for _, rec in latest)
    columns: dict[str, Any] = {"line": np.arange(len(lines), dtype=np.int64)}
    columns.update({name: trials[source] for name, source in _FROM_TRIALS.items()})
    axis_values: dict[str, list[Any]] = {AXIS_PREFIX + axis: [] for axis in axes}
    itl_parts: dict[str, list[np.ndarray]] = {}
    for _, rec in latest:
        cell = rec.get("cell") or {}
        for axis in axes:
            axis_values[AXIS_PREFIX + axis].append(axis_key(cell.get(axis)))
        gaps = rec.get("itl_s")
        if gaps:
            step = max(1, -(-len(gaps) // ITL_SAMPLES_PER_RECORD))
            cell_id = str(rec.get("cell_id", ""))
            itl_parts.setdefault(cell_id, []).append(np.asarray(gaps[::step], dtype=float) * 1000.0)
    records = pd.DataFrame(columns)
    for name, values in axis_values.items():
        records[name] = pd.Series(values, dtype=object, index=records.index)
    itl_ms = {cell: np.concatenate(parts) for cell, parts in itl_parts.items()}

    primary, results = _read_scores(run, summary, records)
    return RunFiles(
        run_dir=run_dir,
        manifest=manifest,
        summary=summary,
        records=records,
        results=results,
        lines=lines,
        itl_ms=itl_ms,
        primary_scorer=primary,
        skipped_lines=skipped,
    )


def _read_scores(
    run: RunDir, summary: dict[str, Any], records: pd.DataFrame
) -> tuple[str | None, pd.DataFrame]:
    """The primary scorer's scores joined with their records' cell, item and axis values."""
    import pandas as pd

    wanted = [str(s) for s in summary.get("scorers") or []]
    by_scorer: dict[str, dict[str, list[Any]]] = {}
    for score in run.score_lines():
        if "trial_key" not in score:
            continue
        name = str(score.get("scorer", ""))
        cols = by_scorer.setdefault(
            name, {"trial_key": [], "result_index": [], "value": [], "outcome": [], "extracted": []}
        )
        cols["trial_key"].append(str(score["trial_key"]))
        cols["result_index"].append(int(score.get("result_index") or 0))
        value = score.get("value")
        cols["value"].append(float(value) if isinstance(value, int | float) else None)
        cols["outcome"].append(str(score.get("outcome", "")))
        cols["extracted"].append(score.get("extracted"))
    primary = next((name for name in wanted if name in by_scorer), None)
    if primary is None and by_scorer:
        primary = next(iter(by_scorer))
    empty: dict[str, list[Any]] = {
        "trial_key": [],
        "result_index": [],
        "value": [],
        "outcome": [],
        "extracted": [],
    }
    scores = pd.DataFrame(by_scorer.get(primary or "", empty))
    scores["value"] = pd.to_numeric(scores["value"], errors="coerce").astype(float)
    keep = ["trial_key", "cell_id", "item_id", "repeat", "status", "e2e_s", "cost_usd", "n_results"]
    keep += [c for c in records.columns if c.startswith(AXIS_PREFIX)]
    results = scores.merge(records[keep], on="trial_key", how="inner")
    return primary, results
