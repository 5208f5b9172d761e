"""The simulated model as a judge: a prompt built by the judge scorer's default rubric gets a verdict
(or a score) that the judge scorer can parse, agreeing with the reference at the skill curve's rate."""

from __future__ import annotations

from typing import Any

import pytest

from harness.capability import load_card
from harness.pricing import load_prices
from harness.scoring.judge import parse_verdict
from harness.scoring.judge_prompt import JudgeRubric
from harness.simulator.answer_key import AnswerKey
from harness.simulator.grading import final_result, find_grading
from harness.simulator.model import Prompt, SimulatedModel
from harness.simulator.skill import parse_skill

CARD = load_card("qwen3.5-397b")
QUESTION = "Natalia sold clips to 48 of her friends in April, and then half as many in May. How many in all?"


def judge_prompt(answer: str, reference: str, *, scale: int | None = None, choices: Any = None) -> str:
    rubric = JudgeRubric.build(None, system=None, scale=scale)
    return str(
        rubric.render(question=QUESTION, reference=reference, answer=answer, choices=choices, item_id="x")
    )


def reply(text: str, *, skill: str = "fixed=1.0", seed: int = 1, key: dict[str, Any] | None = None) -> str:
    model = SimulatedModel(parse_skill(skill), AnswerKey(key), load_prices)
    prompt = model.prepare(
        Prompt("alibaba:qwen@3.5-397b", [{"role": "user", "content": text}], None, CARD.defaults()), CARD
    )
    return model.generate(prompt, CARD, seed).text


@pytest.mark.parametrize(
    ("answer", "verdict"),
    [
        ("Let's add.\n48 + 24 = 72.\nThe answer is 72.", 1.0),
        ("So the final answer is $\\boxed{72}$.", 1.0),
        ("#### 1,000", 0.0),
        ("I cannot tell.", 0.0),
    ],
)
def test_binary_judge_prompt_gets_a_parsable_verdict(answer: str, verdict: float) -> None:
    # Regression: the simulator answered judge prompts with free text ("it depends"), so every judge
    # score on the simulator was invalid; with the question in its answer key it even solved the question.
    text = reply(judge_prompt(answer, "72"), key={QUESTION: "72"})
    assert parse_verdict(text, None) == verdict


def test_scaled_judge_prompt_gets_a_score_on_that_scale() -> None:
    right = [
        parse_verdict(reply(judge_prompt("The answer is 72.", "72", scale=10), seed=s), 10) for s in range(20)
    ]
    wrong = [
        parse_verdict(reply(judge_prompt("The answer is 70.", "72", scale=10), seed=s), 10) for s in range(20)
    ]
    assert all(v is not None and 0.8 <= v <= 1.0 for v in right)
    assert all(v is not None and 0.0 <= v <= 0.3 for v in wrong)


def test_letter_references_read_the_chosen_option() -> None:
    prompt = judge_prompt("The correct option is (B) A dog.", "B", choices=["A cat", "A dog"])
    grading = find_grading(prompt)
    assert grading is not None
    assert (grading.agrees, grading.found, grading.scale) == (True, "B", None)
    assert final_result("**C**", "B") == "C"


def test_the_judge_errs_at_the_skill_curves_rate() -> None:
    verdicts = [
        parse_verdict(reply(judge_prompt("The answer is 72.", "72"), skill="fixed=0.7", seed=s), None)
        for s in range(400)
    ]
    assert set(verdicts) == {0.0, 1.0}
    assert 0.62 <= sum(v == 1.0 for v in verdicts if v is not None) / 400 <= 0.78


def test_ordinary_prompts_are_not_gradings() -> None:
    assert find_grading("What is 17 * 3?") is None
    assert find_grading('Reference answer:\n3\n\nAnswer to grade:\n3\n\nReply with "yes".') is None
