"""The numeric extractor against a hand-written table of realistic model answers.

Each row: (reply, expected canonical answer or None, strategy that should find it). The expected values
were written by hand from reading the reply, not produced by the extractor.
"""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.scoring.numeric import extract_number, format_number

TABLE: list[tuple[str, str | None, str]] = [
    # GSM8K's own marker
    ("Janet sells 16 - 3 - 4 = 9 eggs.\nShe makes 9 * 2 = $18 every day.\n#### 18", "18", "gsm8k-marker"),
    ("#### 1,234", "1234", "gsm8k-marker"),
    ("She pays 3 * $4 = $12.\n#### $12", "12", "gsm8k-marker"),
    ("Total = 5 + 7 = 12\n\n####  12.", "12", "gsm8k-marker"),
    ("#### -7", "-7", "gsm8k-marker"),
    (
        "Step 1: 20 / 4 = 5\n#### 5\n\nI hope this helps! Let me know if you have 2 more questions.",
        "5",
        "gsm8k-marker",
    ),
    # \boxed{}
    (r"Therefore, the final answer is $\boxed{18}$.", "18", "boxed"),
    (r"So the probability is $\boxed{\frac{3}{4}}$.", "0.75", "boxed"),
    (r"The answer is \boxed{-\frac{1}{2}}", "-0.5", "boxed"),
    (r"$$\boxed{1{,}000}$$", "1000", "boxed"),
    (r"The area is $\boxed{25 \text{ cm}^2}$.", "25", "boxed"),
    (r"Solving gives $\boxed{x = 7}$.", "7", "boxed"),
    (r"First try: \boxed{40}. Wait, I forgot the tax. Corrected: \boxed{42}", "42", "boxed"),
    (r"\boxed{\$1,250.50}", "1250.5", "boxed"),
    (r"The angle is $\boxed{45^\circ}$.", "45", "boxed"),
    (r"\boxed{\dfrac{7}{2}}", "3.5", "boxed"),
    (r"Hence $p = \boxed{\tfrac12}$", "0.5", "boxed"),
    (r"The total is \boxed{3.50}.", "3.5", "boxed"),
    (r"We need $\boxed{2}$ more buses, since 3 buses carry 150 students.", "2", "boxed"),
    (r"\boxed{15\%}", "15", "boxed"),
    (r"The remainder is $\boxed{\frac{2}{3}}$", "2/3", "boxed"),
    (r"\[ \boxed{ 1.5 \times 10^{3} } \]", "1500", "boxed"),
    # "the answer is" / "Answer:"
    ("The answer is 42.", "42", "answer-phrase"),
    ("So the answer is $1,234.56.", "1234.56", "answer-phrase"),
    ("Therefore, the answer is: **72**", "72", "answer-phrase"),
    ("Answer: 15 apples", "15", "answer-phrase"),
    ("**Answer:** 8", "8", "answer-phrase"),
    ("**Final Answer:**\n\n120", "120", "answer-phrase"),
    ("Final answer: -3", "-3", "answer-phrase"),
    ("The final answer is −12.", "-12", "answer-phrase"),
    ("The answer is 3/4 of a cup.", "0.75", "answer-phrase"),
    ("The answer is 2 1/2 hours.", "2.5", "answer-phrase"),
    ("The answer is 0.125.", "0.125", "answer-phrase"),
    ("The answer is 7, since 3 + 4 = 7.", "7", "answer-phrase"),
    ("Thus the answer is x = 11.", "11", "answer-phrase"),
    ("I first thought the answer was 40, but rechecking, the answer is 45.", "45", "answer-phrase"),
    ("The answer is 36 because 6 * 6 = 36 and nothing else fits.", "36", "answer-phrase"),
    ("Answer: €2,500", "2500", "answer-phrase"),
    ("The answer would be 9 (three rows of 3).", "9", "answer-phrase"),
    ("The answer is approximately 3.14.", "3.14", "answer-phrase"),
    ("ANSWER: 1,000,000", "1000000", "answer-phrase"),
    ("Answer: 60 km/h", "60", "answer-phrase"),
    ("The answer is -$5 (a loss).", "-5", "answer-phrase"),
    ("Answer = 64", "64", "answer-phrase"),
    ("The answer is 2.5e3 grams.", "2500", "answer-phrase"),
    ("Answer: 5 - 3 = 2", "2", "answer-phrase"),
    ("Let me answer step by step.\nHe has 4 bags of 6, so 24 apples.", "24", "last-number"),
    # bold
    ("She has 5 + 3 = **8** apples left.", "8", "bold"),
    ("**Step 1:** 4 * 3 = 12\n**Step 2:** 12 + 6 = 18\n\nTotal: **18 dollars**", "18", "bold"),
    ("The farmer ends up with **$1,260**.", "1260", "bold"),
    ("**Total = 3 + 4 = 7**", "7", "bold"),
    ("After the trip there are __15__ people.", "15", "bold"),
    ("Results:\n- **Day 2:** 14 km\n- Final distance: **28 km**", "28", "bold"),
    # last number fallback
    ("She buys 3 packs of 12 pencils, so she has 36 pencils.", "36", "last-number"),
    ("It dropped to −3°C overnight.", "-3", "last-number"),
    ("x - 5 = 10, so x is 15", "15", "last-number"),
    ("She uses 1 1/2 cups of flour.", "1.5", "last-number"),
    ("The price went from $80 to $100, a 25% increase.", "25", "last-number"),
    ("Each slice is 10/4 = 2.5 inches", "2.5", "last-number"),
    ("The speed is 1.5 × 10^3 m/s", "1500", "last-number"),
    ("He ran 5-7 miles a day for a total of 42 miles.", "42", "last-number"),
    ("Total cost is $1,234.", "1234", "last-number"),
    ("It costs $3.14.", "3.14", "last-number"),
    ("The difference is 0.5", "0.5", "last-number"),
    ("They need .75 of a tank.", "0.75", "last-number"),
    ("The balance is -$20.", "-20", "last-number"),
    ("Their score rose by +15 points.", "15", "last-number"),
    ("There are 1\u202f000 marbles.", "1000", "last-number"),
    ("The ratio is 12/25/2023 on the receipt", "12", "last-number"),
    ("He has 2,3 and 4 marbles", "4", "last-number"),
    # nothing to find
    ("I cannot determine the answer without more information.", None, ""),
    ("The answer is not clear from the question.", None, ""),
    ("", None, ""),
    ("**Answer:** unknown", None, ""),
]


