"""Each built-in scorer's verdicts and outcomes on small records."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from harness.config import ScorerConfig
from harness.errors import ConfigError, ScoringError
from harness.records import Record, Score
from harness.scoring import build_scorer

MakeRecord = Callable[..., Record]


def run(name: str, record: Any, index: int = 0, **options: Any) -> Score:
    return build_scorer(ScorerConfig(name=name, options=options))(record, index)


# --- numeric -----------------------------------------------------------------------------------------


def test_numeric_right_answer(make_record: MakeRecord) -> None:
    score = run("numeric", make_record("So she makes $18.\n#### 18", reference="18"))
    assert (score.value, score.outcome, score.extracted) == (1.0, "correct", "18")
    assert score.explanation is not None
    assert "gsm8k-marker" in score.explanation


def test_numeric_wrong_answer(make_record: MakeRecord) -> None:
    score = run("numeric", make_record("The answer is 17.", reference="18"))
    assert (score.value, score.outcome, score.extracted) == (0.0, "wrong", "17")


def test_numeric_reference_is_a_gsm8k_solution(make_record: MakeRecord) -> None:
    record = make_record("The answer is 3.", reference="2/2 = 1 bolt\n2 + 1 = 3 bolts\n#### 3")
    assert run("numeric", record).outcome == "correct"


def test_numeric_fraction_equals_decimal(make_record: MakeRecord) -> None:
    assert run("numeric", make_record(r"\boxed{\frac{3}{4}}", reference=0.75)).outcome == "correct"


def test_numeric_tolerance(make_record: MakeRecord) -> None:
    record = make_record("The answer is 3.14.", reference="3.14159")
    assert run("numeric", record).outcome == "wrong"
    assert run("numeric", record, tolerance=0.01).outcome == "correct"
    assert run("numeric", record, relative_tolerance=0.001).outcome == "correct"


def test_numeric_list_reference_means_any(make_record: MakeRecord) -> None:
    assert run("numeric", make_record("It is 12.", reference=["10", "12"])).outcome == "correct"


def test_numeric_no_number_is_no_answer(make_record: MakeRecord) -> None:
    score = run("numeric", make_record("I cannot tell.", reference="4"))
    assert (score.value, score.outcome, score.extracted) == (0.0, "no_answer", None)


def test_numeric_truncated_without_answer(make_record: MakeRecord) -> None:
    record = make_record("First, 16 - 3 = 13 eggs, then 13 - 4 =", reference="9", finish="length")
    score = run("numeric", record)
    assert (score.value, score.outcome) == (0.0, "truncated")


def test_numeric_truncated_fallback_when_asked(make_record: MakeRecord) -> None:
    record = make_record("First, 16 - 3 - 4 = 9 eggs", reference="9", finish="length")
    score = run("numeric", record, fallback_on_truncated=True)
    assert (score.value, score.outcome) == (1.0, "correct")
    assert score.explanation is not None
    assert "truncated" in score.explanation


def test_numeric_truncated_but_explicit_answer_is_scored(make_record: MakeRecord) -> None:
    record = make_record("The answer is 9. Let me double-check by", reference="9", finish="length")
    score = run("numeric", record)
    assert (score.outcome, score.extracted) == ("correct", "9")
    assert score.explanation is not None
    assert "finishReason length" in score.explanation


def test_numeric_ignores_reasoning_by_default(make_record: MakeRecord) -> None:
    record = make_record("", reasoning="so the answer is 9", reference="9")
    assert run("numeric", record).outcome == "no_answer"
    assert run("numeric", record, use_reasoning=True).outcome == "correct"


def test_numeric_drops_inline_think_block(make_record: MakeRecord) -> None:
    record = make_record("<think>maybe 7? the answer is 7</think>The answer is 9.", reference="9")
    assert run("numeric", record).extracted == "9"


def test_numeric_missing_reference_is_a_scoring_error(make_record: MakeRecord) -> None:
    with pytest.raises(ScoringError, match="item-1"):
        run("numeric", make_record("The answer is 9."))


def test_numeric_bad_reference_names_item(make_record: MakeRecord) -> None:
    with pytest.raises(ScoringError, match=r"item-1.*'many'"):
        run("numeric", make_record("The answer is 9.", reference="many"))


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"tolerance": -1}, "tolerance"),
        ({"fallback": "middle"}, "fallback"),
        ({"tolerence": 0.1}, "tolerence"),
    ],
)
def test_numeric_bad_options(options: dict[str, Any], field: str) -> None:
    with pytest.raises(ConfigError) as info:
        build_scorer(ScorerConfig(name="numeric", options=options))
    assert info.value.field == f"scorers.options.{field}"
    assert "numeric" in info.value.message


# --- choice ------------------------------------------------------------------------------------------

CAPITALS = ["London", "Paris", "Berlin", "Madrid"]


def test_choice_letter_reference(make_record: MakeRecord) -> None:
    score = run("choice", make_record("Answer: (B) because Paris...", reference="B", choices=CAPITALS))
    assert (score.value, score.outcome, score.extracted) == (1.0, "correct", "B")


def test_choice_index_reference_zero_based(make_record: MakeRecord) -> None:
    record = make_record("The answer is C.", reference=2, choices=CAPITALS)
    assert run("choice", record).outcome == "correct"
    assert run("choice", record, reference_index_base=1).outcome == "wrong"


def test_choice_text_reference(make_record: MakeRecord) -> None:
    assert run("choice", make_record("D", reference="Madrid", choices=CAPITALS)).outcome == "correct"


def test_choice_wrong_letter(make_record: MakeRecord) -> None:
    score = run("choice", make_record("The answer is A.", reference="B", choices=CAPITALS))
    assert (score.outcome, score.extracted) == ("wrong", "A")


def test_choice_letter_outside_item_is_no_answer(make_record: MakeRecord) -> None:
    score = run("choice", make_record("The answer is E.", reference="B", choices=CAPITALS))
    assert score.outcome == "no_answer"


def test_choice_without_choices_uses_letters_option(make_record: MakeRecord) -> None:
    assert run("choice", make_record("Answer: E", reference="E"), letters="ABCDE").outcome == "correct"


def test_choice_bad_reference(make_record: MakeRecord) -> None:
    with pytest.raises(ScoringError, match="'Rome'"):
        run("choice", make_record("B", reference="Rome", choices=CAPITALS))


def test_choice_bad_letters_option() -> None:
    with pytest.raises(ConfigError) as info:
        build_scorer(ScorerConfig(name="choice", options={"letters": "abc"}))
    assert info.value.field == "scorers.options.letters"


# --- exact / contains / regex ------------------------------------------------------------------------


def test_exact_default_normalisation(make_record: MakeRecord) -> None:
    assert run("exact", make_record("  Paris \n", reference="paris")).outcome == "correct"
    assert run("exact", make_record("Paris.", reference="paris")).outcome == "wrong"


def test_exact_punctuation_and_articles(make_record: MakeRecord) -> None:
    record = make_record("The Eiffel Tower!", reference="eiffel tower")
    assert run("exact", record).outcome == "wrong"
    assert run("exact", record, strip_punctuation=True, drop_articles=True).outcome == "correct"


def test_exact_case_sensitive(make_record: MakeRecord) -> None:
    assert run("exact", make_record("paris", reference="Paris"), ignore_case=False).outcome == "wrong"


def test_exact_empty_is_no_answer(make_record: MakeRecord) -> None:
    assert run("exact", make_record("   ", reference="Paris")).outcome == "no_answer"


def test_contains(make_record: MakeRecord) -> None:
    record = make_record("The capital is Paris, of course.", reference=["Lyon", "paris"])
    score = run("contains", record)
    assert (score.outcome, score.extracted) == ("correct", "paris")


def test_contains_whole_word(make_record: MakeRecord) -> None:
    record = make_record("There are 42 of them.", reference="4")
    assert run("contains", record).outcome == "correct"
    assert run("contains", record, whole_word=True).outcome == "wrong"


def test_regex_last_match_group(make_record: MakeRecord) -> None:
    record = make_record("Guess: 3\nFinal: 7\nFinal: 9", reference="9")
    score = run("regex", record, pattern=r"Final: (\d+)")
    assert (score.outcome, score.extracted) == ("correct", "9")
    assert run("regex", record, pattern=r"Final: (\d+)", match="first").extracted == "7"


def test_regex_named_group_and_flags(make_record: MakeRecord) -> None:
    record = make_record("ANSWER = yes", reference="yes")
    score = run("regex", record, pattern=r"answer = (?P<v>\w+)", group="v", flags=["IGNORECASE"])
    assert (score.outcome, score.extracted) == ("correct", "yes")


def test_regex_no_match_is_no_answer(make_record: MakeRecord) -> None:
    assert run("regex", make_record("nothing", reference="x"), pattern=r"Final: (\d+)").outcome == "no_answer"


def test_regex_match_mode_needs_no_reference(make_record: MakeRecord) -> None:
    score = run("regex", make_record("I refuse."), pattern=r"\brefuse\b", mode="match")
    assert (score.outcome, score.extracted) == ("correct", "refuse")


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"pattern": "("}, "pattern"),
        ({"pattern": "(a)", "group": 2}, "group"),
        ({"pattern": "(?P<x>a)", "group": "y"}, "group"),
        ({"pattern": "a", "flags": ["Q"]}, "flags.0"),
        ({"pattern": "a", "match": "middle"}, "match"),
        ({}, "pattern"),
    ],
)
def test_regex_bad_options(options: dict[str, Any], field: str) -> None:
    with pytest.raises(ConfigError) as info:
        build_scorer(ScorerConfig(name="regex", options=options))
    assert info.value.field == f"scorers.options.{field}"


# --- f1 ----------------------------------------------------------------------------------------------


def test_f1_partial_overlap(make_record: MakeRecord) -> None:
    # pred tokens: eiffel tower paris (articles dropped); gold: eiffel tower -> P=2/3, R=1, F1=0.8
    score = run("f1", make_record("The Eiffel Tower, Paris.", reference="the Eiffel Tower"))
    assert score.value == pytest.approx(0.8)
    assert score.outcome == "correct"


def test_f1_best_reference_and_threshold(make_record: MakeRecord) -> None:
    record = make_record("blue whale", reference=["whale shark", "the blue whale"])
    assert run("f1", record).value == pytest.approx(1.0)
    low = run("f1", make_record("a whale", reference="whale shark"), threshold=0.9)
    assert low.value == pytest.approx(2 / 3)
    assert low.outcome == "wrong"


def test_f1_empty_answer(make_record: MakeRecord) -> None:
    score = run("f1", make_record("the", reference="whale"))
    assert (score.value, score.outcome) == (0.0, "no_answer")


# --- json --------------------------------------------------------------------------------------------

SCHEMA = {"type": "object", "required": ["name", "age"], "properties": {"age": {"type": "integer"}}}


def test_json_valid(make_record: MakeRecord) -> None:
    score = run("json", make_record('{"b": 1, "a": [1, 2]}'))
    assert (score.outcome, score.extracted) == ("correct", '{"a": [1, 2], "b": 1}')


def test_json_fenced_is_lenient_only(make_record: MakeRecord) -> None:
    record = make_record('Here you go:\n```json\n{"a": 1}\n```\nAnything else?')
    assert run("json", record).outcome == "correct"
    assert run("json", record, lenient=False).outcome == "no_answer"


def test_json_broken_is_no_answer(make_record: MakeRecord) -> None:
    score = run("json", make_record('{"a": 1'))
    assert score.outcome == "no_answer"
    assert score.explanation is not None
    assert "not JSON" in score.explanation


def test_json_schema(make_record: MakeRecord) -> None:
    assert run("json", make_record('{"name": "Ann", "age": 3}'), schema=SCHEMA).outcome == "correct"
    bad = run("json", make_record('{"name": "Ann", "age": "three"}'), schema=SCHEMA)
    assert bad.outcome == "wrong"
    assert bad.explanation is not None
    assert bad.explanation.startswith("schema: age:")


def test_json_schema_from_file(make_record: MakeRecord, tmp_path: Any) -> None:
    path = tmp_path / "schema.yaml"
    path.write_text("type: array\nitems: {type: integer}\n")
    assert run("json", make_record("[1, 2]"), schema=str(path)).outcome == "correct"
    assert run("json", make_record('[1, "x"]'), schema=str(path)).outcome == "wrong"


def test_json_invalid_schema_is_config_error() -> None:
    with pytest.raises(ConfigError) as info:
        build_scorer(ScorerConfig(name="json", options={"schema": {"type": "nonsense"}}))
    assert info.value.field == "scorers.options.schema"


def test_json_match_reference(make_record: MakeRecord) -> None:
    record = make_record('{"x": 1}', reference='{"x": 1}')
    assert run("json", record, match_reference=True).outcome == "correct"
    other = make_record('{"x": 2}', reference={"x": 1})
    assert run("json", other, match_reference=True).outcome == "wrong"
