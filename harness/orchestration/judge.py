"""The judge stage of the orchestration: before a run is scored, send the judge calls its `judge`
scorers still need, as a plan of their own through the engine (`run_trials`) into RUN_DIR/judge/, so
retries, resume and the budget apply and the judge's spend stays apart. Scoring then only reads them
(harness.scoring.judge). A call already answered is never sent again, so on a judged run this stage
starts nothing and sends nothing.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path

from harness.config import ScorerConfig
from harness.errors import RunStoppedError, ScoringError
from harness.records import Message, Record, Trial
from harness.rundir import RunDir
from harness.scoring.judge import JudgeSpec
from harness.scoring.judge_prompt import load_questions

__all__ = [
    "JUDGE_SCORER",
    "JudgeStageResult",
    "arun_judge_stage",
    "judge_specs",
    "judge_trials",
    "run_judge_stage",
    "suite_judges",
]

JUDGE_SCORER = "judge"


@dataclass(slots=True, frozen=True)
class JudgeStageResult:
    """What the stage did: calls it found due and sent, and why it stopped early (or None)."""

    sent: int
    stop_reason: str | None = None


def judge_specs(scorers: Sequence[ScorerConfig]) -> list[JudgeSpec]:
    """The resolved options of each `judge` scorer, checked exactly as scoring checks them (the
    registry; a ConfigError names the scorer's option)."""
    from harness.scoring.judge import JudgeScorer
    from harness.scoring.registry import build_scorer

    specs = []
    for index, config in enumerate(scorers):
        if config.name == JUDGE_SCORER:
            built = build_scorer(config, field=f"scorers[{index}]")
            assert isinstance(built, JudgeScorer)
            specs.append(built.spec)
    return specs


async def arun_judge_stage(run_dir: Path, scorers: Sequence[ScorerConfig]) -> JudgeStageResult:
    """Send the judge calls the run's judge scorers are missing; a no-op without a judge scorer."""
    specs = judge_specs(scorers)
    if not specs:
        return JudgeStageResult(sent=0)
    run = RunDir(run_dir)
    records = [r for r in run.records() if r.results]
    sent, stop_reason = 0, None
    for spec in specs:
        wanted = spec.pending(records, run.judge())
        if not wanted:
            continue
        sent += len(wanted)
        try:
            await _send(spec, wanted, run)
        except RunStoppedError as exc:
            stop_reason = str(exc)
    return JudgeStageResult(sent=sent, stop_reason=stop_reason)


def run_judge_stage(run_dir: Path, scorers: Sequence[ScorerConfig]) -> JudgeStageResult:
    """`arun_judge_stage` from synchronous code (its own event loop; nothing is started when no call
    is due)."""
    specs = judge_specs(scorers)
    if not specs:
        return JudgeStageResult(sent=0)
    run = RunDir(run_dir)
    records = [r for r in run.records() if r.results]
    if not any(spec.pending(records, run.judge()) for spec in specs):
        return JudgeStageResult(sent=0)
    from harness.runner import run_event_loop

    return run_event_loop(arun_judge_stage(run_dir, scorers))


def _questions(run: RunDir, wanted: list[tuple[Record, int]]) -> dict[str, str]:
    """item id -> question: the data set's input when the run's data set can be read, else the
    prompt the record itself carries (its last user message), so a copied run directory suffices."""
    try:
        questions = load_questions(run.path)
    except ScoringError:
        if not all(record.messages for record, _ in wanted):
            raise
        questions = {}
    for record, _ in wanted:
        if record.item_id not in questions and record.messages:
            users = [m["content"] for m in record.messages if m.get("role") == "user"]
            if users:
                questions[record.item_id] = users[-1]
    return questions


def judge_trials(spec: JudgeSpec, wanted: list[tuple[Record, int]], run: RunDir) -> list[Trial]:
    """One judge trial per (record, result): the rubric rendered over question, reference and answer."""
    from harness.plan import trial_key

    questions = _questions(run, wanted) if spec.rubric.needs_question else {}
    trials: list[Trial] = []
    for record, index in wanted:
        if spec.rubric.needs_question and record.item_id not in questions:
            raise ScoringError(
                f"judge: the rubric uses {{{{ question }}}} but item {record.item_id!r} is not in the run's "
                "data set and its record carries no prompt (is the suite's data file still where the run "
                "found it?)"
            )
        prompt = spec.rubric.render(
            question=questions.get(record.item_id, ""),
            reference=record.reference,
            answer=spec.answer(record, index),
            choices=record.choices,
            item_id=record.item_id,
        )
        messages = (Message("user", prompt),)
        item = spec.judged_id(record, index)
        key = trial_key(
            target=spec.target.name,
            model=spec.target.model,
            cell=spec.cell_id,
            item_id=item,
            repeat=0,
            messages=messages,
            system_prompt=spec.rubric.system,
            settings=spec.settings,
            seed=None,
            number_results=1,
            inputs=None,
        )
        trials.append(
            Trial(
                key=key,
                cell_id=spec.cell_id,
                cell={"judge": spec.cell_id},
                item_id=item,
                repeat=0,
                target=spec.target.name,
                model=spec.target.model,
                messages=messages,
                system_prompt=spec.rubric.system,
                settings=dict(spec.settings),
            )
        )
    return trials


def _check_key(spec: JudgeSpec) -> None:
    var = spec.target.api_key_env
    if spec.target.provider != "simulator" and var and not os.environ.get(var):
        raise ScoringError(
            f"judge target {spec.target.name!r} needs its API key in the environment variable {var}"
        )


async def _send(spec: JudgeSpec, wanted: list[tuple[Record, int]], run: RunDir) -> None:
    from harness.orchestration.endpoints import live_targets
    from harness.runner import run_trials

    trials = judge_trials(spec, wanted, run)
    _check_key(spec)
    manifest = {
        "command": ["harness", "score", "judge"],
        "judge": {"cell_id": spec.cell_id, "of": str(run.path)},
    }
    async with AsyncExitStack() as stack:
        targets = await live_targets(stack, {spec.target.name: spec.target}, answer_key={})
        await run_trials(trials, targets, spec.run_options, run.judge().path, manifest=manifest)


def suite_judges(run_dir: Path) -> list[ScorerConfig]:
    """The `judge` scorers of the suite in a run's manifest (entries that do not validate are left to
    the report, which names the bad field)."""
    from pydantic import ValidationError

    run = RunDir(run_dir)
    if not run.has_manifest():
        return []
    entries = (run.manifest().suite or {}).get("scorers") or []
    out = []
    for entry in entries if isinstance(entries, list) else []:
        try:
            config = ScorerConfig.model_validate(entry)
        except ValidationError:
            continue
        if config.name == JUDGE_SCORER:
            out.append(config)
    return out
