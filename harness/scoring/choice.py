"""The `choice` scorer: finds which option letter a multiple-choice reply picked ("B", "(B)", "Answer: B",
"the answer is **B**", `\\boxed{B}`, or the option's own text), accepting only the item's valid letters.
Must not read a letter out of ordinary prose: a bare "A" or "I" in a sentence is a word, not an answer.

Strategies, first hit wins: the whole reply is a letter; `\\boxed{B}`; an explicit phrase ("answer is B",
"I choose B", "B is correct"; the last one counts); a bold letter; a reply that opens with "B) ...";
the option's text; and last, a bare "option B" or "(B)".
"""

from __future__ import annotations

import re
import string
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from harness.errors import ConfigError, ScoringError
from harness.records import Record, Score
from harness.scoring.base import Scorer, references, result_at, scored_text, verdict
from harness.scoring.registry import scorer

ALPHABET = string.ascii_uppercase
_CONNECTORS = frozenset(
    [
        "because",
        "since",
        "as",
        "and",
        "or",
        "is",
        "was",
        "which",
        "with",
        "for",
        "so",
        "given",
        "due",
        "it",
        "this",
        "that",
        "here",
        "then",
    ]
)
_LABEL = re.compile(r"^\s*[\(\[]?[A-Za-z][\)\].:]\s+")
_LATEX_WRAP = re.compile(r"\\(?:text|textbf|mathrm|mathbf)\s*\{([^{}]*)\}")


@dataclass(frozen=True, slots=True)
class ChoiceMatch:
    """The picked letter, the strategy that found it, and the text it was read from."""

    letter: str
    strategy: str
    text: str


def valid_letters(choices: Sequence[str] | None, default: str = "ABCD") -> str:
    """The letters an item allows: one per choice, else the scorer's default set."""
    if not choices:
        return default
    if len(choices) > len(ALPHABET):
        raise ScoringError(
            f"choice: an item has {len(choices)} choices; at most {len(ALPHABET)} are supported"
        )
    return ALPHABET[: len(choices)]


@lru_cache(maxsize=64)
def _patterns(letters: str) -> tuple[re.Pattern[str], ...]:
    cls = f"[{letters}{letters.lower()}]"
    token = rf"[\s*_]*(?P<open>[\(\[])?\s*(?P<letter>{cls})\s*(?P<close>[\)\]])?(?![\w'’])"
    lead = r"(?:correct|final|best|right|my)\s+"
    verb = r"(?:is|was|would\s+be|will\s+be|should\s+be|must\s+be|=|:|-|—)"
    adverb = r"(?:therefore|thus|clearly|definitely|then|probably|likely|actually|indeed|obviously)"
    answer = rf"\b(?:{lead})?(?:answer|option|choice|response)\b[\s*_]*{verb}[\s*_:]*(?:{adverb}[\s,:]*)?(?:(?:option|choice|letter)\s*)?"
    chooses = (
        r"\b(?:choose|chose|pick|picked|select|selected|go\s+with|going\s+with)\s+(?:option\s+|choice\s+)?"
    )
    strong = re.compile(f"(?:{answer}|{chooses}){token}", re.IGNORECASE)
    correct_is = re.compile(
        rf"(?:\b(?:option|choice)\s+)?(?<![\w'’])(?P<open>[\(\[])?(?P<letter>{cls})(?P<close>[\)\]])?[*_]*"
        r"\s+(?:is|would\s+be)\s+(?:the\s+)?(?:correct|right|best)\b",
        re.IGNORECASE,
    )
    weak = re.compile(rf"\b(?:option|choice)\s+{token}|(?P<bopen>\()(?P<bletter>{cls})\)", re.IGNORECASE)
    whole = re.compile(rf"^[\(\[]?({cls})[\)\]]?[.:)]?$")
    leading = re.compile(rf"^[\s*_#>]*[\(\[]?({cls})[\)\].:](?:\s|$)", re.MULTILINE)
    bold = re.compile(
        rf"^(?:[\(\[](?P<b>{cls})[\)\]](?:[.:]?\s.*)?|(?P<p>[{letters}])(?:[.):](?:\s.*)?)?)$", re.DOTALL
    )
    return strong, correct_is, weak, whole, leading, bold


