"""`summarize(records, scores, *, manifest) -> dict`: the summary.json of a run (schema in
docs/architecture.md), per cell and overall. Pure and deterministic: it reads nothing from disk, sends
nothing, and gives the same output for the same records and scores in any order.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from harness.records import Record, Score
from harness.stats.cells import SEED_AXIS, CellOrder, pool_id, swept_axes
from harness.stats.ci import mean_stat
from harness.stats.multisample import MULTI_SAMPLE_METRICS, pool_metrics
from harness.stats.paired import apply_holm, compare_cells, comparison_pairs, item_matrix, main_effects
from harness.stats.percentiles import percentiles

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt
    import pandas as pd

SUMMARY_SCHEMA_VERSION = 1
OVERALL_CELL_ID = "overall"
DEFAULT_COST_TOLERANCE = 0.05
OUTCOMES = ("correct", "wrong", "no_answer", "truncated", "error", "invalid")
_LATENCIES = ("e2e_s", "ttft_s", "ttft_answer_s", "output_tps", "e2e_from_schedule_s", "queue_s")
_NULL_WHEN_EMPTY = {"ttft_s", "ttft_answer_s", "itl_s", "output_tps"}


def scorer_names(scores: pd.DataFrame, manifest: Mapping[str, Any] | None) -> list[str]:
    """Scorers in the suite's order (metric name, else scorer name), then any others by first use."""
    present = list(dict.fromkeys(scores["scorer"]))
    suite = (manifest or {}).get("suite")
    declared: list[str] = []
    if isinstance(suite, Mapping):
        for spec in suite.get("scorers") or []:
            if isinstance(spec, Mapping):
                declared.extend(str(spec[k]) for k in ("metric", "name") if spec.get(k))
            elif isinstance(spec, str):
                declared.append(spec)
    ordered = [n for n in dict.fromkeys(declared) if n in present]
    return ordered + [n for n in present if n not in ordered]


def _samples(records_df: pd.DataFrame, scores_df: pd.DataFrame, scorer: str) -> pd.DataFrame:
    """One row per scored result of `scorer`, joined to its record; a failed trial the scorer never
    saw counts as one `error` sample (value 0), as the scorers' own error_score does."""
    import numpy as np
    import pandas as pd

    from harness.stats.paired import sample_values

    mine = scores_df[scores_df["scorer"] == scorer][
        ["trial_key", "result_index", "value", "outcome", "extracted"]
    ]
    meta = records_df[["trial_key", "cell_id", "item_id", "seed", "repeat", "status"]]
    joined = mine.merge(meta, on="trial_key", how="inner")
    unseen = meta[(meta["status"] == "error") & ~meta["trial_key"].isin(mine["trial_key"])]
    if len(unseen):
        extra = unseen.assign(result_index=0, value=0.0, outcome="error", extracted=None)
        joined = pd.concat([joined, extra[joined.columns]], ignore_index=True)
    joined["value"] = sample_values(joined).astype(np.float64)
    joined["seed"] = joined["seed"].astype("Int64").fillna(-1).astype(np.int64)
    return joined.sort_values(["cell_id", "item_id", "seed", "repeat", "result_index", "trial_key"],
                              kind="stable").reset_index(drop=True)  # fmt: skip


def _pct(values: npt.NDArray[np.float64], name: str) -> dict[str, Any] | None:
    out = percentiles(values)
    return None if out["n"] == 0 and name in _NULL_WHEN_EMPTY else out


def _sum_or_none(values: npt.NDArray[np.float64]) -> float | None:
    import numpy as np

    finite = values[~np.isnan(values)]
    return float(np.sort(finite).sum()) if finite.size else None


def _cost_mismatch(
    service: npt.NDArray[np.float64], table: npt.NDArray[np.float64], tolerance: float
) -> bool:
    """True when, over trials priced both ways, the service's total differs from the price table's
    by more than `tolerance` (relative to the price table)."""
    import numpy as np

    both = ~(np.isnan(service) | np.isnan(table))
    if not both.any():
        return False
    s = float(np.sort(service[both]).sum())
    t = float(np.sort(table[both]).sum())
    if t == 0.0:
        return s != 0.0
    return abs(s - t) > tolerance * t


