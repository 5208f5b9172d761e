"""Records and scores -> pandas DataFrames: one row per trial with its derived latencies, tokens and
cost (derived by harness.derived.add_derived, the one place for those formulas); one row per score;
one row per inter-token gap. Pure views: nothing here reads files or changes a record.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from harness.derived import METRIC_DEFINITIONS, TIMING_FIELDS, add_derived
from harness.records import Record, Score

__all__ = ["METRIC_DEFINITIONS", "itl_frame", "records_frame", "scores_frame"]

if TYPE_CHECKING:
    import pandas as pd

_TIMING_FIELDS = TIMING_FIELDS
_SCORE_COLUMNS = (
    "trial_key",
    "result_index",
    "scorer",
    "value",
    "outcome",
    "extracted",
    "explanation",
    "cell_id",
    "item_id",
    "repeat",
    "seed",
)


def _nan(value: float | None) -> float:
    return float("nan") if value is None else float(value)


def records_frame(records: Iterable[Record]) -> pd.DataFrame:
    """One row per trial (one API task) with derived latencies (see METRIC_DEFINITIONS).

    A task that returned N results is one row, so its latency and cost count once. Axis values of the
    grid cell are spread into `cell.<axis>` columns. Missing times and costs are NaN.
    """
    import numpy as np
    import pandas as pd

    cols: dict[str, list[Any]] = {
        name: []
        for name in (
            "trial_key", "cell_id", "item_id", "repeat", "seed", "target", "model", "delivery",
            "status", "error_kind", "error_message", "attempts", "retry_wait_s", "rate_limit_wait_s",
            "number_results", "n_results", "n_truncated", *_TIMING_FIELDS, "has_usage",
            "prompt_tokens", "completion_tokens", "thinking_tokens", "total_tokens",
            "client_completion_tokens", "cost_usd", "price_table_cost_usd", "n_itl",
        )
    }  # fmt: skip
    cells: list[dict[str, Any]] = []
    for r in records:
        t = r.timing
        u = r.usage
        cols["trial_key"].append(r.trial_key)
        cols["cell_id"].append(r.cell_id)
        cols["item_id"].append(r.item_id)
        cols["repeat"].append(r.repeat)
        cols["seed"].append(r.seed)
        cols["target"].append(r.target)
        cols["model"].append(r.model)
        cols["delivery"].append(r.delivery)
        cols["status"].append(r.status)
        cols["error_kind"].append(r.error.kind if r.error else None)
        cols["error_message"].append(r.error.message if r.error else None)
        cols["attempts"].append(r.attempts)
        cols["retry_wait_s"].append(r.retry_wait_s)
        cols["rate_limit_wait_s"].append(r.rate_limit_wait_s)
        cols["number_results"].append(r.number_results)
        cols["n_results"].append(len(r.results))
        cols["n_truncated"].append(sum(1 for x in r.results if x.finish_reason == "length"))
        for name in _TIMING_FIELDS:
            cols[name].append(_nan(getattr(t, name)))
        cols["has_usage"].append(u is not None)
        cols["prompt_tokens"].append(u.prompt_tokens if u else 0)
        cols["completion_tokens"].append(u.completion_tokens if u else 0)
        cols["thinking_tokens"].append(u.thinking_tokens if u else 0)
        cols["total_tokens"].append(u.total_tokens if u else 0)
        cols["client_completion_tokens"].append(_nan(r.client_completion_tokens))
        cols["cost_usd"].append(_nan(r.cost_usd))
        cols["price_table_cost_usd"].append(_nan(r.price_table_cost_usd))
        cols["n_itl"].append(len(r.itl_s) if r.itl_s else 0)
        cells.append(r.cell)

    df = pd.DataFrame(cols)
    for name in ("repeat", "attempts", "number_results", "n_results", "n_truncated", "n_itl",
                 "prompt_tokens", "completion_tokens", "thinking_tokens", "total_tokens"):  # fmt: skip
        df[name] = df[name].astype(np.int64)
    df["has_usage"] = df["has_usage"].astype(bool)
    for name in ("retry_wait_s", "rate_limit_wait_s", *_TIMING_FIELDS, "client_completion_tokens",
                 "cost_usd", "price_table_cost_usd"):  # fmt: skip
        df[name] = df[name].astype(np.float64)
    df["seed"] = df["seed"].astype("Int64")
    add_derived(df)
    axes: list[str] = []
    for cell in cells:
        axes.extend(a for a in cell if a not in axes)
    for axis in axes:
        df[f"cell.{axis}"] = pd.Series([c.get(axis) for c in cells], dtype=object, index=df.index)
    return df


def scores_frame(scores: Iterable[Score], records: Sequence[Record] | None = None) -> pd.DataFrame:
    """One row per score (trial, result, scorer); cell, item, repeat and seed filled from `records`
    when a score does not carry them."""
    import numpy as np
    import pandas as pd

    rows = [
        (s.trial_key, s.result_index, s.scorer, _nan(s.value), s.outcome, s.extracted, s.explanation,
         s.cell_id, s.item_id, s.repeat, None)
        for s in scores
    ]  # fmt: skip
    df = pd.DataFrame.from_records(rows, columns=list(_SCORE_COLUMNS))
    df["result_index"] = df["result_index"].astype(np.int64)
    df["repeat"] = df["repeat"].astype(np.int64)
    df["value"] = df["value"].astype(np.float64)
    if records:
        by_key = {r.trial_key: r for r in records}
        found = [by_key.get(k) for k in df["trial_key"]]
        df["seed"] = [r.seed if r else None for r in found]
        missing = df["cell_id"].eq("")
        if missing.any():
            df.loc[missing, "cell_id"] = [
                r.cell_id if r else "" for r, m in zip(found, missing, strict=True) if m
            ]
            df.loc[missing, "item_id"] = [
                r.item_id if r else "" for r, m in zip(found, missing, strict=True) if m
            ]
            df.loc[missing, "repeat"] = [
                r.repeat if r else 0 for r, m in zip(found, missing, strict=True) if m
            ]
    df["seed"] = df["seed"].astype("Int64")
    for name in ("trial_key", "scorer", "outcome", "cell_id", "item_id"):
        df[name] = df[name].astype(object)
    return df


def itl_frame(records: Iterable[Record]) -> pd.DataFrame:
    """One row per inter-token gap of a streamed trial: trial_key, cell_id, gap_index, itl_s."""
    import numpy as np
    import pandas as pd

    keys: list[str] = []
    cells: list[str] = []
    lengths: list[int] = []
    gaps: list[float] = []
    for r in records:
        if r.itl_s:
            keys.append(r.trial_key)
            cells.append(r.cell_id)
            lengths.append(len(r.itl_s))
            gaps.extend(r.itl_s)
    counts = np.asarray(lengths, dtype=np.int64)
    starts = np.repeat(np.cumsum(counts) - counts, counts)
    return pd.DataFrame(
        {
            "trial_key": pd.Series(np.repeat(np.asarray(keys, dtype=object), counts), dtype=object),
            "cell_id": pd.Series(np.repeat(np.asarray(cells, dtype=object), counts), dtype=object),
            "gap_index": np.arange(int(counts.sum()), dtype=np.int64) - starts,
            "itl_s": np.asarray(gaps, dtype=np.float64),
        }
    )
