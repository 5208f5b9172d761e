"""Scoring sends nothing and sits downstream of the run: no module of harness/scoring imports the
runner, the plan, the simulator, the providers, the orchestration or the statistics, not even inside a
function (that is how the judge used to start a run from scoring)."""

from __future__ import annotations

import ast
from pathlib import Path

import harness.scoring

SCORING = Path(harness.scoring.__file__).resolve().parent
FORBIDDEN = (
    "harness.runner",
    "harness.plan",
    "harness.simulator",
    "harness.providers",
    "harness.orchestration",
    "harness.stats",
    "harness.report",
)


def _imports(path: Path) -> list[str]:
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.append(node.module)
    return names


def test_scoring_imports_nothing_upstream_of_it() -> None:
    found = [
        f"{path.name}: {name}"
        for path in sorted(SCORING.glob("*.py"))
        for name in _imports(path)
        if name.startswith(FORBIDDEN)
    ]
    assert found == []


def test_the_check_sees_an_import_inside_a_function(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from harness.runner import run_trials\n")
    assert _imports(module) == ["harness.runner"]
