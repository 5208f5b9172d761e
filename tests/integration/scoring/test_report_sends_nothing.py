"""`harness report` on a run with a judge scorer: the first report sends the judge calls it lacks; once
they are in RUN_DIR/judge/, a report sends no request at all, which a counting server (the simulator in
its own process, its /stats) proves, and rebuilds the same scores and summary."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from harness.cli import main
from harness.records import Record, Result, Timing
from harness.simulator import SimulatorOptions, SimulatorProcess

ITEMS = {"q1": ("What is two plus two?", "4", "It is 4."), "q2": ("Capital of France?", "Paris", "Lyon.")}


@pytest.fixture
def judge_server() -> Iterator[SimulatorProcess]:
    with SimulatorProcess(SimulatorOptions(skill="fixed=1.0")) as sim:
        yield sim


def _run_dir(tmp_path: Path, judge_target: Path) -> Path:
    from harness.loading import load_suite

    data = tmp_path / "suite" / "items.jsonl"
    data.parent.mkdir()
    data.write_text(
        "".join(json.dumps({"id": k, "question": q, "target": t}) + "\n" for k, (q, t, _) in ITEMS.items())
    )
    suite_file = data.parent / "judged.yaml"
    suite_file.write_text(
        "name: judged\n"
        "dataset:\n  path: items.jsonl\n  fields: {id: id, input: question, target: target}\n"
        'prompt:\n  template: "{{ input }}"\n'
        f"scorers:\n  - {{name: judge, options: {{target: {judge_target}}}}}\n"
        "target: sim\n"
    )
    suite = load_suite(suite_file)
    run = tmp_path / "run"
    run.mkdir()
    manifest = {"schema_version": 1, "suite": suite.model_dump(mode="json"), "suite_file": str(suite_file)}
    (run / "manifest.json").write_bytes(orjson.dumps(manifest))
    records = [
        Record(
            trial_key=f"t-{k}",
            cell_id="all",
            cell={},
            item_id=k,
            repeat=0,
            seed=1,
            target="sim",
            model="alibaba:qwen@3.5-397b",
            delivery="sync",
            status="ok",
            timing=Timing(scheduled_at_s=0.0, sent_at_s=0.0, done_at_s=1.0),
            results=[Result(answer, finish_reason="stop")],
            reference=ref,
        )
        for k, (_, ref, answer) in ITEMS.items()
    ]
    (run / "records.jsonl").write_bytes(b"".join(orjson.dumps(r.to_dict()) + b"\n" for r in records))
    return run


def _sent(sim: SimulatorProcess) -> tuple[int, int]:
    stats = sim.stats()
    return int(stats["tasks"]), int(stats["openai"]["requests"])


def test_report_with_a_cached_judge_sends_no_request(
    tmp_path: Path, judge_server: SimulatorProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JUDGE_TEST_KEY", "test-key")
    target = tmp_path / "judge.yaml"
    target.write_text(
        f"provider: runware\nendpoint: {judge_server.runware_url}\nmodel: alibaba:qwen@3.5-397b\n"
        "api_key_env: JUDGE_TEST_KEY\n"
    )
    run = _run_dir(tmp_path, target)

    assert main(["report", str(run)]) == 0
    assert _sent(judge_server) == (2, 0)  # the two answers' judge calls, once
    scores = (run / "scores.jsonl").read_bytes()
    summary = (run / "summary.json").read_bytes()
    judged = [json.loads(line)["extracted"] for line in scores.splitlines()]
    assert judged == ["CORRECT", "INCORRECT"]

    judge_server.reset_stats()
    assert main(["report", str(run)]) == 0
    assert _sent(judge_server) == (0, 0)
    assert (run / "scores.jsonl").read_bytes() == scores
    assert (run / "summary.json").read_bytes() == summary
