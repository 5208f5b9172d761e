"""The probe's design: which arms and experiments each protocol gets, and how settings are named."""

from __future__ import annotations

from harness.capability import load_card
from harness.config import SuiteConfig
from harness.probe.experiments import BASE_MAX_TOKENS, design_probe, wire_name
from harness.probe.runner import build_trials, suite_settings

QWEN = load_card("qwen3.5-397b")
GENERIC = load_card("openai-generic")


def test_runware_design_covers_every_setting_with_deliveries_and_a_batch() -> None:
    design = design_probe(QWEN, "runware", "sync", samples=6)
    settings = {e.setting for e in design.experiments}
    assert settings == {
        "seed", "temperature", "topK", "topP", "minP", "presencePenalty", "frequencyPenalty",
        "repetitionPenalty", "maxTokens", "stopSequences", "numberResults", "thinkingLevel",
        "systemPrompt", "includeUsage", "includeCost",
    }  # fmt: skip
    seed = next(e for e in design.experiments if e.setting == "seed")
    assert seed.arms == ("reference", "delivery-stream", "delivery-async", "batch")
    assert design.arms["batch"].seeds == (1000, 1000, 1000)
    assert design.arms["batch"].batch_size == 3
    assert design.settings_of(design.arms["topK=1"]) == {"maxTokens": BASE_MAX_TOKENS, "topK": 1}


def test_openai_design_has_no_async_or_batch_arm() -> None:
    design = design_probe(GENERIC, "openai", "stream", samples=4)
    assert "batch" not in design.arms
    assert "delivery-async" not in design.arms
    assert "delivery-sync" in design.arms
    assert design.arms["reference"].seeds == (1000, 1001, 1002, 1003)


def test_openai_names_come_from_the_providers_mapping() -> None:
    switch = {"low": {"chat_template_kwargs": {"enable_thinking": False}}}
    assert wire_name("topK", "openai", None) == "top_k"
    assert wire_name("minP", "openai", None) == "min_p"
    assert wire_name("stopSequences", "openai", None) == "stop"
    assert wire_name("numberResults", "openai", None) == "n"
    assert wire_name("thinkingLevel", "openai", switch).startswith("reasoning_switch: low=")
    assert "not mapped" in wire_name("thinkingLevel", "openai", None)
    assert wire_name("topK", "runware", None) == "settings.topK"


def test_trials_are_unique_and_a_batch_arm_shares_one_derived_target() -> None:
    from harness.loading import load_target

    target = load_target("sim")
    design = design_probe(QWEN, "runware", target.delivery, samples=6)
    targets, trials, arm_of = build_trials(design, target, len)
    assert len({t.key for t in trials}) == len(trials) == sum(len(a.seeds) for a in design.arms.values())
    batch = [t for t in trials if arm_of[t.key] == "batch"]
    assert {t.target for t in batch} == {"sim@syncx3"}
    assert targets["sim@syncx3"].batch_size == 3
    assert targets["sim@stream"].delivery == "stream"
    assert [t.repeat for t in batch] == [0, 1, 2]


def test_suite_settings_are_its_settings_axes_and_system_prompt() -> None:
    suite = SuiteConfig.model_validate(
        {
            "name": "s",
            "dataset": {"path": "x.jsonl"},
            "prompt": {"system": "Be brief.", "template": "{{ input }}"},
            "settings": {"maxTokens": 10, "seed": 1},
            "grid": {"temperature": [0, 1], "target": ["a", "b"]},
        }
    )
    assert suite_settings(suite) == [
        "includeCost", "includeUsage", "maxTokens", "seed", "systemPrompt", "temperature",
    ]  # fmt: skip


def test_the_commands_default_cost_cap_is_the_probes() -> None:
    from harness.commands import probe as command
    from harness.probe import DEFAULT_MAX_COST_USD

    assert command.DEFAULT_MAX_COST_USD == DEFAULT_MAX_COST_USD


def test_bad_flags_are_config_errors_before_anything_is_sent() -> None:
    import pytest

    from harness.errors import ConfigError
    from harness.probe import ProbeOptions, prepare_probe

    with pytest.raises(ConfigError) as card:
        prepare_probe(ProbeOptions(target="sim", card="no-such-card", dry_run=True))
    assert "'qwen3.5-397b'" in str(card.value)  # the cards that exist
    with pytest.raises(ConfigError, match="--samples"):
        prepare_probe(ProbeOptions(target="sim", samples=1, dry_run=True))
    with pytest.raises(ConfigError, match="RUNWARE_API_KEY"):
        prepare_probe(ProbeOptions(target="runware-qwen"), environ={})
    prepared = prepare_probe(ProbeOptions(target="runware-qwen", dry_run=True), environ={})
    assert prepared.estimate.cost_usd > 0
    assert prepared.protocol == "runware"