def _accept(m: re.Match[str], text: str) -> bool:
    """Reject letters that are words: lowercase ones not bracketed or ending the line, and "A"/"I"
    followed by an ordinary lowercase word ("A large number")."""
    letter = m.group("letter")
    bracketed = bool(m.group("open") or m.group("close"))
    after = text[m.end() :]
    if letter.islower() and not bracketed and not re.match(r"[*_]*[.:)]?\s*(?:$|\n)", after):
        return False
    if letter in "AI" and not bracketed:
        word = re.match(r"[*_]*\s+([a-z]+)", after)
        if word and word.group(1) not in _CONNECTORS:
            return False
    return True


def _last(pattern: re.Pattern[str], text: str) -> re.Match[str] | None:
    last = None
    for m in pattern.finditer(text):
        if _accept(m, text):
            last = m
    return last


def _norm(text: str) -> str:
    text = _LABEL.sub("", text).casefold()
    text = re.sub(rf"[{re.escape(string.punctuation)}]", " ", text)
    return " ".join(text.split())


def _match_text(text: str, letters: str, choices: Sequence[str]) -> ChoiceMatch | None:
    normed = [_norm(c) for c in choices]
    answer = re.search(r"\banswer\b[\s*_]*(?:is|:|would\s+be|=)\s*(.+)", text, re.IGNORECASE)
    spans = []
    if answer is not None:
        spans.append(("answer-text", re.split(r"(?<!\d)\.(?!\d)|\n", answer.group(1))[0]))
    spans.append(("text", text))
    for strategy, span in spans:
        target = _norm(span)
        exact = [i for i, c in enumerate(normed) if c and c == target]
        if len(exact) == 1:
            return ChoiceMatch(letters[exact[0]], strategy, span.strip())
        # Inside prose only distinctive options count (not "2", not "no"); a short one must end the
        # answer statement ("the degree is 6").
        distinctive = [
            (i, c) for i, c in enumerate(normed) if len(c) >= 3 and not c.replace(" ", "").isdigit()
        ]
        found = _mentioned(target, distinctive)
        if len(found) == 1:
            return ChoiceMatch(letters[found[0]], strategy, choices[found[0]])
        if strategy == "answer-text":
            ending = [i for i, c in enumerate(normed) if c and f" {target}".endswith(f" {c}")]
            if len(ending) == 1:
                return ChoiceMatch(letters[ending[0]], strategy, choices[ending[0]])
    return None


def _mentioned(target: str, options: list[tuple[int, str]]) -> list[int]:
    """Options whose text occurs in `target` as whole words; a longer option hides those inside it."""
    padded = f" {target} "
    hits = []
    for i, text in sorted(options, key=lambda o: -len(o[1])):
        needle = f" {text} "
        if needle in padded:
            hits.append(i)
            padded = padded.replace(needle, " \0 ")
    return sorted(set(hits))


