"""The simulated model: answer key lookup, arithmetic, determinism, skill, formats, truncation."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from harness.capability import load_card
from harness.errors import ConfigError
from harness.pricing import load_prices
from harness.simulator.answer_key import AnswerKey, load_answer_key
from harness.simulator.arithmetic import find_arithmetic, format_number
from harness.simulator.model import Prompt, SimulatedModel
from harness.simulator.skill import parse_skill
from harness.simulator.writing import parse_options
from harness.tokens import count_tokens

CARD = load_card("qwen3.5-397b")
Q = "Natalia sold clips to 48 of her friends in April, and then she sold half as many clips in May."


def model(skill: str = "fixed=1.0", key: dict[str, Any] | None = None) -> SimulatedModel:
    return SimulatedModel(parse_skill(skill), AnswerKey(key), load_prices)


def prompt(m: SimulatedModel, content: str, **settings: Any) -> Prompt:
    return m.prepare(
        Prompt(
            "alibaba:qwen@3.5-397b",
            [{"role": "user", "content": content}],
            None,
            {**CARD.defaults(), **settings},
        ),
        CARD,
    )


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("What is 12 + 7 * 3?", 33),
        ("Compute (4 plus 5) times 2.", 18),
        ("What is 2^10?", 1024),
        ("Calculate 1,234 * 2.", 2468),
        ("7 / 2 = ?", 3.5),
    ],
)
def test_arithmetic_is_found_and_evaluated(text: str, value: float) -> None:
    found = find_arithmetic(text)
    assert found is not None
    assert found[1] == value


@pytest.mark.parametrize("text", ["In 2024 there were 3 cats.", "What is 1 / 0?", "Hello"])
def test_non_arithmetic_is_none(text: str) -> None:
    assert find_arithmetic(text) is None


def test_format_number() -> None:
    assert [format_number(x) for x in (42.0, 3.5, 1 / 3, -2.0)] == ["42", "3.5", "0.333333", "-2"]


def test_answer_key_finds_question_inside_template_with_other_whitespace() -> None:
    key = AnswerKey({Q: "72", "What is the capital of France?": "Paris"})
    assert key.find(f"Solve this.\nQuestion:  {Q.replace(' ', '  ', 3)}\nAnswer:") == (Q, "72")
    assert key.find("nothing here") is None


def test_answer_key_prefers_the_key_that_ends_last() -> None:
    key = AnswerKey({"Q one is here?": "1", "Q two is here?": "2"})
    assert key.find("Example: Q one is here? 1\nNow: Q two is here?") == ("Q two is here?", "2")


def test_answer_key_loads_json_and_jsonl(tmp_path: Path) -> None:
    (tmp_path / "k.json").write_text(json.dumps({"a question": 3}))
    (tmp_path / "k.jsonl").write_text('{"question": "q1", "answer": "B"}\n{"text": "q2", "target": 5}\n')
    assert load_answer_key(tmp_path / "k.json").find("a question") == ("a question", "3")
    assert load_answer_key(str(tmp_path / "k.jsonl")).find("q2") == ("q2", "5")


def test_answer_key_row_without_answer_is_config_error(tmp_path: Path) -> None:
    (tmp_path / "k.jsonl").write_text('{"question": "q1"}\n')
    with pytest.raises(ConfigError) as err:
        load_answer_key(tmp_path / "k.jsonl")
    assert err.value.line == 1


def test_options_are_parsed_from_lines() -> None:
    assert parse_options("Q?\nA) one\nB) two\n(C) three") == {"A": "one", "B": "two", "C": "three"}
    assert parse_options("B) alone") == {}


def test_same_seed_same_output_and_result_index_shifts_the_seed() -> None:
    m = model("base=0.5")
    p = prompt(m, "What is 17 * 23?")
    a, b = m.generate(p, CARD, 10, 0), m.generate(p, CARD, 10, 0)
    assert (a.text, a.reasoning) == (b.text, b.reasoning)
    shifted = m.generate(p, CARD, 9, 1)
    assert (shifted.seed, shifted.text) == (10, a.text)


def test_max_tokens_and_stop_do_not_change_the_underlying_answer() -> None:
    m = model()
    full = m.generate(prompt(m, "What is 17 * 23?"), CARD, 3)
    cut = m.generate(prompt(m, "What is 17 * 23?", maxTokens=full.completion_tokens - 2), CARD, 3)
    assert full.text.startswith(cut.text)
    assert cut.finish_reason == "length"


def test_usage_counts_match_the_tokenizer() -> None:
    m = model()
    for seed in range(20):
        g = m.generate(prompt(m, "What is 5 + 8?"), CARD, seed)
        assert g.thinking_tokens == count_tokens(g.reasoning)
        assert g.completion_tokens == count_tokens(g.text) + g.thinking_tokens


def test_prompt_tokens_follow_the_documented_template_rule() -> None:
    m = model()
    p = prompt(m, "What is 5 + 8?")
    assert p.prompt_tokens == count_tokens("What is 5 + 8?") + 5 + 3


def test_fixed_accuracy_is_recovered_over_many_seeds() -> None:
    m = model("fixed=0.3")
    p = prompt(m, "What is 17 * 23?")
    right = sum(bool(m.generate(p, CARD, s).correct) for s in range(2000))
    assert right / 2000 == pytest.approx(0.3, abs=0.04)


def test_wrong_answers_do_not_contain_the_gold() -> None:
    m = model("fixed=0.0")
    for seed in range(30):
        g = m.generate(prompt(m, "What is 17 * 23?"), CARD, seed)
        assert g.correct is False
        assert re.findall(r"-?\d+(?:\.\d+)?", g.text)[-1] != "391"


def test_multiple_choice_gold_gives_letters_and_wrong_picks_another_option() -> None:
    m = model("fixed=0.0", {"Which planet is largest?": "C"})
    letters = set()
    for seed in range(40):
        g = m.generate(
            prompt(m, "Which planet is largest?\nA) Mars\nB) Earth\nC) Jupiter\nD) Venus"), CARD, seed
        )
        last_line = g.text.splitlines()[-1]
        letters.add(re.findall(r"(?<![A-Za-z])([A-J])(?![A-Za-z])", last_line)[0])
    assert "C" not in letters
    assert letters <= {"A", "B", "D"}


def test_answers_come_in_several_formats() -> None:
    m = model()
    endings = {m.generate(prompt(m, "What is 17 * 23?"), CARD, s).text.splitlines()[-1] for s in range(60)}
    assert any("####" in e for e in endings)
    assert any("\\boxed{391}" in e for e in endings)
    assert "391" in endings
    assert any(e.startswith("The answer is") for e in endings)


def test_thinking_low_has_no_reasoning() -> None:
    m = model()
    g = m.generate(prompt(m, "What is 17 * 23?", thinkingLevel="low"), CARD, 1)
    assert (g.reasoning, g.thinking_tokens) == ("", 0)
