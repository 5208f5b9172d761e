"""Bad input that used to send requests or crash (issue #10, item 3): each row is a real suite, target or
capability-card file written to tmp_path. Every row must exit 2, name the file and the field, print no
traceback and send nothing: the target is a live simulator on 127.0.0.1 whose own request counter is
read before and after, in-process and through the `harness` process a user would start.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from harness.cli import main
from harness.paths import configs_dir

ROWS = [
    {"id": "q1", "question": "What is 2 + 3?", "answer": "5"},
    {"id": "q2", "question": "What is 7 * 6?", "answer": "42"},
]

# settings: last, so a row can append a setting with "  name: value\n".
BASE = """\
name: broken
dataset:
  path: rows.jsonl
  fields: {id: id, input: question, target: answer}
scorers: [numeric]
settings:
  maxTokens: 64
"""

TARGET = """\
provider: runware
endpoint: {endpoint}
model: alibaba:qwen@3.5-397b
capability: qwen3.5-397b
api_key_env: BAD_INPUT_TEST_KEY
"""

# Seven levels of ten aliases each: 10**7 values once expanded, a few hundred bytes on disk.
LAUGHS = "[&l0 [a, a, a, a, a, a, a, a, a, a]" + "".join(
    f", &l{i} [{', '.join([f'*l{i - 1}'] * 10)}]" for i in range(1, 8)
)
LAUGHS += "]"

KEY_WITH_DASHES = "sk-proj-Q2hY7xKd93LmT0pBvR5sWn8eJ4aF"
KEY_ALNUM = "Xq7bT9mK2pL4vN8wR3sY6zA1cF5hJ0dE"


def card_text(**replace: str) -> str:
    text = (configs_dir() / "models" / "qwen3.5-397b.yaml").read_text(encoding="utf-8")
    for old, new in replace.items():
        assert old in text
        text = text.replace(old, new)
    return text


@dataclass(frozen=True)
class Case:
    id: str
    expect: tuple[str, ...]
    suite: str = BASE
    target: str = TARGET
    args: tuple[str, ...] = ()
    absent: tuple[str, ...] = ()  # texts the error must not contain (secrets)
    files: dict[str, str | bytes] = field(default_factory=dict)  # extra files, by name
    suite_encoding: str = "utf-8"
    target_encoding: str = "utf-8"


CASES = [
    # 1. NaN or inf in any numeric setting, field or flag (.nan passed every range check and went out as null)
    Case(
        "settings-nan",
        ("broken.yaml:8", "settings.temperature", "nan is not a finite number"),
        BASE + "  temperature: .nan\n",
    ),
    Case(
        "settings-minus-inf",
        ("broken.yaml:8", "settings.minP", "-inf is not a finite number"),
        BASE + "  minP: -.inf\n",
    ),
    Case(
        "grid-axis-nan",
        ("broken.yaml:9", "grid.temperature.1", "not a finite number"),
        BASE + "grid:\n  temperature: [0.5, .NaN]\n",
    ),
    Case(
        "run-rate-inf",
        ("broken.yaml:9", "run.rate_rps", "not a finite number"),
        BASE + "run:\n  rate_rps: .inf\n",
    ),
    Case(
        "set-override-nan",
        ("--set: settings.temperature", "not a finite number"),
        args=("--set", "settings.temperature=.nan"),
    ),
    Case("flag-rate-inf", ("--rate", "finite"), args=("--rate", "inf")),
    Case(
        "target-timeout-inf",
        ("target.yaml:7", "timeouts.total_s", "not a finite number"),
        target=TARGET + "timeouts:\n  total_s: .inf\n",
    ),
    Case(
        "card-bound-nan",
        ("card.yaml:54", "settings.temperature.max", "not a finite number"),
        BASE + "  temperature: 3.5\n",
        target=TARGET.replace("capability: qwen3.5-397b", "capability: card.yaml"),
        files={"card.yaml": card_text(**{"min: 0, max: 2, default: 0.6": "min: 0, max: .nan, default: 0.6"})},
    ),
    # 2. a setting given both in settings and in the grid (the grid silently won)
    Case(
        "setting-and-grid-axis",
        ("broken.yaml:8", "settings.temperature", "grid.temperature (line 10)", "never be sent"),
        BASE + "  temperature: 0.6\ngrid:\n  temperature: [0.2, 0.7]\n",
    ),
    Case(
        "setting-and-zip-group",
        ("broken.yaml:8", "settings.topK", "grid.zip.0.topK"),
        BASE + "  topK: 20\ngrid:\n  zip:\n    - {temperature: [0.2, 0.7], topK: [20, 40]}\n",
    ),
    Case(
        "setting-and-grid-via-set",
        ("broken.yaml:8", "settings.temperature", "grid.temperature (--set)"),
        BASE + "  temperature: 0.6\n",
        args=("--set", "grid.temperature=[0.2,0.7]"),
    ),
    # 3. duplicated values in a grid axis (the same cell ran twice, or was silently merged)
    Case(
        "grid-axis-repeat",
        ("broken.yaml:9", "grid.topK.1", "listed twice", "grid.topK.0"),
        BASE + "grid:\n  topK: [20, 20, 40]\n",
    ),
    Case(
        "grid-axis-repeat-int-and-float",
        ("grid.temperature.2", "listed twice"),
        BASE + "grid:\n  temperature:\n    - 1\n    - 0.5\n    - 1.0\n",
    ),
    Case(
        "grid-zip-point-repeat",
        ("broken.yaml:10", "grid.zip.0", "point 2", "repeats point 0"),
        BASE + "grid:\n  zip:\n    - {temperature: [0.2, 0.7, 0.2], topK: [20, 40, 20]}\n",
    ),
    Case(
        "grid-explicit-cell-repeat",
        ("broken.yaml:12", "grid.cells.2", "repeats grid.cells.0"),
        BASE + "grid:\n  cells:\n    - {topK: 5}\n    - {topK: 6}\n    - {topK: 5}\n",
    ),
    # 4. an invalid value in a shadowed setting (it was never checked)
    Case(
        "shadowed-setting-invalid",
        ("broken.yaml:8", "settings.temperature", "got 9", "0..2"),
        BASE + "  temperature: 9\ngrid:\n  temperature: [0.2, 0.7]\n",
    ),
    # 5. --out at an existing directory that is not a run directory (the run wrote into it)
    Case(
        "out-not-a-run-directory",
        ("notes: --out", "not a run directory"),
        args=("--out", "notes"),
        files={"notes/todo.txt": "my own file\n"},
    ),
    Case(
        "out-is-a-file",
        ("todo.txt: --out", "not a directory"),
        args=("--out", "todo.txt"),
        files={"todo.txt": "x\n"},
    ),
    Case(
        "out-not-a-run-directory-dry-run",
        ("notes: --out", "not a run directory"),
        args=("--out", "notes", "--dry-run"),
        files={"notes/todo.txt": "my own file\n"},
    ),
    # 6. YAML aliases that expand exponentially (pydantic hung on them), in every file a run reads
    Case(
        "suite-billion-laughs",
        ("broken.yaml:", "aliases expand", "100,000"),
        BASE + f"grid:\n  cells: {LAUGHS}\n",
    ),
    Case(
        "target-billion-laughs",
        ("target.yaml:", "aliases expand"),
        target=TARGET + f"reasoning_switch: {{low: {{x: {LAUGHS}}}}}\n",
    ),
    Case(
        "set-billion-laughs",
        ("--set", "settings.stopSequences", "aliases expand"),
        args=("--set", f"settings.stopSequences={LAUGHS}"),
    ),
    Case("suite-recursive-alias", ("broken.yaml:8", "contains it"), BASE + "  stopSequences: &s [*s]\n"),
    Case(
        "suite-nested-too-deep",
        ("broken.yaml:8", "nested more than 64 levels"),
        BASE + "  stopSequences: " + "[" * 400 + "]" * 400 + "\n",
    ),
    # 7. files that are not UTF-8 (a UnicodeDecodeError traceback)
    Case(
        "suite-not-utf8",
        ("broken.yaml:2", "not UTF-8", "byte 0xe9 at line 2"),
        BASE.replace("name: broken\n", "name: broken\ndescription: caf\xe9\n"),
        suite_encoding="latin-1",
    ),
    Case(
        "target-not-utf8",
        ("target.yaml:1", "not UTF-8"),
        target="# \xe9t\xe9\n" + TARGET,
        target_encoding="latin-1",
    ),
    Case(
        "card-not-utf8",
        ("card.yaml:", "not UTF-8"),
        target=TARGET.replace("capability: qwen3.5-397b", "capability: card.yaml"),
        files={"card.yaml": card_text().replace("description:", "description: \xe9", 1).encode("latin-1")},
    ),
    # 8. an endpoint that is not an http(s) URL (exit 3 after the run had started)
    Case(
        "endpoint-ftp",
        ("target.yaml:2", "endpoint", "ftp://", "http(s) URL"),
        target=TARGET.replace("{endpoint}", "ftp://127.0.0.1:1/v1"),
    ),
    Case(
        "endpoint-without-scheme",
        ("target.yaml:2", "endpoint", "does not start with http:// or https://"),
        target=TARGET.replace("{endpoint}", "127.0.0.1:8700/v1"),
    ),
    Case(
        "endpoint-with-credentials",
        ("target.yaml:2", "endpoint", "credentials"),
        target=TARGET.replace("{endpoint}", "http://user:hunter2secret@127.0.0.1:1/v1"),
        absent=("hunter2secret",),
    ),
    Case(
        "endpoint-missing",
        ("target.yaml", "endpoint", "needs an endpoint"),
        target=TARGET.replace("endpoint: {endpoint}\n", ""),
    ),
    # 9. api_key_env holding what looks like a key (it was echoed in the error)
    Case(
        "api-key-env-is-a-key-with-dashes",
        ("target.yaml:5", "api_key_env", "not shown"),
        target=TARGET.replace("BAD_INPUT_TEST_KEY", KEY_WITH_DASHES),
        absent=(KEY_WITH_DASHES, KEY_WITH_DASHES[:12]),
    ),
    Case(
        "api-key-env-is-an-alphanumeric-key",
        ("target.yaml:5", "api_key_env", "looks like an API key"),
        target=TARGET.replace("BAD_INPUT_TEST_KEY", KEY_ALNUM),
        absent=(KEY_ALNUM, KEY_ALNUM[:12]),
    ),
]

# One row of each numbered class, run again as the process a user starts.
PROCESS_CASES = [
    "settings-nan",
    "setting-and-grid-axis",
    "grid-axis-repeat",
    "shadowed-setting-invalid",
    "out-not-a-run-directory",
    "suite-billion-laughs",
    "suite-not-utf8",
    "endpoint-ftp",
    "api-key-env-is-an-alphanumeric-key",
]


def write_case(case: Case, tmp_path: Path, endpoint: str) -> list[str]:
    (tmp_path / "broken.yaml").write_bytes(case.suite.encode(case.suite_encoding))
    (tmp_path / "rows.jsonl").write_text("".join(json.dumps(r) + "\n" for r in ROWS))
    target = case.target.replace("{endpoint}", endpoint)
    (tmp_path / "target.yaml").write_bytes(target.encode(case.target_encoding))
    for name, content in case.files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return ["run", "broken.yaml", "--target", "target.yaml", "--no-progress", *case.args]


def sent(simulator: object) -> tuple[int, int]:
    stats = simulator.stats()  # type: ignore[attr-defined]
    return stats["requests"], stats["tasks"]


def check_refusal(case: Case, code: int, err: str) -> None:
    assert code == 2, err
    for text in case.expect:
        assert text in err, f"{text!r} not in: {err}"
    for text in case.absent:
        assert text not in err, f"{text!r} in: {err}"
    assert "Traceback" not in err


def test_the_table_covers_every_class_of_the_issue() -> None:
    ids = [c.id for c in CASES]
    assert len(set(ids)) == len(ids)
    assert set(PROCESS_CASES) <= set(ids)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_exits_2_names_file_and_field_and_sends_nothing(
    case: Case,
    tmp_path: Path,
    simulator: object,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("BAD_INPUT_TEST_KEY", "test-key")
    monkeypatch.chdir(tmp_path)
    argv = write_case(case, tmp_path, simulator.running.runware_url)  # type: ignore[attr-defined]
    before = sent(simulator)
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse rejects a bad flag value itself, with exit 2
        code = int(exc.code or 0)
    check_refusal(case, code, capsys.readouterr().err)
    assert sent(simulator) == before
    if "--out" in case.args:  # the user's own directory is left as it was
        out = tmp_path / case.args[case.args.index("--out") + 1]
        assert not out.is_dir() or [p.name for p in out.iterdir()] == ["todo.txt"]
        assert not out.is_file() or out.read_text() == "x\n"


@pytest.mark.parametrize("case_id", PROCESS_CASES)
def test_bad_input_through_the_harness_process(case_id: str, tmp_path: Path, simulator: object) -> None:
    case = next(c for c in CASES if c.id == case_id)
    argv = write_case(case, tmp_path, simulator.running.runware_url)  # type: ignore[attr-defined]
    env = {k: v for k, v in os.environ.items() if k != "HARNESS_OUTPUTS_WORKER"}
    env["BAD_INPUT_TEST_KEY"] = "test-key"
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[3])
    before = sent(simulator)
    result = subprocess.run(
        [sys.executable, "-m", "harness", *argv],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
        env=env,
        timeout=120,
    )
    check_refusal(case, result.returncode, result.stderr)
    assert result.stdout == ""
    assert sent(simulator) == before


def test_control_the_same_files_without_the_fault_do_reach_the_simulator(
    tmp_path: Path, simulator: object, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The counter the rows read does move: the base suite, an empty --out directory, aliases that only
    repeat a value, and a distinct grid all run."""
    monkeypatch.setenv("BAD_INPUT_TEST_KEY", "test-key")
    monkeypatch.chdir(tmp_path)
    suite = BASE.replace("name: broken", "name: broken\ndescription: &text bad input control") + (
        "  stopSequences: [END]\ngrid:\n  topK: [20, 40]\n  cells: [{topK: 5}]\nreport:\n  title: *text\n"
    )
    argv = write_case(Case("valid", (), suite), tmp_path, simulator.running.runware_url)  # type: ignore[attr-defined]
    (tmp_path / "empty").mkdir()
    _, tasks = sent(simulator)
    code = main([*argv, "--out", "empty"])
    assert code == 0, capsys.readouterr().err
    assert sent(simulator)[1] == tasks + 3 * len(ROWS)
    assert (tmp_path / "empty" / "records.jsonl").is_file()


@pytest.mark.parametrize("case", [c for c in CASES if not c.args], ids=[c.id for c in CASES if not c.args])
def test_validate_refuses_the_same_files(
    case: Case,
    tmp_path: Path,
    simulator: object,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("BAD_INPUT_TEST_KEY", "test-key")
    monkeypatch.chdir(tmp_path)
    argv = write_case(case, tmp_path, simulator.running.runware_url)  # type: ignore[attr-defined]
    argv[0] = "validate"
    argv.remove("--no-progress")
    before = sent(simulator)
    check_refusal(case, main(argv), capsys.readouterr().err)
    assert sent(simulator) == before
