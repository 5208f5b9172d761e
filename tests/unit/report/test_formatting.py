"""Rounding of the numbers people read."""

from __future__ import annotations

import math

import pytest

from harness.report import formatting as f


@pytest.mark.parametrize(
    ("value", "text"),
    [(0.000123456, "0.000123"), (1234.6, "1235"), (0.5, "0.5"), (12.0, "12"), (0, "0"), (-0.0421, "-0.0421")],
)
def test_sig(value: float, text: str) -> None:
    assert f.sig(value) == text


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0.0123, "12.3 ms"),
        (0.85, "850 ms"),
        (1.234, "1.23 s"),
        (150.0, "2.5 min"),
        (9000.0, "2.5 h"),
        (None, "—"),
        (math.nan, "—"),
    ],
)
def test_fmt_seconds(value: float | None, text: str) -> None:
    assert f.fmt_seconds(value) == text


@pytest.mark.parametrize(
    ("value", "text"),
    [(12.345, "$12.35"), (1234.5, "$1,234.50"), (0.000123, "$0.000123"), (0, "$0"), (None, "—")],
)
def test_fmt_usd(value: float | None, text: str) -> None:
    assert f.fmt_usd(value) == text


def test_fmt_stat_ratio_and_plain_metrics() -> None:
    assert f.fmt_stat("accuracy", {"mean": 0.8123, "ci_low": 0.78, "ci_high": 0.841}) == "81.2% [78.0, 84.1]"
    assert f.fmt_stat("bleu", {"mean": 12.3456, "ci_low": 10.0, "ci_high": 14.5}) == "12.3 [10, 14.5]"
    assert f.fmt_stat("accuracy", {"mean": 0.5, "ci_low": None, "ci_high": None}) == "50.0%"
    assert f.fmt_stat("accuracy", None) == "—"


def test_fmt_value_labels_grid_values() -> None:
    assert [f.fmt_value(v) for v in (None, True, 0.6, 20, "high", ["\n"])] == [
        "default",
        "true",
        "0.6",
        "20",
        "high",
        '["\\n"]',
    ]


def test_is_number_rejects_bools_and_nan() -> None:
    assert f.is_number(1)
    assert f.is_number(0.5)
    assert not f.is_number(True)
    assert not f.is_number(math.nan)
    assert not f.is_number("1")


def test_fmt_value_labels_an_unset_axis_nan_as_the_api_default() -> None:
    # pandas fills an axis that an explicit grid cell does not set with NaN; it crashed sig() before.
    assert f.fmt_value(math.nan) == "default"
    assert f.fmt_value(float("nan")) == f.fmt_value(None)
