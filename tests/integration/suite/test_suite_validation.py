"""Broken suites, targets and data files: each must exit 2, name the field or row, and send nothing.

The target points at a live simulator on 127.0.0.1, so "nothing was sent" is checked where it matters:
the simulator's own request counter (a valid control case at the end shows the counter does move).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from harness.cli import main

ROWS = [
    {"id": "q1", "question": "What is 2 + 3?", "answer": "5"},
    {"id": "q2", "question": "What is 7 * 6?", "answer": "42"},
    {"id": "q3", "question": "What is 10 - 4?", "answer": "6"},
]

BASE = """\
name: broken
dataset:
  path: rows.jsonl
  fields: {id: id, input: question, target: answer}
settings:
  maxTokens: 64
scorers: [numeric]
"""

TARGET = """\
provider: runware
endpoint: {endpoint}
model: alibaba:qwen@3.5-397b
capability: qwen3.5-397b
api_key_env: SUITE_TEST_KEY
"""


@dataclass(frozen=True)
class Case:
    id: str
    expect: tuple[str, ...]
    suite: str = BASE
    rows: str | None = None
    target: str = TARGET
    args: tuple[str, ...] = ()
    target_arg: str | None = None
    target_flag: bool = True  # False: no --target, the suite's `target:` names it
    absent: tuple[str, ...] = ()  # texts the error must not contain
    extra_files: dict[str, str] = field(default_factory=dict)


def rows_jsonl(rows: list[dict[str, str]]) -> str:
    return "".join(json.dumps(r) + "\n" for r in rows)


CASES = [
    Case(
        "temperature-out-of-range",
        ("settings.temperature", "3.5", "0..2"),
        BASE.replace("maxTokens: 64", "maxTokens: 64\n  temperature: 3.5"),
    ),
    Case("topK-wrong-type", ("grid.topK", "'twenty'", "integer"), BASE + "grid:\n  topK: [20, twenty]\n"),
    Case(
        "unknown-setting",
        ("temprature", "did you mean 'temperature'"),
        BASE.replace("maxTokens: 64", "maxTokens: 64\n  temprature: 0.6"),
    ),
    Case(
        "thinking-level-bad-enum",
        ("grid.thinkingLevel", "'medium'", "'low', 'high'"),
        BASE + "grid:\n  thinkingLevel: [high, medium]\n",
    ),
    Case("max-tokens-zero", ("settings.maxTokens", "got 0"), BASE.replace("maxTokens: 64", "maxTokens: 0")),
    Case(
        "number-results-too-many", ("grid.numberResults", "got 5"), BASE + "grid:\n  numberResults: [1, 5]\n"
    ),
    Case("seed-negative", ("settings.seed",), BASE.replace("maxTokens: 64", "maxTokens: 64\n  seed: -1")),
    Case(
        "stop-sequences-too-many",
        ("settings.stopSequences", "at most 5"),
        BASE.replace("maxTokens: 64", "maxTokens: 64\n  stopSequences: [a, b, c, d, e, f]"),
    ),
    Case("unknown-top-level-key", ("scorer", "did you mean 'scorers'", ":8"), BASE + "scorer: numeric\n"),
    Case(
        "unknown-nested-key",
        ("run.concurency", "did you mean 'concurrency'"),
        BASE + "run:\n  concurency: 4\n",
    ),
    Case("repeats-wrong-type", ("repeats", "'many'"), BASE + "repeats: many\n"),
    Case("arrival-bad-enum", ("run.arrival", "'constant'", "'poisson'"), BASE + "run:\n  arrival: burst\n"),
    Case("dataset-missing", ("dataset", "required"), "name: broken\nscorers: [numeric]\n"),
    Case("data-file-missing", ("absent.jsonl",), BASE.replace("rows.jsonl", "absent.jsonl")),
    Case(
        "row-missing-mapped-field",
        ("rows.jsonl:2", "question"),
        rows=rows_jsonl([ROWS[0], {"id": "q2", "answer": "42"}, ROWS[2]]),
    ),
    Case("empty-data-set", ("rows.jsonl",), rows=""),
    Case(
        "template-syntax-error",
        ("prompt.template", "line 2 of the template", "syntax"),
        BASE + 'prompt:\n  template: "Q:\\n{{ question "\n',
    ),
    Case(
        "template-missing-field",
        ("prompt.template", "field 'context' is missing", "row 0"),
        BASE + 'prompt:\n  template: "{{ question }} {{ context }}"\n',
    ),
    Case("bad-yaml", ("invalid YAML", "broken.yaml:"), BASE + "grid:\n  temperature: [0, 0.6\n"),
    Case("duplicate-key", ("duplicate key 'settings'",), BASE + "settings:\n  topK: 5\n"),
    Case(
        "api-key-variable-unset",
        ("SUITE_TEST_MISSING_KEY", "not set"),
        target=TARGET.replace("SUITE_TEST_KEY", "SUITE_TEST_MISSING_KEY"),
    ),
    Case(
        "unknown-target-name",
        ("--target: unknown target 'runware-qwn'", "did you mean 'runware-qwen'"),
        target_arg="runware-qwn",
    ),
    Case("target-bad-batch-size", ("batch_size", "target.yaml:"), target=TARGET + "batch_size: 0\n"),
    Case(
        "target-unknown-key",
        ("endpont", "did you mean 'endpoint'"),
        target=TARGET + "endpont: http://127.0.0.1:1\n",
    ),
    Case("unknown-scorer", ("scorers", "numerci"), BASE.replace("[numeric]", "[numerci]")),
    Case(
        "threshold-unreadable", ("thresholds", "METRIC OP VALUE"), BASE + "thresholds: [accuracy is high]\n"
    ),
    Case("threshold-unknown-metric", ("thresholds", "acuracy"), BASE + "thresholds: ['acuracy >= 0.5']\n"),
    Case(
        "exclude-unknown-axis",
        ("did you mean 'temperature'",),
        BASE + "grid:\n  temperature: [0, 1]\n  exclude: [{temprature: 0}]\n",
    ),
    Case(
        "zip-length-mismatch", ("equal length",), BASE + "grid:\n  zip:\n    - {topK: [1, 2], topP: [0.5]}\n"
    ),
    Case(
        "grid-over-safety-limit", ("--yes", "max_trials=5"), BASE + "max_trials: 5\ngrid:\n  topK: [1, 2]\n"
    ),
    Case("set-override-bad-value", ("--set", "run.concurrency"), args=("--set", "run.concurrency=0")),
    Case("set-override-unknown-path", ("--set", "did you mean 'settings'"), args=("--set", "setings.topK=5")),
    Case(
        "last-message-assistant",
        ("role user",),
        BASE
        + "prompt:\n  messages:\n    - {role: user, content: hi}\n    - {role: assistant, content: ok}\n",
    ),
    Case(
        "grid-target-unknown",
        ("broken.yaml:9: grid.target[1]: unknown target 'nowhere'",),
        BASE + "grid:\n  target: [target.yaml, nowhere]\n",
        absent=("--target",),
    ),
    Case(
        "suite-target-unknown",
        ("broken.yaml:8: target: unknown target 'nowhere'",),
        BASE + "target: nowhere\n",
        target_flag=False,
        absent=("--target",),
    ),
    Case(
        "topK-not-an-integer",
        ("settings.topK", "got 0.5 (target"),
        BASE.replace("maxTokens: 64", "maxTokens: 64\n  topK: 0.5"),
        absent=("got 0.5; got",),
    ),
    Case(
        "threshold-multi-sample-in-overall",
        ("broken.yaml:8: thresholds[0].scope", "maj@k is computed per cell", "each_cell"),
        BASE + "thresholds: ['maj@k >= 0.5 in overall']\n",
    ),
    Case("limit-zero", ("--limit",), args=("--limit", "0")),
    Case("gate-tolerance-not-a-share", ("gate.tolerance", "1"), BASE + "gate:\n  tolerance: 2\n"),
    Case(
        "gate-unknown-metric",
        ("gate.metrics.p96_latency_s", "p95_latency_s"),
        BASE + "gate:\n  metrics:\n    p96_latency_s: {ratio: 1.5}\n",
    ),
]


def write_case(case: Case, tmp_path: Path, endpoint: str) -> list[str]:
    (tmp_path / "broken.yaml").write_text(case.suite)
    (tmp_path / "rows.jsonl").write_text(rows_jsonl(ROWS) if case.rows is None else case.rows)
    (tmp_path / "target.yaml").write_text(case.target.format(endpoint=endpoint))
    for name, text in case.extra_files.items():
        (tmp_path / name).write_text(text)
    target = case.target_arg or str(tmp_path / "target.yaml")
    flag = ["--target", target] if case.target_flag else []
    return ["run", str(tmp_path / "broken.yaml"), *flag, "--no-progress", *case.args]


def test_the_table_has_at_least_25_cases() -> None:
    assert len(CASES) >= 25
    assert len({c.id for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_broken_input_exits_2_names_the_problem_and_sends_nothing(
    case: Case,
    tmp_path: Path,
    simulator: object,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("SUITE_TEST_KEY", "test-key")
    monkeypatch.delenv("SUITE_TEST_MISSING_KEY", raising=False)
    monkeypatch.chdir(tmp_path)
    argv = write_case(case, tmp_path, simulator.running.runware_url)  # type: ignore[attr-defined]
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse rejects bad flag values itself, also with exit 2
        code = int(exc.code or 0)
    err = capsys.readouterr().err
    assert code == 2, err
    for text in case.expect:
        assert text in err, f"{text!r} not in: {err}"
    for text in case.absent:
        assert text not in err, f"{text!r} in: {err}"
    assert "Traceback" not in err
    stats = simulator.stats()  # type: ignore[attr-defined]
    assert stats["requests"] == 0
    assert stats["tasks"] == 0


def test_validate_command_agrees(
    tmp_path: Path, simulator: object, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SUITE_TEST_KEY", "test-key")
    case = CASES[0]
    argv = write_case(case, tmp_path, simulator.running.runware_url)  # type: ignore[attr-defined]
    argv[0] = "validate"
    argv.remove("--no-progress")
    assert main(argv) == 2
    assert "settings.temperature" in capsys.readouterr().err


def test_control_a_valid_suite_does_reach_the_simulator(
    tmp_path: Path, simulator: object, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SUITE_TEST_KEY", "test-key")
    argv = write_case(Case("valid", ()), tmp_path, simulator.running.runware_url)  # type: ignore[attr-defined]
    assert main(["validate", *argv[1:4]]) == 0
    assert simulator.stats()["requests"] == 0  # type: ignore[attr-defined]
    code = main([*argv, "--out", str(tmp_path / "run")])
    assert code == 0, capsys.readouterr().err
    assert simulator.stats()["tasks"] == len(ROWS)  # type: ignore[attr-defined]
