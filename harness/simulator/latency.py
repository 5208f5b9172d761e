"""The simulator's latency model: time to first token growing with prompt length, then tokens at a
set rate, with seeded jitter. Parses `--latency` specs; owns no sleeping (the routes sleep).

    ttft_s(prompt) = scale * (ttft + per_ktok * prompt_tokens / 1000) * jitter_factor
    token gap      = scale / tps * jitter_factor          (reasoning and text tokens alike)
    jitter_factor  = 1 + jitter * (2u - 1), u uniform from the request's hash (so it is reproducible)

`--latency 0` (or none/off) means no sleeps at all.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from harness.errors import ConfigError

_KEYS = {
    "ttft": "ttft_s",
    "per_ktok": "per_ktok_s",
    "tps": "tps",
    "jitter": "jitter",
    "scale": "scale",
    "ping": "ping_s",
}


@dataclass(slots=True, frozen=True)
class LatencyModel:
    ttft_s: float = 0.0
    per_ktok_s: float = 0.04  # prefill: 40 ms per 1000 prompt tokens (~25k tokens/s)
    tps: float = 0.0  # 0 = all tokens at once
    jitter: float = 0.0  # relative, 0..1
    scale: float = 1.0  # multiplies every delay (scale=1.3 injects a 30% slow-down)
    ping_s: float = 10.0  # a stream sends `: ping` after this much silence

    @property
    def enabled(self) -> bool:
        return self.scale > 0 and (self.ttft_s > 0 or self.tps > 0)

    def _factor(self, u: float) -> float:
        return max(0.0, 1.0 + self.jitter * (2.0 * u - 1.0))

    def ttft(self, prompt_tokens: int, u: float = 0.5) -> float:
        """Seconds before the first token of a request with `prompt_tokens`."""
        if not self.enabled:
            return 0.0
        return self.scale * (self.ttft_s + self.per_ktok_s * prompt_tokens / 1000.0) * self._factor(u)

    def token_gap(self, u: float = 0.5) -> float:
        """Seconds between two generated tokens."""
        if not self.enabled or self.tps <= 0:
            return 0.0
        return self.scale / self.tps * self._factor(u)

    def duration(
        self, prompt_tokens: int, completion_tokens: int, u_ttft: float = 0.5, u_tps: float = 0.5
    ) -> float:
        """Seconds from request to last token."""
        return self.ttft(prompt_tokens, u_ttft) + completion_tokens * self.token_gap(u_tps)

    def to_spec(self) -> str:
        if not self.enabled:
            return "0"
        return ",".join(f"{k}={getattr(self, attr)!r}" for k, attr in _KEYS.items())


NO_LATENCY = LatencyModel(scale=0.0)


def parse_latency(spec: str | LatencyModel | None) -> LatencyModel:
    """`ttft=0.25,tps=60,jitter=0.2[,per_ktok=0.04,scale=1.3,ping=10]`, or `0` / none / off."""
    if isinstance(spec, LatencyModel):
        return spec
    if spec is None or spec.strip().lower() in ("", "0", "none", "off"):
        return NO_LATENCY
    values: dict[str, float] = {}
    for part in spec.split(","):
        key, sep, raw = part.partition("=")
        key = key.strip()
        if not sep or key not in _KEYS:
            raise ConfigError(f"bad latency item {part.strip()!r}", field="--latency", allowed=sorted(_KEYS))
        try:
            value = float(raw)
        except ValueError:
            raise ConfigError(f"{key} must be a number, got {raw!r}", field="--latency") from None
        if value < 0 or (key == "jitter" and value > 1):
            raise ConfigError(
                f"{key}={value} out of range", field="--latency", allowed="numbers >= 0; jitter <= 1"
            )
        values[_KEYS[key]] = value
    known = {f.name for f in fields(LatencyModel)}
    assert set(values) <= known
    return LatencyModel(**values)
