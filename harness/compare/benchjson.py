"""Latency statistics of a run in pytest-benchmark's JSON format (`--benchmark-json`), so tools that
chart pytest-benchmark history (github-action-benchmark's `pytest` tool, pytest-benchmark compare)
can follow p50/p95 across commits. Owns the format mapping only; it reads a loaded RunSide.

Each benchmark entry is one statistic of one cell, e.g. `smoke::p95_latency_s[temperature=0.6]`:
`stats.mean` and `stats.median` hold that percentile in seconds, `stats.ops` its inverse (what
github-action-benchmark charts, bigger is better), and the spread fields (min, max, q1, q3, stddev)
describe the percentile's bootstrap distribution, so `stddev` is its standard error.
"""

from __future__ import annotations

import platform
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from harness.compare.load import RunSide

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

RESAMPLES = 1000
SEED = 0
_CHUNK_CELLS = 4_000_000
STATISTICS: tuple[tuple[str, str, float], ...] = (
    ("p50_latency_s", "e2e", 0.50),
    ("p95_latency_s", "e2e", 0.95),
    ("p50_ttft_s", "ttft", 0.50),
    ("p95_ttft_s", "ttft", 0.95),
)


def benchmark_json(side: RunSide) -> dict[str, Any]:
    """The pytest-benchmark document for one run (normally the current one)."""
    import numpy as np

    suite = side.suite_name or "suite"
    manifest = side.manifest or {}
    benchmarks: list[dict[str, Any]] = []
    for cell_id in side.cell_ids():
        rows = [row for key, row in side.trials.items() if key[0] == cell_id and row.ok]
        samples = {
            "e2e": np.asarray([r.latency_s for r in rows if r.latency_s is not None], dtype=np.float64),
            "ttft": np.asarray([r.ttft_s for r in rows if r.ttft_s is not None], dtype=np.float64),
        }
        axes = _cell_axes(side, cell_id)
        for metric, source, q in STATISTICS:
            data = np.sort(samples[source])
            if data.size == 0:
                continue
            benchmarks.append(_entry(suite, cell_id, axes, metric, q, data))
    return {
        "machine_info": _machine_info(manifest),
        "commit_info": _commit_info(manifest),
        "benchmarks": benchmarks,
        "datetime": manifest.get("ended_at") or manifest.get("started_at"),
        "version": f"qwen-harness {manifest.get('harness_version') or _version()}",
    }


def write_benchmark_json(side: RunSide, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(orjson.dumps(benchmark_json(side), option=orjson.OPT_INDENT_2) + b"\n")


def _entry(
    suite: str, cell_id: str, axes: Mapping[str, Any], metric: str, q: float, data: npt.NDArray[np.float64]
) -> dict[str, Any]:
    import numpy as np

    point = float(np.quantile(data, q))
    dist = _bootstrap_quantile(data, q)
    q1, q3 = (float(v) for v in np.quantile(dist, [0.25, 0.75]))
    iqr = q3 - q1
    low_fence, high_fence = q1 - 1.5 * iqr, q3 + 1.5 * iqr
    inside = dist[(dist >= low_fence) & (dist <= high_fence)]
    name = f"{metric}[{cell_id}]"
    return {
        "group": f"{suite}: {metric}",
        "name": name,
        "fullname": f"{suite}::{name}",
        "params": {"cell": cell_id},
        "param": cell_id,
        "extra_info": {
            "unit": "s",
            "statistic": metric,
            "quantile": q,
            "cell": dict(axes),
            "samples": int(data.size),
            "ci95": [float(v) for v in np.quantile(dist, [0.025, 0.975])],
            "percentiles_s": {f"p{p}": float(np.quantile(data, p / 100)) for p in (50, 90, 95, 99)},
            "note": "mean/median = the percentile; spread fields = its bootstrap distribution",
        },
        "options": {
            "disable_gc": False,
            "timer": "harness-run-clock",
            "min_rounds": int(data.size),
            "max_time": 0.0,
            "min_time": 0.0,
            "warmup": False,
        },
        "stats": {
            "min": float(dist[0]),
            "max": float(dist[-1]),
            "mean": point,
            "stddev": float(np.std(dist, ddof=1)) if dist.size > 1 else 0.0,
            "rounds": int(data.size),
            "median": point,
            "iqr": iqr,
            "q1": q1,
            "q3": q3,
            "iqr_outliers": int(dist.size - inside.size),
            "stddev_outliers": 0,
            "outliers": f"0;{int(dist.size - inside.size)}",
            "ld15iqr": float(inside[0]) if inside.size else float(dist[0]),
            "hd15iqr": float(inside[-1]) if inside.size else float(dist[-1]),
            "ops": 1.0 / point if point > 0 else 0.0,
            "total": float(data.sum()),
            "iterations": 1,
        },
    }


def _bootstrap_quantile(data: npt.NDArray[np.float64], q: float) -> npt.NDArray[np.float64]:
    """Sorted bootstrap distribution of the q-quantile, drawn in chunks of bounded memory."""
    import numpy as np

    rng = np.random.default_rng(SEED)
    out = np.empty(RESAMPLES, dtype=np.float64)
    rows = max(1, _CHUNK_CELLS // data.size)
    for start in range(0, RESAMPLES, rows):
        stop = min(RESAMPLES, start + rows)
        out[start:stop] = np.quantile(
            data[rng.integers(0, data.size, size=(stop - start, data.size))], q, axis=1
        )
    out.sort()
    return out


def _cell_axes(side: RunSide, cell_id: str) -> Mapping[str, Any]:
    cell = side.summary_cell(cell_id)
    return cell.cell if cell is not None else {}


def _machine_info(manifest: Mapping[str, Any]) -> dict[str, Any]:
    machine = manifest.get("machine")
    info: dict[str, Any] = {
        "node": platform.node(),
        "processor": platform.processor(),
        "machine": platform.machine(),
        "python_implementation": platform.python_implementation(),
        "python_version": platform.python_version(),
        "release": platform.release(),
        "system": platform.system(),
    }
    if isinstance(machine, Mapping):
        info.update({str(k): v for k, v in machine.items()})
    info["targets"] = sorted((manifest.get("targets") or {}).keys())
    return info


def _commit_info(manifest: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "id": manifest.get("git_commit") or "unversioned",
        "time": manifest.get("started_at"),
        "author_time": None,
        "dirty": False,
        "project": "qwen-harness",
        "branch": "(unknown)",
    }


def _version() -> str:
    from harness import __version__

    return __version__
