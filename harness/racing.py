"""Racing (`run.strategy: racing`): every cell starts on the same batch of items; after each look the
cells significantly worse than the current leader on the shared items stop receiving items, and the
survivors go on. Owns the `run.racing` options, the look schedule, the elimination rule, the race's
log (racing.json in the run directory) and its summary; it sends nothing (runner/race.py does).

The rule, valid for the sequential design: K looks are planned up front (the schedule), and each look
tests at alpha/K (Bonferroni over the looks: the union bound needs no independence between looks and
holds for any data-dependent stopping, where a fixed-sample test repeated at every look would not).
Within a look each survivor is compared with the leader by an exact sign test on the shared items
(McNemar's test when outcomes are right/wrong), Holm-corrected across the survivors. With
`dominance: true`, a survivor is also dropped when another is significantly cheaper and faster per trial
(sign tests) and shown to be at most `dominance_margin` less accurate (a one-sided paired bound), each
at alpha/K/(survivors - 1).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from harness.derived import e2e_s
from harness.rundir import layout

RACE_FILE = layout.RACING
RACE_VERSION = 1
CORRECTION = (
    "Bonferroni over the planned looks (alpha/K per look), Holm across the cells tested against the "
    "leader at a look; exact sign test (McNemar for right/wrong) on the items all survivors share"
)


class RacingConfig(BaseModel):
    """The `run.racing` section: how a racing sweep schedules its looks and drops cells."""

    model_config = ConfigDict(defer_build=True, frozen=True, extra="forbid")

    first_items: int = Field(default=20, ge=2, description="Items every cell answers before the first look.")
    growth: float = Field(
        default=1.5,
        gt=1.0,
        le=10.0,
        description="Each look's item count is the previous one times this (at least one more item).",
    )
    alpha: float = Field(
        default=0.05,
        gt=0.0,
        lt=1.0,
        description="Chance of dropping a cell that is not worse, over the whole race (split over the looks).",
    )
    seed: int = Field(default=0, description="Seed of the order in which items enter the race.")
    dominance: bool = Field(
        default=False,
        description="Also drop a cell that another survivor dominates: significantly cheaper and faster per "
        "trial (sign tests) and not less accurate by more than dominance_margin (a one-sided paired bound), "
        "each at the look's level with Bonferroni over the candidates.",
    )
    dominance_margin: float = Field(
        default=0.02,
        ge=0.0,
        lt=0.5,
        description="Accuracy a dominating cell may give up (0.02 = 2 points), shown by the upper confidence "
        "bound of the paired difference.",
    )
    target_half_width: float | None = Field(
        default=None,
        gt=0.0,
        lt=0.5,
        description="Stop once every surviving cell's accuracy 95% CI is at most this either side "
        "(else the survivors go on until the item pool or the budget ends, or one cell is left).",
    )


def look_schedule(n_items: int, config: RacingConfig) -> list[int]:
    """Cumulative item counts at each look: first_items, then x growth, the last one the whole pool."""
    if n_items < 1:
        return []
    counts = [min(n_items, config.first_items)]
    while counts[-1] < n_items:
        counts.append(min(n_items, max(counts[-1] + 1, math.ceil(counts[-1] * config.growth))))
    return counts


def item_order(item_ids: Sequence[str], seed: int) -> list[str]:
    """The order in which items enter the race: a seeded hash order, independent of the data set's
    order (which may be sorted by difficulty or topic) and stable on resume."""

    def key(item: str) -> bytes:
        return hashlib.blake2b(f"{seed}\x00{item}".encode(), digest_size=8).digest()

    return sorted(dict.fromkeys(item_ids), key=lambda i: (key(i), i))


@dataclass(frozen=True, slots=True)
class LeaderTest:
    """One survivor against the leader at a look."""

    cell_id: str
    mean: float | None
    n_items: int
    worse: int  # items where the cell scored below the leader
    better: int  # items where it scored above
    p: float
    p_holm: float
    dropped: bool
    dominated_by: str | None = None  # dropped as dominated on quality, cost and latency by this cell

    def to_dict(self) -> dict[str, Any]:
        return {
            "cell_id": self.cell_id,
            "mean": self.mean,
            "n_items": self.n_items,
            "worse": self.worse,
            "better": self.better,
            "p": self.p,
            "p_holm": self.p_holm,
            "dropped": self.dropped,
            "dominated_by": self.dominated_by,
        }


@dataclass(frozen=True, slots=True)
class Look:
    """What was decided at one look."""

    index: int  # 1-based
    n_items: int
    leader: str
    leader_mean: float | None
    alpha: float  # the level of this look (alpha / K)
    tests: tuple[LeaderTest, ...]

    @property
    def dropped(self) -> list[str]:
        return [t.cell_id for t in self.tests if t.dropped]

    def to_dict(self) -> dict[str, Any]:
        return {
            "look": self.index,
            "n_items": self.n_items,
            "leader": self.leader,
            "leader_mean": self.leader_mean,
            "alpha": self.alpha,
            "tests": [t.to_dict() for t in self.tests],
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> Look:
        tests = tuple(LeaderTest(**dict(t)) for t in raw.get("tests") or [])
        return cls(
            index=int(raw["look"]),
            n_items=int(raw["n_items"]),
            leader=str(raw["leader"]),
            leader_mean=raw.get("leader_mean"),
            alpha=float(raw["alpha"]),
            tests=tests,
        )


def _mean(values: Sequence[float]) -> float | None:
    return math.fsum(values) / len(values) if values else None


def decide_look(
    values: Mapping[str, Mapping[str, float]],
    survivors: Sequence[str],
    items: Sequence[str],
    *,
    index: int,
    alpha: float,
    costs: Mapping[str, Mapping[str, float]] | None = None,
    latencies: Mapping[str, Mapping[str, float]] | None = None,
    margin: float = 0.02,
) -> Look:
    """The decision at one look: `values[cell][item]` is a cell's mean score on an item (a missing or
    NaN value leaves the item out of that cell's comparisons). The leader is the survivor with the
    highest mean over the items every survivor has (ties: the earlier survivor); each other survivor
    is dropped when its Holm-adjusted sign-test p-value against the leader is below `alpha`."""
    from harness.stats.paired import holm, mcnemar_exact

    def value(cell: str, item: str) -> float | None:
        v = values.get(cell, {}).get(item)
        return None if v is None or math.isnan(v) else float(v)

    shared = [i for i in items if all(value(c, i) is not None for c in survivors)]
    means = {c: _mean([value(c, i) or 0.0 for i in shared]) for c in survivors}
    ranked = [c for c in survivors if means[c] is not None]
    leader = max(ranked, key=lambda c: (means[c], -survivors.index(c))) if ranked else survivors[0]
    others = [c for c in survivors if c != leader]
    counts: list[tuple[int, int]] = []
    for cell in others:
        worse = better = 0
        for item in shared:
            diff = (value(cell, item) or 0.0) - (value(leader, item) or 0.0)
            worse += diff < 0
            better += diff > 0
        counts.append((worse, better))
    raw = [mcnemar_exact(w, b) for w, b in counts]
    adjusted = holm(raw) if raw else []
    tests = tuple(
        LeaderTest(
            cell_id=cell,
            mean=means[cell],
            n_items=len(shared),
            worse=w,
            better=b,
            p=p,
            p_holm=q,
            dropped=q < alpha and w > b,
        )
        for cell, (w, b), p, q in zip(others, counts, raw, adjusted, strict=True)
    )
    if costs is not None and latencies is not None:
        tests = _dominance(tests, survivors, shared, values, costs, latencies, alpha, margin)
    return Look(index, len(items), leader, means[leader], alpha, tests)


def _higher(
    data: Mapping[str, Mapping[str, float]], cell: str, other: str, items: Sequence[str], alpha: float
) -> bool:
    """True when `cell` is significantly higher than `other` on the items (exact sign test)."""
    from harness.stats.paired import mcnemar_exact

    above = below = 0
    for item in items:
        a, b = data.get(cell, {}).get(item), data.get(other, {}).get(item)
        if a is None or b is None or math.isnan(a) or math.isnan(b):
            continue
        above += a > b
        below += a < b
    return above > below and mcnemar_exact(below, above) < alpha


def _not_worse(
    values: Mapping[str, Mapping[str, float]],
    cell: str,
    other: str,
    items: Sequence[str],
    level: float,
    margin: float,
) -> bool:
    """True when `other` is shown to be at most `margin` less accurate than `cell`: the one-sided
    (1 - level) upper bound of mean(cell - other) over the items lies below `margin`."""
    from statistics import NormalDist

    diffs = []
    for item in items:
        a, b = values.get(cell, {}).get(item), values.get(other, {}).get(item)
        if a is not None and b is not None and not (math.isnan(a) or math.isnan(b)):
            diffs.append(a - b)
    if len(diffs) < 2:
        return False
    mean = math.fsum(diffs) / len(diffs)
    sd = math.sqrt(math.fsum((d - mean) ** 2 for d in diffs) / (len(diffs) - 1))
    return mean + NormalDist().inv_cdf(1.0 - level) * sd / math.sqrt(len(diffs)) < margin


def _dominance(
    tests: tuple[LeaderTest, ...],
    survivors: Sequence[str],
    shared: Sequence[str],
    values: Mapping[str, Mapping[str, float]],
    costs: Mapping[str, Mapping[str, float]],
    latencies: Mapping[str, Mapping[str, float]],
    alpha: float,
    margin: float,
) -> tuple[LeaderTest, ...]:
    """Mark the tests of cells another survivor dominates (significantly cheaper and faster, and not
    less accurate by more than `margin`); a cell already dropped by the quality test cannot dominate."""
    import dataclasses

    gone = {t.cell_id for t in tests if t.dropped}
    level = alpha / max(1, len(survivors) - 1)  # Bonferroni over the cells that could dominate
    out = []
    for test in tests:
        by = None
        if not test.dropped:
            for other in survivors:
                if other in (test.cell_id, *gone):
                    continue
                if (
                    _higher(costs, test.cell_id, other, shared, level)
                    and _higher(latencies, test.cell_id, other, shared, level)
                    and _not_worse(values, test.cell_id, other, shared, level, margin)
                ):
                    by = other
                    break
        out.append(dataclasses.replace(test, dropped=True, dominated_by=by) if by else test)
    return tuple(out)


@dataclass(slots=True)
class Race:
    """The state of a race over `cells` and `items`: which items the next look needs, who survives.

    Pure: the caller runs the trials, hands each look's per-item values to `observe`, and replays
    a stored log with `replay` on resume.
    """

    config: RacingConfig
    cells: list[str]
    items: list[str]
    order: list[str] = field(init=False)
    schedule: list[int] = field(init=False)
    survivors: list[str] = field(init=False)
    looks: list[Look] = field(default_factory=list)
    stop_reason: str | None = None

    def __post_init__(self) -> None:
        self.order = item_order(self.items, self.config.seed)
        self.schedule = look_schedule(len(self.order), self.config)
        self.survivors = list(self.cells)
        if not self.order:
            self.stop_reason = "no items"

    @property
    def alpha_per_look(self) -> float:
        return self.config.alpha / max(1, len(self.schedule))

    def next_items(self) -> list[str] | None:
        """Items (cumulative) the survivors need for the next look; None when the race is over."""
        if self.stop_reason is not None:
            return None
        return self.order[: self.schedule[len(self.looks)]]

    def observe(
        self,
        values: Mapping[str, Mapping[str, float]],
        costs: Mapping[str, Mapping[str, float]] | None = None,
        latencies: Mapping[str, Mapping[str, float]] | None = None,
    ) -> Look:
        """Decide the current look from per-item values (and, with `dominance`, per-item cost and
        latency) and apply it."""
        items = self.next_items()
        if items is None:
            raise ValueError("the race is over; no look is pending")
        dominance = self.config.dominance and costs is not None and latencies is not None
        look = decide_look(
            values,
            self.survivors,
            items,
            index=len(self.looks) + 1,
            alpha=self.alpha_per_look,
            costs=costs if dominance else None,
            latencies=latencies if dominance else None,
            margin=self.config.dominance_margin,
        )
        self._apply(look, values)
        return look

    def replay(self, looks: Sequence[Look], values: Mapping[str, Mapping[str, float]]) -> None:
        """Apply stored decisions (a resumed run), without recomputing them."""
        for look in looks:
            if self.stop_reason is not None:
                break
            expected = self.schedule[len(self.looks)]
            if look.n_items != expected or look.leader not in self.survivors:
                raise ValueError(
                    f"look {look.index} of the stored race has {look.n_items} items and leader "
                    f"{look.leader!r}; this race expects {expected} items and survivors {self.survivors}"
                )
            self._apply(look, values)

    def _apply(self, look: Look, values: Mapping[str, Mapping[str, float]]) -> None:
        from harness.stats.power import proportion_half_width

        self.looks.append(look)
        dropped = set(look.dropped)
        self.survivors = [c for c in self.survivors if c not in dropped]
        if look.n_items >= len(self.order):
            self.stop_reason = "the item pool is exhausted"
            return
        target = self.config.target_half_width
        if target is None:
            if len(self.survivors) <= 1:
                self.stop_reason = "one cell is left"
            return
        widths = []
        for cell in self.survivors:
            row = [values.get(cell, {}).get(i) for i in self.order[: look.n_items]]
            seen = [v for v in row if v is not None and not math.isnan(v)]
            mean = _mean(seen)
            widths.append(
                proportion_half_width(min(1.0, max(0.0, mean)), len(seen)) if mean is not None else 1.0
            )
        if max(widths) <= target:
            self.stop_reason = f"every surviving cell's CI is within +-{target:g}"

    def items_of(self, cell: str) -> list[str]:
        """The items a cell answered in the race so far: up to the look that dropped it, else the last."""
        for look in self.looks:
            if cell in look.dropped:
                return self.order[: look.n_items]
        return self.order[: self.looks[-1].n_items] if self.looks else []

    def to_log(self) -> dict[str, Any]:
        """racing.json: the options, the schedule and every look's decision, as they were made."""
        return {
            "version": RACE_VERSION,
            "config": self.config.model_dump(mode="json"),
            "cells": self.cells,
            "n_items": len(self.order),
            "items_digest": _digest(self.order),
            "schedule": self.schedule,
            "alpha_per_look": self.alpha_per_look,
            "correction": CORRECTION,
            "looks": [look.to_dict() for look in self.looks],
            "survivors": self.survivors,
            "stop_reason": self.stop_reason,
        }


