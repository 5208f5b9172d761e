"""docs/ci.md and the example workflow stay true: every `harness` command in them parses with the real
CLI, every YAML snippet validates with the real config models, and the workflow can only read."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.cli import build_parser
from harness.config import GateConfig, ThresholdConfig

ROOT = Path(__file__).resolve().parents[3]
DOC = ROOT / "docs" / "ci.md"
WORKFLOW = ROOT / ".github" / "workflows" / "eval-example.yml"
_EXPR = re.compile(r"\$\{\{[^}]*\}\}|\"?\$[A-Z_]+\"?")


def _blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", DOC.read_text(encoding="utf-8"), re.DOTALL)


def _harness_lines(text: str) -> list[str]:
    joined = text.replace("\\\n", " ")
    return [line.strip() for line in joined.splitlines() if line.strip().startswith("harness ")]


def _parse(line: str) -> Any:
    words = shlex.split(_EXPR.sub("X", line))
    try:
        return build_parser().parse_args(words[1:])
    except SystemExit as exc:
        pytest.fail(f"harness rejects {line!r} (exit {exc.code})")


def _workflow() -> dict[Any, Any]:
    data = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def test_every_harness_command_in_the_doc_parses() -> None:
    lines = [line for block in _blocks("bash") for line in _harness_lines(block)]
    assert len(lines) >= 4
    commands = {_parse(line).command for line in lines}
    assert commands == {"run", "compare", "probe"}


def test_the_doc_names_files_that_exist() -> None:
    text = DOC.read_text(encoding="utf-8")
    for path in ("suites/smoke.yaml", ".github/workflows/eval-example.yml"):
        assert path in text
        assert (ROOT / path).exists(), path
    assert (ROOT / "configs" / "targets" / "runware-qwen.yaml").exists()


def test_the_doc_gate_section_is_a_valid_gate_config() -> None:
    [gate_block] = [b for b in _blocks("yaml") if b.startswith("gate:")]
    gate = GateConfig.model_validate(yaml.safe_load(gate_block)["gate"])
    assert gate.tolerance == 0.02
    assert gate.cells["temperature=1.0"].tolerance == 0.05


def test_the_doc_thresholds_are_valid() -> None:
    [block] = [b for b in _blocks("yaml") if b.startswith("thresholds:")]
    rules = [ThresholdConfig.model_validate(text) for text in yaml.safe_load(block)["thresholds"]]
    assert [(r.metric, r.on, r.scope) for r in rules][1] == ("accuracy", "ci_low", "best_cell")
    assert rules[-1].scope == "overall"


def test_workflow_runs_on_push_with_read_only_permissions() -> None:
    data = _workflow()
    triggers = data.get("on", data.get(True))
    assert {"push", "pull_request"} <= set(triggers)
    assert data["permissions"] == {"contents": "read", "actions": "read"}
    for job in data["jobs"].values():
        assert "permissions" not in job  # nothing widens the token


def test_workflow_runs_sim_always_and_runware_only_with_the_secret() -> None:
    job = _workflow()["jobs"]["smoke"]
    assert job["strategy"]["matrix"]["target"] == ["sim", "runware-qwen"]
    assert job["env"]["RUNWARE_API_KEY"] == "${{ secrets.RUNWARE_API_KEY }}"
    decide = job["steps"][0]
    assert '[ "$TARGET" = "sim" ] || [ -n "$RUNWARE_API_KEY" ]' in decide["run"]
    for step in job["steps"][1:]:
        assert "steps.enabled.outputs.run == 'true'" in step["if"], step.get("name")


def test_workflow_commands_parse_and_gate_with_outputs() -> None:
    steps = _workflow()["jobs"]["smoke"]["steps"]
    lines = [line for step in steps for line in _harness_lines(step.get("run", ""))]
    parsed = [_parse(line) for line in lines]
    assert [p.command for p in parsed] == ["run", "compare"]
    run, compare = parsed
    assert run.max_cost == 1.0
    assert compare.junit is not None
    assert compare.markdown is not None
    assert compare.benchmark_json is not None
    assert '--markdown "$GITHUB_STEP_SUMMARY"' in lines[1]
    uploads = [s for s in steps if str(s.get("uses", "")).startswith("actions/upload-artifact")]
    assert all(s["if"].startswith("always()") for s in uploads)
