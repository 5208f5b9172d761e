"""The `judge` scorer: an LLM grades each answer against a rubric. The scorer is a pure reader of
RUN_DIR/judge/ (the judge's own run directory); the calls themselves are sent by the orchestration's
judge stage (harness.orchestration.judge) through the engine, so retries, resume and the budget apply and its
tokens and cost stay apart from the model under test's. Nothing here imports the runner, the plan or
the simulator, or sends a request.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import orjson

from harness.config import RunConfig, TargetConfig
from harness.errors import ConfigError, ScoringError
from harness.records import Record, Score
from harness.rundir import RunDir
from harness.scoring.base import NO_CONTEXT, ScoringContext, make_score, result_at, scored_text, verdict
from harness.scoring.judge_prompt import JudgeRubric
from harness.scoring.registry import scorer

Delivery = Literal["sync", "stream", "async"]

_BINARY = re.compile(r"\b(?:verdict|grade)[\s*_]*[:=][\s*_`\"']*(correct|incorrect|c|i|pass|fail)\b", re.I)
_SCORE = re.compile(r"\b(?:score|grade|rating)[\s*_]*[:=][\s*_`\"']*(\d+(?:\.\d+)?)(?:\s*/\s*(\d+))?", re.I)


def parse_verdict(reply: str, scale: int | None) -> float | None:
    """The grade in a judge reply as a value in [0, 1] (the last `VERDICT:`/`SCORE:` line wins), or None
    when the reply holds no usable grade."""
    if scale is None:
        found = list(_BINARY.finditer(reply))
        if not found:
            return None
        return 1.0 if found[-1].group(1).lower() in ("correct", "c", "pass") else 0.0
    matches = list(_SCORE.finditer(reply))
    if not matches:
        return None
    last = matches[-1]
    if last.group(2) is not None and int(last.group(2)) != scale:
        return None
    points = float(last.group(1))
    return points / scale if 0 <= points <= scale else None


class JudgeSpec:
    """A judge scorer's options, resolved: which target grades, with what rubric and settings, and the
    id (`cell_id`) its calls carry in RUN_DIR/judge/records.jsonl. Shared by the scorer, which reads
    the calls, and the orchestration's judge stage (harness.orchestration.judge), which sends the missing ones."""

    def __init__(
        self,
        *,
        target: TargetConfig,
        rubric: JudgeRubric,
        scale: int | None,
        pass_threshold: float,
        run_options: RunConfig,
        settings: dict[str, Any],
        use_reasoning: bool,
    ) -> None:
        self.target = target
        self.rubric = rubric
        self.scale = scale
        self.pass_threshold = pass_threshold
        self.run_options = run_options
        self.settings = settings
        self.use_reasoning = use_reasoning
        spec = {
            "target": target.name,
            "model": target.model,
            "rubric": rubric.source,
            "system": rubric.system,
            "scale": scale,
            "settings": settings,
        }
        digest = hashlib.sha256(orjson.dumps(spec, option=orjson.OPT_SORT_KEYS)).hexdigest()[:12]
        self.cell_id = f"judge-{digest}"

    @staticmethod
    def judged_id(record: Record, result_index: int) -> str:
        return f"{record.trial_key}/{result_index}"

    def answer(self, record: Record, result_index: int) -> str:
        return scored_text(result_at(record, result_index), use_reasoning=self.use_reasoning).strip()

    def replies(self, judge_dir: RunDir) -> dict[str, Record]:
        """judged id -> the latest judge call of this spec in `judge_dir` (ok or failed)."""
        return {r.item_id: r for r in judge_dir.records() if r.cell_id == self.cell_id}

    def pending(self, records: Sequence[Record], judge_dir: RunDir) -> list[tuple[Record, int]]:
        """(record, result index) of every non-empty answer without a successful judge call yet; a call
        whose latest record is an error is due again (the engine's resume rule)."""
        judged = {item for item, r in self.replies(judge_dir).items() if r.status == "ok"}
        return [
            (record, i)
            for record in records
            if record.status == "ok"
            for i in range(len(record.results))
            if self.judged_id(record, i) not in judged and self.answer(record, i)
        ]