def _digest(items: Sequence[str]) -> str:
    return hashlib.blake2b("\x00".join(items).encode(), digest_size=12).hexdigest()


def check_log(log: Mapping[str, Any], race: Race, *, file: str) -> list[Look]:
    """The looks of a stored race, if it is this race (same options, cells and items); ConfigError
    naming what changed otherwise, since a resumed race must replay the decisions it made."""
    from harness.errors import ConfigError

    fresh = race.to_log()
    for key, fieldname in (("config", "run.racing"), ("cells", "grid"), ("items_digest", "dataset")):
        if log.get(key) != fresh[key]:
            raise ConfigError(
                f"this run directory holds a race with other {fieldname} than the suite now has; "
                "resume with the suite as it was, or start a new run directory",
                file=file,
                field=fieldname,
            )
    try:
        return [Look.from_dict(raw) for raw in log.get("looks") or []]
    except (KeyError, TypeError, ValueError) as exc:
        raise ConfigError(f"unreadable look in the race log: {exc}", file=file, field="looks") from exc


def read_log(run_dir: Path) -> dict[str, Any] | None:
    """racing.json of a run directory, or None when the run did not race."""
    from harness.rundir.run_dir import read_json_object

    path = Path(run_dir) / RACE_FILE
    return read_json_object(path, "race log") if path.exists() else None


