"""A run whose every trial failed (a wrong API key): exit 3 naming the cause, then --resume with the right
key sends those trials again and the run passes; records.jsonl stays append-only."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from harness.cli import main
from harness.rundir import read_records

ROWS = [{"id": f"q{i}", "question": f"What is {i} + {i + 1}?", "answer": str(2 * i + 1)} for i in range(5)]


def test_failed_trials_exit_3_with_the_cause_and_a_resume_retries_them(
    tmp_path: Path,
    keyed_simulator: Any,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    keyed_simulator.set_answer_key({r["question"]: r["answer"] for r in ROWS})
    (tmp_path / "rows.jsonl").write_text("".join(json.dumps(r) + "\n" for r in ROWS))
    (tmp_path / "s.yaml").write_text(
        "name: keys\ndataset: {path: rows.jsonl, fields: {id: id, input: question, target: answer}}\n"
        "scorers: [numeric]\nthresholds: ['error_rate <= 0 in overall']\n"
    )
    (tmp_path / "t.yaml").write_text(
        f"provider: runware\nendpoint: {keyed_simulator.running.runware_url}\nmodel: alibaba:qwen@3.5-397b\n"
        "api_key_env: RUNWARE_API_KEY\n"
    )
    out = tmp_path / "run"
    args = ["run", str(tmp_path / "s.yaml"), "--target", str(tmp_path / "t.yaml"), "--no-progress"]

    monkeypatch.setenv("RUNWARE_API_KEY", "wrong")
    assert main([*args, "--out", str(out)]) == 3
    err = capsys.readouterr().err
    assert "5 of 5 trials failed (100%)" in err
    assert "mostly auth (5 of 5 errors): invalidApiKey" in err
    assert [r.status for r in read_records(out)] == ["error"] * 5

    monkeypatch.setenv("RUNWARE_API_KEY", "right")
    code = main([*args, "--resume", str(out)])
    err = capsys.readouterr().err
    assert code == 0, err
    assert [r.status for r in read_records(out)] == ["ok"] * 5
    assert (out / "records.jsonl").read_text().count("\n") == 10  # the failed lines stay
    summary = json.loads((out / "summary.json").read_text())
    assert (summary["overall"]["n_ok"], summary["overall"]["n_error"]) == (5, 0)
    # Every trial was scored after the resume (how many the simulated model got right is its skill
    # curve's draw, not what this test is about).
    assert summary["overall"]["metrics"]["accuracy"]["n"] == 5
    assert summary["overall"]["errors"]["count"] == 0
