"""The simulated model's skill curve: probability that an answer comes out right, as a smooth function
of the sampling settings. Owns `--skill` parsing (a spec string or a YAML file); never draws randomness.

With settings filled from the card's defaults (T = temperature, P = topP, K = topK, M = minP):

    T_eff = T * (0.5 + 0.5 P) * tail(K) * (1 - 0.5 M)      tail(1) = 0, tail(K) = 0.7 + 0.3 min(1, ln K / ln 100)
    f     = - temperature * w * softplus((T_eff - knee) / w)      (w = 0.15: falls past T_eff ~ knee = 1)
            - greedy * exp(-T_eff / 0.1)                           (near-greedy decoding loops a little)
            - top_p * (1 - P)^2
            - penalties * ((presencePenalty / 2)^2 + (frequencyPenalty / 2)^2)
            - repetition * (repetitionPenalty - 1)^2
            + thinking_low                      when thinkingLevel is "low" (no reasoning)
    p     = clip(base + f(settings) - f(card defaults), 0, 1)   so `base` is the accuracy at the defaults
    p     = fixed instead, when `fixed` is set; then each matching override sets (accuracy) or shifts (delta) p.

An answer is right when its draw u < p. With `item_correlation` rho > 0 the draw is
Phi(sqrt(rho) Phi^-1(v_item) + sqrt(1 - rho) Phi^-1(u)), v_item a uniform fixed by the item's text: hard items
are hard for every setting and seed, as with a real model, so paired comparisons see fewer discordant items.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from harness.errors import ConfigError

_WIDTH = 0.15


class _Skill(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class SkillOverride(_Skill):
    when: dict[str, Any] = Field(min_length=1, description="Settings (API names) that must all match.")
    accuracy: float | None = Field(default=None, ge=0, le=1, description="Accuracy to use at these settings.")
    delta: float | None = Field(
        default=None, ge=-1, le=1, description="Added to the accuracy at these settings."
    )

    @model_validator(mode="after")
    def _one_of(self) -> SkillOverride:
        if (self.accuracy is None) == (self.delta is None):
            raise ValueError("an override needs exactly one of `accuracy` or `delta`")
        return self

    def matches(self, settings: Mapping[str, Any]) -> bool:
        for key, want in self.when.items():
            have = settings.get(key)
            if isinstance(want, int | float) and isinstance(have, int | float) and not isinstance(want, bool):
                if abs(float(want) - float(have)) > 1e-9:
                    return False
            elif want != have:
                return False
        return True


class SkillEffects(_Skill):
    temperature: float = Field(default=0.4, ge=0, description="Weight of the drop past the knee.")
    knee: float = Field(default=1.0, gt=0, description="Effective temperature where accuracy starts to fall.")
    greedy: float = Field(default=0.03, ge=0, description="Loss at effective temperature 0.")
    top_p: float = Field(default=0.04, ge=0, description="Loss at topP 0.")
    penalties: float = Field(
        default=0.15, ge=0, description="Loss with presence and frequency penalties both at 2."
    )
    repetition: float = Field(default=0.3, ge=0, description="Loss at repetitionPenalty 0 or 2.")
    thinking_low: float = Field(default=-0.12, le=0, description="Added when thinkingLevel is low.")


class SkillCurve(_Skill):
    base: float = Field(default=0.85, ge=0, le=1, description="Accuracy at the card's default settings.")
    fixed: float | None = Field(
        default=None, ge=0, le=1, description="Constant accuracy, whatever the settings."
    )
    effects: SkillEffects = Field(
        default_factory=SkillEffects, description="How each setting moves accuracy."
    )
    overrides: list[SkillOverride] = Field(
        default_factory=list, description="Exact accuracies or shifts at given settings."
    )
    item_correlation: float = Field(
        default=0.0,
        ge=0,
        lt=1,
        description="Shared item difficulty: the latent (Gaussian-copula) correlation of one item's right/wrong "
        "draws across settings and seeds; 0 = every draw independent.",
    )

    def draw(self, u: float, item: float) -> float:
        """The uniform compared with p: `u` itself, or blended with the item's own uniform `item`."""
        rho = self.item_correlation
        if rho == 0.0:
            return u
        from statistics import NormalDist

        normal = NormalDist()
        z = math.sqrt(rho) * normal.inv_cdf(_inside(item)) + math.sqrt(1.0 - rho) * normal.inv_cdf(_inside(u))
        return normal.cdf(z)

    def accuracy(self, settings: Mapping[str, Any], defaults: Mapping[str, Any]) -> float:
        """P(correct) for `settings` (defaults already filled in); `defaults` are the card's."""
        if self.fixed is not None:
            p = self.fixed
        else:
            p = self.base + self._shape(settings) - self._shape(defaults)
        for override in self.overrides:
            if override.matches(settings):
                p = override.accuracy if override.accuracy is not None else p + (override.delta or 0.0)
        return min(1.0, max(0.0, p))

    def _shape(self, s: Mapping[str, Any]) -> float:
        e = self.effects
        temperature = float(s.get("temperature", 1.0))
        top_p = float(s.get("topP", 1.0))
        top_k = s.get("topK")
        min_p = float(s.get("minP") or 0.0)
        if top_k is None or top_k <= 0:
            tail = 1.0
        elif top_k == 1:
            tail = 0.0
        else:
            tail = 0.7 + 0.3 * min(1.0, math.log(top_k) / math.log(100))
        t_eff = temperature * (0.5 + 0.5 * top_p) * tail * (1.0 - 0.5 * min_p)
        z = (t_eff - e.knee) / _WIDTH
        softplus = z if z > 30 else math.log1p(math.exp(z))
        f = -e.temperature * _WIDTH * softplus
        f -= e.greedy * math.exp(-t_eff / 0.1)
        f -= e.top_p * (1.0 - top_p) ** 2
        presence = float(s.get("presencePenalty") or 0.0)
        frequency = float(s.get("frequencyPenalty") or 0.0)
        f -= e.penalties * ((presence / 2) ** 2 + (frequency / 2) ** 2)
        f -= e.repetition * (float(s.get("repetitionPenalty", 1.0)) - 1.0) ** 2
        if s.get("thinkingLevel") == "low":
            f += e.thinking_low
        return f


