"""The probe's pure verdicts: exact tests on hand-computed numbers, detectability, and each rule."""

from __future__ import annotations

import math

import pytest

from harness.probe.experiments import (
    CAPPED_MAX_TOKENS,
    NUMBER_RESULTS,
    REPLY_PREFIX,
    STOP_SEQUENCE,
    Experiment,
)
from harness.probe.outputs import failing_settings
from harness.probe.statistics import (
    distance_matrix,
    fisher_greater,
    implied_prices,
    mean_pairs,
    min_permutation_p,
    permutation_p,
    word_entropy_bits,
    word_ratio,
)
from harness.probe.verdicts import Context, Output, TaskData, Verdict, judge, setting_verdicts


def task(text: str, seed: int, *, reasoning: str = "", finish: str = "stop", **fields: object) -> TaskData:
    return TaskData(seed=seed, outputs=(Output(text, reasoning, finish),), **fields)  # type: ignore[arg-type]


def arm(texts: list[str], first_seed: int = 0) -> list[TaskData]:
    return [task(t, first_seed + i) for i, t in enumerate(texts)]


DIVERSITY = Experiment("topK=1", "topK", "topK 1 vs default", "diversity", ("topK=1", "reference"))


def test_permutation_p_is_exact_on_a_small_case() -> None:
    # Pooled [3, 2, 1, 0]; the changed arm [3, 2] has the largest sum of C(4, 2) = 6 splits.
    p = permutation_p([3.0, 2.0], [1.0, 0.0], lambda a, b: sum(a) - sum(b))
    assert p == pytest.approx(1 / 6)
    # [3, 1] vs [2, 0]: splits with a sum >= 4 are {3,2}, {3,1}: 2 of 6.
    assert permutation_p([3.0, 1.0], [2.0, 0.0], lambda a, b: sum(a) - sum(b)) == pytest.approx(2 / 6)


def test_fisher_greater_matches_the_hypergeometric_tail() -> None:
    # 4/6 vs 0/6: P(X >= 4) with 4 hits among 12, 6 drawn = C(4,4) C(8,2) / C(12,6).
    assert fisher_greater(4, 6, 0, 6) == pytest.approx(math.comb(8, 2) / math.comb(12, 6))
    assert fisher_greater(0, 6, 0, 6) == 1.0
    assert fisher_greater(3, 3, 3, 3) == 1.0


def test_min_permutation_p() -> None:
    assert min_permutation_p(6, 6) == pytest.approx(1 / 924)
    assert min_permutation_p(0, 6) == 1.0


def test_word_measures() -> None:
    assert word_ratio("a b a b") == 0.5
    assert word_entropy_bits(["a b", "a b"]) == pytest.approx(1.0)
    matrix = distance_matrix(["a b", "a c", "a b"])
    assert matrix[0] == pytest.approx([0.0, 2 / 3, 0.0])
    assert mean_pairs(matrix, [0, 1, 2]) == pytest.approx((2 / 3 + 0 + 2 / 3) / 3)


def test_fewer_distinct_texts_is_applied() -> None:
    v = judge(DIVERSITY, [arm(["x"] * 6), arm([f"r{i}" for i in range(6)])], Context())
    assert v.verdict == "applied"
    assert v.p_value == pytest.approx(1 / 924)
    assert "1/6 vs 6/6 distinct" in v.evidence


def test_near_duplicates_count_as_less_diverse() -> None:
    # A real service at temperature 0 may differ in a word or two between seeds: every text is
    # distinct (11 shared words of 13: distance 2/13), but far less spread out than the reference.
    base = "the product of seventeen and twenty three is three hundred ninety one"
    near = arm([f"{base} end{i}" for i in range(6)])
    diverse = arm([" ".join(f"w{i}{k}" for k in range(12)) for i in range(6)])
    v = judge(DIVERSITY, [near, diverse], Context())
    assert v.verdict == "applied"
    assert "6/6 vs 6/6 distinct" in v.evidence
    assert "pairwise word distance 0.154 vs 1.000" in v.evidence


