"""Seeded fault injection for the simulator: one draw per HTTP request attempt, by rate, so a retried
request can succeed. Owns the `--faults` spec and the draw; the routes carry the faults out.

Kinds: 429 (rateLimitExceeded, optional Retry-After), 500, 503, timeout (hang for hang_s, then 504),
drop_stream (a stream cut before its final chunk; a truncated body otherwise), bad_json (a malformed body);
and the faults inside a 200 reply (`REPLY_FAULTS`, carried out by `harness.simulator.reply_faults`):
error_200, partial, unknown_uuid, dup_uuid, no_final, stream_error, bad_utf8, huge_text, bad_usage,
no_usage.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from harness.errors import ConfigError

# Faults inside an HTTP 200 reply: what each does, and what is billed, is in docs/simulator.md.
REPLY_FAULTS = (
    "error_200",
    "partial",
    "unknown_uuid",
    "dup_uuid",
    "no_final",
    "stream_error",
    "bad_utf8",
    "huge_text",
    "bad_usage",
    "no_usage",
)
FAULT_KINDS = ("429", "500", "503", "timeout", "drop_stream", "bad_json", *REPLY_FAULTS)
_OPTIONS = ("retry_after", "hang_s", "huge_mb")


@dataclass(slots=True, frozen=True)
class FaultPlan:
    rates: dict[str, float] = field(default_factory=dict)
    retry_after_s: float | None = None  # sent as Retry-After on 429s when set
    hang_s: float = 600.0  # how long a `timeout` fault holds the request
    huge_mb: float = 5.0  # size of a `huge_text` result's text

    def to_spec(self) -> str:
        parts = [f"{k}={v!r}" for k, v in self.rates.items()]
        if self.retry_after_s is not None:
            parts.append(f"retry_after={self.retry_after_s!r}")
        parts.append(f"hang_s={self.hang_s!r}")
        if self.huge_mb != 5.0:
            parts.append(f"huge_mb={self.huge_mb!r}")
        return ",".join(parts)


def parse_faults(spec: str | FaultPlan | None) -> FaultPlan:
    """`429=0.05,500=0.02,503=0.01,timeout=0.01,drop_stream=0.02,bad_json=0.01,bad_utf8=0.01,...`
    (any of FAULT_KINDS) with the options `retry_after=S`, `hang_s=S`, `huge_mb=MB`."""
    if isinstance(spec, FaultPlan):
        return spec
    if spec is None or spec.strip().lower() in ("", "0", "none", "off"):
        return FaultPlan()
    rates: dict[str, float] = {}
    options: dict[str, float] = {}
    for part in spec.split(","):
        key, sep, raw = part.partition("=")
        key = key.strip()
        if not sep or key not in (*FAULT_KINDS, *_OPTIONS):
            raise ConfigError(
                f"bad fault item {part.strip()!r}", field="--faults", allowed=[*FAULT_KINDS, *_OPTIONS]
            )
        try:
            value = float(raw)
        except ValueError:
            raise ConfigError(f"{key} must be a number, got {raw!r}", field="--faults") from None
        if key in _OPTIONS:
            if value < 0:
                raise ConfigError(f"{key} must be >= 0", field="--faults")
            options[key] = value
        elif not 0 <= value <= 1:
            raise ConfigError(f"rate {key}={value} must be between 0 and 1", field="--faults")
        else:
            rates[key] = value
    if sum(rates.values()) > 1 + 1e-9:
        raise ConfigError(f"fault rates sum to {sum(rates.values()):.3f} > 1", field="--faults")
    return FaultPlan(
        rates=rates,
        retry_after_s=options.get("retry_after"),
        hang_s=options.get("hang_s", 600.0),
        huge_mb=options.get("huge_mb", 5.0),
    )


class FaultInjector:
    """Draws the fault (or None) of each request attempt from a seeded stream."""

    __slots__ = ("_cumulative", "_rng", "pick_rng", "plan")

    def __init__(self, plan: FaultPlan, seed: int) -> None:
        self.plan = plan
        self._rng = random.Random(f"faults:{seed}")
        self.pick_rng = random.Random(f"fault-picks:{seed}")  # which item of a reply a fault hits
        total = 0.0
        self._cumulative: list[tuple[float, str]] = []
        for kind in FAULT_KINDS:
            rate = plan.rates.get(kind, 0.0)
            if rate > 0:
                total += rate
                self._cumulative.append((total, kind))

    def draw(self) -> str | None:
        if not self._cumulative:
            return None
        u = self._rng.random()
        for bound, kind in self._cumulative:
            if u < bound:
                return kind
        return None
