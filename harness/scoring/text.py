"""String scorers: `exact` (with normalisation options), `contains` and `regex` (first or last match,
group, flags). A list reference means any of its entries is right. Must not interpret numbers or
letters; those are `numeric` and `choice`.
"""

from __future__ import annotations

import re
import string
from collections.abc import Sequence
from typing import Literal

from harness.errors import ConfigError
from harness.records import Record, Score
from harness.scoring.base import Scorer, references, result_at, scored_text, verdict
from harness.scoring.registry import scorer

_ARTICLES = re.compile(r"\b(?:a|an|the)\b", re.IGNORECASE)
_PUNCT = re.compile(f"[{re.escape(string.punctuation)}\u2018\u2019\u201c\u201d\u2013\u2014\u2026]")
_SPACE = re.compile(r"\s+")

RegexFlag = Literal["IGNORECASE", "MULTILINE", "DOTALL", "VERBOSE", "ASCII", "i", "m", "s", "x", "a"]
_FLAGS: dict[str, re.RegexFlag] = {
    "IGNORECASE": re.IGNORECASE,
    "MULTILINE": re.MULTILINE,
    "DOTALL": re.DOTALL,
    "VERBOSE": re.VERBOSE,
    "ASCII": re.ASCII,
    "i": re.IGNORECASE,
    "m": re.MULTILINE,
    "s": re.DOTALL,
    "x": re.VERBOSE,
    "a": re.ASCII,
}


def normalize_text(
    text: str,
    *,
    ignore_case: bool = True,
    collapse_whitespace: bool = True,
    strip_punctuation: bool = False,
    drop_articles: bool = False,
) -> str:
    """Normalise a string for comparison; leading and trailing whitespace always goes."""
    if ignore_case:
        text = text.casefold()
    if strip_punctuation:
        text = _PUNCT.sub(" " if collapse_whitespace else "", text)
    if drop_articles:
        text = _ARTICLES.sub(" ", text)
    if collapse_whitespace:
        text = _SPACE.sub(" ", text)
    return text.strip()


class _Normalizer:
    __slots__ = ("articles", "case", "punctuation", "whitespace")

    def __init__(self, case: bool, whitespace: bool, punctuation: bool, articles: bool) -> None:
        self.case = case
        self.whitespace = whitespace
        self.punctuation = punctuation
        self.articles = articles

    def __call__(self, text: str) -> str:
        return normalize_text(
            text,
            ignore_case=self.case,
            collapse_whitespace=self.whitespace,
            strip_punctuation=self.punctuation,
            drop_articles=self.articles,
        )


def _reference_texts(record: Record, name: str) -> list[str]:
    return [str(ref) for ref in references(record, name)]


@scorer("exact")
def exact(
    *,
    ignore_case: bool = True,
    collapse_whitespace: bool = True,
    strip_punctuation: bool = False,
    drop_articles: bool = False,
    use_reasoning: bool = False,
) -> Scorer:
    """Right when the normalised answer equals a normalised reference."""
    norm = _Normalizer(ignore_case, collapse_whitespace, strip_punctuation, drop_articles)

    def score(record: Record, result_index: int) -> Score:
        text = scored_text(result_at(record, result_index), use_reasoning=use_reasoning)
        answer = norm(text)
        if not answer:
            return verdict(record, result_index, "exact", extracted=None, correct=False)
        golds = [norm(ref) for ref in _reference_texts(record, "exact")]
        return verdict(record, result_index, "exact", extracted=answer, correct=answer in golds)

    return score


