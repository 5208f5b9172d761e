"""How numbers read in the report and the Markdown summary: percentages, seconds, dollars, tokens, each
rounded to what the data can support. Owns formatting only; it never computes a statistic.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

DASH = "—"

# Metrics whose values live in [0, 1] and read best as percentages.
_RATIO_PREFIXES = ("accuracy", "score:", "pass@", "pass^", "maj@", "error_rate")


def is_number(value: object) -> bool:
    """A finite int or float (bools and NaN are not numbers here)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return math.isfinite(value)


def sig(value: float, digits: int = 3) -> str:
    """`value` with `digits` significant digits, no scientific notation for ordinary magnitudes."""
    if value == 0:
        return "0"
    magnitude = math.floor(math.log10(abs(value)))
    decimals = max(0, digits - 1 - magnitude)
    text = f"{value:.{decimals}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def is_ratio_metric(name: str) -> bool:
    return name.startswith(_RATIO_PREFIXES)


def fmt_ratio(value: object) -> str:
    """0.8123 -> '81.2%'."""
    if not is_number(value):
        return DASH
    return f"{float(value) * 100:.1f}%"  # type: ignore[arg-type]


def fmt_metric(name: str, value: object) -> str:
    if not is_number(value):
        return DASH
    return fmt_ratio(value) if is_ratio_metric(name) else sig(float(value))  # type: ignore[arg-type]


def fmt_stat(name: str, stat: Mapping[str, Any] | None) -> str:
    """A STAT dict as 'mean [low, high]', e.g. '81.2% [78.0, 84.1]'."""
    if not stat or not is_number(stat.get("mean")):
        return DASH
    mean = fmt_metric(name, stat["mean"])
    low_raw, high_raw = stat.get("ci_low"), stat.get("ci_high")
    if not (is_number(low_raw) and is_number(high_raw)):
        return mean
    low, high = float(low_raw), float(high_raw)  # type: ignore[arg-type]
    if is_ratio_metric(name):
        return f"{mean} [{low * 100:.1f}, {high * 100:.1f}]"
    return f"{mean} [{sig(low)}, {sig(high)}]"


def fmt_seconds(value: object) -> str:
    """Latency: '850 ms' below a second, '1.23 s' above, '2.1 min' past two minutes."""
    if not is_number(value):
        return DASH
    seconds = float(value)  # type: ignore[arg-type]
    if abs(seconds) < 1:
        return f"{sig(seconds * 1000)} ms"
    if abs(seconds) < 120:
        return f"{sig(seconds)} s"
    if abs(seconds) < 7200:
        return f"{sig(seconds / 60, 2)} min"
    return f"{sig(seconds / 3600, 3)} h"


def fmt_usd(value: object) -> str:
    """Money: '$12.34' for dollars and more, three significant digits for small amounts."""
    if not is_number(value):
        return DASH
    usd = float(value)  # type: ignore[arg-type]
    if usd == 0:
        return "$0"
    if abs(usd) >= 1:
        return f"${usd:,.2f}"
    return f"${sig(usd)}"


def fmt_int(value: object) -> str:
    if not is_number(value):
        return DASH
    return f"{round(float(value)):,}"  # type: ignore[arg-type]


def fmt_tokens(value: object) -> str:
    """Token counts: integers with separators, one decimal for per-trial averages under 100."""
    if not is_number(value):
        return DASH
    number = float(value)  # type: ignore[arg-type]
    if number != int(number) and abs(number) < 100:
        return f"{number:.1f}"
    return f"{round(number):,}"


def fmt_rate(value: object) -> str:
    if not is_number(value):
        return DASH
    return f"{sig(float(value))} req/s"  # type: ignore[arg-type]


def fmt_value(value: object) -> str:
    """A grid value as a label: None is the API default, floats lose trailing zeros.

    NaN is how pandas fills an axis that a cell does not set (an explicit `grid.cells` entry that adds an
    axis the product lacks), so it means the same as None: the setting was not sent.
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "default"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return sig(value, 6)
    if isinstance(value, list | tuple | dict):
        import orjson

        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()
    return str(value)
