"""The judge scorer without a network: option checks, rubric compilation, verdict parsing, and reading
judge replies already on disk (which must send nothing)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest

from harness.config import ScorerConfig
from harness.errors import ConfigError
from harness.orchestration.judge import run_judge_stage
from harness.records import Record, Result, Timing, Usage
from harness.scoring import build_scorer, score_run
from harness.scoring.judge import JudgeScorer, judge_usage, parse_verdict
from harness.scoring.judge_prompt import JudgeRubric

MakeRecord = Callable[..., Record]

TARGET_YAML = "provider: simulator\nmodel: alibaba:qwen@3.5-397b\n"


@pytest.fixture
def target_file(tmp_path: Path) -> str:
    path = tmp_path / "judge-sim.yaml"
    path.write_text(TARGET_YAML)
    return str(path)


def build(target_file: str, **options: Any) -> JudgeScorer:
    built = build_scorer(ScorerConfig(name="judge", options={"target": target_file, **options}))
    assert isinstance(built, JudgeScorer)
    return built


@pytest.mark.parametrize(
    ("reply", "scale", "expected"),
    [
        ("The answer matches.\nVERDICT: CORRECT", None, 1.0),
        ("It differs.\nVERDICT: INCORRECT", None, 0.0),
        ("**Verdict:** **correct**", None, 1.0),
        ("VERDICT: INCORRECT ... on reflection VERDICT: CORRECT", None, 1.0),
        ("GRADE: I", None, 0.0),
        ("I think it is correct.", None, None),
        ("", None, None),
        ("Mostly right.\nSCORE: 7", 10, 0.7),
        ("SCORE: 7/10", 10, 0.7),
        ("SCORE: 7/5", 10, None),
        ("SCORE: 11", 10, None),
        ("Score = 0", 10, 0.0),
        ("No score here", 10, None),
    ],
)
def test_parse_verdict(reply: str, scale: int | None, expected: float | None) -> None:
    assert parse_verdict(reply, scale) == expected


def test_default_rubric_renders_every_field() -> None:
    rubric = JudgeRubric.build(None, system=None, scale=None)
    text = rubric.render(question="2+2?", reference="4", answer="four", choices=None, item_id="q1")
    assert "Question:\n2+2?" in text
    assert "Reference answer:\n4" in text
    assert "Answer to grade:\nfour" in text
    assert text.rstrip().endswith('"VERDICT: INCORRECT".')
    assert rubric.needs_question


def test_rubric_lists_choices() -> None:
    rubric = JudgeRubric.build(None, system=None, scale=None)
    text = rubric.render(
        question="Capital?", reference="B", answer="B", choices=["London", "Paris"], item_id="q"
    )
    assert "A) London\nB) Paris\n" in text


def test_custom_rubric_gets_format_appended() -> None:
    rubric = JudgeRubric.build("Is {{ answer }} a polite reply?", system=None, scale=5)
    text = rubric.render(question="", reference=None, answer="Thanks!", choices=None, item_id="q")
    assert text.startswith("Is Thanks! a polite reply?\n\n")
    assert "from 0 (completely wrong) to 5" in text
    assert not rubric.needs_question


def test_rubric_from_file(tmp_path: Path) -> None:
    path = tmp_path / "rubric.j2"
    path.write_text("Grade {{ answer }} against {{ reference }}.\n{{ format_instructions }}\n")
    rubric = JudgeRubric.build(str(path), system=None, scale=None)
    assert rubric.render(question="", reference="4", answer="5", choices=None, item_id="q").startswith(
        "Grade 5 against 4."
    )


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"rubric": "{{ answer "}, "rubric"),
        ({"rubric": "{{ secret }}"}, "rubric"),
        ({"scale": 0}, "scale"),
        ({"pass_threshold": 3}, "pass_threshold"),
        ({"scale": 10, "pass_threshold": 11}, "pass_threshold"),
        ({"delivery": "carrier-pigeon"}, "delivery"),
        ({"settings": {"temperature": 5}}, "settings.temperature"),
        ({"settings": {"warmth": 1}}, "settings.warmth"),
        ({"concurrency": 0}, "concurrency"),
    ],
)
def test_bad_options(target_file: str, options: dict[str, Any], field: str) -> None:
    with pytest.raises(ConfigError) as info:
        build(target_file, **options)
    assert info.value.field == f"scorers.options.{field}"


def test_unknown_target() -> None:
    with pytest.raises(ConfigError) as info:
        build_scorer(ScorerConfig(name="judge", options={"target": "no-such-target"}))
    assert info.value.field == "scorers.options.target"


def test_spec_identity_ignores_threshold(target_file: str) -> None:
    a = build(target_file, scale=10, pass_threshold=5)
    b = build(target_file, scale=10, pass_threshold=8)
    c = build(target_file, scale=10, rubric="Rate {{ answer }}.")
    assert a.cell_id == b.cell_id != c.cell_id


# --- replies already on disk: scoring sends nothing ---------------------------------------------------


def judge_record(scorer: JudgeScorer, judged: str, reply: str | None, cost: float = 0.001) -> Record:
    return Record(
        trial_key=f"j-{judged}",
        cell_id=scorer.cell_id,
        cell={"judge": scorer.cell_id},
        item_id=judged,
        repeat=0,
        seed=None,
        target="judge-sim",
        model="alibaba:qwen@3.5-397b",
        delivery="sync",
        status="ok" if reply is not None else "error",
        timing=Timing(scheduled_at_s=0.0),
        results=[Result(reply)] if reply is not None else [],
        usage=Usage(prompt_tokens=100, completion_tokens=20, total_tokens=120),
        cost_usd=cost,
    )


def write_jsonl(path: Path, records: list[Record]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"".join(orjson.dumps(r.to_dict()) + b"\n" for r in records))


def test_scores_from_judge_records_without_sending(
    tmp_path: Path, target_file: str, make_record: MakeRecord, monkeypatch: pytest.MonkeyPatch
) -> None:
    import harness.runner

    def no_requests(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("a judge request was sent")

    monkeypatch.setattr(harness.runner, "run_trials", no_requests)
    scorer = build(target_file)
    run_dir = tmp_path / "run"
    records = [
        make_record(["four", "five"], reference="4", key="a", finish="stop"),
        make_record(["", "maybe"], reference="4", key="b", finish="length"),
        make_record(status="error", reference="4", key="c"),
    ]
    write_jsonl(run_dir / "records.jsonl", records)
    write_jsonl(
        run_dir / "judge" / "records.jsonl",
        [
            judge_record(scorer, "a/0", "Same value.\nVERDICT: CORRECT"),
            judge_record(scorer, "a/1", "Differs.\nVERDICT: INCORRECT"),
            judge_record(scorer, "b/1", "Hmm, hard to say."),
        ],
    )
    scores = score_run(run_dir, [ScorerConfig(name="judge", options={"target": target_file})])
    assert [(s.trial_key, s.result_index, s.value, s.outcome, s.extracted) for s in scores] == [
        ("a", 0, 1.0, "correct", "CORRECT"),
        ("a", 1, 0.0, "wrong", "INCORRECT"),
        ("b", 0, 0.0, "truncated", None),
        ("b", 1, None, "invalid", None),
        ("c", 0, 0.0, "error", None),
    ]
    assert scores[3].explanation == "judge reply has no verdict: 'Hmm, hard to say.'"


def test_scoring_never_sends_a_missing_judge_call(
    tmp_path: Path, target_file: str, make_record: MakeRecord, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Re-scoring is a pure read: an answer without a judge call scores invalid, saying why."""
    import harness.runner

    def no_requests(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("scoring sent a judge request")

    monkeypatch.setattr(harness.runner, "run_trials", no_requests)
    run_dir = tmp_path / "run"
    write_jsonl(run_dir / "records.jsonl", [make_record("four", reference="4", key="a")])
    [score] = score_run(run_dir, [ScorerConfig(name="judge", options={"target": target_file})])
    assert (score.value, score.outcome) == (None, "invalid")
    assert score.explanation is not None
    assert "judge stage did not run" in score.explanation
    assert not (run_dir / "judge").exists()


def test_failed_judge_call_is_sent_again_and_invalid_while_it_fails(
    tmp_path: Path, target_file: str, make_record: MakeRecord, monkeypatch: pytest.MonkeyPatch
) -> None:
    import harness.runner

    scorer = build(target_file)
    run_dir = tmp_path / "run"
    record = make_record("four", reference="4", key="a")
    record.messages = [{"role": "user", "content": "What is 2 + 2?"}]
    write_jsonl(run_dir / "records.jsonl", [record])
    write_jsonl(run_dir / "judge" / "records.jsonl", [judge_record(scorer, "a/0", None)])
    sent: list[tuple[str, str]] = []

    async def judge_still_down(trials: Any, *args: Any, **kwargs: Any) -> None:
        sent.extend((t.item_id, t.messages[0].content) for t in trials)

    monkeypatch.setattr(harness.runner, "run_trials", judge_still_down)
    configs = [ScorerConfig(name="judge", options={"target": target_file})]
    assert run_judge_stage(run_dir, configs).sent == 1
    [score] = score_run(run_dir, configs)
    # No manifest here: the question comes from the prompt the record carries.
    assert [item for item, _ in sent] == ["a/0"]
    assert "What is 2 + 2?" in sent[0][1]
    assert (score.value, score.outcome, score.explanation) == (
        None,
        "invalid",
        "judge call failed: no result",
    )


def test_graded_scale_value_and_threshold(tmp_path: Path, target_file: str, make_record: MakeRecord) -> None:
    options = {"target": target_file, "scale": 10, "pass_threshold": 7}
    scorer = build(target_file, scale=10, pass_threshold=7)
    run_dir = tmp_path / "run"
    write_jsonl(run_dir / "records.jsonl", [make_record(["x", "y"], reference="4", key="a")])
    write_jsonl(
        run_dir / "judge" / "records.jsonl",
        [judge_record(scorer, "a/0", "SCORE: 7"), judge_record(scorer, "a/1", "SCORE: 6")],
    )
    scores = score_run(run_dir, [ScorerConfig(name="judge", options=options)])
    assert [(s.value, s.outcome, s.extracted) for s in scores] == [(0.7, "correct", "7"), (0.6, "wrong", "6")]
    assert judge_usage(run_dir) == {
        "calls": 2,
        "ok": 2,
        "errors": 0,
        "prompt_tokens": 200,
        "completion_tokens": 40,
        "thinking_tokens": 0,
        "cost_usd": pytest.approx(0.002),
    }


def test_judge_without_run_dir_is_an_error(target_file: str, make_record: MakeRecord) -> None:
    from harness.errors import ScoringError
    from harness.scoring import score_records

    with pytest.raises(ScoringError, match="run directory"):
        score_records(
            [make_record("x", reference="1")], [ScorerConfig(name="judge", options={"target": target_file})]
        )