def write_log(run_dir: Path, log: Mapping[str, Any]) -> None:
    """Replace racing.json atomically (temporary file, fsync, rename)."""
    from harness.rundir.run_dir import write_json_object

    write_json_object(Path(run_dir) / RACE_FILE, log, what="the race log")


def item_values(scores: Sequence[Any], scorer: str) -> dict[str, dict[str, float]]:
    """values[cell_id][item_id]: the mean of `scorer`'s sample values on the item, counted as the
    summary counts them (no value = 0, `invalid` left out)."""
    sums: dict[str, dict[str, list[float]]] = {}
    for score in scores:
        if score.scorer != scorer or score.outcome == "invalid":
            continue
        value = 0.0 if score.value is None else float(score.value)
        sums.setdefault(score.cell_id, {}).setdefault(score.item_id, []).append(value)
    return {c: {i: math.fsum(v) / len(v) for i, v in by_item.items()} for c, by_item in sums.items()}


def item_costs_latencies(
    records: Sequence[Any],
) -> tuple[dict[str, dict[str, float]], dict[str, dict[str, float]]]:
    """Per cell and item: the mean cost of a trial (service-reported, else price table) and the mean
    end-to-end latency of its successful trials, for the dominance rule."""
    cost: dict[str, dict[str, list[float]]] = {}
    latency: dict[str, dict[str, list[float]]] = {}
    for record in records:
        cost.setdefault(record.cell_id, {}).setdefault(record.item_id, []).append(record.effective_cost_usd)
        e2e = e2e_s(record) if record.status == "ok" else None
        if e2e is not None:
            latency.setdefault(record.cell_id, {}).setdefault(record.item_id, []).append(e2e)

    def means(data: dict[str, dict[str, list[float]]]) -> dict[str, dict[str, float]]:
        return {c: {i: math.fsum(v) / len(v) for i, v in by_item.items()} for c, by_item in data.items()}

    return means(cost), means(latency)