@scorer("contains")
def contains(
    *,
    ignore_case: bool = True,
    collapse_whitespace: bool = True,
    strip_punctuation: bool = False,
    drop_articles: bool = False,
    whole_word: bool = False,
    use_reasoning: bool = False,
) -> Scorer:
    """Right when a normalised reference occurs in the normalised answer (as a whole word if asked)."""
    norm = _Normalizer(ignore_case, collapse_whitespace, strip_punctuation, drop_articles)

    def score(record: Record, result_index: int) -> Score:
        text = norm(scored_text(result_at(record, result_index), use_reasoning=use_reasoning))
        if not text:
            return verdict(record, result_index, "contains", extracted=None, correct=False)
        for ref in _reference_texts(record, "contains"):
            gold = norm(ref)
            if gold and _occurs(gold, text, whole_word):
                return verdict(record, result_index, "contains", extracted=gold, correct=True)
        return verdict(
            record,
            result_index,
            "contains",
            extracted=_clip(text),
            correct=False,
            how="no reference found in the answer",
        )

    return score


def _occurs(needle: str, haystack: str, whole_word: bool) -> bool:
    if not whole_word:
        return needle in haystack
    return re.search(rf"(?<!\w){re.escape(needle)}(?!\w)", haystack) is not None


def _clip(text: str, limit: int = 200) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def compile_pattern(pattern: str, flags: Sequence[str]) -> re.Pattern[str]:
    """Compile a user pattern with named flags, or a ConfigError naming the option."""
    value = 0
    for flag in flags:
        if flag not in _FLAGS:
            raise ConfigError(f"unknown regex flag {flag!r}", field="options.flags", allowed=list(_FLAGS))
        value |= _FLAGS[flag]
    try:
        return re.compile(pattern, value)
    except re.error as exc:
        raise ConfigError(f"pattern {pattern!r} does not compile: {exc}", field="options.pattern") from exc


@scorer("regex")
def regex(
    *,
    pattern: str,
    match: Literal["first", "last"] = "last",
    group: int | str | None = None,
    flags: list[RegexFlag] | None = None,
    mode: Literal["compare", "match"] = "compare",
    ignore_case: bool = True,
    collapse_whitespace: bool = True,
    strip_punctuation: bool = False,
    drop_articles: bool = False,
    use_reasoning: bool = False,
) -> Scorer:
    """Extract with a regular expression.

    mode=compare: the chosen match's group (group 1 when the pattern has groups, else the whole match)
    is the answer, compared with the reference after normalisation. mode=match: right when the pattern
    matches at all (no reference needed). No match is `no_answer`.
    """
    compiled = compile_pattern(pattern, flags or [])
    if group is None:
        group = 1 if compiled.groups else 0
    if isinstance(group, int) and not 0 <= group <= compiled.groups:
        raise ConfigError(
            f"group {group} does not exist in a pattern with {compiled.groups} group(s)",
            field="options.group",
            allowed=list(range(compiled.groups + 1)),
        )
    if isinstance(group, str) and group not in compiled.groupindex:
        raise ConfigError(
            f"named group {group!r} is not in the pattern",
            field="options.group",
            allowed=list(compiled.groupindex),
        )
    norm = _Normalizer(ignore_case, collapse_whitespace, strip_punctuation, drop_articles)
    chosen_group = group

    def score(record: Record, result_index: int) -> Score:
        text = scored_text(result_at(record, result_index), use_reasoning=use_reasoning)
        found = _pick(compiled, text, match)
        if found is None:
            return verdict(
                record, result_index, "regex", extracted=None, correct=False, how="pattern did not match"
            )
        extracted = found.group(chosen_group)
        if mode == "match":
            return verdict(record, result_index, "regex", extracted=found.group(0), correct=True)
        if extracted is None:
            return verdict(
                record,
                result_index,
                "regex",
                extracted=None,
                correct=False,
                how=f"group {chosen_group!r} is empty",
            )
        answer = norm(extracted)
        golds = [norm(ref) for ref in _reference_texts(record, "regex")]
        return verdict(record, result_index, "regex", extracted=answer, correct=answer in golds)

    return score


def _pick(pattern: re.Pattern[str], text: str, which: str) -> re.Match[str] | None:
    if which == "first":
        return pattern.search(text)
    last = None
    for last in pattern.finditer(text):  # noqa: B007 - we want the final match
        pass
    return last