class JudgeScorer:
    """Built by the `judge` factory: reads each answer's judge call from RUN_DIR/judge/ and grades it.
    It sends nothing; a call not made yet (the judge stage did not run) scores `invalid`, saying why."""

    def __init__(self, spec: JudgeSpec, context: ScoringContext) -> None:
        self.spec = spec
        judge_dir = context.run_dir.judge() if context.run_dir is not None else None
        # None: scored without a run directory, so there is nowhere to read the calls from.
        self.replies = spec.replies(judge_dir) if judge_dir is not None else None
        stopped = (
            judge_dir.manifest().stop_reason if judge_dir is not None and judge_dir.has_manifest() else None
        )
        self.missing_reason = (
            f"judge calls stopped early: {stopped}"
            if stopped
            else "no judge call for this answer (the judge stage did not run: `harness report RUN_DIR` "
            "or `harness run` send them)"
        )

    @property
    def cell_id(self) -> str:
        return self.spec.cell_id

    def _answer(self, record: Record, result_index: int) -> str:
        return self.spec.answer(record, result_index)

    def __call__(self, record: Record, result_index: int) -> Score:
        if not self._answer(record, result_index):
            return verdict(record, result_index, "judge", extracted=None, correct=False, how="empty answer")
        if self.replies is None:
            raise ScoringError(
                "the judge scorer reads its calls from the run directory (RUN_DIR/judge/); score with "
                "run_dir (score_run, or score_records(..., run_dir=...))"
            )
        reply = self.replies.get(self.spec.judged_id(record, result_index))
        if reply is None:
            return make_score(
                record, result_index, "judge", value=None, outcome="invalid", explanation=self.missing_reason
            )
        if reply.status != "ok" or not reply.results:
            why = f"{reply.error.kind}: {reply.error.message}" if reply.error else "no result"
            return make_score(
                record,
                result_index,
                "judge",
                value=None,
                outcome="invalid",
                explanation=f"judge call failed: {why}",
            )
        spec = self.spec
        text = scored_text(reply.results[0])
        value = parse_verdict(text, self.spec.scale)
        excerpt = " ".join(text.split())[-300:]
        if value is None:
            return make_score(
                record,
                result_index,
                "judge",
                value=None,
                outcome="invalid",
                explanation=f"judge reply has no verdict: {excerpt!r}",
            )
        grade = (
            ("CORRECT" if value == 1.0 else "INCORRECT") if spec.scale is None else f"{value * spec.scale:g}"
        )
        passed = value >= 1.0 if spec.scale is None else value * spec.scale >= spec.pass_threshold
        return verdict(
            record,
            result_index,
            "judge",
            extracted=grade,
            correct=passed,
            value=value,
            how=f"judge: {excerpt}",
        )


@scorer("judge")
def judge(
    *,
    target: str,
    rubric: str | None = None,
    system_prompt: str | None = None,
    scale: Literal["binary"] | int = "binary",
    pass_threshold: float | None = None,
    delivery: Delivery | None = None,
    settings: dict[str, Any] | None = None,
    concurrency: int = 8,
    max_cost_usd: float | None = None,
    use_reasoning: bool = False,
    context: ScoringContext = NO_CONTEXT,
) -> JudgeScorer:
    """LLM-as-judge.

    Args:
        target: a target name under configs/targets/ or a target file.
        rubric: a jinja2 template (inline, or a path to a .j2/.jinja/.txt/.md file) over question,
            reference, answer, choices, item_id; the reply format instructions are appended unless the
            template places `{{ format_instructions }}` itself.
        scale: "binary" (VERDICT: CORRECT / INCORRECT) or N, a 0..N score (SCORE: k); value = k / N.
        pass_threshold: on a 0..N scale, the score counted as correct (default N / 2).
        settings: API settings of the judge calls (default temperature 0).
        context: the run directory being scored (given by harness.scoring; not a suite option).
    """
    return JudgeScorer(
        judge_spec(
            target=target,
            rubric=rubric,
            system_prompt=system_prompt,
            scale=scale,
            pass_threshold=pass_threshold,
            delivery=delivery,
            settings=settings,
            concurrency=concurrency,
            max_cost_usd=max_cost_usd,
            use_reasoning=use_reasoning,
        ),
        context,
    )


