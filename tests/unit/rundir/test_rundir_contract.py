"""The run directory's contract, checked on the source: its file names are spelled only in
harness/rundir/layout.py, and the per-trial latency and cost formulas exist only in harness/derived.py.
Docstrings and comments may name files (they document); code may not."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import harness
from harness.rundir import layout

PACKAGE = Path(harness.__file__).resolve().parent
NAMES = (
    layout.MANIFEST,
    layout.RECORDS,
    layout.SCORES,
    layout.SUMMARY,
    layout.REPORT,
    layout.RECORDS_PARQUET,
    layout.SCORES_PARQUET,
    layout.SUBMITTED,
    layout.RACING,
    layout.PROBE,
)
_NAME = re.compile(r"(?<![\w.])(" + "|".join(re.escape(n) for n in NAMES) + r")(?![\w.])")


def _docstrings(tree: ast.AST) -> set[int]:
    """ids of the string constants that are docstrings."""
    out: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                out.add(id(body[0].value))
    return out


def _code_strings(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docs = _docstrings(tree)
    return [
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docs
    ]


def _modules(*, skip: tuple[str, ...]) -> list[Path]:
    return [p for p in sorted(PACKAGE.rglob("*.py")) if not any(p.is_relative_to(PACKAGE / s) for s in skip)]


def test_file_names_of_the_run_directory_live_in_layout_only() -> None:
    found = [
        f"{path.relative_to(PACKAGE)}:{line}: {text!r}"
        for path in _modules(skip=("rundir/layout.py",))
        for line, text in _code_strings(path)
        if _NAME.search(text)
    ]
    assert found == []


def test_the_check_sees_a_file_name_in_code(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text('"""Reads summary.json."""\nPATH = "run/summary.json"\nNOT = "report.html.j2"\n')
    assert [text for _, text in _code_strings(module) if _NAME.search(text)] == ["run/summary.json"]


# A difference of two recorded timestamps (`done_at_s - sent_at_s`, `frame["done_at_s"] - sent`,
# `_diff(t.done_at_s, t.sent_at_s)`), or a service-cost-else-price-table choice (`.fillna(price_table)`,
# `cost = ...price_table...`, `price_table_cost_usd or 0`): both may be written only in harness/derived.py.
_TIMESTAMP = r"(scheduled|first_sent|sent|first_byte|first_token|first_answer_token|done)_at_s"
_DIFFERENCE = re.compile(
    _TIMESTAMP
    + r"\W*\s*-\s*\S"  # done_at_s - sent
    + r"|\s-\s*\S*"
    + _TIMESTAMP  # end - frame["sent_at_s"]
    + r"|\(\s*[^,()]*"
    + _TIMESTAMP
    + r"[^,()]*,\s*[^,()]*"
    + _TIMESTAMP
    + r"\W*\)"  # f(t.done_at_s, t.sent_at_s)
    + r"|\w*(diff|elapsed|between)\w*\(.*"
    + _TIMESTAMP
    + r".*,.*"
    + _TIMESTAMP  # _diff(t.get("done_at_s"), ...)
)
_COST_RULE = re.compile(
    r"fillna\([^)]*price_table|\bcost\w*\s*=\s*[^=\n]*price_table|price_table_cost_usd\W*\s*or\b"
)


def _code_lines(path: Path) -> list[tuple[int, str]]:
    """Source lines that are code (not comments, not inside docstrings)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docs = _docstrings(tree)
    doc_lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and id(node) in docs:
            doc_lines.update(range(node.lineno, (node.end_lineno or node.lineno) + 1))
    lines = path.read_text(encoding="utf-8").splitlines()
    return [
        (n, line)
        for n, line in enumerate(lines, 1)
        if n not in doc_lines and not line.lstrip().startswith("#")
    ]


def test_latency_and_cost_formulas_exist_once() -> None:
    derived = PACKAGE / "derived.py"
    assert any(_DIFFERENCE.search(line) for _, line in _code_lines(derived))
    assert any(_COST_RULE.search(line) for _, line in _code_lines(derived))
    elsewhere = [
        f"{path.relative_to(PACKAGE)}:{n}: {line.strip()}"
        for path in _modules(skip=("derived.py", "simulator"))
        for n, line in _code_lines(path)
        if _DIFFERENCE.search(line) or _COST_RULE.search(line)
    ]
    assert elsewhere == []
