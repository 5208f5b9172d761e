"""The simulated model: deterministic answers given (prompt, settings, seed, result index).

Result i of a task with seed s uses seed s + i (mod 2^32). Every random choice comes from blake2b of the
canonical request (model, system prompt, messages, media, sampling settings; not maxTokens or stop
sequences, which only cut the output) and that seed, so the same seed gives the same text whatever the
delivery method. It grades an answer when asked with the judge's default rubric (grading.py), else
answers from the answer key (question text -> gold) when the prompt contains a key, else solves
arithmetic it can parse, else writes free text. Right or wrong is a Bernoulli draw from the
skill curve. How the sampling settings narrow the choices (how many distinct texts a prompt has across
seeds), reshape the wording (penalties) and which system-prompt instruction it obeys: sampling.py.
Settings named in `ignored` are accepted but generated as if absent (the card's default, or none), so a
client can be tested against a service that silently drops a field. Prompt tokens = sum over messages of (content tokens + 5 chat-template tokens), + 5 + system
prompt tokens when there is one, + 3 for the assistant turn, + the card's per-image / per-video tokens.
Owns no HTTP.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Any

import orjson

from harness.capability import ModelCard
from harness.config import PriceConfig
from harness.pricing import cost_usd
from harness.simulator.answer_key import AnswerKey
from harness.simulator.arithmetic import find_arithmetic, format_number
from harness.simulator.grading import Grading, find_grading, verdict_reply
from harness.simulator.sampling import distinct_modes, drop_repeated_words, penalty_strength, reply_prefix
from harness.simulator.skill import SkillCurve
from harness.simulator.writing import (
    chain_of_thought,
    free_text,
    parse_options,
    reasoning_text,
    write_answer,
)
from harness.tokens import count_tokens, count_tokens_by_line, split_tokens

_NOT_SAMPLING = ("maxTokens", "stopSequences")
_FLIPS = {"yes": "no", "no": "yes", "true": "false", "false": "true"}
_MESSAGE_OVERHEAD = 5  # <|im_start|> role \n ... <|im_end|> \n
_ASSISTANT_PROMPT = 3  # <|im_start|> assistant \n


@dataclass(slots=True)
class Problem:
    kind: str  # number | letter | text | verdict | none
    gold: str = ""
    options: dict[str, str] = field(default_factory=dict)
    expression: str | None = None
    topic: str = ""
    grading: Grading | None = None
    difficulty: float = 0.5  # a uniform fixed by the item's text (the skill curve's item_correlation)


@dataclass(slots=True)
class Prompt:
    """A request as the model sees it; settings use API names with the card's defaults filled in."""

    model: str
    messages: list[dict[str, str]]
    system_prompt: str | None
    settings: dict[str, Any]
    images: int = 0
    videos: int = 0
    key: bytes = b""
    problem: Problem | None = None
    prompt_tokens: int = -1
    modes: int | None = None  # distinct continuations across seeds (None: unlimited)
    prefix: str = ""  # what the system prompt asks the reply to begin with
    penalty: float = 0.0  # penalty strength, 0..1
    ignored_system: str | None = None  # a system prompt the simulator was told to ignore


@dataclass(slots=True)
class Generation:
    text: str
    reasoning: str
    finish_reason: str
    seed: int
    prompt_tokens: int
    completion_tokens: int
    thinking_tokens: int
    cost_usd: float
    correct: bool | None
    u_ttft: float
    u_tps: float


def _uniforms(key: bytes, seed: int) -> list[float]:
    digest = hashlib.blake2b(key + seed.to_bytes(8, "little"), digest_size=63).digest()
    return [int.from_bytes(digest[i : i + 7], "little") / 2**56 for i in range(0, 63, 7)]


def _wrong_number(gold: str, u: float) -> str:
    try:
        value = float(gold.replace(",", "").lstrip("$"))
    except ValueError:
        return gold + "1"
    candidates = [
        value + 1,
        value - 1,
        value * 2,
        value + 10,
        value - 10,
        value / 2 if value else 3.0,
        value * 10,
    ]
    candidates = [c for c in candidates if abs(c - value) > 1e-9]
    return format_number(candidates[int(u * len(candidates)) % len(candidates)])


def _is_number(text: str) -> bool:
    try:
        float(text.replace(",", "").lstrip("$"))
    except ValueError:
        return False
    return True