def judge_spec(
    *,
    target: str,
    rubric: str | None = None,
    system_prompt: str | None = None,
    scale: Literal["binary"] | int = "binary",
    pass_threshold: float | None = None,
    delivery: Delivery | None = None,
    settings: dict[str, Any] | None = None,
    concurrency: int = 8,
    max_cost_usd: float | None = None,
    use_reasoning: bool = False,
) -> JudgeSpec:
    """The judge's options (those of the `judge` factory) checked and resolved; ConfigError names the option."""
    from harness.loading import load_target

    try:
        judge_target = load_target(target)
    except ConfigError as exc:
        raise ConfigError(exc.message, file=exc.file, field="options.target", allowed=exc.allowed) from exc
    points = None if scale == "binary" else scale
    if points is not None and points < 1:
        raise ConfigError(f"scale must be 'binary' or an integer >= 1, got {scale!r}", field="options.scale")
    if points is None and pass_threshold is not None:
        raise ConfigError("pass_threshold applies to a numeric scale only", field="options.pass_threshold")
    threshold = points / 2 if points is not None and pass_threshold is None else (pass_threshold or 0.0)
    if points is not None and not 0 <= threshold <= points:
        raise ConfigError(f"pass_threshold must be within 0..{points}", field="options.pass_threshold")
    if concurrency < 1:
        raise ConfigError("concurrency must be >= 1", field="options.concurrency")
    if max_cost_usd is not None and max_cost_usd <= 0:
        raise ConfigError("max_cost_usd must be > 0", field="options.max_cost_usd")
    merged = {"temperature": 0.0, **(settings or {})}
    _check_settings(judge_target, merged)
    run = RunConfig(concurrency=concurrency, max_cost_usd=max_cost_usd, delivery=delivery)
    return JudgeSpec(
        target=judge_target,
        rubric=JudgeRubric.build(rubric, system=system_prompt, scale=points),
        scale=points,
        pass_threshold=threshold,
        run_options=run,
        settings=merged,
        use_reasoning=use_reasoning,
    )


def _check_settings(target: TargetConfig, settings: Mapping[str, Any]) -> None:
    from harness.capability import find_card, load_card

    card = load_card(target.capability) if target.capability else find_card(target.model)
    if card is None:
        return
    from harness.capability import validate_settings

    problems = validate_settings(card, settings)
    if problems:
        first = problems[0]
        raise ConfigError(
            f"judge setting {first.parameter!r}: {first.message}",
            field=f"options.settings.{first.parameter}",
            allowed=first.allowed_values or None,
        )


def judge_usage(run_dir: Path) -> dict[str, Any]:
    """Tokens and cost of a run's judge calls (RUN_DIR/judge/), kept apart from the model under test's."""
    records = RunDir(run_dir).judge().records()
    usage = [r.usage for r in records if r.usage is not None]
    return {
        "calls": len(records),
        "ok": sum(r.status == "ok" for r in records),
        "errors": sum(r.status != "ok" for r in records),
        "prompt_tokens": sum(u.prompt_tokens for u in usage),
        "completion_tokens": sum(u.completion_tokens for u in usage),
        "thinking_tokens": sum(u.thinking_tokens for u in usage),
        "cost_usd": sum(r.effective_cost_usd for r in records),
    }
