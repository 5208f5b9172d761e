"""The simulated model honours every setting observably: diversity across seeds, penalties, a system
prompt's instruction, and settings it was told to ignore (generated as if absent)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import pytest

from harness.capability import load_card
from harness.errors import ConfigError
from harness.pricing import load_prices
from harness.simulator.answer_key import AnswerKey
from harness.simulator.model import Generation, Prompt, SimulatedModel
from harness.simulator.options import parse_ignored
from harness.simulator.sampling import distinct_modes, drop_repeated_words, penalty_strength, reply_prefix
from harness.simulator.skill import parse_skill

CARD = load_card("qwen3.5-397b")
SEEDS = range(100, 108)


def generate(
    settings: dict[str, Any], *, system: str | None = None, ignored: Sequence[str] = ()
) -> list[Generation]:
    m = SimulatedModel(parse_skill(None), AnswerKey(None), load_prices, ignored=ignored)
    prompt = m.prepare(
        Prompt(
            "alibaba:qwen@3.5-397b",
            [{"role": "user", "content": "What is 17 * 23?"}],
            system,
            {**CARD.defaults(), **settings},
        ),
        CARD,
    )
    return [m.generate(prompt, CARD, seed) for seed in SEEDS]


def distinct(gens: list[Generation]) -> int:
    return len({(g.reasoning, g.text) for g in gens})


def word_ratio(g: Generation) -> float:
    words = re.findall(r"\w+", (g.reasoning + " " + g.text).lower())
    return len(set(words)) / len(words)


@pytest.mark.parametrize(
    ("settings", "modes"),
    [
        ({"temperature": 0.6, "topK": 20, "topP": 0.95}, None),
        ({"temperature": 0}, 1),
        ({"temperature": 0.6, "topK": 1}, 1),
        ({"temperature": 0.3}, 2),
        ({"temperature": 0.6, "topK": 5}, 5),
        ({"temperature": 0.6, "topP": 0.2}, 2),
        ({"temperature": 0.6, "minP": 0.6}, 4),
        ({"temperature": 0.3, "topK": 3, "topP": 0.05}, 1),
    ],
)
def test_distinct_modes_follow_the_documented_rule(settings: dict[str, Any], modes: int | None) -> None:
    assert distinct_modes(settings) == modes


def test_default_settings_give_a_different_text_for_every_seed() -> None:
    assert distinct(generate({})) == len(SEEDS)


@pytest.mark.parametrize(
    "settings", [{"temperature": 0}, {"topK": 1}, {"topP": 0.05}, {"minP": 0.9}, {"temperature": 0.1}]
)
def test_concentrating_settings_give_one_text_across_seeds(settings: dict[str, Any]) -> None:
    gens = generate(settings)
    assert distinct(gens) == 1
    assert [g.seed for g in gens] == list(SEEDS)  # each result still reports its own seed


def test_high_temperature_keeps_every_seed_distinct() -> None:
    assert distinct(generate({"temperature": 1.5})) == len(SEEDS)


@pytest.mark.parametrize(
    "settings", [{"presencePenalty": 1.5}, {"frequencyPenalty": 1.5}, {"repetitionPenalty": 1.8}]
)
def test_penalties_raise_the_distinct_word_ratio(settings: dict[str, Any]) -> None:
    base = [word_ratio(g) for g in generate({})]
    penalised = [word_ratio(g) for g in generate(settings)]
    assert sum(penalised) / len(penalised) > sum(base) / len(base) + 0.1


def test_penalty_strength_and_word_dropping() -> None:
    assert penalty_strength({"presencePenalty": 1.0, "repetitionPenalty": 1.0}) == 0.5
    assert penalty_strength({"repetitionPenalty": 0.2}) == pytest.approx(0.8)
    text = "the cat sat\nthe cat ran far\nthen it sat"
    assert drop_repeated_words(text, 0.1) == text
    assert drop_repeated_words(text, 0.5) == "the cat sat\nran far\nthen it"


def test_system_prompt_instruction_is_obeyed() -> None:
    assert reply_prefix('Be brief. Begin your reply with "Noted:" please.') == "Noted:"
    assert reply_prefix("Be brief.") == ""
    gens = generate({}, system='Begin your reply with "Noted:"')
    assert all(g.text.startswith("Noted: ") for g in gens)
    assert not any(g.text.startswith("Noted:") for g in generate({}))


@pytest.mark.parametrize(
    ("name", "value"),
    [("topK", 1), ("minP", 0.9), ("temperature", 0), ("presencePenalty", 2), ("thinkingLevel", "low")],
)
def test_an_ignored_setting_generates_as_if_absent(name: str, value: Any) -> None:
    ignored = generate({name: value}, ignored=[name])
    assert [(g.text, g.reasoning) for g in ignored] == [(g.text, g.reasoning) for g in generate({})]
    assert [(g.text, g.reasoning) for g in generate({name: value})] != [
        (g.text, g.reasoning) for g in generate({})
    ]


def test_ignored_max_tokens_does_not_truncate() -> None:
    assert {g.finish_reason for g in generate({"maxTokens": 5})} == {"length"}
    assert {g.finish_reason for g in generate({"maxTokens": 5}, ignored=["maxTokens"])} == {"stop"}


def test_an_ignored_system_prompt_is_billed_but_not_obeyed() -> None:
    system = 'Begin your reply with "Noted:"'
    obeyed, ignored = generate({}, system=system), generate({}, system=system, ignored=["systemPrompt"])
    assert not any(g.text.startswith("Noted:") for g in ignored)
    assert ignored[0].prompt_tokens == obeyed[0].prompt_tokens > generate({})[0].prompt_tokens


def test_ignore_settings_are_checked_against_the_card() -> None:
    assert parse_ignored(" minP, topK ,minP", CARD) == ("minP", "topK")
    assert parse_ignored(["temperature"], CARD) == ("temperature",)
    with pytest.raises(ConfigError) as info:
        parse_ignored("minP,top_k", CARD)
    assert "'top_k'" in str(info.value)
    assert "ignore_settings" in str(info.value)
    assert "'topK'" in str(info.value)  # the allowed names
