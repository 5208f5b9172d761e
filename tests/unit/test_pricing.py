"""Price tables and usage -> cost."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.config import PriceConfig
from harness.errors import ConfigError
from harness.pricing import cost_usd, load_price_table, load_prices

PRICES = PriceConfig(prompt_per_mtok=1.0, completion_per_mtok=4.0, thinking_per_mtok=2.0)


def test_qwen_prices_are_marked_placeholder() -> None:
    prices = load_prices("alibaba:qwen@3.5-397b")
    assert prices.placeholder is True
    assert prices.prompt_per_mtok > 0


def test_unknown_model_falls_back_to_default() -> None:
    assert load_prices("acme:unknown@1") == load_price_table()["default"]


def test_override_wins() -> None:
    assert load_prices("alibaba:qwen@3.5-397b", PRICES) is PRICES


def test_completion_includes_thinking_priced_separately() -> None:
    # 1000 prompt at $1/M, 300 text at $4/M, 200 thinking at $2/M
    assert cost_usd(PRICES, prompt_tokens=1000, completion_tokens=500, thinking_tokens=200) == pytest.approx(
        0.0026
    )


def test_thinking_defaults_to_completion_price() -> None:
    prices = PriceConfig(prompt_per_mtok=0.0, completion_per_mtok=3.0)
    assert cost_usd(
        prices, prompt_tokens=0, completion_tokens=1_000_000, thinking_tokens=400_000
    ) == pytest.approx(3.0)


def test_thinking_above_completion_is_an_error() -> None:
    with pytest.raises(ValueError, match="thinking_tokens"):
        cost_usd(PRICES, prompt_tokens=1, completion_tokens=1, thinking_tokens=2)


@given(
    st.integers(0, 10**6),
    st.integers(0, 10**6),
    st.integers(0, 10**6),
    st.integers(0, 10**6),
    st.integers(0, 10**6),
    st.integers(0, 10**6),
)
def test_property_cost_is_additive(p1: int, c1: int, t1: int, p2: int, c2: int, t2: int) -> None:
    t1, t2 = min(t1, c1), min(t2, c2)
    a = cost_usd(PRICES, prompt_tokens=p1, completion_tokens=c1, thinking_tokens=t1)
    b = cost_usd(PRICES, prompt_tokens=p2, completion_tokens=c2, thinking_tokens=t2)
    both = cost_usd(PRICES, prompt_tokens=p1 + p2, completion_tokens=c1 + c2, thinking_tokens=t1 + t2)
    assert both == pytest.approx(a + b, rel=1e-12, abs=1e-15)


def test_bad_price_file_names_file_and_field(tmp_path: Path) -> None:
    path = tmp_path / "prices.yaml"
    path.write_text("m:\n  prompt_per_mtok: -1\n  completion_per_mtok: 1\n")
    with pytest.raises(ConfigError) as err:
        load_prices("m", path=path)
    assert err.value.file == str(path)
    assert err.value.field == "m.prompt_per_mtok"


def test_missing_entry_without_default_lists_models(tmp_path: Path) -> None:
    path = tmp_path / "prices.yaml"
    path.write_text("m:\n  prompt_per_mtok: 1\n  completion_per_mtok: 1\n")
    with pytest.raises(ConfigError, match="'m'"):
        load_prices("other", path=path)
