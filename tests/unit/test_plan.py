"""The plan: grid expansion, cell ids, trial keys, counts and estimates on hand-computed numbers."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.config import GridConfig, PriceConfig, SuiteConfig, TargetConfig
from harness.errors import PlanError
from harness.grid import cell_id, expand_grid
from harness.plan import PlanItem, build_plan, estimate_plan, expected_output_tokens, trial_key
from harness.records import Message


def suite(**extra: Any) -> SuiteConfig:
    return SuiteConfig.model_validate({"name": "t", "dataset": {"path": "rows.jsonl"}, **extra})


def target(name: str = "sim", *, provider: str = "simulator", batch_size: int = 1) -> TargetConfig:
    return TargetConfig(name=name, provider=provider, model="alibaba:qwen@3.5-397b", batch_size=batch_size)  # type: ignore[arg-type]


def items(n: int) -> list[PlanItem]:
    return [
        PlanItem(id=f"i{i}", messages=(Message("user", f"question {i}"),), reference=str(i)) for i in range(n)
    ]


def grid(data: dict[str, Any]) -> GridConfig:
    return GridConfig.model_validate(data)


def test_empty_grid_is_one_default_cell() -> None:
    cells = expand_grid(GridConfig())
    assert [(c.id, c.values) for c in cells] == [("default", {})]


def test_cartesian_product_order_and_ids() -> None:
    cells = expand_grid(grid({"temperature": [0, 0.6], "topK": [20, 50]}))
    assert [c.id for c in cells] == [
        "temperature=0,topK=20",
        "temperature=0,topK=50",
        "temperature=0.6,topK=20",
        "temperature=0.6,topK=50",
    ]


def test_cell_id_sorts_axes_and_quotes_awkward_values() -> None:
    assert cell_id({"topK": 20, "temperature": 0.6}) == "temperature=0.6,topK=20"
    assert (
        cell_id({"stopSequences": ["\n\n"], "thinkingLevel": "low"})
        == 'stopSequences=["\\n\\n"],thinkingLevel=low'
    )
    assert cell_id({"systemPrompt": "be brief, please"}) == 'systemPrompt="be brief, please"'
    assert cell_id({"flag": True}) == "flag=true"


def test_zip_group_moves_together() -> None:
    cells = expand_grid(
        grid({"thinkingLevel": ["low", "high"], "zip": [{"temperature": [0.6, 1.0], "topP": [0.95, 0.8]}]})
    )
    assert [c.values for c in cells] == [
        {"thinkingLevel": "low", "temperature": 0.6, "topP": 0.95},
        {"thinkingLevel": "low", "temperature": 1.0, "topP": 0.8},
        {"thinkingLevel": "high", "temperature": 0.6, "topP": 0.95},
        {"thinkingLevel": "high", "temperature": 1.0, "topP": 0.8},
    ]


def test_explicit_cells_are_appended_and_deduplicated() -> None:
    cells = expand_grid(grid({"topK": [20], "cells": [{"topK": 20}, {"topK": 5, "temperature": 0}]}))
    assert [c.id for c in cells] == ["topK=20", "temperature=0,topK=5"]


def test_explicit_cells_alone() -> None:
    cells = expand_grid(grid({"cells": [{"temperature": 0}, {"temperature": 1.0, "topK": 1}]}))
    assert [c.id for c in cells] == ["temperature=0", "temperature=1.0,topK=1"]


def test_exclude_rule_with_any_of_list() -> None:
    cells = expand_grid(
        grid(
            {
                "thinkingLevel": ["low", "high"],
                "temperature": [0, 0.6, 1.2],
                "exclude": [{"thinkingLevel": "low", "temperature": [0.6, 1.2]}],
            }
        )
    )
    assert [c.id for c in cells] == [
        "temperature=0,thinkingLevel=low",
        "temperature=0,thinkingLevel=high",
        "temperature=0.6,thinkingLevel=high",
        "temperature=1.2,thinkingLevel=high",
    ]


def test_exclude_true_does_not_match_one() -> None:
    cells = expand_grid(grid({"numberResults": [1, 2], "exclude": [{"numberResults": True}]}))
    assert len(cells) == 2


def test_exclude_everything_is_a_plan_error() -> None:
    with pytest.raises(PlanError, match="removes every cell"):
        expand_grid(grid({"topK": [1, 2], "exclude": [{"topK": [1, 2]}]}))


axis_values = st.lists(st.integers(0, 100), min_size=1, max_size=4, unique=True)
axes_strategy = st.dictionaries(
    st.sampled_from(["temperature", "topK", "topP", "minP", "seed"]), axis_values, max_size=4
)


@given(axes_strategy)
def test_grid_size_is_the_product_of_its_axes(axes: dict[str, list[int]]) -> None:
    cells = expand_grid(grid(axes))
    assert len(cells) == math.prod(len(v) for v in axes.values())
    assert len({c.id for c in cells}) == len(cells)


@settings(max_examples=50)
@given(axes_strategy, st.integers(1, 3), st.integers(1, 4), st.randoms(use_true_random=False))
def test_trial_keys_unique_and_invariant_under_key_order(
    axes: dict[str, list[int]], repeats: int, n_items: int, rnd: Any
) -> None:
    fixed = {"maxTokens": 64, "thinkingLevel": "low", "topP": 0.9}
    reordered_axes = dict(rnd.sample(list(axes.items()), len(axes)))
    reordered_fixed = dict(rnd.sample(list(fixed.items()), len(fixed)))
    a = build_plan(
        suite(grid=axes, settings=fixed, repeats=repeats),
        items(n_items),
        {"sim": target()},
        default_target="sim",
    )
    b = build_plan(
        suite(settings=reordered_fixed, repeats=repeats, grid=reordered_axes),
        items(n_items),
        {"sim": target()},
        default_target="sim",
    )
    keys = [t.key for t in a.trials]
    assert len(set(keys)) == len(keys)
    assert sorted(keys) == sorted(t.key for t in b.trials)


def test_trial_key_changes_with_every_input() -> None:
    base: dict[str, Any] = {
        "target": "sim",
        "model": "m",
        "cell": "default",
        "item_id": "i0",
        "repeat": 0,
        "messages": [Message("user", "hi")],
        "system_prompt": None,
        "settings": {"temperature": 0.6},
        "seed": 1,
        "number_results": 1,
        "inputs": None,
    }
    changes: dict[str, Any] = {
        "target": "other",
        "model": "m2",
        "cell": "topK=1",
        "item_id": "i1",
        "repeat": 1,
        "messages": [Message("user", "hi!")],
        "system_prompt": "be brief",
        "settings": {"temperature": 0.7},
        "seed": 2,
        "number_results": 2,
        "inputs": {"images": ["https://x/y.png"]},
    }
    reference = trial_key(**base)
    assert len(reference) == 24
    for name, value in changes.items():
        assert trial_key(**{**base, name: value}) != reference, name


def test_counts_hand_computed() -> None:
    # 3 temperatures x 2 thinking levels = 6 cells; one cell has numberResults=2 via an explicit cell.
    s = suite(
        grid={
            "temperature": [0, 0.6, 1.2],
            "thinkingLevel": ["low", "high"],
            "cells": [{"temperature": 0.3, "numberResults": 2}],
        },
        repeats=2,
    )
    plan = build_plan(s, items(10), {"sim": target(batch_size=4)}, default_target="sim")
    assert plan.n_cells == 7
    assert plan.n_trials == 7 * 10 * 2  # 140
    assert plan.n_requests == math.ceil(140 / 4)  # 35 POSTs of up to 4 tasks
    assert plan.results == 6 * 10 * 2 + 1 * 10 * 2 * 2  # 160
    assert plan.counts() == {"cells": 7, "items": 10, "trials": 140, "requests": 35, "results": 160}


def test_openai_targets_do_not_batch() -> None:
    t = TargetConfig(
        name="local", provider="openai", model="qwen", batch_size=8, endpoint="http://127.0.0.1:1/v1"
    )
    plan = build_plan(suite(), items(5), {"local": t}, default_target="local")
    assert plan.requests_by_target == {"local": 5}


def test_target_axis_splits_requests_per_target() -> None:
    targets = {"a": target("a", batch_size=2), "b": target("b", provider="runware", batch_size=3)}
    plan = build_plan(suite(grid={"target": ["a", "b"]}), items(7), targets, default_target="a")
    assert plan.requests_by_target == {"a": 4, "b": 3}
    assert {t.target for t in plan.trials} == {"a", "b"}


def test_repeats_axis_per_cell() -> None:
    plan = build_plan(suite(grid={"repeats": [1, 3]}), items(2), {"sim": target()}, default_target="sim")
    assert plan.n_trials == 2 * 1 + 2 * 3
    assert sorted({(t.cell_id, t.repeat) for t in plan.trials}) == [
        ("repeats=1", 0),
        ("repeats=3", 0),
        ("repeats=3", 1),
        ("repeats=3", 2),
    ]


def test_seed_advances_per_repeat_and_wraps() -> None:
    plan = build_plan(
        suite(settings={"seed": 4294967295}, repeats=2), items(1), {"sim": target()}, default_target="sim"
    )
    assert [t.seed for t in plan.trials] == [4294967295, 0]


def test_no_seed_means_none() -> None:
    plan = build_plan(suite(), items(1), {"sim": target()}, default_target="sim")
    assert plan.trials[0].seed is None


def test_trial_carries_wire_settings_only_and_gold() -> None:
    s = suite(settings={"maxTokens": 100, "numberResults": 2}, grid={"temperature": [0.6], "target": ["sim"]})
    trial = build_plan(s, items(1), {"sim": target()}, default_target="sim").trials[0]
    assert trial.settings == {"maxTokens": 100, "temperature": 0.6}
    assert trial.number_results == 2
    assert trial.cell == {"temperature": 0.6, "target": "sim"}
    assert trial.reference == "0"


def test_system_prompt_setting_overrides_rendered_one() -> None:
    item = PlanItem(id="a", messages=(Message("user", "q"),), system_prompt="rendered")
    plan = build_plan(
        suite(grid={"systemPrompt": ["swept"]}), [item], {"sim": target()}, default_target="sim"
    )
    assert plan.trials[0].system_prompt == "swept"
    assert "systemPrompt" not in plan.trials[0].settings


def test_trial_order_is_repeat_then_item_then_cell() -> None:
    plan = build_plan(
        suite(grid={"topK": [1, 2]}, repeats=2), items(2), {"sim": target()}, default_target="sim"
    )
    assert [(t.repeat, t.item_id, t.cell_id) for t in plan.trials][:4] == [
        (0, "i0", "topK=1"),
        (0, "i0", "topK=2"),
        (0, "i1", "topK=1"),
        (0, "i1", "topK=2"),
    ]


def test_empty_data_set_is_a_plan_error() -> None:
    with pytest.raises(PlanError, match="no items"):
        build_plan(suite(), [], {"sim": target()}, default_target="sim")


def test_unknown_target_in_grid_is_a_plan_error() -> None:
    with pytest.raises(PlanError, match="'b'"):
        build_plan(suite(grid={"target": ["b"]}), items(1), {"sim": target()}, default_target="sim")


def test_prompt_token_estimate_counts_chat_template() -> None:
    item = PlanItem(id="a", messages=(Message("user", "abcd" * 10),), system_prompt="abcd")
    plan = build_plan(
        suite(), [item], {"sim": target()}, default_target="sim", count_tokens=lambda s: len(s) // 4
    )
    # 10 + 5 (user turn) + 1 + 5 (system turn) + 3 (reply header)
    assert plan.trials[0].prompt_tokens_estimate == 24


def test_expected_output_tokens_capped_by_max_tokens() -> None:
    s = suite(estimate={"completion_tokens": 200, "thinking_tokens": {"high": 1000, "low": 0}})
    assert expected_output_tokens({"thinkingLevel": "high"}, s.estimate, default_thinking_level=None) == (
        200,
        1000,
    )
    assert expected_output_tokens(
        {"thinkingLevel": "high", "maxTokens": 1100}, s.estimate, default_thinking_level=None
    ) == (100, 1000)
    assert expected_output_tokens({"maxTokens": 50}, s.estimate, default_thinking_level="high") == (0, 50)
    assert expected_output_tokens({}, s.estimate, default_thinking_level=None) == (200, 0)


def _linear_cost(p: PriceConfig, prompt: int, completion: int, thinking: int) -> float:
    thinking_price = p.thinking_per_mtok if p.thinking_per_mtok is not None else p.completion_per_mtok
    return (
        prompt * p.prompt_per_mtok
        + (completion - thinking) * p.completion_per_mtok
        + thinking * thinking_price
    ) / 1e6


def test_estimate_hand_computed() -> None:
    s = suite(
        grid={"thinkingLevel": ["low", "high"]},
        estimate={"completion_tokens": 100, "thinking_tokens": {"high": 900, "low": 0}},
    )
    item = PlanItem(id="a", messages=(Message("user", "x" * 40),))
    plan = build_plan(
        s,
        [item, PlanItem(id="b", messages=(Message("user", "y" * 40),))],
        {"sim": target()},
        default_target="sim",
        count_tokens=lambda t: len(t) // 4,
    )
    prices = {"sim": PriceConfig(prompt_per_mtok=1.0, completion_per_mtok=10.0)}
    est = estimate_plan(plan, {"sim": s.estimate}, prices, cost=_linear_cost, tokenizer="test")
    # prompt: 10 + 5 + 3 = 18 tokens per trial, 4 trials
    assert est.prompt_tokens == 72
    assert est.completion_tokens == 2 * 100 + 2 * 1000
    assert est.thinking_tokens == 2 * 900
    assert est.cost_usd == pytest.approx((72 * 1 + 2200 * 10) / 1e6)
    assert est.thinking_cost_usd == pytest.approx(1800 * 10 / 1e6)
    assert [c.cell_id for c in est.cells] == ["thinkingLevel=low", "thinkingLevel=high"]
    assert est.cells[1].cost_usd == pytest.approx((36 + 2000 * 10) / 1e6)
    assert est.driver.startswith("thinking tokens (82% of the cost)")
    assert "axis thinkingLevel: thinkingLevel=high costs 9.8x thinkingLevel=low" in est.driver  # 20036 / 2036


def test_estimate_free_target() -> None:
    plan = build_plan(suite(), items(2), {"sim": target()}, default_target="sim", count_tokens=len)
    prices = {"sim": PriceConfig(prompt_per_mtok=0, completion_per_mtok=0)}
    est = estimate_plan(plan, {"sim": suite().estimate}, prices, cost=_linear_cost, tokenizer="test")
    assert est.cost_usd == 0
    assert est.driver.startswith("no cost expected")
