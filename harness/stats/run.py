"""Notebook access to a run directory: `load_run(run_dir) -> RunData` (records and scores as
DataFrames, summary, manifest) and `export_parquet(run_dir)`. Records come from harness.store (each
trial's latest record); it never writes records or scores, only the Parquet copies.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from harness.errors import StoreError
from harness.records import Record, Score

if TYPE_CHECKING:
    import pandas as pd

MANIFEST_FILE = "manifest.json"
RECORDS_FILE = "records.jsonl"
SUMMARY_FILE = "summary.json"


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
    """Each trial's latest record in a run directory (harness.store.read_records; [] without records)."""
    from harness.store import read_records

    path = Path(run_dir)
    return read_records(path) if (path / RECORDS_FILE).exists() else []


def read_run_scores(run_dir: Path | str) -> list[Score]:
    """The scores of a run directory (harness.scoring.read_scores; [] when it has not been scored)."""
    from harness.scoring.apply import read_scores

    return read_scores(Path(run_dir))


def read_json(path: Path, role: str = "") -> dict[str, Any]:
    """A run directory's JSON object file (manifest.json, summary.json); a StoreError when it is missing,
    not JSON or not an object. `role` ("baseline", "current") starts each message."""
    where = f"{role} {path}" if role else str(path)
    try:
        data = orjson.loads(path.read_bytes())
    except FileNotFoundError as exc:
        raise StoreError(f"{where}: not found; is this a run directory?") from exc
    except orjson.JSONDecodeError as exc:
        raise StoreError(f"{where}: not valid JSON ({exc})") from exc
    if not isinstance(data, dict):
        raise StoreError(f"{where}: expected a JSON object, found {type(data).__name__}")
    return data


def _read_optional_json(path: Path) -> dict[str, Any] | None:
    return read_json(path) if path.exists() else None


def load_run(run_dir: Path | str) -> RunData:
    """Load a run directory for analysis; summary.json is read, or computed when missing."""
    from harness.stats.frames import itl_frame, records_frame, scores_frame
    from harness.stats.summary import summarize

    path = Path(run_dir)
    if not path.is_dir():
        raise StoreError(f"{path}: not a directory; pass a run directory (it holds {RECORDS_FILE})")
    records = read_run_records(path)
    scores = read_run_scores(path)
    manifest = _read_optional_json(path / MANIFEST_FILE) or {}
    summary = _read_optional_json(path / SUMMARY_FILE)
    if summary is None:
        summary = summarize(records, scores, manifest=manifest)
    return RunData(
        run_dir=path,
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

    path = Path(run_dir)
    records = read_run_records(path)
    scores = read_run_scores(path)
    targets = (path / "records.parquet", path / "scores.parquet")
    frames = (records_frame(records), scores_frame(scores, records))
    for target, frame in zip(targets, frames, strict=True):
        pq.write_table(_parquet_table(frame), target)
    return targets