@pytest.mark.parametrize(("reply", "expected", "strategy"), TABLE, ids=[f"n{i}" for i in range(len(TABLE))])
def test_extracts_hand_written_answer(reply: str, expected: str | None, strategy: str) -> None:
    found = extract_number(reply)
    if expected is None:
        assert found is None
        return
    assert found is not None
    assert found.value == Fraction(expected)
    assert found.canonical == expected
    assert found.strategy == strategy


def test_table_is_large_enough() -> None:
    assert len(TABLE) >= 60


def test_fallback_none_finds_only_explicit_answers() -> None:
    assert extract_number("She has 36 pencils.", fallback="none") is None
    found = extract_number("The answer is 36.", fallback="none")
    assert found is not None
    assert found.value == 36


def test_fallback_first_takes_first_number() -> None:
    found = extract_number("3 packs of 12 pencils", fallback="first")
    assert found is not None
    assert (found.value, found.strategy) == (3, "first-number")


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (Fraction(42), "42"),
        (Fraction(-7, 2), "-3.5"),
        (Fraction(1, 8), "0.125"),
        (Fraction(1, 3), "1/3"),
        (Fraction(-2, 3), "-2/3"),
        (Fraction(0), "0"),
        (Fraction(1, 10**6), "0.000001"),
    ],
)
def test_format_number_is_canonical(value: Fraction, text: str) -> None:
    assert format_number(value) == text


# --- properties --------------------------------------------------------------------------------------


@given(st.fractions(max_denominator=10**6))
def test_format_number_round_trips(value: Fraction) -> None:
    assert Fraction(format_number(value)) == value


@given(
    st.integers(-(10**12), 10**12),
    st.sampled_from(["The answer is {}.", "#### {}", r"$\boxed{{{}}}$", "**{}**"]),
)
def test_any_integer_with_separators_is_found(n: int, template: str) -> None:
    found = extract_number(template.format(f"{n:,}"))
    assert found is not None
    assert found.value == n


@given(st.decimals(min_value=-(10**6), max_value=10**6, places=3, allow_nan=False, allow_infinity=False))
def test_any_decimal_is_found(d: object) -> None:
    found = extract_number(f"So the total comes to {d} units.")
    assert found is not None
    assert found.value == Fraction(str(d))
