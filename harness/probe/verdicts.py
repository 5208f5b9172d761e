"""Pure verdicts of the probe's experiments over what each arm got back: `applied`, `ignored`,
`rejected` or `inconclusive`, each with the statistic behind it. No I/O.

Comparisons of two arms use exact one-sided tests at ALPHA: a permutation test (mean pairwise word
distance within each arm, so near-duplicates count as one continuation; distinct-word ratio;
reasoning tokens) or Fisher's exact test (how many replies begin with / contain a
string). Before reading the data, each test is checked for detectability: the p-value of the most
extreme outcome possible at the probe's sample size; when even that is not below ALPHA, the change is
undetectable at this size and the verdict is `inconclusive`. A detectable change that is not seen is
`ignored`; so is a changed arm that returns, seed for seed, the reference arm's very texts.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from harness.probe.experiments import (
    CAPPED_MAX_TOKENS,
    NUMBER_RESULTS,
    REPLY_PREFIX,
    STOP_SEQUENCE,
    Experiment,
)
from harness.probe.statistics import (
    distance_matrix,
    distinct,
    fisher_greater,
    implied_prices,
    mean_pairs,
    min_permutation_p,
    permutation_p,
    spread_p,
    word_entropy_bits,
    word_ratio,
)

VerdictName = Literal["applied", "ignored", "rejected", "inconclusive"]
VERDICTS: tuple[VerdictName, ...] = ("applied", "ignored", "rejected", "inconclusive")
ALPHA = 0.05


@dataclass(frozen=True, slots=True)
class Output:
    text: str
    reasoning: str
    finish_reason: str | None


@dataclass(frozen=True, slots=True)
class TaskData:
    """One task (one record) as the verdicts need it."""

    seed: int | None
    outputs: tuple[Output, ...] = ()
    ok: bool = True
    error: str | None = None  # "code: message" of a failed task
    rejected: bool = False  # the service refused the request as invalid (a permanent 4xx)
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    thinking_tokens: int | None = None
    cost_usd: float | None = None
    price_table_cost_usd: float | None = None
    latency_s: float | None = None
    delivery: str = ""


@dataclass(frozen=True, slots=True)
class Verdict:
    experiment: str
    setting: str
    test: str
    evidence: str
    verdict: VerdictName
    statistic: str
    p_value: float | None = None
    sent_as: str = ""


@dataclass(frozen=True, slots=True)
class Context:
    """What the accounting verdicts need to know about the target."""

    include_cost: bool = True
    cost_supported: bool = True
    placeholder_prices: bool = False


# ---- helpers -------------------------------------------------------------------------------------


def _failures(tasks: Sequence[TaskData]) -> tuple[list[TaskData], list[TaskData]]:
    return [t for t in tasks if t.rejected], [t for t in tasks if not t.ok and not t.rejected]


def _by_seed(tasks: Sequence[TaskData]) -> dict[int | None, Output]:
    return {t.seed: t.outputs[0] for t in tasks if t.ok and t.outputs}


def _words(output: Output) -> str:
    return f"{output.reasoning} {output.text}"


def _whole(output: Output) -> tuple[str, str]:
    return output.reasoning, output.text


def _fmt_p(p: float) -> str:
    return f"p={p:.3g}" if p >= 0.001 else "p<0.001"


def _verdict(
    exp: Experiment, verdict: VerdictName, evidence: str, statistic: str, p: float | None = None
) -> Verdict:
    return Verdict(exp.id, exp.setting, exp.test, evidence, verdict, statistic, p)


def _failed(exp: Experiment, arms: Sequence[Sequence[TaskData]]) -> Verdict | None:
    """`rejected` when the service refused a changed-arm request; `inconclusive` on other failures."""
    changed = arms[0]
    rejected, other = _failures(changed)
    if rejected:
        return _verdict(
            exp, "rejected", f"{len(rejected)}/{len(changed)} requests refused: {rejected[0].error}", ""
        )
    failed = other + [t for arm in arms[1:] for t in arm if not t.ok]
    if failed:
        return _verdict(exp, "inconclusive", f"{len(failed)} requests failed: {failed[0].error}", "")
    return None


def _identical_pairs(changed: Sequence[TaskData], reference: Sequence[TaskData]) -> tuple[int, int]:
    a, b = _by_seed(changed), _by_seed(reference)
    shared = [s for s in a if s in b]
    return sum(_whole(a[s]) == _whole(b[s]) for s in shared), len(shared)


# ---- verdicts ------------------------------------------------------------------------------------


def judge_determinism(exp: Experiment, arms: Sequence[Sequence[TaskData]]) -> Verdict:
    failed = [t for arm in arms for t in arm if not t.ok]
    if failed:
        return _verdict(exp, "inconclusive", f"{len(failed)} requests failed: {failed[0].error}", "")
    groups: dict[int | None, list[tuple[str, str]]] = {}
    channels: set[str] = set()
    for arm in arms:
        for task in arm:
            groups.setdefault(task.seed, []).extend(_whole(o) for o in task.outputs)
            channels.add(task.delivery)
    repeated = {s: g for s, g in groups.items() if len(g) > 1}
    same = sum(len(set(g)) == 1 for g in repeated.values())
    reference = [_whole(o) for t in arms[0] for o in t.outputs]
    spread = distinct(reference)
    statistic = (
        f"{same}/{len(repeated)} same-seed groups identical; {spread}/{len(reference)} distinct across seeds"
    )
    evidence = f"deliveries {', '.join(sorted(channels))}"
    if same < len(repeated):
        return _verdict(exp, "ignored", f"{evidence}: the same seed gave different texts", statistic)
    if len(reference) > 1 and spread == 1:
        return _verdict(exp, "ignored", f"{evidence}: different seeds gave the same text", statistic)
    if not repeated or len(reference) < 2:
        return _verdict(exp, "inconclusive", "too few results to compare", statistic)
    return _verdict(exp, "applied", f"{evidence}: reproducible and seed-dependent", statistic)


def judge_comparison(exp: Experiment, arms: Sequence[Sequence[TaskData]]) -> Verdict:
    """diversity (distinct outputs), wording (distinct-word ratio) and thinking (reasoning tokens)."""
    failure = _failed(exp, arms)
    if failure is not None:
        return failure
    changed, reference = arms[0], arms[1]
    same, pairs = _identical_pairs(changed, reference)
    a = [t.outputs[0] for t in changed if t.outputs]
    b = [t.outputs[0] for t in reference if t.outputs]
    sign = 1.0 if exp.expect == "more" else -1.0
    if exp.kind == "diversity":
        matrix = distance_matrix([_words(o) for o in (*a, *b)])
        p = spread_p(matrix, len(a), sign)
        extreme = [
            [0.0 if (i < len(a) and j < len(a)) or i == j else 1.0 for j in range(len(matrix))]
            for i in range(len(matrix))
        ]
        detectable = spread_p(extreme, len(a), -1.0)
        shown = (
            f"{distinct([_whole(o) for o in a])}/{len(a)} vs {distinct([_whole(o) for o in b])}/{len(b)} "
            f"distinct; pairwise word distance {mean_pairs(matrix, range(len(a))):.3f} vs "
            f"{mean_pairs(matrix, range(len(a), len(matrix))):.3f}; "
            f"word entropy {word_entropy_bits([_words(o) for o in a]):.2f} vs {word_entropy_bits([_words(o) for o in b]):.2f} bits"
        )
    else:
        if exp.kind == "wording":
            nums_a, nums_b = [word_ratio(_words(o)) for o in a], [word_ratio(_words(o)) for o in b]
            unit, digits = "distinct-word ratio", 3
        else:
            nums_a = [float(t.thinking_tokens or 0) for t in changed]
            nums_b = [float(t.thinking_tokens or 0) for t in reference]
            unit, digits = "reasoning tokens", 0

        def mean_stat(x: Sequence[float], y: Sequence[float]) -> float:
            return sign * (statistics.fmean(x) - statistics.fmean(y))

        detectable = min_permutation_p(len(nums_a), len(nums_b))
        p = permutation_p(nums_a, nums_b, mean_stat) if nums_a and nums_b else 1.0
        shown = f"mean {unit} {statistics.fmean(nums_a or [0]):.{digits}f} vs {statistics.fmean(nums_b or [0]):.{digits}f}"
        if exp.kind == "thinking":
            lat_a = [t.latency_s for t in changed if t.latency_s is not None]
            lat_b = [t.latency_s for t in reference if t.latency_s is not None]
            if lat_a and lat_b:
                shown += (
                    f"; median latency {statistics.median(lat_a):.3f} vs {statistics.median(lat_b):.3f} s"
                )
    statistic = f"{_fmt_p(p)} (one-sided exact test, n={len(a)}+{len(b)})"
    if pairs and same == pairs:
        return _verdict(
            exp, "ignored", f"{shown}; all {pairs} same-seed pairs identical to the reference", statistic, p
        )
    if detectable >= ALPHA:
        return _verdict(
            exp,
            "inconclusive",
            f"{shown}; undetectable at this sample size (best possible {_fmt_p(detectable)})",
            statistic,
            p,
        )
    if p < ALPHA:
        return _verdict(exp, "applied", shown, statistic, p)
    return _verdict(exp, "ignored", f"{shown}; no change detected", statistic, p)


def judge_max_tokens(exp: Experiment, arms: Sequence[Sequence[TaskData]]) -> Verdict:
    failure = _failed(exp, arms)
    if failure is not None:
        return failure
    capped, reference = arms[0], arms[1]
    used = [t.completion_tokens or 0 for t in capped]
    lengths = sum(o.finish_reason == "length" for t in capped for o in t.outputs)
    longest_ref = max((t.completion_tokens or 0 for t in reference), default=0)
    statistic = f"max completion tokens {max(used, default=0)} (cap {CAPPED_MAX_TOKENS}); finishReason length {lengths}/{len(capped)}"
    evidence = f"reference tasks use up to {longest_ref} completion tokens"
    if any(u > CAPPED_MAX_TOKENS for u in used):
        return _verdict(exp, "ignored", f"{evidence}; usage went past the cap", statistic)
    if longest_ref <= CAPPED_MAX_TOKENS:
        return _verdict(exp, "inconclusive", f"{evidence}: the cap never binds", statistic)
    if lengths < len(capped):
        return _verdict(
            exp, "ignored", f"{evidence}; truncated replies not marked finishReason length", statistic
        )
    return _verdict(exp, "applied", f"{evidence}; every capped reply truncated", statistic)


def judge_stop(exp: Experiment, arms: Sequence[Sequence[TaskData]]) -> Verdict:
    failure = _failed(exp, arms)
    if failure is not None:
        return failure
    stopped, reference = arms[0], arms[1]
    hits_s = sum(STOP_SEQUENCE in t.outputs[0].text for t in stopped if t.outputs)
    hits_r = sum(STOP_SEQUENCE in t.outputs[0].text for t in reference if t.outputs)
    p = fisher_greater(hits_r, len(reference), hits_s, len(stopped))
    statistic = f"{_fmt_p(p)} (Fisher exact, one-sided)"
    evidence = (
        f'"{STOP_SEQUENCE}" in {hits_s}/{len(stopped)} stopped vs {hits_r}/{len(reference)} reference texts'
    )
    if hits_s:
        return _verdict(exp, "ignored", evidence + "; the text ran past the stop sequence", statistic, p)
    if p >= ALPHA:
        return _verdict(exp, "inconclusive", evidence + "; the reference seldom writes it", statistic, p)
    return _verdict(exp, "applied", evidence, statistic, p)


def judge_number_results(exp: Experiment, arms: Sequence[Sequence[TaskData]]) -> Verdict:
    failure = _failed(exp, arms)
    if failure is not None:
        return failure
    tasks = arms[0]
    counts = [len(t.outputs) for t in tasks]
    spreads = [distinct([_whole(o) for o in t.outputs]) for t in tasks]
    statistic = f"results per task {counts}; distinct {spreads}"
    if all(c == NUMBER_RESULTS for c in counts) and all(s > 1 for s in spreads):
        return _verdict(exp, "applied", f"{NUMBER_RESULTS} results per task, distinct", statistic)
    if all(c == 1 for c in counts):
        return _verdict(exp, "ignored", "one result per task", statistic)
    return _verdict(exp, "inconclusive", "results missing or identical", statistic)


def judge_system_prompt(exp: Experiment, arms: Sequence[Sequence[TaskData]]) -> Verdict:
    failure = _failed(exp, arms)
    if failure is not None:
        return failure
    told, reference = arms[0], arms[1]

    def starts(task: TaskData) -> bool:
        return bool(task.outputs) and task.outputs[0].text.lstrip(" *_#>\n").startswith(REPLY_PREFIX)

    hits_t, hits_r = sum(map(starts, told)), sum(map(starts, reference))
    p = fisher_greater(hits_t, len(told), hits_r, len(reference))
    # Only replies that reached their text can show the instruction (reasoning may use up maxTokens).
    with_text = sum(bool(t.outputs and t.outputs[0].text.strip()) for t in told)
    detectable = fisher_greater(with_text, len(told), 0, len(reference))
    statistic = f"{_fmt_p(p)} (Fisher exact, one-sided)"
    evidence = f"begin with {REPLY_PREFIX} {hits_t}/{len(told)} vs {hits_r}/{len(reference)}"
    if detectable >= ALPHA:
        return _verdict(
            exp,
            "inconclusive",
            f"{evidence}; undetectable: {with_text}/{len(told)} replies reached their text",
            statistic,
            p,
        )
    if p < ALPHA:
        return _verdict(exp, "applied", evidence, statistic, p)
    return _verdict(exp, "ignored", evidence + "; the instruction had no effect", statistic, p)


def judge_accounting(exp: Experiment, arms: Sequence[Sequence[TaskData]], context: Context) -> Verdict:
    tasks = [t for arm in arms for t in arm if t.ok]
    if not tasks:
        return _verdict(exp, "inconclusive", "no successful task", "")
    if exp.kind == "usage":
        have = sum(t.prompt_tokens is not None and (t.prompt_tokens or 0) > 0 for t in tasks)
        statistic = f"usage on {have}/{len(tasks)} tasks"
        verdict: VerdictName = "applied" if have == len(tasks) else "ignored" if have == 0 else "inconclusive"
        return _verdict(exp, verdict, "prompt, completion and reasoning tokens per task", statistic)
    if exp.kind == "reasoning_tokens":
        thinking = [t for t in tasks if any(o.reasoning for o in t.outputs)]
        plain = [t for t in tasks if t.outputs and not any(o.reasoning for o in t.outputs)]
        counted = sum(
            (t.thinking_tokens or 0) > 0 and (t.thinking_tokens or 0) <= (t.completion_tokens or 0)
            for t in thinking
        )
        zero = sum((t.thinking_tokens or 0) == 0 for t in plain)
        statistic = (
            f"counted on {counted}/{len(thinking)} tasks with reasoning; 0 on {zero}/{len(plain)} without"
        )
        if not thinking:
            return _verdict(exp, "inconclusive", "no reply carried reasoning", statistic)
        if counted == 0:
            return _verdict(exp, "ignored", "reasoning returned but no reasoning tokens reported", statistic)
        verdict = "applied" if counted == len(thinking) and zero == len(plain) else "inconclusive"
        return _verdict(exp, verdict, "reasoning tokens within completion tokens", statistic)
    if not context.cost_supported or not context.include_cost:
        why = (
            "the protocol has no cost field"
            if not context.cost_supported
            else "the target sets include_cost: false"
        )
        return _verdict(exp, "inconclusive", f"not tested: {why}", "")
    priced = [t for t in tasks if t.cost_usd is not None]
    if exp.kind == "cost_present":
        statistic = f"cost on {len(priced)}/{len(tasks)} tasks"
        verdict = "applied" if len(priced) == len(tasks) else "ignored" if not priced else "inconclusive"
        return _verdict(exp, verdict, f"${sum(t.cost_usd or 0 for t in priced):.6f} in all", statistic)
    return _judge_cost_table(exp, priced, context)


def _judge_cost_table(exp: Experiment, priced: Sequence[TaskData], context: Context) -> Verdict:
    pairs = [
        (t.cost_usd, t.price_table_cost_usd)
        for t in priced
        if t.cost_usd is not None and t.price_table_cost_usd is not None
    ]
    if not pairs:
        return _verdict(exp, "inconclusive", "no task with both a service cost and a price-table cost", "")
    # The service's cost against usage x the price table: a relative gap per task (not a fallback rule).
    errors = [abs(service - table) / max(abs(table), 1e-12) for service, table in pairs]
    worst = max(errors)
    implied = implied_prices(
        [
            (t.prompt_tokens or 0, t.completion_tokens or 0, t.thinking_tokens or 0, t.cost_usd or 0.0)
            for t in priced
        ]
    )
    table = " (placeholder prices)" if context.placeholder_prices else ""
    statistic = f"largest relative difference {worst:.2e} over {len(pairs)} tasks"
    evidence = f"implied {implied}" if implied else "implied prices not identifiable"
    if worst <= 1e-4:
        return _verdict(exp, "applied", f"matches the price table{table}; {evidence}", statistic)
    return _verdict(exp, "inconclusive", f"differs from the price table{table}; {evidence}", statistic)


def judge(exp: Experiment, arms: Sequence[Sequence[TaskData]], context: Context) -> Verdict:
    """The verdict of one experiment over its arms' tasks (in `exp.arms` order)."""
    if exp.kind == "determinism":
        return judge_determinism(exp, arms)
    if exp.kind in ("diversity", "wording", "thinking"):
        return judge_comparison(exp, arms)
    if exp.kind == "max_tokens":
        return judge_max_tokens(exp, arms)
    if exp.kind == "stop":
        return judge_stop(exp, arms)
    if exp.kind == "number_results":
        return judge_number_results(exp, arms)
    if exp.kind == "system_prompt":
        return judge_system_prompt(exp, arms)
    return judge_accounting(exp, arms, context)


def setting_verdicts(verdicts: Sequence[Verdict]) -> dict[str, VerdictName]:
    """One verdict per setting: rejected, else ignored, else applied, else inconclusive."""
    by_setting: dict[str, set[VerdictName]] = {}
    for v in verdicts:
        by_setting.setdefault(v.setting, set()).add(v.verdict)
    order: tuple[VerdictName, ...] = ("rejected", "ignored", "applied", "inconclusive")
    return {s: next(o for o in order if o in found) for s, found in by_setting.items()}
