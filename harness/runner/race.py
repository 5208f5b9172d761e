"""`run_race`: a racing sweep over the engine. Each look is one `run_trials` call over the surviving
cells' trials on the look's items (cumulative, so a failed trial is sent again before its cell is
judged); then the look's records are scored and `harness.racing.Race` decides who goes on. The
decisions are written to the race log after every look, and a resumed run replays them instead of
deciding again on data that a resume may have changed. Owns that loop only: no statistics, no HTTP.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from harness.config import RunConfig, ScorerConfig, TargetConfig
from harness.progress import Observer
from harness.racing import (
    RACE_FILE,
    Race,
    check_log,
    item_costs_latencies,
    item_values,
    read_log,
    write_log,
)
from harness.records import Trial
from harness.rundir import read_manifest, read_records, write_manifest
from harness.runner.engine import RunResult, run_trials

__all__ = ["run_race"]


async def run_race(
    trials: Sequence[Trial],
    targets: Mapping[str, TargetConfig],
    run: RunConfig,
    run_dir: Path,
    *,
    scorers: Sequence[ScorerConfig],
    observer: Observer | None = None,
    manifest: dict[str, Any] | None = None,
) -> RunResult:
    """Race the cells of `trials` (see harness.racing); returns the last look's RunResult with the
    race's wall time. The manifest's plan is the whole grid's, so the report can say what share of
    it the race used. Budget and circuit-breaker stops propagate from the engine as they do for a grid."""
    from harness.runner.manifest import plan_size
    from harness.scoring import ascore_records

    if not scorers:
        from harness.errors import ConfigError

        raise ConfigError("racing needs a scorer to compare the cells", field="scorers")
    cells = list(dict.fromkeys(t.cell_id for t in trials))
    race = Race(run.racing, cells, [t.item_id for t in trials])
    given = dict(manifest or {})
    given.setdefault("plan", plan_size(trials, targets, delivery=run.delivery))
    stored = read_log(run_dir)
    scorer = scorers[0].metric or scorers[0].name
    if stored is not None:
        looks = check_log(stored, race, file=str(Path(run_dir) / RACE_FILE))
        if looks:
            records = read_records(run_dir)
            race.replay(looks, item_values(await ascore_records(records, scorers, run_dir=run_dir), scorer))
    sessions_before: list[Any] | None = None
    started = time.perf_counter()
    result: RunResult | None = None
    try:
        while (items := race.next_items()) is not None:
            wanted = set(items)
            alive = set(race.survivors)
            look_trials = [t for t in trials if t.cell_id in alive and t.item_id in wanted]
            result = await run_trials(look_trials, targets, run, run_dir, observer=observer, manifest=given)
            if sessions_before is None:
                sessions_before = list(read_manifest(run_dir).get("resumed") or [])
            if result.status != "complete":
                break
            keys = {t.key for t in look_trials}
            records = [r for r in read_records(run_dir) if r.trial_key in keys]
            scores = await ascore_records(records, scorers, run_dir=run_dir)
            costs, latencies = item_costs_latencies(records)
            race.observe(item_values(scores, scorer), costs, latencies)
            write_log(run_dir, race.to_log())
        if result is None:  # every look was decided in an earlier session
            result = await run_trials([], targets, run, run_dir, observer=observer, manifest=given)
            sessions_before = list(read_manifest(run_dir).get("resumed") or [])
            write_log(run_dir, race.to_log())
    finally:
        if sessions_before is not None:
            plan = None
            if race.stop_reason is not None:  # the race is over: its plan is what it sent
                answered = {cell: set(race.items_of(cell)) for cell in cells}
                raced = [t for t in trials if t.item_id in answered[t.cell_id]]
                plan = plan_size(raced, targets, delivery=run.delivery)
            _settle_manifest(run_dir, sessions_before, time.perf_counter() - started, plan, given["plan"])
    return result


def _settle_manifest(
    run_dir: Path,
    sessions_before: list[Any],
    wall_s: float,
    plan: dict[str, int] | None,
    grid_plan: dict[str, int],
) -> None:
    """One session of a race is several engine calls: keep the session list the first call left
    (later calls would each count as a resume) and the wall time of the whole session. A finished
    race's `plan` is the trials it sent (so it reads as complete); `grid_plan` is the whole grid's."""
    manifest = read_manifest(run_dir)
    if sessions_before:
        manifest["resumed"] = sessions_before
    else:
        manifest.pop("resumed", None)
    manifest["wall_time_s"] = round(wall_s, 3)
    manifest["grid_plan"] = grid_plan
    if plan is not None:
        manifest["plan"] = plan
    write_manifest(run_dir, manifest)
