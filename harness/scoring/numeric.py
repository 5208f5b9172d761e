"""The `numeric` scorer: pulls the final number out of a free-form (often LaTeX or Markdown) answer the way
GSM8K-style evaluations do, more robustly, and compares it exactly (fractions) or within a tolerance.
Must not guess beyond the documented strategies, in their order:

1. `#### 42` (GSM8K's own marker), 2. `\\boxed{42}`, 3. "the answer is 42" / "Answer: 42",
4. a bold `**42**`, 5. the last (or first) number as a fallback, which can be turned off.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, localcontext
from fractions import Fraction
from typing import Literal

from harness.errors import ConfigError, ScoringError
from harness.records import Record, Score
from harness.scoring.base import Scorer, references, result_at, scored_text, verdict
from harness.scoring.registry import scorer

Fallback = Literal["last", "first", "none"]


@dataclass(frozen=True, slots=True)
class NumberMatch:
    """An extracted number: exact value, the text it came from, and the strategy that found it."""

    value: Fraction
    text: str
    strategy: str

    @property
    def canonical(self) -> str:
        return format_number(self.value)


def format_number(value: Fraction) -> str:
    """A canonical spelling: `42`, `-3.5`, `0.125`, or `1/3` when no finite decimal exists."""
    if value.denominator == 1:
        return str(value.numerator)
    den = value.denominator
    for p in (2, 5):
        while den % p == 0:
            den //= p
    if den != 1:
        return f"{value.numerator}/{value.denominator}"
    with localcontext() as ctx:
        ctx.prec = 60
        text = format(Decimal(value.numerator) / Decimal(value.denominator), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


# --- normalising LaTeX and Unicode so that one number pattern suffices ------------------------------

_FRAC = re.compile(r"\\[dt]?frac\s*\{\s*([-+]?[\d.,]+)\s*\}\s*\{\s*([-+]?[\d.,]+)\s*\}")
_FRAC_SHORT = re.compile(r"\\[dt]?frac\s*(\d)\s*(\d)")
_TEXT_CMD = re.compile(r"\\(?:text|textbf|textrm|mathrm|mathbf|mbox|operatorname)\s*\{([^{}]*)\}")
_SCI = re.compile(r"(\d)\s*(?:\\times|×|\\cdot|⋅|\*|x)\s*10\s*\^\s*\{?\s*([-+−]?\d+)(?:\s*\})?")
_DIGIT_GAP = re.compile(r"(?<=\d)(?:\\,|\\!|\\;|\\ |[\u2009\u202f\u00a0'])(?=\d{3}(?!\d))")
_DEGREES = re.compile(r"\^\s*\{?\s*\\circ\s*\}?|°")
_REPLACEMENTS = (
    ("\u2212", "-"),  # unicode minus
    ("\ufe63", "-"),
    ("\uff0d", "-"),
    ("\\$", "$"),
    ("\\%", "%"),
    ("{,}", ","),
    ("\\left", ""),
    ("\\right", ""),
    ("\\!", ""),
)


def normalize_math(text: str) -> str:
    """Rewrite LaTeX and typographic number spellings into plain ones (`\\frac{3}{4}` -> `3/4`)."""
    for old, new in _REPLACEMENTS:
        text = text.replace(old, new)
    text = _DIGIT_GAP.sub("", text)
    for _ in range(3):  # \text{} may wrap a fraction and the other way round
        text = _TEXT_CMD.sub(r" \1 ", text)
        text = _FRAC.sub(r"\1/\2", text)
        text = _FRAC_SHORT.sub(r"\1/\2", text)
    text = _SCI.sub(lambda m: f"{m.group(1)}e{m.group(2).replace('−', '-')}", text)
    return _DEGREES.sub(" ", text)


_NUMBER = re.compile(
    r"""
    (?<![\w.,/^])                         # not inside a word, a decimal, a fraction or an exponent
    (?P<sign>[-+])?
    (?:[$€£¥₹]\s?)?
    (?P<sign2>-)?
    (?:(?P<whole>\d+)[ \u00a0]+(?=\d+\s*/\s*\d))?      # mixed number: 1 1/2
    (?P<num>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+\.\d+|\d+|\.\d+)
    (?:[eE](?P<exp>[-+]?\d+)(?!\.\d))?
    (?:\s*/\s*(?P<den>\d+(?:\.\d+)?)(?!\d|[/.,]\d))?
    """,
    re.VERBOSE,
)


def _number_values(text: str) -> list[tuple[Fraction, str]]:
    """Every number in `text`, left to right, as exact values with the text each came from."""
    out: list[tuple[Fraction, str]] = []
    for m in _NUMBER.finditer(text):
        negative = m.group("sign") == "-" or m.group("sign2") == "-"
        num = Fraction(m.group("num").replace(",", ""))
        if m.group("exp"):
            num *= Fraction(10) ** int(m.group("exp"))
        den_text = m.group("den")
        whole_text = m.group("whole")
        if den_text is not None:
            den = Fraction(den_text)
            if den == 0:
                value = num
                den_text = None
            elif whole_text is not None and num < den:
                value = Fraction(int(whole_text)) + num / den
            else:
                if whole_text is not None:
                    out.append((Fraction(int(whole_text)), whole_text))
                value = num / den
        else:
            value = num
        out.append((-value if negative else value, m.group(0).strip()))
    return out


def _answer_in_span(span: str) -> tuple[Fraction, str] | None:
    """The number a short answer span states: after its last `=` if any, else its first number."""
    if "=" in span:
        after = _number_values(span.rsplit("=", 1)[1])
        if after:
            return after[0]
    found = _number_values(span)
    return found[0] if found else None


def _boxed_contents(text: str) -> list[str]:
    """The contents of every `\\boxed{...}` / `\\fbox{...}`, braces balanced, in order."""
    contents: list[str] = []
    for m in re.finditer(r"\\(?:boxed|fbox)\s*", text):
        i = m.end()
        if i < len(text) and text[i] == "{":
            depth, j = 0, i
            while j < len(text):
                if text[j] == "{":
                    depth += 1
                elif text[j] == "}":
                    depth -= 1
                    if depth == 0:
                        break
                j += 1
            contents.append(text[i + 1 : j])
        else:
            word = re.match(r"\S+", text[i:])
            if word:
                contents.append(word.group(0))
    return contents


_MARKER = re.compile(r"^[ \t]*#{4}[ \t]*(.+)$", re.MULTILINE)
_PHRASE = re.compile(
    r"""\banswers?\b[\s*_]*
        (?:is|was|would\s+be|will\s+be|should\s+be|=|:|\s[-—]\s)
        [\s*_:]*(?:therefore|thus|then|simply|just|indeed|exactly|approximately|about)?[\s:]*""",
    re.IGNORECASE | re.VERBOSE,
)
_SPAN_END = re.compile(
    r"(?<!\d)\.(?!\d)|[,;](?=\s)|\n|\s(?:because|since|as|which|so|but)\s|\(", re.IGNORECASE
)
_BOLD = re.compile(r"\*\*(.+?)\*\*|__(.+?)__", re.DOTALL)
_NOT_ANSWER_BOLD = re.compile(
    r"^\s*(?:step|part|case|method|option|example|problem|question|day|week)\b", re.I
)


def _phrase_span(text: str, start: int) -> str:
    rest = text[start:]
    if not rest.split("\n", 1)[0].strip(" *_:$"):  # "**Answer:**\n\n42": the answer is on the next line
        rest = rest.lstrip(" *_:$\n\t")
    end = _SPAN_END.search(rest)
    return rest[: end.start()] if end else rest


def extract_number(text: str, *, fallback: Fallback = "last") -> NumberMatch | None:
    """The final numeric answer in a model's reply, or None (see the module docstring for the order)."""
    text = normalize_math(text)
    for m in reversed(list(_MARKER.finditer(text))):
        found = _answer_in_span(m.group(1))
        if found:
            return NumberMatch(found[0], found[1], "gsm8k-marker")
    for content in reversed(_boxed_contents(text)):
        found = _answer_in_span(content)
        if found:
            return NumberMatch(found[0], found[1], "boxed")
    for m in reversed(list(_PHRASE.finditer(text))):
        found = _answer_in_span(_phrase_span(text, m.end()))
        if found:
            return NumberMatch(found[0], found[1], "answer-phrase")
    for m in reversed(list(_BOLD.finditer(text))):
        content = (m.group(1) or m.group(2) or "").strip()
        if len(content) > 80 or content.endswith(":") or _NOT_ANSWER_BOLD.match(content):
            continue
        found = _answer_in_span(content)
        if found:
            return NumberMatch(found[0], found[1], "bold")
    if fallback == "none":
        return None
    numbers = _number_values(text)
    if not numbers:
        return None
    value, raw = numbers[-1] if fallback == "last" else numbers[0]
    return NumberMatch(value, raw, f"{fallback}-number")


