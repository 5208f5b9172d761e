"""How the simulated model writes: answer formats (numbers, multiple-choice letters, free text) and
reasoning text, all picked by uniforms the caller draws. Owns wording only; never decides right or wrong.
"""

from __future__ import annotations

import re

_OPTION_RE = re.compile(r"(?m)^\s*\(?([A-J])[).:]\s+(\S.*)$")

NUMBER_FORMATS = (
    "{cot}The answer is {a}.",
    "{cot}#### {a}",
    "{cot}So the final answer is $\\boxed{{{a}}}$.",
    "{a}",
    "**Answer:** {a}",
    "{cot}Answer: {a}",
)
LETTER_FORMATS = (
    "**{a}**",
    "Answer: ({a})",
    "The answer is {a}.",
    "{a}",
    "{cot}The correct option is ({a}){option}.",
    "\\boxed{{{a}}}",
)
TEXT_FORMATS = (
    "{cot}The answer is {a}.",
    "{a}",
    "**Answer:** {a}",
    "{cot}Final answer: {a}",
)
_COT_OPENERS = (
    "Let me work through this carefully.",
    "Let's solve this step by step.",
    "I'll reason about the question first.",
    "We need to find the requested value.",
)
_COT_MIDDLE = (
    "First, identify the quantities given in the problem.",
    "Then combine them in the order the question describes.",
    "Check that the units and the magnitude make sense.",
    "Each option can be compared against the facts stated.",
)
_REASONING = (
    "The user is asking a question; let me restate it to be sure I understand it.",
    "I should identify what is given and what is being asked.",
    "Let me consider the relevant facts one at a time.",
    "There may be a trap here, so I will check the wording again.",
    "Breaking the problem into smaller steps makes it easier.",
    "I will compute the intermediate values carefully.",
    "Let me verify the result by approaching it from another direction.",
    "That seems consistent with the constraints in the question.",
    "I should also rule out the alternatives that look plausible.",
    "Now I can write a concise final answer.",
    "Hmm, let me double-check the arithmetic before answering.",
    "The answer should be stated clearly at the end.",
)
_FREE_TEXT = (
    "I don't have enough information to give a definite answer.",
    "Here is a short reply to your message.",
    "That depends on details the question does not give.",
    "Thanks for the question; the short answer is that it depends.",
)


def _pick(options: tuple[str, ...], u: float) -> str:
    return options[min(len(options) - 1, int(u * len(options)))]


def parse_options(prompt: str) -> dict[str, str]:
    """Multiple-choice options written as lines `A) text`, `(B) text`, `C. text` or `D: text`."""
    found: dict[str, str] = {}
    for m in _OPTION_RE.finditer(prompt):
        found.setdefault(m.group(1), m.group(2).strip())
    letters = sorted(found)
    if len(letters) < 2 or letters[0] != "A" or "".join(letters) != "ABCDEFGHIJ"[: len(letters)]:
        return {}
    return found


def chain_of_thought(u_length: float, u_opener: float, *, worked: str | None = None) -> str:
    """One to three lines of visible reasoning, ending in a newline."""
    lines = [_pick(_COT_OPENERS, u_opener)]
    for i in range(int(u_length * 3)):
        lines.append(_COT_MIDDLE[(int(u_opener * 97) + i) % len(_COT_MIDDLE)])
    if worked:
        lines.append(worked)
    return "\n".join(lines) + "\n"


def write_answer(kind: str, answer: str, u_format: float, cot: str, option: str = "") -> str:
    """The visible answer: `kind` is number, letter or text."""
    formats = {"number": NUMBER_FORMATS, "letter": LETTER_FORMATS}.get(kind, TEXT_FORMATS)
    return _pick(formats, u_format).format(cot=cot, a=answer, option=f" {option}" if option else "")


def free_text(u: float) -> str:
    return _pick(_FREE_TEXT, u)


def reasoning_text(u_length: float, u_start: float, *, topic: str, conclusion: str) -> str:
    """Three to twelve lines of "thinking" about `topic`, ending with `conclusion`."""
    n = 3 + int(u_length * 10)
    start = int(u_start * len(_REASONING))
    lines = [f"The question is about: {topic}"]
    lines.extend(_REASONING[(start + i) % len(_REASONING)] for i in range(n))
    lines.append(conclusion)
    return "\n".join(lines)
