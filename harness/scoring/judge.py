"""The `judge` scorer: an LLM grades each answer against a rubric. Its requests go through the engine
(`run_trials`) into RUN_DIR/judge/, so retries, resume and the budget apply and its tokens and cost stay
apart from the model under test's. Must not send a request from `__call__`: all calls happen in
`prepare`, and a judge call already in judge/records.jsonl is never sent again.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Mapping, Sequence
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any, Literal

import orjson

from harness.errors import ConfigError, ScoringError
from harness.records import Message, Record, Score, Trial
from harness.scoring.base import make_score, result_at, scored_text, verdict
from harness.scoring.judge_prompt import JudgeRubric, load_questions
from harness.scoring.registry import scorer

JUDGE_DIR = "judge"
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


class JudgeScorer:
    """Built by the `judge` factory; `prepare` sends the missing judge calls, `__call__` reads them."""

    def __init__(
        self,
        *,
        target: Any,
        rubric: JudgeRubric,
        scale: int | None,
        pass_threshold: float,
        run_options: Any,
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
        self.replies: dict[str, Record] = {}
        self.missing_reason = (
            "the judge step did not run (score through score_run or score_records with run_dir)"
        )

    @staticmethod
    def judged_id(record: Record, result_index: int) -> str:
        return f"{record.trial_key}/{result_index}"

    def _answer(self, record: Record, result_index: int) -> str:
        return scored_text(result_at(record, result_index), use_reasoning=self.use_reasoning).strip()

    async def prepare(self, records: Sequence[Record], run_dir: Path) -> None:
        """Send a judge call for every (record, result) not yet judged under this rubric, then load them all."""
        from harness.stats.run import read_run_records

        judge_dir = Path(run_dir) / JUDGE_DIR
        done = read_run_records(judge_dir)
        mine = {r.item_id: r for r in done if r.cell_id == self.cell_id}
        # A judge call whose latest record is an error is sent again (the engine's resume rule); only
        # a call that succeeded is never repeated.
        judged = {item for item, r in mine.items() if r.status == "ok"}
        wanted = [
            (record, i)
            for record in records
            for i in range(len(record.results))
            if self.judged_id(record, i) not in judged and self._answer(record, i)
        ]
        if wanted:
            await self._send(wanted, Path(run_dir), judge_dir)
            done = read_run_records(judge_dir)
            mine = {r.item_id: r for r in done if r.cell_id == self.cell_id}
        self.replies = mine

    @staticmethod
    def _questions(run_dir: Path, wanted: list[tuple[Record, int]]) -> dict[str, str]:
        """item id -> question: the data set's input when the run's data set can be read, else the
        prompt the record itself carries (its last user message), so a copied run directory suffices."""
        try:
            questions = load_questions(run_dir)
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

    async def _send(self, wanted: list[tuple[Record, int]], run_dir: Path, judge_dir: Path) -> None:
        from harness.errors import RunStoppedError
        from harness.plan import trial_key
        from harness.runner import run_trials

        questions = self._questions(run_dir, wanted) if self.rubric.needs_question else {}
        trials: list[Trial] = []
        for record, index in wanted:
            if self.rubric.needs_question and record.item_id not in questions:
                raise ScoringError(
                    f"judge: the rubric uses {{{{ question }}}} but item {record.item_id!r} is not in the run's "
                    "data set and its record carries no prompt (is the suite's data file still where the run "
                    "found it?)"
                )
            prompt = self.rubric.render(
                question=questions.get(record.item_id, ""),
                reference=record.reference,
                answer=self._answer(record, index),
                choices=record.choices,
                item_id=record.item_id,
            )
            messages = (Message("user", prompt),)
            item = self.judged_id(record, index)
            key = trial_key(
                target=self.target.name,
                model=self.target.model,
                cell=self.cell_id,
                item_id=item,
                repeat=0,
                messages=messages,
                system_prompt=self.rubric.system,
                settings=self.settings,
                seed=None,
                number_results=1,
                inputs=None,
            )
            trials.append(
                Trial(
                    key=key,
                    cell_id=self.cell_id,
                    cell={"judge": self.cell_id},
                    item_id=item,
                    repeat=0,
                    target=self.target.name,
                    model=self.target.model,
                    messages=messages,
                    system_prompt=self.rubric.system,
                    settings=dict(self.settings),
                )
            )
        self._check_key()
        manifest = {
            "command": ["harness", "score", "judge"],
            "judge": {"cell_id": self.cell_id, "of": str(run_dir)},
        }
        async with AsyncExitStack() as stack:
            target = await self._start_target(stack)
            try:
                await run_trials(
                    trials, {target.name: target}, self.run_options, judge_dir, manifest=manifest
                )
            except RunStoppedError as exc:
                self.missing_reason = f"judge calls stopped early: {exc}"

    def _check_key(self) -> None:
        var = self.target.api_key_env
        if self.target.provider != "simulator" and var and not os.environ.get(var):
            raise ScoringError(
                f"judge target {self.target.name!r} needs its API key in the environment variable {var}"
            )

    async def _start_target(self, stack: AsyncExitStack) -> Any:
        if self.target.provider != "simulator":
            return self.target
        from harness.simulator import SimulatorOptions, serve_simulator

        try:
            options = SimulatorOptions(**dict(self.target.simulator or {}))
        except TypeError as exc:
            raise ConfigError(f"judge target {self.target.name!r}: bad simulator options ({exc})") from exc
        sim = await stack.enter_async_context(serve_simulator(options))
        return self.target.model_copy(update={"endpoint": sim.runware_url})

    def __call__(self, record: Record, result_index: int) -> Score:
        if not self._answer(record, result_index):
            return verdict(record, result_index, "judge", extracted=None, correct=False, how="empty answer")
        reply = self.replies.get(self.judged_id(record, result_index))
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
        text = scored_text(reply.results[0])
        value = parse_verdict(text, self.scale)
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
            ("CORRECT" if value == 1.0 else "INCORRECT") if self.scale is None else f"{value * self.scale:g}"
        )
        passed = value >= 1.0 if self.scale is None else value * self.scale >= self.pass_threshold
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
    """
    from harness.config import RunConfig
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
    return JudgeScorer(
        target=judge_target,
        rubric=JudgeRubric.build(rubric, system=system_prompt, scale=points),
        scale=points,
        pass_threshold=threshold,
        run_options=run,
        settings=merged,
        use_reasoning=use_reasoning,
    )


def _check_settings(target: Any, settings: Mapping[str, Any]) -> None:
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
    from harness.stats.run import read_run_records

    records = read_run_records(Path(run_dir) / JUDGE_DIR)
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
