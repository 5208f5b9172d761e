"""How the simulated model's sampling settings narrow or reshape its output, so that every setting a
client sends has an effect it can observe: how many distinct continuations a prompt has (temperature,
topK, topP, minP), how much the wording repeats itself (the three penalties), and a system prompt's
checkable instruction ('Begin your reply with "X"'). Pure functions over API-named settings; draws no
randomness and owns no wording (writing.py) or right/wrong decisions (skill.py).

Distinct continuations (None = unlimited, every seed its own text):
    temperature 0 or topK 1                 -> 1 (greedy: the same text for every seed)
    temperature T < 0.45                    -> 1 + floor(20 T^2)      (0.1 and 0.2: 1; 0.3: 2; 0.4: 4)
    topK K < 8                              -> K
    topP P < 0.5                            -> 1 + floor(8 P)         (0.05: 1; 0.2: 2; 0.4: 4)
    minP M > 0.5                            -> 1 + floor(8 (1 - M))   (0.9: 1; 0.6: 4)
the smallest of those that apply. At the card's defaults none applies, so default outputs are unchanged.

Penalty strength s = max(presencePenalty / 2, frequencyPenalty / 2, |repetitionPenalty - 1|); from
s >= 0.25 the reasoning leaves out every repeat of a word it already used, so its
distinct-word ratio rises (the text, which carries the answer, is left as it is).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

_WORD = re.compile(r"[A-Za-z0-9]+")
_INSTRUCTION = re.compile(
    r"(?i)\b(?:begin|start)\s+(?:your|the|each)\s+(?:reply|answer|response)\s+with\s+"
    r"[\"\u201c']([^\"\u201d'\n]{1,40})[\"\u201d']"
)
PENALTY_THRESHOLD = 0.25


def _number(settings: Mapping[str, Any], name: str, default: float) -> float:
    value = settings.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return default
    return float(value)


def distinct_modes(settings: Mapping[str, Any]) -> int | None:
    """How many distinct continuations the settings leave (None: unlimited); see the module docstring."""
    temperature = _number(settings, "temperature", 1.0)
    top_k = settings.get("topK")
    if temperature <= 0 or top_k == 1:
        return 1
    caps: list[int] = []
    if temperature < 0.45:
        caps.append(1 + math.floor(20 * temperature * temperature))
    if isinstance(top_k, int) and not isinstance(top_k, bool) and 1 < top_k < 8:
        caps.append(top_k)
    top_p = _number(settings, "topP", 1.0)
    if top_p < 0.5:
        caps.append(1 + math.floor(8 * top_p))
    min_p = _number(settings, "minP", 0.0)
    if min_p > 0.5:
        caps.append(1 + math.floor(8 * (1.0 - min_p)))
    return min(caps) if caps else None


def penalty_strength(settings: Mapping[str, Any]) -> float:
    """0 (no penalty) .. 1 (the strongest the card allows)."""
    return max(
        _number(settings, "presencePenalty", 0.0) / 2,
        _number(settings, "frequencyPenalty", 0.0) / 2,
        abs(_number(settings, "repetitionPenalty", 1.0) - 1.0),
    )


def drop_repeated_words(text: str, strength: float) -> str:
    """`text` without the repeats of words it already used (any case), as strong
    presence/frequency/repetition penalties push a model off tokens it has produced; unchanged below
    the threshold. The first line is kept whole."""
    if strength < PENALTY_THRESHOLD or not text:
        return text
    lines = text.split("\n")
    seen = {w.lower() for w in _WORD.findall(lines[0])}
    kept = [lines[0]]
    for line in lines[1:]:
        words = []
        for word in line.split(" "):
            core = _WORD.search(word)
            key = core.group(0).lower() if core else None
            if key is not None and key in seen:
                continue
            if key is not None:
                seen.add(key)
            words.append(word)
        kept.append(" ".join(words))
    return "\n".join(kept)


def reply_prefix(system_prompt: str | None) -> str:
    """The text a system prompt's 'Begin your reply with "X"' asks for ("" when it asks nothing)."""
    if not system_prompt:
        return ""
    found = _INSTRUCTION.search(system_prompt)
    return found.group(1) if found else ""
