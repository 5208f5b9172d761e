"""Reads a run directory (manifest.json, summary.json, records.jsonl, scores.jsonl) into the compact
frames the report needs. Owns reading only: it never writes, re-scores or summarises.

Records come from harness.store.read_latest_lines (each trial's latest record, parsed once with orjson)
into one row each; their texts are not kept, only each line's bytes, so the items drill-down can
re-read the few records it shows without a second pass over a 100,000-line file.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import orjson

from harness.stats.run import read_json

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

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


def iter_jsonl(path: Path) -> Iterator[tuple[int, bytes, dict[str, Any] | None]]:
    """(line number, raw bytes, parsed object or None when the line is torn or not an object)."""
    if not path.exists():
        return
    with path.open("rb") as handle:
        for number, line in enumerate(handle):
            raw = line.rstrip(b"\r\n")
            if not raw.strip():
                continue
            try:
                obj = orjson.loads(raw)
            except orjson.JSONDecodeError:
                yield number, raw, None
                continue
            yield number, raw, obj if isinstance(obj, dict) else None


def _diff(end: Any, start: Any) -> float | None:
    if isinstance(end, int | float) and isinstance(start, int | float):
        return float(end) - float(start)
    return None


def axis_key(value: Any) -> Any:
    """Grid values as hashable, comparable keys (lists become JSON text)."""
    if isinstance(value, list | dict):
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()
    return value


def load_run_files(run_dir: Path, *, summary: dict[str, Any] | None = None) -> RunFiles:
    """Read a run directory. `summary` replaces summary.json when the caller has just computed it."""
    import numpy as np
    import pandas as pd

    manifest = read_json(run_dir / "manifest.json")
    if summary is None:
        summary = read_json(run_dir / "summary.json")
    axes = [str(a) for a in summary.get("swept_axes") or []]

    columns: dict[str, list[Any]] = {
        name: []
        for name in (
            "line",
            "trial_key",
            "cell_id",
            "item_id",
            "repeat",
            "status",
            "scheduled_s",
            "sent_s",
            "done_s",
            "e2e_s",
            "ttft_s",
            "cost_usd",
            "error_kind",
            "attempts",
            "n_results",
        )
    }
    for axis in axes:
        columns[AXIS_PREFIX + axis] = []
    lines: list[bytes] = []
    itl_parts: dict[str, list[np.ndarray]] = {}
    from harness.store import RECORDS, read_latest_lines

    latest, torn = read_latest_lines(run_dir) if (run_dir / RECORDS).exists() else ([], None)
    skipped = 0 if torn is None else 1
    for raw, rec in latest:
        timing = rec.get("timing") or {}
        cell = rec.get("cell") or {}
        cell_id = str(rec.get("cell_id", ""))
        error = rec.get("error") or {}
        cost = rec.get("cost_usd")
        if cost is None:
            cost = rec.get("price_table_cost_usd")
        columns["line"].append(len(lines))
        lines.append(raw)
        columns["trial_key"].append(str(rec["trial_key"]))
        columns["cell_id"].append(cell_id)
        columns["item_id"].append(str(rec.get("item_id", "")))
        columns["repeat"].append(int(rec.get("repeat") or 0))
        columns["status"].append(str(rec.get("status", "")))
        columns["scheduled_s"].append(timing.get("scheduled_at_s"))
        columns["sent_s"].append(timing.get("sent_at_s"))
        columns["done_s"].append(timing.get("done_at_s"))
        columns["e2e_s"].append(_diff(timing.get("done_at_s"), timing.get("sent_at_s")))
        columns["ttft_s"].append(_diff(timing.get("first_token_at_s"), timing.get("sent_at_s")))
        columns["cost_usd"].append(cost)
        columns["error_kind"].append(error.get("kind") if rec.get("status") == "error" else None)
        columns["attempts"].append(int(rec.get("attempts") or 1))
        columns["n_results"].append(len(rec.get("results") or []))
        for axis in axes:
            columns[AXIS_PREFIX + axis].append(axis_key(cell.get(axis)))
        gaps = rec.get("itl_s")
        if gaps:
            step = max(1, -(-len(gaps) // ITL_SAMPLES_PER_RECORD))
            itl_parts.setdefault(cell_id, []).append(np.asarray(gaps[::step], dtype=float) * 1000.0)
    records = pd.DataFrame(columns)
    for name in ("scheduled_s", "sent_s", "done_s", "e2e_s", "ttft_s", "cost_usd"):
        records[name] = pd.to_numeric(records[name], errors="coerce").astype(float)
    itl_ms = {cell: np.concatenate(parts) for cell, parts in itl_parts.items()}

    primary, results = _read_scores(run_dir / "scores.jsonl", summary, records)
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
    path: Path, summary: dict[str, Any], records: pd.DataFrame
) -> tuple[str | None, pd.DataFrame]:
    """The primary scorer's scores joined with their records' cell, item and axis values."""
    import pandas as pd

    wanted = [str(s) for s in summary.get("scorers") or []]
    by_scorer: dict[str, dict[str, list[Any]]] = {}
    for _, _, score in iter_jsonl(path):
        if score is None or "trial_key" not in score:
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
