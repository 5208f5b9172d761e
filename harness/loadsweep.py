"""Load sweeps, the planning half: the suite's `load:` and `slo:` sections, the load points they name
(closed-loop concurrencies, open-loop rates crossed with arrival processes, or GuideLLM's sweep
profile), and each point's own trials with their own keys. Pure: the phases are run by
`harness.runner.phases`, measured by `harness.stats.load`.

A load point runs as a phase of its own (one engine invocation), never interleaved with another, so one
point's queue cannot leak into the next. Each point sends `requests` trials, cycling through the plan's
trials; the first `warmup` and last `cooldown` of them (in dispatch order) are sent but kept out of the
load statistics.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from harness.records import LoadWindow, Trial

__all__ = [
    "LoadConfig",
    "LoadPoint",
    "SaturationConfig",
    "SloConfig",
    "describe_load",
    "fixed_points",
    "point_trials",
    "sweep_rates",
]

Arrival = Literal["constant", "poisson", "gamma"]
THROUGHPUT_ID = "throughput"


class _Config(BaseModel):
    model_config = ConfigDict(defer_build=True, frozen=True, extra="forbid")


class SloConfig(_Config):
    """The `slo:` section: per-request service-level objectives. A request meets the SLO when it
    succeeded and each given bound holds; a load point meets it when at least `quantile` of its
    measured requests do."""

    ttft_s: float | None = Field(
        default=None, gt=0, description="Time to first token from the send (first byte when not streamed)."
    )
    itl_s: float | None = Field(
        default=None, gt=0, description="The request's mean inter-token gap (streamed requests only)."
    )
    e2e_s: float | None = Field(default=None, gt=0, description="End-to-end latency from the send.")
    quantile: float = Field(
        default=0.95, gt=0, le=1, description="Share of requests that must meet every bound."
    )

    @model_validator(mode="after")
    def _some_bound(self) -> SloConfig:
        if self.ttft_s is None and self.itl_s is None and self.e2e_s is None:
            raise ValueError("give at least one of ttft_s, itl_s, e2e_s")
        return self


class SaturationConfig(_Config):
    """When a load point counts as saturated (the sweep then stops raising the rate)."""

    rate_shortfall: float = Field(
        default=0.1,
        gt=0,
        lt=1,
        description="Saturated when the completed-request rate falls below the offered rate by this share.",
    )
    queue_growth: float = Field(
        default=0.5,
        gt=0,
        description="Saturated when the median latency from the schedule of the point's last third of "
        "requests exceeds its first third's by this share (the queue grows over the phase).",
    )


def _default_arrival() -> list[Arrival]:
    return ["constant"]


class LoadConfig(_Config):
    """The `load:` section: load points, each run as its own phase. `profile: points` runs the given
    `concurrency` values (closed loop) and `rate` values (open loop, crossed with `arrival`);
    `profile: sweep` runs concurrency 1 (the latency floor), then as fast as possible (the throughput
    ceiling), then `rates` open-loop rates evenly spaced up to the ceiling, stopping at saturation."""

    profile: Literal["points", "sweep"] = Field(default="points", description="points | sweep.")
    concurrency: list[int] = Field(
        default_factory=list, description="Closed-loop points: in-flight requests (profile: points)."
    )
    rate: list[float] = Field(
        default_factory=list, description="Open-loop points: arrivals per second (profile: points)."
    )
    arrival: list[Arrival] = Field(
        default_factory=_default_arrival,
        description="Arrival processes crossed with the rates: constant, poisson, gamma.",
    )
    burstiness: float = Field(
        default=1.0, gt=0, description="arrival=gamma: shape of the gaps (1 = Poisson)."
    )
    rates: int = Field(
        default=5,
        ge=1,
        le=50,
        description="profile: sweep: open-loop rates between the floor and the ceiling.",
    )
    requests: int | None = Field(
        default=None,
        ge=2,
        le=100000,
        description="Requests per load point, cycling through the plan's trials; default: the plan's trials.",
    )
    warmup: int = Field(
        default=0, ge=0, description="Requests at the start of each point kept out of statistics."
    )
    cooldown: int = Field(
        default=0, ge=0, description="Requests at the end of each point kept out of statistics."
    )
    max_concurrency: int = Field(
        default=512,
        ge=1,
        le=4096,
        description="In-flight cap of open-loop points and of the throughput phase.",
    )
    saturation: SaturationConfig = Field(
        default_factory=SaturationConfig, description="When a point counts as saturated."
    )
    stop_on_saturation: bool = Field(
        default=True, description="Skip the higher rates once an open-loop point saturates."
    )

    @model_validator(mode="after")
    def _check(self) -> LoadConfig:
        if self.profile == "points" and not self.concurrency and not self.rate:
            raise ValueError("profile: points needs concurrency and/or rate values")
        if self.profile == "sweep" and (self.concurrency or self.rate):
            raise ValueError(
                "profile: sweep picks its own points: drop concurrency/rate, or use profile: points"
            )
        if any(r <= 0 for r in self.rate):
            raise ValueError("every rate must be > 0 requests/s")
        if any(c < 1 or c > 4096 for c in self.concurrency):
            raise ValueError("every concurrency must be in 1..4096")
        if self.profile == "sweep" and len(self.arrival) != 1:
            raise ValueError("profile: sweep runs one arrival process: give a single arrival")
        if len(set(self.arrival)) != len(self.arrival):
            raise ValueError("arrival lists a process twice")
        if self.requests is not None and self.warmup + self.cooldown >= self.requests:
            raise ValueError("warmup + cooldown must leave some of the point's requests to measure")
        return self


@dataclass(slots=True, frozen=True)
class LoadPoint:
    """One phase: closed loop at `concurrency`, or open loop at `rate_rps` with an arrival process."""

    id: str
    kind: Literal["concurrency", "rate", "throughput"]
    concurrency: int
    rate_rps: float | None = None
    arrival: Arrival = "constant"

    def as_dict(self) -> dict[str, object]:
        return dataclasses.asdict(self)


def closed_point(concurrency: int) -> LoadPoint:
    return LoadPoint(f"concurrency={concurrency}", "concurrency", concurrency)


def open_point(rate_rps: float, arrival: Arrival, load: LoadConfig, *, tagged: bool) -> LoadPoint:
    rate = round(rate_rps, 3)
    pid = f"rate={rate:g}" + (f",arrival={arrival}" if tagged else "")
    return LoadPoint(pid, "rate", load.max_concurrency, rate, arrival)


def throughput_point(load: LoadConfig) -> LoadPoint:
    return LoadPoint(THROUGHPUT_ID, "throughput", load.max_concurrency)


def fixed_points(load: LoadConfig) -> list[LoadPoint]:
    """profile: points — the closed-loop points, then the open-loop ones by rising rate."""
    points = [closed_point(c) for c in dict.fromkeys(load.concurrency)]
    tagged = len(load.arrival) > 1 or load.arrival != ["constant"]
    for rate in sorted(set(load.rate)):
        points += [open_point(rate, arrival, load, tagged=tagged) for arrival in load.arrival]
    return points


def sweep_rates(floor_rps: float, ceiling_rps: float, n: int) -> list[float]:
    """`n` rates evenly spaced above the floor, the last one at the ceiling (GuideLLM's sweep)."""
    low, high = min(floor_rps, ceiling_rps), max(floor_rps, ceiling_rps)
    return [round(low + (high - low) * (i + 1) / n, 3) for i in range(n)]


def point_trials(trials: Sequence[Trial], point: LoadPoint, load: LoadConfig) -> list[Trial]:
    """The point's own trials: `load.requests` of them (default: one per plan trial), cycling through
    the plan, each keyed by (plan key, point, copy) so two points, or two copies, never share a key."""
    if not trials:
        return []
    n = load.requests or len(trials)
    out: list[Trial] = []
    for index in range(n):
        base = trials[index % len(trials)]
        copy = index // len(trials)
        window: LoadWindow = "measure"
        if index < load.warmup:
            window = "warmup"
        elif index >= n - load.cooldown:
            window = "cooldown"
        key = hashlib.blake2b(f"{base.key}|load={point.id}|copy={copy}".encode(), digest_size=16).hexdigest()
        out.append(dataclasses.replace(base, key=key, load_point=point.id, load_window=window))
    return out


def describe_load(load: LoadConfig, n_trials: int) -> list[str]:
    """The --dry-run lines of a load sweep: its points and how many requests each sends."""
    n = load.requests or n_trials
    if load.profile == "sweep":
        points = f"concurrency 1, throughput (as fast as possible), then {load.rates} rates up to the ceiling"
        total = n * (2 + load.rates)
    else:
        named = [p.id for p in fixed_points(load)]
        points = ", ".join(named)
        total = n * len(named)
    window = (
        f" ({load.warmup} warm-up, {load.cooldown} cool-down excluded)"
        if load.warmup or load.cooldown
        else ""
    )
    return [
        f"  load sweep  {load.profile}: {points}",
        f"  load requests  {n} per point{window}, up to {total} in all (the counts above are one point's)",
    ]