def test_texts_identical_to_the_reference_seed_for_seed_are_ignored() -> None:
    texts = [f"r{i}" for i in range(6)]
    v = judge(DIVERSITY, [arm(texts), arm(texts)], Context())
    assert v.verdict == "ignored"
    assert "all 6 same-seed pairs identical" in v.evidence


def test_a_detectable_change_not_seen_is_ignored() -> None:
    v = judge(DIVERSITY, [arm([f"a{i}" for i in range(6)]), arm([f"r{i}" for i in range(6)])], Context())
    assert v.verdict == "ignored"
    assert v.p_value == 1.0


def test_an_undetectable_change_is_inconclusive() -> None:
    # Two seeds per arm: even "1 vs 2 distinct" has p = 2/6 > alpha, whatever comes back.
    v = judge(DIVERSITY, [arm(["x", "x"]), arm(["r0", "r1"])], Context())
    assert v.verdict == "inconclusive"
    assert "undetectable" in v.evidence


def test_a_refused_changed_arm_is_rejected() -> None:
    refused = [TaskData(seed=i, ok=False, rejected=True, error="invalidTopK: no") for i in range(6)]
    v = judge(DIVERSITY, [refused, arm([f"r{i}" for i in range(6)])], Context())
    assert v.verdict == "rejected"
    assert "invalidTopK" in v.evidence


def test_wording_compares_the_distinct_word_ratio() -> None:
    exp = Experiment("p", "presencePenalty", "t", "wording", ("p", "reference"), "more")
    varied = arm([f"w{i} v{i} u{i}" for i in range(6)])
    repeated = arm([f"w{i} w{i} w{i}" for i in range(6)], first_seed=0)
    assert judge(exp, [varied, repeated], Context()).verdict == "applied"
    assert judge(exp, [repeated, varied], Context()).verdict == "ignored"


def test_thinking_compares_reasoning_tokens() -> None:
    exp = Experiment("t", "thinkingLevel", "t", "thinking", ("t", "reference"))
    low = [task(f"a{i}", i, thinking_tokens=0, completion_tokens=5) for i in range(6)]
    high = [task(f"b{i}", i, reasoning="r", thinking_tokens=100 + i, completion_tokens=120) for i in range(6)]
    v = judge(exp, [low, high], Context())
    assert v.verdict == "applied"
    assert "mean reasoning tokens 0 vs 102" in v.evidence


def test_max_tokens_rules() -> None:
    exp = Experiment("m", "maxTokens", "t", "max_tokens", ("m", "reference"))
    reference = [task("long", i, completion_tokens=100) for i in range(3)]
    capped = [task("x", i, finish="length", completion_tokens=CAPPED_MAX_TOKENS) for i in range(3)]
    assert judge(exp, [capped, reference], Context()).verdict == "applied"
    assert judge(exp, [reference, reference], Context()).verdict == "ignored"
    short = [task("s", i, completion_tokens=CAPPED_MAX_TOKENS - 1) for i in range(3)]
    assert judge(exp, [short, short], Context()).verdict == "inconclusive"


def test_stop_rules() -> None:
    exp = Experiment("s", "stopSequences", "t", "stop", ("s", "reference"))
    reference = arm([f"so {STOP_SEQUENCE}." for _ in range(6)])
    assert judge(exp, [arm(["so "] * 6), reference], Context()).verdict == "applied"
    assert judge(exp, [reference, reference], Context()).verdict == "ignored"
    seldom = arm([f"so {STOP_SEQUENCE}."] + ["no"] * 5)
    assert judge(exp, [arm(["so "] * 6), seldom], Context()).verdict == "inconclusive"


def test_number_results_rules() -> None:
    exp = Experiment("n", "numberResults", "t", "number_results", ("n",))
    several = TaskData(seed=1, outputs=tuple(Output(f"t{i}", "", "stop") for i in range(NUMBER_RESULTS)))
    assert judge(exp, [[several, several]], Context()).verdict == "applied"
    assert judge(exp, [arm(["one", "two"])], Context()).verdict == "ignored"


