"""Arithmetic the simulated model can really solve: finds an expression in a prompt ("What is 12 + 7 * 3?",
"(4 plus 5) times 2", "2^10") and evaluates it with a small recursive-descent parser (never `eval`).
Owns parsing and evaluation only.
"""

from __future__ import annotations

import re

_WORDS = [
    (re.compile(r"\bmultiplied by\b", re.I), "*"),
    (re.compile(r"\bdivided by\b", re.I), "/"),
    (re.compile(r"\bto the power of\b", re.I), "^"),
    (re.compile(r"\bplus\b", re.I), "+"),
    (re.compile(r"\bminus\b", re.I), "-"),
    (re.compile(r"\btimes\b", re.I), "*"),
]
_SYMBOLS = str.maketrans({"×": "*", "÷": "/", "−": "-", "·": "*"})
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")
_CANDIDATE = re.compile(r"[-(]*\d[\d.\s+\-*/^()]*")
_TOKEN = re.compile(r"\s*(\d+(?:\.\d+)?|\*\*|[-+*/^()])")


class _Parser:
    def __init__(self, tokens: list[str]) -> None:
        self.tokens = tokens
        self.i = 0

    def peek(self) -> str | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self) -> str:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def expr(self) -> float:
        value = self.term()
        while self.peek() in ("+", "-"):
            value = value + self.term() if self.take() == "+" else value - self.term()
        return value

    def term(self) -> float:
        value = self.unary()
        while self.peek() in ("*", "/"):
            op = self.take()
            rhs = self.unary()
            if op == "*":
                value *= rhs
            elif rhs == 0:
                raise ZeroDivisionError
            else:
                value /= rhs
        return value

    def unary(self) -> float:
        if self.peek() == "-":
            self.take()
            return -self.unary()
        if self.peek() == "+":
            self.take()
            return self.unary()
        return self.power()

    def power(self) -> float:
        base = self.atom()
        if self.peek() in ("^", "**"):
            self.take()
            exponent = self.unary()
            if abs(exponent) > 64 or abs(base) > 1e6:
                raise OverflowError
            return float(base**exponent)
        return base

    def atom(self) -> float:
        tok = self.take()
        if tok == "(":
            value = self.expr()
            if self.take() != ")":
                raise ValueError("unbalanced")
            return value
        return float(tok)


def evaluate(expression: str) -> float | None:
    """The value of an arithmetic expression, or None when it is not one."""
    pos, tokens = 0, []
    expression = expression.strip()
    while pos < len(expression):
        m = _TOKEN.match(expression, pos)
        if not m:
            return None
        tokens.append(m.group(1))
        pos = m.end()
    if not any(t in ("+", "-", "*", "/", "^", "**") for t in tokens[1:]):
        return None
    parser = _Parser(tokens)
    try:
        value = parser.expr()
    except (IndexError, ValueError, ZeroDivisionError, OverflowError):
        return None
    if parser.peek() is not None or value != value or abs(value) > 1e15:
        return None
    return value


def find_arithmetic(prompt: str) -> tuple[str, float] | None:
    """The last (then longest) evaluable expression in `prompt`, as (expression, value)."""
    text = _THOUSANDS.sub("", prompt.translate(_SYMBOLS))
    for pattern, symbol in _WORDS:
        text = pattern.sub(symbol, text)
    best: tuple[int, int, str, float] | None = None
    for m in _CANDIDATE.finditer(text):
        candidate = m.group(0).strip().rstrip(".").strip()
        while candidate.count("(") > candidate.count(")") and candidate.startswith("("):
            candidate = candidate[1:].strip()
        while candidate and candidate[-1] in "+-*/^(":
            candidate = candidate[:-1].strip()
        value = evaluate(candidate)
        if value is not None:
            rank = (m.end(), len(candidate), " ".join(candidate.split()), value)
            if best is None or rank[:2] > best[:2]:
                best = rank
    return None if best is None else (best[2], best[3])


def format_number(value: float) -> str:
    """42.0 -> "42"; 3.5 -> "3.5"; 1/3 -> "0.333333"."""
    if abs(value - round(value)) < 1e-9:
        return str(round(value))
    return f"{value:.6f}".rstrip("0").rstrip(".")
