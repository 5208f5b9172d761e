"""The simulated model as a judge: recognises a grading request written with the harness's default
rubric (reference answer, answer to grade, and the VERDICT or SCORE reply format) and finds whether the
graded answer's final result agrees with the reference. Owns that reading and the reply wording only;
whether the judge itself is right is the skill curve's draw in model.py.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_REFERENCE = re.compile(r"(?ms)^Reference answer:\s*\n(.*?)\n\s*\nAnswer to grade:\s*\n(.*)$")
_BINARY = re.compile(r'"VERDICT: CORRECT"\s+or\s+"VERDICT: INCORRECT"')
_SCALE = re.compile(r'"SCORE: k".*?\bfrom 0\b.*?\bto (\d+)\b', re.S)
_FORMAT_START = re.compile(r"\n\s*\nWrite one or two sentences of justification")
_NUMBER = re.compile(r"-?\$?\d[\d,]*(?:\.\d+)?")
_LETTER_PATTERNS = (
    re.compile(r"\\boxed\{\(?([A-J])\)?\}"),
    re.compile(r"\*\*\(?([A-J])\)?\*\*"),
    re.compile(r"\(([A-J])\)"),
    re.compile(r"(?i:answer is|answer:)\s*\(?([A-J])\b"),
    re.compile(r"^\s*([A-J])\s*[.)]?\s*$", re.M),
)


@dataclass(frozen=True, slots=True)
class Grading:
    """A grading request: whether the graded answer agrees with the reference, and the reply format
    (scale None = "VERDICT: CORRECT/INCORRECT", else "SCORE: k" for k in 0..scale)."""

    agrees: bool
    scale: int | None
    reference: str
    found: str


def find_grading(prompt: str) -> Grading | None:
    """The grading request in a user message, or None when it is not one (custom rubrics that drop the
    default's "Reference answer:" / "Answer to grade:" headings are answered as ordinary prompts)."""
    scale_match = _SCALE.search(prompt)
    if not _BINARY.search(prompt) and scale_match is None:
        return None
    sections = _REFERENCE.search(prompt)
    if sections is None:
        return None
    reference = sections.group(1).strip()
    answer = _FORMAT_START.split(sections.group(2), maxsplit=1)[0].strip()
    found = final_result(answer, reference)
    agrees = found is not None and _same(found, reference)
    scale = int(scale_match.group(1)) if scale_match is not None and not _BINARY.search(prompt) else None
    return Grading(agrees, scale, reference, found or "")


def final_result(answer: str, reference: str) -> str | None:
    """What the answer concludes, read the way the reference is written: its last number for a numeric
    reference, its chosen letter for a letter, else the whole answer."""
    if _as_number(reference) is not None:
        numbers = _NUMBER.findall(answer)
        return numbers[-1] if numbers else None
    if re.fullmatch(r"[A-J]", reference):
        for pattern in _LETTER_PATTERNS:
            hits = pattern.findall(answer)
            if hits:
                return str(hits[-1])
        return None
    return answer or None


def verdict_reply(grading: Grading, says_correct: bool, u: float) -> str:
    """The judge's reply: a sentence of justification, then the verdict or score line."""
    found = grading.found or "no final result"
    if grading.agrees == says_correct:
        relation = "matches" if says_correct else "does not match"
    else:  # the judge is wrong this time: it misreads the answer
        relation = "appears to match" if says_correct else "appears not to match"
    reason = (
        f"The answer's final result ({_short(found)}) {relation} the reference ({_short(grading.reference)})."
    )
    if grading.scale is None:
        return f"{reason}\nVERDICT: {'CORRECT' if says_correct else 'INCORRECT'}"
    top = grading.scale
    if says_correct:
        low = -(-top * 4 // 5)  # ceil(0.8 * top)
        score = low + int(u * (top - low + 1)) if top > low else top
    else:
        score = int(u * (top * 3 // 10 + 1))
    return f"{reason}\nSCORE: {min(top, max(0, score))}"


def _same(found: str, reference: str) -> bool:
    want = _as_number(reference)
    if want is not None:
        got = _as_number(found)
        return got is not None and abs(got - want) <= 1e-6 * max(1.0, abs(want))
    if re.fullmatch(r"[A-J]", reference):
        return found == reference
    return _normal(reference) in _normal(found)


def _as_number(text: str) -> float | None:
    try:
        return float(text.strip().replace(",", "").replace("$", "").rstrip("."))
    except ValueError:
        return None


def _normal(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", text.lower()).split())


def _short(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= 60 else flat[:57] + "..."