def test_system_prompt_rule() -> None:
    exp = Experiment("s", "systemPrompt", "t", "system_prompt", ("s", "reference"))
    told = arm([f"**{REPLY_PREFIX}** 391"] * 6)
    assert judge(exp, [told, arm(["391"] * 6)], Context()).verdict == "applied"
    assert judge(exp, [arm(["391"] * 6), arm(["391"] * 6)], Context()).verdict == "ignored"
    truncated = judge(exp, [arm([""] * 5 + ["391"]), arm([""] * 6)], Context())  # reasoning took it all
    assert truncated.verdict == "inconclusive"
    assert "1/6 replies reached their text" in truncated.evidence


def test_determinism_rules() -> None:
    exp = Experiment("seed", "seed", "t", "determinism", ("reference", "delivery-stream"))
    reference = arm([f"r{i}" for i in range(6)])
    assert judge(exp, [reference, arm(["r0", "r1"])], Context()).verdict == "applied"
    drifted = judge(exp, [reference, arm(["r0", "other"])], Context())
    assert drifted.verdict == "ignored"
    assert "1/2 same-seed groups identical" in drifted.statistic
    assert judge(exp, [arm(["same"] * 6), arm(["same", "same"])], Context()).verdict == "ignored"


def test_cost_matches_the_price_table_and_implied_prices_are_recovered() -> None:
    exp = Experiment("cost-table", "includeCost", "t", "cost_matches", ("a",))
    tasks = []
    for i, (p, c, th) in enumerate([(10, 50, 20), (20, 30, 0), (15, 80, 60), (30, 40, 10)]):
        cost = (p * 0.6 + (c - th) * 3.0 + th * 5.0) / 1e6
        tasks.append(
            task(
                "t",
                i,
                prompt_tokens=p,
                completion_tokens=c,
                thinking_tokens=th,
                cost_usd=cost,
                price_table_cost_usd=cost,
            )
        )
    v = judge(exp, [tasks], Context())
    assert v.verdict == "applied"
    assert "implied $0.600/Mtok prompt, $3.000/Mtok answer, $5.000/Mtok reasoning" in v.evidence
    same_price = [(10, 50, 20, 10 * 0.6e-6 + 50 * 3e-6), (20, 30, 0, 20 * 0.6e-6 + 30 * 3e-6)]
    assert implied_prices([*same_price, (5, 10, 5, 5 * 0.6e-6 + 10 * 3e-6)]) == (
        "$0.600/Mtok prompt, $3.000/Mtok answer, $3.000/Mtok reasoning"
    )
    assert implied_prices(same_price[:1]) == ""
    off = [task("t", 0, cost_usd=2.0, price_table_cost_usd=1.0, prompt_tokens=1, completion_tokens=1)]
    assert judge(exp, [off], Context()).verdict == "inconclusive"


def test_cost_on_a_protocol_without_cost_is_inconclusive() -> None:
    exp = Experiment("cost", "includeCost", "t", "cost_present", ("a",))
    v = judge(exp, [arm(["x"])], Context(cost_supported=False))
    assert v.verdict == "inconclusive"
    assert "no cost field" in v.evidence


def verdict(setting: str, name: str) -> Verdict:
    return Verdict("e", setting, "t", "", name, "")  # type: ignore[arg-type]


def test_setting_verdicts_and_the_exit_rule() -> None:
    verdicts = [
        verdict("temperature", "applied"),
        verdict("temperature", "ignored"),
        verdict("topK", "applied"),
        verdict("minP", "rejected"),
        verdict("includeCost", "inconclusive"),
    ]
    assert setting_verdicts(verdicts) == {
        "temperature": "ignored",
        "topK": "applied",
        "minP": "rejected",
        "includeCost": "inconclusive",
    }
    assert failing_settings(verdicts, []) == ["minP", "temperature"]
    assert failing_settings(verdicts, ["topK", "minP"]) == ["minP"]
    assert failing_settings(verdicts, ["topK"]) == []