def race_summary(log: Mapping[str, Any], *, trials_done: int, grid_trials: int | None) -> dict[str, Any]:
    """The `racing` part of summary.json: the schedule, each look, when and why each cell was dropped."""
    dropped: dict[str, dict[str, Any]] = {}
    for look in log.get("looks") or []:
        for test in look.get("tests") or []:
            if test.get("dropped"):
                dropped[str(test["cell_id"])] = {
                    "look": look.get("look"),
                    "n_items": look.get("n_items"),
                    "leader": look.get("leader"),
                    "mean": test.get("mean"),
                    "leader_mean": look.get("leader_mean"),
                    "p_holm": test.get("p_holm"),
                    "alpha": look.get("alpha"),
                    "dominated_by": test.get("dominated_by"),
                }
    return {
        "schedule": log.get("schedule"),
        "looks_planned": len(log.get("schedule") or []),
        "looks_done": len(log.get("looks") or []),
        "alpha": (log.get("config") or {}).get("alpha"),
        "alpha_per_look": log.get("alpha_per_look"),
        "correction": log.get("correction"),
        "looks": log.get("looks") or [],
        "dropped": dropped,
        "survivors": log.get("survivors") or [],
        "stop_reason": log.get("stop_reason"),
        "trials": trials_done,
        "grid_trials": grid_trials,
        "share_of_grid": trials_done / grid_trials if grid_trials else None,
    }