# Record columns a cell block needs, sliced per cell as numpy arrays (slicing a wide DataFrame per
# cell costs more than the statistics themselves on grids of a thousand cells).
_RECORD_ARRAYS = (
    *_LATENCIES, "has_usage", "prompt_tokens", "completion_tokens", "thinking_tokens", "effective_cost_usd",
    "cost_usd", "price_table_cost_usd", "retries", "n_truncated", "rate_limit_wait_s", "retry_wait_s",
    "n_results",
)  # fmt: skip
Arrays = dict[str, "npt.NDArray[Any]"]


def _record_arrays(records_df: pd.DataFrame, item_codes: Mapping[str, int]) -> Arrays:
    import numpy as np

    arrays: Arrays = {name: records_df[name].to_numpy() for name in _RECORD_ARRAYS}
    arrays["ok"] = (records_df["status"] == "ok").to_numpy(dtype=bool)
    kinds = records_df["error_kind"].astype(object)
    arrays["error_kind"] = kinds.where(kinds.notna(), None).to_numpy(dtype=object)
    arrays["item"] = np.asarray([item_codes[i] for i in records_df["item_id"]], dtype=np.int64)
    return arrays


def _sample_arrays(samples: pd.DataFrame, item_codes: Mapping[str, int]) -> Arrays:
    import numpy as np

    return {
        "value": samples["value"].to_numpy(dtype=np.float64),
        "outcome": samples["outcome"].to_numpy(dtype=object),
        "item": np.asarray([item_codes[i] for i in samples["item_id"]], dtype=np.int64),
    }


def _take(arrays: Arrays, positions: Any) -> Arrays:
    """Rows `positions` (group indices, or None for none) of every column."""
    import numpy as np

    index = np.empty(0, dtype=np.intp) if positions is None else np.asarray(positions, dtype=np.intp)
    return {name: column[index] for name, column in arrays.items()}


def _metrics_block(
    samples_by_scorer: Mapping[str, Arrays], primary: str | None
) -> tuple[dict[str, Any], dict[str, int], int]:
    metrics: dict[str, Any] = {}
    outcomes = dict.fromkeys(OUTCOMES, 0)
    n_correct = 0
    for name, rows in samples_by_scorer.items():
        stat = mean_stat(rows["value"], rows["item"]).to_dict()
        metrics[f"score:{name}"] = stat
        if name == primary:
            metrics = {"accuracy": stat, **metrics}
            counts = Counter(rows["outcome"].tolist())
            outcomes.update({o: int(counts.get(o, 0)) for o in OUTCOMES})
            n_correct = outcomes["correct"]
    return metrics, outcomes, n_correct


def _cell_block(
    cell_id: str,
    cell: Mapping[str, Any],
    rec: Arrays,
    gaps: npt.NDArray[np.float64],
    metrics: dict[str, Any],
    outcomes: dict[str, int],
    n_correct: int,
    cost_tolerance: float,
) -> dict[str, Any]:
    import numpy as np

    ok = rec["ok"]
    n_trials = int(ok.size)
    n_ok = int(ok.sum())
    n_error = n_trials - n_ok
    latency: dict[str, Any] = {}
    for name in _LATENCIES:
        latency[name] = _pct(rec[name][ok].astype(np.float64), name)
    latency["itl_s"] = _pct(gaps, "itl_s")
    latency = {k: latency[k] for k in ("e2e_s", "ttft_s", "ttft_answer_s", "itl_s", "output_tps",
                                       "e2e_from_schedule_s", "queue_s")}  # fmt: skip
    with_usage = int(rec["has_usage"].sum())
    tokens: dict[str, float | int] = {
        "prompt": int(rec["prompt_tokens"].sum()),
        "completion": int(rec["completion_tokens"].sum()),
        "thinking": int(rec["thinking_tokens"].sum()),
    }
    for key in ("prompt", "completion", "thinking"):
        tokens[f"per_trial_{key}"] = tokens[key] / with_usage if with_usage else 0.0
    total = float(np.sort(rec["effective_cost_usd"].astype(np.float64)).sum())
    service = rec["cost_usd"].astype(np.float64)
    table = rec["price_table_cost_usd"].astype(np.float64)
    kinds = Counter(str(k) for k in rec["error_kind"][~ok] if k is not None)
    return {
        "cell_id": cell_id,
        "cell": dict(cell),
        "n_trials": n_trials,
        "n_ok": n_ok,
        "n_error": n_error,
        "n_results": int(rec["n_results"].sum()),
        "n_items": int(np.unique(rec["item"]).size),
        "metrics": metrics,
        "outcomes": outcomes,
        "latency": latency,
        "tokens": tokens,
        "cost": {
            "total_usd": total,
            "per_trial_usd": total / n_trials if n_trials else None,
            "per_correct_usd": total / n_correct if n_correct else None,
            "service_usd": _sum_or_none(service),
            "price_table_usd": _sum_or_none(table),
            "mismatch": _cost_mismatch(service, table, cost_tolerance),
        },
        "errors": {
            "count": n_error,
            "rate": n_error / n_trials if n_trials else 0.0,
            "by_kind": dict(sorted(kinds.items())),
            "retries": int(rec["retries"].sum()),
            "truncations": int(rec["n_truncated"].sum()),
            "rate_limit_wait_s": float(np.sort(rec["rate_limit_wait_s"].astype(np.float64)).sum()),
            "retry_wait_s": float(np.sort(rec["retry_wait_s"].astype(np.float64)).sum()),
        },
    }


