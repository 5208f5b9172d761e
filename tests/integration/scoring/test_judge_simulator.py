"""The judge end to end: the judge stage sends its calls through the engine to the embedded simulator
on 127.0.0.1 into RUN_DIR/judge/; scoring reads them, and a second stage plus scoring sends nothing and
rewrites identical scores."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from harness.config import ScorerConfig
from harness.orchestration.judge import arun_judge_stage, run_judge_stage
from harness.records import Record, Result, Timing

# question, reference, the answer under test, and its grade (the simulator grades the default rubric's
# prompts itself: the answer's final result against the reference).
QUESTIONS = {
    "q1": ("What is two plus two?", "4", "It is 4.", "CORRECT"),
    "q2": ("Name the capital of France.", "Paris", "Lyon.", "INCORRECT"),
    "q3": ("Who wrote Hamlet?", "Shakespeare", "Marlowe, I believe.", "INCORRECT"),
}


def model_record(item: str, answer: str, reference: str) -> Record:
    return Record(
        trial_key=f"t-{item}",
        cell_id="temperature=0.6",
        cell={"temperature": 0.6},
        item_id=item,
        repeat=0,
        seed=1,
        target="sim",
        model="alibaba:qwen@3.5-397b",
        delivery="sync",
        status="ok",
        timing=Timing(scheduled_at_s=0.0),
        results=[Result(answer, finish_reason="stop")],
        reference=reference,
    )


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    from harness.loading import load_suite

    data = tmp_path / "suite" / "items.jsonl"
    data.parent.mkdir()
    data.write_text(
        "".join(
            json.dumps({"id": k, "question": q, "target": t}) + "\n" for k, (q, t, _, _) in QUESTIONS.items()
        )
    )
    suite_file = data.parent / "judged.yaml"
    suite_file.write_text(
        "name: judged\n"
        "dataset:\n  path: items.jsonl\n  fields: {id: id, input: question, target: target}\n"
        'prompt:\n  template: "{{ input }}"\n'
        "target: sim\n"
    )
    suite = load_suite(suite_file)
    run = tmp_path / "run"
    run.mkdir()
    manifest = {"schema_version": 1, "suite": suite.model_dump(mode="json"), "suite_file": str(suite_file)}
    (run / "manifest.json").write_bytes(orjson.dumps(manifest))
    records = [model_record(k, answer, ref) for k, (_, ref, answer, _) in QUESTIONS.items()]
    (run / "records.jsonl").write_bytes(b"".join(orjson.dumps(r.to_dict()) + b"\n" for r in records))
    return run


@pytest.fixture
async def judge_target(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[str]:
    """A Runware target pointing at a simulator with a judge that is never wrong (skill 1.0)."""
    from harness.simulator import SimulatorOptions, serve_simulator

    monkeypatch.setenv("JUDGE_TEST_KEY", "test-key")
    options = SimulatorOptions(skill="fixed=1.0")
    async with serve_simulator(options) as sim:
        target = tmp_path / "judge-sim.yaml"
        target.write_text(
            f"provider: runware\nendpoint: {sim.runware_url}\nmodel: alibaba:qwen@3.5-397b\n"
            "api_key_env: JUDGE_TEST_KEY\n"
        )
        yield str(target)


async def test_judge_through_engine_and_simulator(
    run_dir: Path, judge_target: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from harness.scoring import ascore_run
    from harness.scoring.judge import judge_usage

    config = ScorerConfig(name="judge", options={"target": judge_target, "concurrency": 2})
    assert (await arun_judge_stage(run_dir, [config])).sent == 3
    scores = await ascore_run(run_dir, [config])
    assert [(s.item_id, s.value, s.outcome, s.extracted) for s in scores] == [
        ("q1", 1.0, "correct", "CORRECT"),
        ("q2", 0.0, "wrong", "INCORRECT"),
        ("q3", 0.0, "wrong", "INCORRECT"),
    ]
    judge_lines = (run_dir / "judge" / "records.jsonl").read_bytes().splitlines()
    assert len(judge_lines) == 3
    assert (run_dir / "judge" / "manifest.json").exists()
    usage = judge_usage(run_dir)
    assert (usage["calls"], usage["ok"], usage["errors"]) == (3, 3, 0)
    assert usage["prompt_tokens"] > 0
    assert usage["cost_usd"] > 0
    assert len((run_dir / "records.jsonl").read_bytes().splitlines()) == 3  # the judged run is untouched

    first = (run_dir / "scores.jsonl").read_bytes()
    import harness.runner

    def no_requests(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("a judge request was sent again")

    monkeypatch.setattr(harness.runner, "run_trials", no_requests)
    assert (await arun_judge_stage(run_dir, [config])).sent == 0
    await ascore_run(run_dir, [config])
    assert (run_dir / "scores.jsonl").read_bytes() == first
    assert (run_dir / "judge" / "records.jsonl").read_bytes().splitlines() == judge_lines


async def test_new_answers_only_are_judged(run_dir: Path, judge_target: str) -> None:
    from harness.scoring import ascore_run

    config = ScorerConfig(name="judge", options={"target": judge_target})
    await arun_judge_stage(run_dir, [config])
    extra = model_record("q1", "Two and two make 4.", "4")
    extra.trial_key = "t-q1-repeat"
    with (run_dir / "records.jsonl").open("ab") as fh:
        fh.write(orjson.dumps(extra.to_dict()) + b"\n")
    assert (await arun_judge_stage(run_dir, [config])).sent == 1
    scores = await ascore_run(run_dir, [config])
    assert len((run_dir / "judge" / "records.jsonl").read_bytes().splitlines()) == 4
    assert [(s.trial_key, s.outcome) for s in scores][-1] == ("t-q1-repeat", "correct")


def test_embedded_simulator_target_from_sync_code(run_dir: Path) -> None:
    """`target: sim` starts its own simulator, which grades each answer (right or wrong at its default
    skill curve's rate); each one is a recorded, billed judge call."""
    from harness.scoring import score_run
    from harness.scoring.judge import judge_usage

    configs = [ScorerConfig(name="judge", options={"target": "sim"})]
    assert run_judge_stage(run_dir, configs).sent == 3
    scores = score_run(run_dir, configs)
    assert all((s.value, s.outcome) in ((1.0, "correct"), (0.0, "wrong")) for s in scores)
    assert [s.extracted for s in scores] == ["CORRECT" if s.value == 1.0 else "INCORRECT" for s in scores]
    assert len(scores) == 3
    assert judge_usage(run_dir)["calls"] == 3


async def test_failed_judge_calls_are_sent_again(
    run_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Judge calls that ended in errors (every attempt a 500) score as invalid; the next scoring pass
    against a healthy judge sends exactly those calls again and replaces the invalid scores."""
    from harness.scoring import ascore_run
    from harness.simulator import SimulatorOptions, serve_simulator

    monkeypatch.setenv("JUDGE_TEST_KEY", "test-key")
    target = tmp_path / "judge-sim.yaml"
    config = ScorerConfig(name="judge", options={"target": str(target), "concurrency": 3})

    def point_at(url: str) -> None:
        target.write_text(
            f"provider: runware\nendpoint: {url}\nmodel: alibaba:qwen@3.5-397b\napi_key_env: JUDGE_TEST_KEY\n"
            "timeouts: {first_byte_s: 5, total_s: 10}\n"
        )

    async with serve_simulator(SimulatorOptions(skill="fixed=1.0", faults="500=1.0")) as broken:
        point_at(broken.runware_url)
        await arun_judge_stage(run_dir, [config])
        first = await ascore_run(run_dir, [config])
    assert [(s.outcome, s.value) for s in first] == [("invalid", None)] * 3

    async with serve_simulator(SimulatorOptions(skill="fixed=1.0")) as healthy:
        point_at(healthy.runware_url)
        assert (await arun_judge_stage(run_dir, [config])).sent == 3
        second = await ascore_run(run_dir, [config])
        billed = (await healthy.stats())["successful_tasks"]
    assert billed == 3
    assert [(s.item_id, s.outcome) for s in second] == [("q1", "correct"), ("q2", "wrong"), ("q3", "wrong")]
