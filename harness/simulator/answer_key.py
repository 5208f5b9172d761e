"""The simulator's answer key: gold answers by question text, found inside a prompt fast.

Keys and prompts are compared with whitespace collapsed. Each key is indexed by an anchor (up to 24
characters from its first word start); a prompt is probed only at its word starts, so a lookup costs
O(prompt words) dict probes however large the key. When several keys occur, the one ending last wins
(the real question follows any few-shot examples), then the longest. Owns no answers' formatting.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from harness.errors import ConfigError

_ANCHOR = 24
_WORD_START = re.compile(r"(?<![0-9A-Za-z])[0-9A-Za-z]")
_QUESTION_FIELDS = ("question", "text", "input", "prompt", "problem")
_ANSWER_FIELDS = ("answer", "gold", "target", "label", "reference")


def _normalize(text: str) -> str:
    return " ".join(text.split())


class AnswerKey:
    """Immutable mapping question text -> gold answer with fast containment lookup."""

    def __init__(self, mapping: Mapping[str, Any] | None = None) -> None:
        self._gold: dict[str, str] = {}
        self._anchors: dict[int, dict[str, list[tuple[str, int]]]] = {}
        for question, gold in (mapping or {}).items():
            key = _normalize(str(question))
            if not key:
                continue
            self._gold[key] = str(gold).strip()
            first = _WORD_START.search(key)
            offset = first.start() if first else 0
            anchor = key[offset : offset + _ANCHOR]
            self._anchors.setdefault(len(anchor), {}).setdefault(anchor, []).append((key, offset))
        self._lengths = sorted(self._anchors, reverse=True)
        self.find = functools.lru_cache(maxsize=8192)(self._find)

    def __len__(self) -> int:
        return len(self._gold)

    @property
    def golds(self) -> list[str]:
        return list(self._gold.values())

    def _find(self, prompt: str) -> tuple[str, str] | None:
        """(question, gold) of the key contained in `prompt`, or None."""
        if not self._gold:
            return None
        text = _normalize(prompt)
        best: tuple[int, int, str] | None = None
        for m in _WORD_START.finditer(text):
            pos = m.start()
            for length in self._lengths:
                for key, offset in self._anchors[length].get(text[pos : pos + length], ()):
                    start = pos - offset
                    if start >= 0 and text.startswith(key, start):
                        rank = (start + len(key), len(key), key)
                        if best is None or rank > best:
                            best = rank
        if best is None:
            return None
        return best[2], self._gold[best[2]]


def load_answer_key(source: str | Path | Mapping[str, Any] | AnswerKey | None) -> AnswerKey:
    """From a mapping, a .json object {question: gold} or list of rows, or .jsonl rows {question, answer}."""
    if isinstance(source, AnswerKey):
        return source
    if source is None:
        return AnswerKey()
    if isinstance(source, Mapping):
        return AnswerKey(source)
    import orjson

    path = Path(source)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read answer key: {exc}", file=str(path)) from exc
    rows: list[Any] = []
    if path.suffix != ".jsonl":
        try:
            parsed = orjson.loads(text)
        except orjson.JSONDecodeError:
            parsed = None
        if isinstance(parsed, dict):
            return AnswerKey(parsed)
        if isinstance(parsed, list):
            rows = parsed
    if not rows:
        for n, line in enumerate(text.splitlines(), 1):
            if line.strip():
                try:
                    rows.append(orjson.loads(line))
                except orjson.JSONDecodeError as exc:
                    raise ConfigError(f"not valid JSON: {exc}", file=str(path), line=n) from exc
    mapping: dict[str, Any] = {}
    for n, row in enumerate(rows, 1):
        q = next((row[f] for f in _QUESTION_FIELDS if isinstance(row, dict) and f in row), None)
        a = next((row[f] for f in _ANSWER_FIELDS if isinstance(row, dict) and f in row), None)
        if q is None or a is None:
            raise ConfigError(
                "each row needs a question field and an answer field",
                file=str(path),
                line=n,
                allowed=[*_QUESTION_FIELDS, *_ANSWER_FIELDS],
            )
        mapping[str(q)] = a
    return AnswerKey(mapping)