def extract_choice(
    text: str,
    *,
    letters: str = "ABCD",
    choices: Sequence[str] | None = None,
    match_text: bool = True,
) -> ChoiceMatch | None:
    """The option letter a reply picked, or None (see the module docstring for the order)."""
    strong, correct_is, weak, whole, leading, bold = _patterns(letters)
    text = _LATEX_WRAP.sub(r"\1", text)
    bare = text.strip().strip("*_#`$ \t\n").strip()
    m = whole.match(bare)
    if m:
        return ChoiceMatch(m.group(1).upper(), "whole", bare)
    for content in reversed(re.findall(r"\\boxed\s*\{([^{}]*)\}", text)):
        m = bold.match(content.strip())
        if m:
            return ChoiceMatch((m.group("b") or m.group("p")).upper(), "boxed", content)
    found = [m for m in (_last(strong, text), _last(correct_is, text)) if m is not None]
    if found:
        best = max(found, key=lambda m: m.start())
        return ChoiceMatch(best.group("letter").upper(), "answer-phrase", best.group(0).strip())
    for content in reversed(re.findall(r"\*\*(.+?)\*\*|__(.+?)__", text, re.DOTALL)):
        inner = (content[0] or content[1]).strip()
        m = bold.match(inner)
        if m:
            return ChoiceMatch((m.group("b") or m.group("p")).upper(), "bold", inner)
    starts = {m.group(1).upper() for m in leading.finditer(text)}
    first = leading.match(text)
    if first and len(starts) == 1:  # a reply that opens with "B) ..."; several such lines are a list
        return ChoiceMatch(first.group(1).upper(), "leading", first.group(0).strip())
    if match_text and choices:
        by_text = _match_text(text, letters, choices)
        if by_text is not None:
            return by_text
    last = None
    for m in weak.finditer(text):
        if m.group("bletter") is not None or _accept(m, text):
            last = m
    if last is not None:
        letter = last.group("letter") or last.group("bletter")
        return ChoiceMatch(letter.upper(), "option-mention", last.group(0).strip())
    return None


def reference_letter(
    reference: object, *, letters: str, choices: Sequence[str] | None, index_base: int, item_id: str
) -> str:
    """The gold letter: a letter ("B", "(b)"), an index (int or digit string, 0- or 1-based as
    configured), or the text of one of the choices."""
    index: int | None = None
    if isinstance(reference, int) and not isinstance(reference, bool):
        index = reference - index_base
    elif isinstance(reference, str):
        ref = reference.strip()
        m = re.fullmatch(r"[\(\[]?([A-Za-z])[\)\]]?\.?", ref)
        if m and m.group(1).upper() in letters:
            return m.group(1).upper()
        if ref.isdigit():
            index = int(ref) - index_base
        elif choices:
            normed = [_norm(c) for c in choices]
            if _norm(ref) in normed:
                return letters[normed.index(_norm(ref))]
    if index is not None and 0 <= index < len(letters):
        return letters[index]
    raise ScoringError(
        f"choice: item {item_id!r}: reference {reference!r} is not one of the letters {letters!r}, "
        f"a {index_base}-based index into them, or the text of a choice"
    )


@scorer("choice")
def choice(
    *,
    letters: str = "ABCD",
    match_text: bool = True,
    reference_index_base: Literal[0, 1] = 0,
    use_reasoning: bool = False,
) -> Scorer:
    """Right when the picked letter is the reference's.

    Args:
        letters: valid letters for items without `choices` (an item's choices set them otherwise).
        match_text: also recognise an option by its text ("The answer is Paris").
        reference_index_base: how to read an integer reference (0: MMLU's `answer: 1` is B).
    """
    if not letters or not all(c in ALPHABET for c in letters) or len(set(letters)) != len(letters):
        raise ConfigError(
            f"letters must be distinct capital letters, got {letters!r}",
            field="options.letters",
            allowed="A-Z",
        )

    def score(record: Record, result_index: int) -> Score:
        valid = valid_letters(record.choices, letters)
        golds = {
            reference_letter(
                ref,
                letters=valid,
                choices=record.choices,
                index_base=reference_index_base,
                item_id=record.item_id,
            )
            for ref in references(record, "choice")
        }
        text = scored_text(result_at(record, result_index), use_reasoning=use_reasoning)
        found = extract_choice(text, letters=valid, choices=record.choices, match_text=match_text)
        if found is None:
            return verdict(
                record, result_index, "choice", extracted=None, correct=False, how=f"valid letters {valid}"
            )
        how = f"{found.strategy}: {found.text[:120]!r}; reference {'/'.join(sorted(golds))}"
        return verdict(
            record, result_index, "choice", extracted=found.letter, correct=found.letter in golds, how=how
        )

    return score
