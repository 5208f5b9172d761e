"""Loading a run for a notebook: `load_run(run_dir) -> RunData` (records and scores as DataFrames,
summary, manifest) and `export_parquet(run_dir)`. Everything is read through harness.rundir.RunDir
(each trial's latest record); it never writes records or scores, only the Parquet copies.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from harness.errors import StoreError
from harness.records import Record, Score
from harness.rundir import RunDir, layout, summary_to_json

if TYPE_CHECKING:
    import pandas as pd


@dataclass(slots=True)
class RunData:
    """A run directory as DataFrames: `records` one row per trial (stats.frames.records_frame),
    `scores` one row per score, `itl` one row per inter-token gap; `summary` is summary.json (computed
    when the file is absent), `manifest` is manifest.json ({} when absent)."""

    run_dir: Path
    records: pd.DataFrame
    scores: pd.DataFrame
    itl: pd.DataFrame
    summary: dict[str, Any]
    manifest: dict[str, Any]


def read_run_records(run_dir: Path | str) -> list[Record]:
    """Each trial's latest record in a run directory ([] without records)."""
    return RunDir(run_dir).records()


def read_run_scores(run_dir: Path | str) -> list[Score]:
    """The scores of a run directory ([] when it has not been scored)."""
    return RunDir(run_dir).scores()


def load_run(run_dir: Path | str) -> RunData:
    """Load a run directory for analysis; summary.json is read, or computed when missing."""
    from harness.stats.frames import itl_frame, records_frame, scores_frame
    from harness.stats.summary import summarize

    run = RunDir(run_dir)
    if not run.path.is_dir():
        raise StoreError(f"{run.path}: not a directory; pass a run directory (it holds {layout.RECORDS})")
    records = run.records()
    scores = run.scores()
    manifest = run.manifest().to_dict() if run.has_manifest() else {}
    summary = (
        summary_to_json(run.summary()) if run.has_summary() else summarize(records, scores, manifest=manifest)
    )
    return RunData(
        run_dir=run.path,
        records=records_frame(records),
        scores=scores_frame(scores, records),
        itl=itl_frame(records),
        summary=summary,
        manifest=manifest,
    )


def _parquet_table(frame: pd.DataFrame) -> Any:
    """An Arrow table of the frame: an object column mixing types (an axis of numbers and strings)
    becomes canonical JSON text, so nothing is silently coerced."""
    import pyarrow as pa

    out = frame.copy()
    for name in out.columns:
        if out[name].dtype != object:
            continue
        try:
            pa.array(out[name], from_pandas=True)
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            out[name] = [None if v is None else orjson.dumps(v, option=orjson.OPT_SORT_KEYS).decode()
                         for v in out[name]]  # fmt: skip
    return pa.Table.from_pandas(out, preserve_index=False)


def export_parquet(run_dir: Path | str) -> tuple[Path, Path]:
    """Write records.parquet and scores.parquet (the load_run frames) into the run directory."""
    import pyarrow.parquet as pq

    from harness.stats.frames import records_frame, scores_frame

    run = RunDir(run_dir)
    records = run.records()
    scores = run.scores()
    targets = run.parquet_paths()
    frames = (records_frame(records), scores_frame(scores, records))
    for target, frame in zip(targets, frames, strict=True):
        pq.write_table(_parquet_table(frame), target)
    return targets