def parse_reference(reference: object, *, item_id: str = "?") -> Fraction:
    """A gold answer as an exact number: an int, a float, or a string such as `1,234`, `3/4` or a GSM8K
    solution ending in `#### 72`."""
    if isinstance(reference, bool):
        raise ScoringError(f"numeric: item {item_id!r}: reference {reference!r} is not a number")
    if isinstance(reference, int):
        return Fraction(reference)
    if isinstance(reference, float):
        return Fraction(repr(reference))
    if isinstance(reference, str):
        found = extract_number(reference, fallback="last")
        if found is not None:
            return found.value
    raise ScoringError(f"numeric: item {item_id!r}: reference {reference!r} is not a number")


def numbers_match(answer: Fraction, gold: Fraction, *, tolerance: float, relative_tolerance: float) -> bool:
    """Exact equality when both tolerances are 0, else |a - g| <= tolerance + relative_tolerance * |g|."""
    if tolerance == 0 and relative_tolerance == 0:
        return answer == gold
    bound = Fraction(repr(tolerance)) + Fraction(repr(relative_tolerance)) * abs(gold)
    return abs(answer - gold) <= bound


@scorer("numeric")
def numeric(
    *,
    tolerance: float = 0.0,
    relative_tolerance: float = 0.0,
    fallback: Fallback = "last",
    fallback_on_truncated: bool = False,
    use_reasoning: bool = False,
) -> Scorer:
    """Right when the extracted number equals a reference number (within the tolerances).

    Args:
        tolerance: absolute tolerance (>= 0); 0 compares exactly (1/3 != 0.333).
        relative_tolerance: tolerance as a share of the reference (>= 0).
        fallback: when no explicit answer is found, take the last or first number, or none.
        fallback_on_truncated: also apply the fallback to replies cut by maxTokens. Off by default: the
            last number of a cut-off reasoning is an intermediate value, not an answer.
    """
    for option, value in (("tolerance", tolerance), ("relative_tolerance", relative_tolerance)):
        if not value >= 0:
            raise ConfigError(f"{option} must be >= 0, got {value!r}", field=f"options.{option}")

    def score(record: Record, result_index: int) -> Score:
        result = result_at(record, result_index)
        golds = [parse_reference(ref, item_id=record.item_id) for ref in references(record, "numeric")]
        truncated = result.finish_reason == "length"
        mode: Fallback = "none" if truncated and not fallback_on_truncated else fallback
        found = extract_number(scored_text(result, use_reasoning=use_reasoning), fallback=mode)
        if found is None:
            return verdict(record, result_index, "numeric", extracted=None, correct=False)
        correct = any(
            numbers_match(found.value, gold, tolerance=tolerance, relative_tolerance=relative_tolerance)
            for gold in golds
        )
        how = f"{found.strategy}: {found.text!r}; reference {', '.join(format_number(g) for g in golds)}"
        return verdict(record, result_index, "numeric", extracted=found.canonical, correct=correct, how=how)

    return score