def _pooled_over(rec: pd.DataFrame, n_cells: int) -> list[str]:
    """What made several samples of one item in this pool: numberResults, repeats, the seed axis."""
    pooled = []
    if (rec["number_results"] > 1).any():
        pooled.append("numberResults")
    if rec.groupby(["cell_id", "item_id"])["repeat"].nunique().gt(1).any():
        pooled.append("repeat")
    if n_cells > 1:
        pooled.append(SEED_AXIS)
    return pooled


def _achieved_rps(records_df: pd.DataFrame) -> float | None:
    import numpy as np

    sends = records_df["first_sent_at_s"].fillna(records_df["sent_at_s"]).to_numpy(dtype=np.float64)
    sends = sends[~np.isnan(sends)]
    if sends.size < 2 or float(sends.max() - sends.min()) <= 0.0:
        return None
    return float((sends.size - 1) / (sends.max() - sends.min()))


def _json_safe(value: Any) -> Any:
    """Plain JSON values only: numpy scalars unwrapped, NaN and infinities as null."""
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if hasattr(value, "item") and not isinstance(value, int | float):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def summarize(
    records: Sequence[Record],
    scores: Sequence[Score],
    *,
    manifest: Mapping[str, Any] | None,
    cost_tolerance: float = DEFAULT_COST_TOLERANCE,
) -> dict[str, Any]:
    """summary.json of a run: per cell and overall, comparisons between cells, main effects, rate, cost.

    Latency percentiles use successful trials only; a trial with N results counts its latency, tokens
    and cost once. Accuracy counts no_answer, truncated and error as 0 and leaves `invalid` out.
    Multi-sample metrics appear when an item has several samples in a cell's pool (the cell and the
    cells that differ from it only in `seed`); each of those STATs carries its `k` and `pooled_over`.
    Comparisons are every pair of cells for up to 10 cells, else each cell against the first and the
    best cell (see paired.comparison_pairs).
    """
    import numpy as np

    from harness.stats.frames import itl_frame, records_frame, scores_frame

    if cost_tolerance < 0.0 or math.isnan(cost_tolerance):
        raise ValueError(f"cost_tolerance must be >= 0, got {cost_tolerance!r}")
    records_df = records_frame(records)
    scores_df = scores_frame(scores)
    gaps_df = itl_frame(r for r in records if r.status == "ok")
    names = scorer_names(scores_df, manifest)
    primary = names[0] if names else None
    samples = {name: _samples(records_df, scores_df, name) for name in names}

    cells: dict[str, dict[str, Any]] = {}
    for r in records:
        cells.setdefault(r.cell_id, r.cell)
    order = CellOrder(cells, manifest)
    cell_ids = order.sort(cells)
    rec_pos = records_df.groupby("cell_id", sort=True).indices
    gap_pos = gaps_df.groupby("cell_id", sort=True).indices
    gap_values = gaps_df["itl_s"].to_numpy(dtype=np.float64)
    sample_pos = {n: s.groupby("cell_id", sort=True).indices for n, s in samples.items()}

    pool_of = {cid: pool_id(cells[cid]) for cid in cell_ids}
    pools: dict[str, list[str]] = {}
    for cid in cell_ids:
        pools.setdefault(pool_of[cid], []).append(cid)
    pool_stats: dict[str, dict[str, dict[str, Any]]] = {}
    if primary is not None:
        prim = samples[primary]
        pool_pos = prim.groupby(prim["cell_id"].map(pool_of), sort=True).indices
        for pid, members in pools.items():
            if pid not in pool_pos:
                continue
            stats = pool_metrics(prim.iloc[pool_pos[pid]])
            if stats:
                member_rows = np.concatenate([rec_pos[c] for c in members])
                pooled = _pooled_over(records_df.iloc[member_rows], len(members))
                for stat in stats.values():
                    stat["pooled_over"] = pooled
            pool_stats[pid] = stats

    item_codes = {item: code for code, item in enumerate(sorted(set(records_df["item_id"])))}
    rec_arrays = _record_arrays(records_df, item_codes)
    sample_arrays = {n: _sample_arrays(s, item_codes) for n, s in samples.items()}
    out_cells = []
    for cid in cell_ids:
        cell_samples = {n: _take(a, sample_pos[n].get(cid)) for n, a in sample_arrays.items()}
        metrics, outcomes, n_correct = _metrics_block(cell_samples, primary)
        for name in MULTI_SAMPLE_METRICS:
            if name in pool_stats.get(pool_of[cid], {}):
                metrics[name] = pool_stats[pool_of[cid]][name]
        rec = _take(rec_arrays, rec_pos[cid])
        gaps = gap_values[gap_pos[cid]] if cid in gap_pos else np.empty(0)
        out_cells.append(
            _cell_block(cid, cells[cid], rec, gaps, metrics, outcomes, n_correct, cost_tolerance)
        )

    metrics, outcomes, n_correct = _metrics_block(sample_arrays, primary)
    overall = _cell_block(
        OVERALL_CELL_ID, {}, rec_arrays, gap_values, metrics, outcomes, n_correct, cost_tolerance
    )

    comparisons: list[dict[str, Any]] = []
    effects: dict[str, list[dict[str, Any]]] = {}
    axes = swept_axes(cells.values(), order)
    if primary is not None and len(cell_ids) > 1:
        prim = samples[primary]
        matrix = item_matrix(prim)
        binary = bool(np.isin(prim["value"].dropna().to_numpy(), (0.0, 1.0)).all())
        scored = [c for c in cell_ids if c in matrix.columns]
        means = {c["cell_id"]: c["metrics"]["accuracy"]["mean"] for c in out_cells}
        ranked = [c for c in scored if means.get(c) is not None]
        best = max(ranked, key=lambda c: (means[c], -scored.index(c))) if ranked else None
        comparisons = [compare_cells(matrix, a, b, binary=binary) for a, b in comparison_pairs(scored, best)]
        apply_holm(comparisons)
        effects = main_effects(prim, cells, axes, value_order=order.value_key)

    manifest = manifest or {}
    suite = manifest.get("suite")
    target_rps = manifest.get("target_rps")
    achieved = manifest.get("achieved_rps")
    summary = {
        "schema_version": SUMMARY_SCHEMA_VERSION,
        "suite": suite.get("name") if isinstance(suite, Mapping) else None,
        "primary_metric": "accuracy",
        "scorers": names,
        "swept_axes": axes,
        "overall": overall,
        "cells": out_cells,
        "comparisons": comparisons,
        "main_effects": effects,
        "rate": {
            "target_rps": target_rps,
            "achieved_rps": achieved if achieved is not None else _achieved_rps(records_df),
        },
        "cost": {k: overall["cost"][k] for k in ("total_usd", "service_usd", "price_table_usd", "mismatch")},
    }
    from harness.stats.load import load_summary  # the optional "load" key: load sweeps only

    load = load_summary(records, manifest)
    if load is not None:
        summary["load"] = load
    result: dict[str, Any] = _json_safe(summary)
    return result
