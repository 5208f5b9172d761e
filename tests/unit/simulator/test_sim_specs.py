"""Parsing of --latency, --faults and --skill, and the latency and skill functions they define."""

from __future__ import annotations

import itertools
from collections import Counter
from pathlib import Path

import pytest

from harness.capability import load_card
from harness.errors import ConfigError
from harness.simulator.faults import FaultInjector, parse_faults
from harness.simulator.latency import parse_latency
from harness.simulator.skill import parse_skill

DEFAULTS = load_card("qwen3.5-397b").defaults()


def settings(**changes: object) -> dict[str, object]:
    return {**DEFAULTS, **changes}


def test_latency_zero_means_no_delay() -> None:
    model = parse_latency("0")
    assert not model.enabled
    assert model.duration(10_000, 500) == 0.0


def test_latency_ttft_grows_with_prompt_tokens_per_ktok() -> None:
    model = parse_latency("ttft=0.25,tps=50,per_ktok=0.1")
    assert model.ttft(0) == pytest.approx(0.25)
    assert model.ttft(2000) == pytest.approx(0.45)
    assert model.token_gap() == pytest.approx(0.02)
    assert model.duration(0, 100) == pytest.approx(0.25 + 2.0)


def test_latency_scale_multiplies_everything() -> None:
    base, slow = parse_latency("ttft=0.2,tps=40"), parse_latency("ttft=0.2,tps=40,scale=1.3")
    assert slow.duration(1000, 200) == pytest.approx(1.3 * base.duration(1000, 200))


def test_latency_jitter_is_bounded_by_its_fraction() -> None:
    model = parse_latency("ttft=1,tps=10,jitter=0.2,per_ktok=0")
    assert (model.ttft(0, 0.0), model.ttft(0, 1.0)) == (pytest.approx(0.8), pytest.approx(1.2))


def test_latency_spec_round_trips() -> None:
    model = parse_latency("ttft=0.3,tps=70,jitter=0.1,scale=2")
    assert parse_latency(model.to_spec()) == model


@pytest.mark.parametrize("spec", ["ttft", "ttft=x", "speed=3", "jitter=2", "tps=-1"])
def test_bad_latency_spec_is_a_config_error(spec: str) -> None:
    with pytest.raises(ConfigError, match="--latency"):
        parse_latency(spec)


def test_faults_parse_rates_and_options() -> None:
    plan = parse_faults("429=0.05,500=0.02,timeout=0.01,retry_after=1,hang_s=30")
    assert plan.rates == {"429": 0.05, "500": 0.02, "timeout": 0.01}
    assert (plan.retry_after_s, plan.hang_s) == (1.0, 30.0)
    assert parse_faults(plan.to_spec()) == plan


@pytest.mark.parametrize("spec", ["404=0.1", "500=1.5", "429=0.7,500=0.7", "500"])
def test_bad_fault_spec_is_a_config_error(spec: str) -> None:
    with pytest.raises(ConfigError, match="--faults"):
        parse_faults(spec)


def test_fault_draws_follow_their_rates() -> None:
    injector = FaultInjector(parse_faults("429=0.2,500=0.1"), seed=1)
    counts = Counter(injector.draw() for _ in range(20_000))
    assert counts["429"] / 20_000 == pytest.approx(0.2, abs=0.015)
    assert counts["500"] / 20_000 == pytest.approx(0.1, abs=0.015)


def test_fault_rate_one_always_fires_and_none_never() -> None:
    assert {FaultInjector(parse_faults("bad_json=1"), 0).draw() for _ in range(100)} == {"bad_json"}
    assert FaultInjector(parse_faults(None), 0).draw() is None


def test_skill_base_is_the_accuracy_at_card_defaults() -> None:
    assert parse_skill("base=0.8").accuracy(settings(), DEFAULTS) == pytest.approx(0.8)


def test_skill_falls_smoothly_past_temperature_one() -> None:
    curve = parse_skill(None)
    acc = [curve.accuracy(settings(temperature=t / 10), DEFAULTS) for t in range(0, 21)]
    assert acc[20] < acc[15] < acc[10] - 0.01
    assert max(acc) - acc[6] < 0.02  # flat near the default
    assert all(abs(a - b) < 0.08 for a, b in itertools.pairwise(acc))  # smooth


def test_skill_thinking_low_hurts() -> None:
    curve = parse_skill(None)
    assert curve.accuracy(settings(thinkingLevel="low"), DEFAULTS) == pytest.approx(0.85 - 0.12)


def test_skill_large_penalties_hurt() -> None:
    curve = parse_skill(None)
    assert curve.accuracy(settings(presencePenalty=2.0), DEFAULTS) < curve.accuracy(
        settings(presencePenalty=0.2), DEFAULTS
    )
    assert (
        curve.accuracy(settings(repetitionPenalty=1.8), DEFAULTS) < curve.accuracy(settings(), DEFAULTS) - 0.1
    )


def test_skill_fixed_ignores_settings() -> None:
    curve = parse_skill("fixed=0.7")
    assert curve.accuracy(settings(temperature=2.0, thinkingLevel="low"), DEFAULTS) == 0.7


def test_skill_file_with_overrides_sets_and_shifts_one_cell(tmp_path: Path) -> None:
    path = tmp_path / "skill.yaml"
    path.write_text(
        "base: 0.8\noverrides:\n  - {when: {temperature: 0.6}, accuracy: 0.72}\n  - {when: {temperature: 1.0, topK: 20}, delta: -0.08}\n"
    )
    curve = parse_skill(str(path))
    no_drop = parse_skill("base=0.8").accuracy(settings(temperature=1.0), DEFAULTS)
    assert curve.accuracy(settings(), DEFAULTS) == pytest.approx(0.72)
    assert curve.accuracy(settings(temperature=1.0), DEFAULTS) == pytest.approx(no_drop - 0.08)
    assert curve.accuracy(settings(temperature=1.0, topK=40), DEFAULTS) == pytest.approx(
        parse_skill("base=0.8").accuracy(settings(temperature=1.0, topK=40), DEFAULTS)
    )


def test_skill_spec_sets_effect_weights() -> None:
    curve = parse_skill("base=0.9,thinking_low=-0.3")
    assert curve.accuracy(settings(thinkingLevel="low"), DEFAULTS) == pytest.approx(0.6)


@pytest.mark.parametrize("spec", ["base=2", "fast=1", "base", "thinking_low=0.5"])
def test_bad_skill_spec_is_a_config_error(spec: str) -> None:
    with pytest.raises(ConfigError):
        parse_skill(spec)


def test_bad_skill_file_names_file_and_field(tmp_path: Path) -> None:
    path = tmp_path / "skill.yaml"
    path.write_text("base: 0.8\noverrides:\n  - {when: {temperature: 0.6}}\n")
    with pytest.raises(ConfigError) as err:
        parse_skill(str(path))
    assert err.value.file == str(path)
    assert err.value.field is not None
    assert err.value.field.startswith("overrides.0")
