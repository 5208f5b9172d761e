"""The `f1` scorer: SQuAD-style token overlap between the answer and the best-matching reference, a value
in [0, 1]. Must not extract or reinterpret the answer beyond SQuAD's normalisation.
"""

from __future__ import annotations

import re
import string
from collections import Counter

from harness.errors import ConfigError
from harness.records import Record, Score
from harness.scoring.base import Scorer, references, result_at, scored_text, verdict
from harness.scoring.registry import scorer

_PUNCT = frozenset(string.punctuation)
_ARTICLES = re.compile(r"\b(a|an|the)\b")


def squad_normalize(text: str) -> str:
    """SQuAD's normalize_answer: lower case, no punctuation, no articles, single spaces."""
    text = "".join(ch for ch in text.lower() if ch not in _PUNCT)
    return " ".join(_ARTICLES.sub(" ", text).split())


def token_f1(prediction: str, gold: str) -> float:
    """SQuAD token F1 of two strings (1.0 when both normalise to nothing)."""
    pred = squad_normalize(prediction).split()
    ref = squad_normalize(gold).split()
    if not pred or not ref:
        return float(pred == ref)
    common = sum((Counter(pred) & Counter(ref)).values())
    if common == 0:
        return 0.0
    precision = common / len(pred)
    recall = common / len(ref)
    return 2 * precision * recall / (precision + recall)


@scorer("f1")
def f1(*, threshold: float = 0.5, use_reasoning: bool = False) -> Scorer:
    """Value = the best token F1 over the references; outcome `correct` when it reaches `threshold`."""
    if not 0.0 < threshold <= 1.0:
        raise ConfigError(f"threshold must be in (0, 1], got {threshold!r}", field="options.threshold")

    def score(record: Record, result_index: int) -> Score:
        text = scored_text(result_at(record, result_index), use_reasoning=use_reasoning).strip()
        golds = [str(ref) for ref in references(record, "f1")]
        if not squad_normalize(text):
            return verdict(record, result_index, "f1", extracted=None, correct=False)
        best, best_ref = max((token_f1(text, g), g) for g in golds)
        extracted = text if len(text) <= 200 else text[:199] + "…"
        return verdict(
            record,
            result_index,
            "f1",
            extracted=extracted,
            correct=best >= threshold,
            value=best,
            how=f"F1 {best:.3f} against {best_ref!r}",
        )

    return score
