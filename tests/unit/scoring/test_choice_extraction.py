"""The multiple-choice extractor against a hand-written table of realistic model answers.

Each row: (reply, the item's choices, expected letter or None, strategy). Expected letters were written
by hand from reading the reply.
"""

from __future__ import annotations

import pytest

from harness.scoring.choice import extract_choice, valid_letters

CAPITALS = ["London", "Paris", "Berlin", "Madrid"]
NUMBERS = ["0", "4", "2", "6"]
PLANETS = [
    "Planetary density will decrease.",
    "Planetary years will become longer.",
    "Planetary days will become shorter.",
    "Planetary gravity will become stronger.",
]
FIVE = ["red", "green", "blue", "yellow", "purple"]

TABLE: list[tuple[str, list[str] | None, str | None, str]] = [
    # the whole reply is the letter
    ("B", CAPITALS, "B", "whole"),
    ("B.", CAPITALS, "B", "whole"),
    ("(C)", CAPITALS, "C", "whole"),
    ("**D**", CAPITALS, "D", "whole"),
    ("  a  ", CAPITALS, "A", "whole"),
    ("[B]", CAPITALS, "B", "whole"),
    ("C)", CAPITALS, "C", "whole"),
    ("`A`", CAPITALS, "A", "whole"),
    ("E", FIVE, "E", "whole"),
    # \boxed
    (r"The correct option is therefore $\boxed{C}$.", PLANETS, "C", "boxed"),
    (r"$\boxed{\text{B}}$", CAPITALS, "B", "boxed"),
    (r"\boxed{(D)}", CAPITALS, "D", "boxed"),
    (r"Final: \boxed{A}", CAPITALS, "A", "boxed"),
    # explicit phrases
    ("Answer: B", CAPITALS, "B", "answer-phrase"),
    ("The answer is **B**.", CAPITALS, "B", "answer-phrase"),
    ("Answer: (C) because faster rotation shortens the day.", PLANETS, "C", "answer-phrase"),
    ("The correct answer is: **B) Paris**", CAPITALS, "B", "answer-phrase"),
    ("Final Answer: D", CAPITALS, "D", "answer-phrase"),
    ("ANSWER: b", CAPITALS, "B", "answer-phrase"),
    ("The answer is (b).", CAPITALS, "B", "answer-phrase"),
    ("The best answer is C.", PLANETS, "C", "answer-phrase"),
    ("I would choose option C.", CAPITALS, "C", "answer-phrase"),
    ("I'll go with B", CAPITALS, "B", "answer-phrase"),
    ("After weighing them, I pick D.", CAPITALS, "D", "answer-phrase"),
    ("Option A is wrong. Option B is correct.", CAPITALS, "B", "answer-phrase"),
    ("B is the correct answer.", CAPITALS, "B", "answer-phrase"),
    ("(C) is right.", CAPITALS, "C", "answer-phrase"),
    ("A large planet spins... I think the answer is D.", PLANETS, "D", "answer-phrase"),
    ("Answer: A because London is the capital of England.", CAPITALS, "A", "answer-phrase"),
    ("The answer is option B, Paris.", CAPITALS, "B", "answer-phrase"),
    ("My answer: D", CAPITALS, "D", "answer-phrase"),
    ("The correct choice is A and not C.", CAPITALS, "A", "answer-phrase"),
    ("At first I thought the answer was A, but the answer is actually C.", CAPITALS, "C", "answer-phrase"),
    ("The answer is therefore B.", CAPITALS, "B", "answer-phrase"),
    ("Correct option: [D]", CAPITALS, "D", "answer-phrase"),
    ("the answer is a.", CAPITALS, "A", "answer-phrase"),
    ("The answer is E", FIVE, "E", "answer-phrase"),
    (
        "Let's check each option.\nA) London - no.\nB) Paris - yes, the capital.\nC) Berlin - no.\n\nAnswer: B",
        CAPITALS,
        "B",
        "answer-phrase",
    ),
    # bold letters
    ("Looking at the options, **B** fits best.", CAPITALS, "B", "bold"),
    ("Rotation shortens the day.\n\n**C. Planetary days will become shorter.**", PLANETS, "C", "bold"),
    ("**(A)** London", CAPITALS, "A", "bold"),
    ("It must be **D)**", CAPITALS, "D", "bold"),
    # a reply that opens with its pick
    ("B) Paris is the capital of France.", CAPITALS, "B", "leading"),
    ("(C) Planetary days will become shorter, because the planet spins faster.", PLANETS, "C", "leading"),
    ("D. Madrid\n\nMadrid has been the capital since 1561.", CAPITALS, "D", "leading"),
    # the option's own text
    ("The answer is Paris.", CAPITALS, "B", "answer-text"),
    ("The answer is 4.", NUMBERS, "B", "answer-text"),
    ("Planetary days will become shorter.", PLANETS, "C", "text"),
    ("Paris", CAPITALS, "B", "text"),
    ("It spins faster, so planetary days will become shorter.", PLANETS, "C", "text"),
    ("The capital of Spain is Madrid.", CAPITALS, "D", "text"),
    ("My answer: the degree is 6", NUMBERS, "D", "answer-text"),
    # bare mentions, the last resort
    ("I'm fairly confident about option D here.", CAPITALS, "D", "option-mention"),
    ("Probably (b), though I am not sure.", CAPITALS, "B", "option-mention"),
    ("Between choice A and choice C, choice C fits.", CAPITALS, "C", "option-mention"),
    # nothing (or nothing valid) to find
    ("A) London\nB) Paris\nC) Berlin\nD) Madrid", CAPITALS, None, ""),
    ("The answer is a city in France.", CAPITALS, None, ""),
    ("A large number of factors matter here.", CAPITALS, None, ""),
    ("I am not sure.", CAPITALS, None, ""),
    ("The answer is E.", CAPITALS, None, ""),
    ("It is either Paris or London.", CAPITALS, None, ""),
    ("", CAPITALS, None, ""),
    ("The answer is 2 + 2 = 5.", NUMBERS, None, ""),
    ("Vitamin C deficiency causes scurvy.", ["Rickets", "Scurvy", "Beriberi", "Pellagra"], "B", "text"),
    ("Both A and B are plausible.", CAPITALS, None, ""),
]


@pytest.mark.parametrize(
    ("reply", "choices", "expected", "strategy"), TABLE, ids=[f"c{i}" for i in range(len(TABLE))]
)
def test_extracts_hand_written_choice(
    reply: str, choices: list[str] | None, expected: str | None, strategy: str
) -> None:
    found = extract_choice(reply, letters=valid_letters(choices), choices=choices)
    if expected is None:
        assert found is None
        return
    assert found is not None
    assert (found.letter, found.strategy) == (expected, strategy)


def test_table_is_large_enough() -> None:
    assert len(TABLE) >= 60


def test_letters_come_from_choices() -> None:
    assert valid_letters(FIVE) == "ABCDE"
    assert valid_letters(None) == "ABCD"
    assert valid_letters(None, "AB") == "AB"


def test_text_match_can_be_turned_off() -> None:
    assert extract_choice("The answer is Paris.", letters="ABCD", choices=CAPITALS, match_text=False) is None


def test_without_choices_only_letters_count() -> None:
    found = extract_choice("Answer: C", letters="ABCD", choices=None)
    assert found is not None
    assert found.letter == "C"