def _inside(u: float) -> float:
    return min(1.0 - 1e-12, max(1e-12, u))


def skill_names() -> list[str]:
    """Named skill curves: the YAML files under configs/skills/."""
    from harness.paths import configs_dir

    folder = configs_dir() / "skills"
    return sorted(p.stem for p in folder.glob("*.yaml")) if folder.is_dir() else []


def parse_skill(spec: str | Path | SkillCurve | Mapping[str, Any] | None) -> SkillCurve:
    """`base=0.8`, `fixed=0.7`, `base=0.8,temperature=0.5,thinking_low=-0.2`, a YAML file, the name
    of one under configs/skills/ (`one-best-of-24`), or a mapping."""
    if isinstance(spec, SkillCurve):
        return spec
    if spec is None:
        return SkillCurve()
    if isinstance(spec, Mapping):
        return _validate(dict(spec), "--skill")
    text = str(spec).strip()
    path = Path(text)
    if "=" not in text and "/" not in text and not path.suffix and not path.is_file():
        from harness.paths import configs_dir

        named = configs_dir() / "skills" / f"{text}.yaml"
        if not named.is_file():
            raise ConfigError(f"unknown skill curve {text!r}", field="--skill", allowed=skill_names())
        path, text = named, str(named)
    if text.endswith((".yaml", ".yml")) or path.is_file():
        import yaml

        try:
            raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as exc:
            raise ConfigError(f"cannot read skill file: {exc}", file=text) from exc
        return _validate(raw, text, is_file=True)
    raw_map: dict[str, Any] = {"effects": {}}
    effect_names = set(SkillEffects.model_fields)
    for part in text.split(","):
        key, sep, value = part.partition("=")
        key = key.strip()
        try:
            number = float(value)
        except ValueError:
            number = math.nan
        if not sep or math.isnan(number) or key not in {"base", "fixed", "item_correlation", *effect_names}:
            raise ConfigError(
                f"bad skill item {part.strip()!r}",
                field="--skill",
                allowed=["base", "fixed", "item_correlation", *sorted(effect_names)],
            )
        if key in effect_names:
            raw_map["effects"][key] = number
        else:
            raw_map[key] = number
    return _validate(raw_map, "--skill")


def _validate(raw: Any, where: str, *, is_file: bool = False) -> SkillCurve:
    try:
        return SkillCurve.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or None
        raise ConfigError(
            first["msg"], file=where if is_file else None, field=field if is_file else f"{where} {field}"
        ) from exc