class SimulatedModel:
    def __init__(
        self,
        skill: SkillCurve,
        answer_key: AnswerKey,
        prices_for: Callable[[str], PriceConfig],
        *,
        ignored: Collection[str] = (),
    ) -> None:
        self.skill = skill
        self.ignored = frozenset(ignored)
        self.answer_key = answer_key
        self._prices_for = prices_for
        self._defaults: dict[str, dict[str, Any]] = {}
        self._prices: dict[str, PriceConfig] = {}
        self._accuracy: dict[tuple[Any, ...], float] = {}
        self._problems: dict[tuple[str, ...], Problem] = {}

    def clear_caches(self) -> None:
        """Forget solved problems (after the answer key changes)."""
        self._problems.clear()

    def prepare(self, prompt: Prompt, card: ModelCard) -> Prompt:
        """Fill the canonical key, problem and prompt-token count (shared by all results of a task)."""
        if self.ignored:
            self._drop_ignored(prompt, card)
        prompt.modes = distinct_modes(prompt.settings)
        prompt.prefix = reply_prefix(prompt.system_prompt)
        prompt.penalty = penalty_strength(prompt.settings)
        sampling = {k: v for k, v in prompt.settings.items() if k not in _NOT_SAMPLING}
        prompt.key = orjson.dumps(
            [prompt.model, prompt.system_prompt, prompt.messages, prompt.images, prompt.videos, sampling],
            option=orjson.OPT_SORT_KEYS,
        )
        prompt.problem = self._problem(prompt)
        tokens = _ASSISTANT_PROMPT + sum(
            count_tokens(m["content"]) + _MESSAGE_OVERHEAD for m in prompt.messages
        )
        system = prompt.system_prompt or prompt.ignored_system
        if system:
            tokens += count_tokens(system) + _MESSAGE_OVERHEAD
        if prompt.images and "images" in card.inputs:
            tokens += card.inputs["images"].tokens(prompt.images)
        if prompt.videos and "videos" in card.inputs:
            tokens += card.inputs["videos"].tokens(prompt.videos)
        prompt.prompt_tokens = tokens
        return prompt

    def _drop_ignored(self, prompt: Prompt, card: ModelCard) -> None:
        """Generate as if the ignored settings had not been sent: the card's default, else absent.
        The prompt-token count still includes an ignored system prompt: the service received it."""
        for name in self.ignored:
            if name == "systemPrompt":
                prompt.ignored_system = prompt.system_prompt
                prompt.system_prompt = None
                continue
            spec = card.settings.get(name)
            if spec is not None and spec.default is not None:
                prompt.settings[name] = spec.default
            else:
                prompt.settings.pop(name, None)

    def _problem(self, prompt: Prompt) -> Problem:
        users = tuple(m["content"] for m in prompt.messages if m["role"] == "user")
        cached = self._problems.get(users)
        if cached is None:
            if len(self._problems) >= 8192:
                self._problems.clear()
            cached = self._problems[users] = self._solve(users)
            cached.difficulty = _uniforms(orjson.dumps(users), 0)[0]
        return cached

    def _solve(self, users: tuple[str, ...]) -> Problem:
        last = users[-1] if users else ""
        topic = " ".join(last.split())[:80]
        grading = find_grading(last)
        if grading is not None:
            return Problem(
                "verdict", "CORRECT" if grading.agrees else "INCORRECT", topic=topic, grading=grading
            )
        found = self.answer_key.find("\n".join(users))
        if found is not None:
            gold = found[1]
            if len(gold) == 1 and "A" <= gold <= "J":
                return Problem("letter", gold, parse_options(last), topic=topic)
            return Problem("number" if _is_number(gold) else "text", gold, topic=topic)
        arithmetic = find_arithmetic(last)
        if arithmetic is not None:
            return Problem("number", format_number(arithmetic[1]), expression=arithmetic[0], topic=topic)
        options = parse_options(last)
        if options:
            return Problem("letter", "", options, topic=topic)
        return Problem("none", topic=topic)

    def accuracy(self, prompt: Prompt, card: ModelCard) -> float:
        key = (card.name, *sorted((k, v) for k, v in prompt.settings.items() if k not in _NOT_SAMPLING))
        p = self._accuracy.get(key)
        if p is None:
            defaults = self._defaults.get(card.name)
            if defaults is None:
                defaults = self._defaults[card.name] = card.defaults()
            if len(self._accuracy) >= 4096:
                self._accuracy.clear()
            p = self._accuracy[key] = self.skill.accuracy(prompt.settings, defaults)
        return p

    def prices(self, model: str) -> PriceConfig:
        found = self._prices.get(model)
        if found is None:
            found = self._prices[model] = self._prices_for(model)
        return found

    def generate(self, prompt: Prompt, card: ModelCard, seed: int, index: int = 0) -> Generation:
        """Result `index` of the prompt (prepare() it first)."""
        problem = prompt.problem
        assert problem is not None, "prepare() the prompt first"
        result_seed = (seed + index) % 2**32
        draw = result_seed
        if prompt.modes is not None:  # few continuations: the seed picks one of them
            draw = min(prompt.modes - 1, int(_uniforms(prompt.key, result_seed)[0] * prompt.modes))
        u = _uniforms(prompt.key, draw)
        correct: bool | None = None
        if problem.kind == "none":
            answer, text = "", free_text(u[1])
        elif problem.grading is not None:
            correct = self.skill.draw(u[0], problem.difficulty) < self.accuracy(prompt, card)
            says_correct = problem.grading.agrees == correct
            answer = "CORRECT" if says_correct else "INCORRECT"
            text = verdict_reply(problem.grading, says_correct, u[2])
        else:
            if problem.gold:
                correct = self.skill.draw(u[0], problem.difficulty) < self.accuracy(prompt, card)
                answer = problem.gold if correct else self._wrong(problem, u[2])
            else:  # options but no key: a guess
                letters = sorted(problem.options)
                answer = letters[int(u[2] * len(letters)) % len(letters)]
            worked = f"{problem.expression} = {answer}." if problem.expression else None
            cot = chain_of_thought(u[3], u[4], worked=worked)
            text = write_answer(problem.kind, answer, u[1], cot, problem.options.get(answer, ""))
        thinking = prompt.settings.get("thinkingLevel", "high") != "low"
        reasoning = ""
        if thinking:
            conclusion = f"So the answer is {answer}." if answer else "I will answer briefly."
            reasoning = reasoning_text(u[5], u[6], topic=problem.topic, conclusion=conclusion)
            reasoning = drop_repeated_words(reasoning, prompt.penalty)
        if prompt.prefix:
            text = f"{prompt.prefix} {text}"
        return self._finish(prompt, text, reasoning, result_seed, correct, u[7], u[8])

    def _wrong(self, problem: Problem, u: float) -> str:
        if problem.kind == "letter":
            letters = sorted(problem.options) or ["A", "B", "C", "D"]
            if problem.gold not in letters:
                letters = [chr(c) for c in range(ord("A"), max(ord(problem.gold), ord("D")) + 1)]
            others = [x for x in letters if x != problem.gold]
            return others[int(u * len(others)) % len(others)]
        if problem.kind == "number":
            return _wrong_number(problem.gold, u)
        if problem.gold.lower() in _FLIPS:
            return _FLIPS[problem.gold.lower()]
        others = sorted({g for g in self.answer_key.golds if g != problem.gold})
        return others[int(u * len(others)) % len(others)] if others else "unknown"

    def _finish(
        self,
        prompt: Prompt,
        text: str,
        reasoning: str,
        seed: int,
        correct: bool | None,
        u_ttft: float,
        u_tps: float,
    ) -> Generation:
        finish = "stop"
        stops = prompt.settings.get("stopSequences") or ()
        cuts = [i for i in (text.find(s) for s in stops) if i >= 0]
        if cuts:
            text = text[: min(cuts)]
        thinking_tokens = count_tokens_by_line(reasoning) if reasoning else 0
        text_tokens = count_tokens_by_line(text) if text else 0
        budget = prompt.settings.get("maxTokens")
        if budget is not None and thinking_tokens + text_tokens > budget:
            finish = "length"
            if thinking_tokens >= budget:
                pieces = split_tokens(reasoning)[:budget]
                reasoning, thinking_tokens = "".join(pieces), len(pieces)
                text, text_tokens = "", 0
            else:
                pieces = split_tokens(text)[: budget - thinking_tokens]
                text, text_tokens = "".join(pieces), len(pieces)
        completion = text_tokens + thinking_tokens
        cost = round(
            cost_usd(
                self.prices(prompt.model),
                prompt_tokens=prompt.prompt_tokens,
                completion_tokens=completion,
                thinking_tokens=thinking_tokens,
            ),
            12,
        )
        return Generation(
            text=text,
            reasoning=reasoning,
            finish_reason=finish,
            seed=seed,
            prompt_tokens=prompt.prompt_tokens,
            completion_tokens=completion,
            thinking_tokens=thinking_tokens,
            cost_usd=cost,
            correct=correct,
            u_ttft=u_ttft,
            u_tps=u_tps,
        )
