"""Load sweeps, the running half: each load point of `harness.loadsweep` is one engine invocation (a
phase) over its own trials, so one point's queue never leaks into the next. Owns the order of the
phases, the sweep profile's rates, early stopping at saturation and the manifest's `load` block (points,
rates, per-phase client CPU and wall time). It sends nothing itself and computes statistics only through
`harness.stats.load`.

Resume: calling it again with the same run directory re-runs each phase with the engine's resume
(phases already on disk send nothing); the sweep's rates are kept in the manifest, so a resumed sweep
uses the rates its first session chose.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from harness.config import RunConfig, TargetConfig
from harness.errors import ConfigError
from harness.loadsweep import (
    LoadConfig,
    LoadPoint,
    SloConfig,
    closed_point,
    fixed_points,
    open_point,
    point_trials,
    sweep_rates,
    throughput_point,
)
from harness.progress import BaseObserver, Observer
from harness.records import Trial
from harness.runner.engine import RunResult, run_trials
from harness.runner.manifest import plan_size
from harness.store import MANIFEST, read_manifest, read_records, write_manifest

__all__ = ["check_load", "run_load_phases"]


def check_load(load: LoadConfig, n_trials: int, *, file: str | None = None) -> int:
    """Requests per point; ConfigError (before anything is sent) when warm-up and cool-down leave
    nothing to measure."""
    n = load.requests or n_trials
    if load.warmup + load.cooldown >= n:
        raise ConfigError(
            f"warmup ({load.warmup}) + cooldown ({load.cooldown}) leave none of the {n} requests per load "
            "point to measure",
            file=file,
            field="load.warmup",
            allowed=f"warmup + cooldown < {n} (load.requests, default: the plan's trials)",
        )
    return n


def _phase_run(run: RunConfig, point: LoadPoint, load: LoadConfig, n: int) -> RunConfig:
    update: dict[str, Any] = {"adaptive_concurrency": False}  # a point's offered load must not move
    if point.kind == "rate":
        update |= {
            "rate_rps": point.rate_rps,
            "arrival": point.arrival,
            "burstiness": load.burstiness,
            "concurrency": load.max_concurrency,
        }
    else:
        concurrency = min(load.max_concurrency, n) if point.kind == "throughput" else point.concurrency
        update |= {"rate_rps": None, "concurrency": concurrency}
    return run.model_copy(update=update)


async def run_load_phases(
    trials: Sequence[Trial],
    targets: Mapping[str, TargetConfig],
    run: RunConfig,
    run_dir: Path,
    load: LoadConfig,
    *,
    slo: SloConfig | None = None,
    observer: Observer | None = None,
    manifest: dict[str, Any] | None = None,
    embedded_simulator: bool = False,
) -> RunResult:
    """Run every load point as its own phase and return the sweep's totals (status of the last
    phase; counts summed over the phases of this session)."""
    from harness.stats.load import point_stats

    observer = observer or BaseObserver()
    run_dir = Path(run_dir)
    n = check_load(load, len(trials))
    prior = read_manifest(run_dir) if (run_dir / MANIFEST).exists() else {}
    found = prior.get("load")
    prior_block: Mapping[str, Any] = found if isinstance(found, Mapping) else {}
    block: dict[str, Any] = {
        "points": [],
        "phases": dict(prior_block.get("phases") or {}),
        "rates": prior_block.get("rates"),
        "requests_per_point": n,
        "stopped_early": None,
    }
    if load.profile == "points":
        queue = fixed_points(load)
        n_points = len(queue)
    else:
        queue = [closed_point(1), throughput_point(load)]
        n_points = 2 + load.rates
    given = dict(manifest or {})
    plan = plan_size(trials, targets, delivery=run.delivery)
    scale = n * n_points / max(1, len(trials))  # every point sends n of the plan's trials, cycling
    plan.update({k: round(plan[k] * scale) for k in ("requests", "results")}, trials=n * n_points)
    given["plan"] = plan
    results: list[RunResult] = []
    resumed: Any = prior.get("resumed")
    stats_by_id: dict[str, dict[str, Any]] = {}
    started = time.perf_counter()
    try:
        while queue:
            point = queue.pop(0)
            block["points"].append(point.as_dict())
            phase_trials = point_trials(trials, point, load)
            observer.on_notice(f"load point {point.id}: {len(phase_trials)} requests")
            cpu0, wall0 = time.process_time(), time.perf_counter()
            result = await run_trials(
                phase_trials,
                targets,
                _phase_run(run, point, load, n),
                run_dir,
                observer=observer,
                manifest={**given, "load": block},
            )
            if not results:
                resumed = read_manifest(run_dir).get("resumed")
            results.append(result)
            if result.n_done:
                block["phases"][point.id] = {
                    "cpu_s": round(time.process_time() - cpu0, 4),
                    "wall_s": round(time.perf_counter() - wall0, 4),
                    "embedded_simulator": embedded_simulator,
                    "sent": result.n_done,
                }
            if result.status != "complete":
                break
            records = [r for r in read_records(run_dir) if r.load_point == point.id]
            stats = point_stats(
                records,
                point.as_dict(),
                slo=slo,
                saturation_config=load.saturation,
                phase=block["phases"].get(point.id),
            )
            stats_by_id[point.id] = stats
            if load.profile == "sweep" and point.kind == "throughput":
                queue = [
                    open_point(r, load.arrival[0], load, tagged=False)
                    for r in _rates(block, stats_by_id, load)
                ]
            elif point.kind == "rate" and stats["saturated"] and load.stop_on_saturation and queue:
                block["stopped_early"] = (
                    f"{point.id} saturated the service ({stats['saturation_reason']}); "
                    f"{len(queue)} higher load points were not run"
                )
                observer.on_notice(f"stopping the sweep: {block['stopped_early']}")
                queue = []
    finally:
        _write_block(run_dir, block, run, resumed, time.perf_counter() - started)
    return _total(results, n * n_points)


def _rates(block: dict[str, Any], stats: Mapping[str, Mapping[str, Any]], load: LoadConfig) -> list[float]:
    """The sweep's open-loop rates: kept from an earlier session, else spaced between the floor
    (concurrency 1's completed rate) and the ceiling (the throughput phase's)."""
    if block.get("rates"):
        return [float(r) for r in block["rates"]]
    floor = stats.get("concurrency=1", {}).get("throughput_rps")
    ceiling = stats.get("throughput", {}).get("throughput_rps")
    if not floor or not ceiling:
        block["rates"] = []
        return []
    block["rates"] = sweep_rates(float(floor), float(ceiling), load.rates)
    return list(block["rates"])


def _write_block(run_dir: Path, block: dict[str, Any], run: RunConfig, resumed: Any, wall_s: float) -> None:
    """The manifest after the sweep: its load block, the suite's own run options, and this session's
    resume history (each phase is an engine session, but only a real resume is one for the user)."""
    if not (run_dir / MANIFEST).exists():
        return
    manifest = read_manifest(run_dir)
    manifest["load"] = block
    if block.get("stopped_early") and isinstance(manifest.get("plan"), dict):
        # the points the sweep skipped are no longer planned: the run is complete without them
        plan = manifest["plan"]
        trials = block["requests_per_point"] * len(block["points"])
        share = trials / plan["trials"] if plan.get("trials") else 1.0
        plan.update({k: round(plan[k] * share) for k in ("requests", "results") if k in plan}, trials=trials)
    manifest["run"] = run.model_dump(mode="json")
    manifest["target_rps"] = None  # per load point: see summary.json's "load"
    manifest["achieved_rps"] = None
    manifest["wall_time_s"] = round(wall_s, 3)
    if resumed is None:
        manifest.pop("resumed", None)
    else:
        manifest["resumed"] = resumed
    write_manifest(run_dir, manifest)


def _total(results: Sequence[RunResult], planned: int) -> RunResult:
    if not results:
        return RunResult("complete", 0, 0, 0, 0, 0.0, 0.0, n_planned=planned)
    last = results[-1]
    return dataclasses.replace(
        last,
        n_done=sum(r.n_done for r in results),
        n_ok=sum(r.n_ok for r in results),
        n_error=sum(r.n_error for r in results),
        n_skipped_resumed=sum(r.n_skipped_resumed for r in results),
        cost_usd=round(sum(r.cost_usd for r in results), 10),
        wall_time_s=round(sum(r.wall_time_s for r in results), 3),
        n_planned=planned,
        target_rps=None,
        achieved_rps=None,
        n_held_back=sum(r.n_held_back for r in results),
    )
