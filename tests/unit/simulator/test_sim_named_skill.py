"""Named skill curves (configs/skills/NAME.yaml): one-best-of-24 has exactly one best cell among the
24 of suites/racing.yaml, at its stated margin; an unknown name is refused with the names there are."""

from __future__ import annotations

import itertools

import pytest
import yaml

from harness.errors import ConfigError
from harness.paths import suites_dir
from harness.simulator.skill import parse_skill, skill_names


def test_one_best_of_24_has_one_best_cell_18_points_above_the_rest() -> None:
    suite = yaml.safe_load((suites_dir() / "racing.yaml").read_text())
    grid = suite["grid"]
    curve = parse_skill("one-best-of-24")
    accuracies = {
        (t, k): curve.accuracy({"temperature": t, "topK": k}, {})
        for t, k in itertools.product(grid["temperature"], grid["topK"])
    }
    assert len(accuracies) == 24
    ranked = sorted(accuracies.values(), reverse=True)
    assert ranked[0] == pytest.approx(0.85)
    assert ranked[0] - ranked[1] == pytest.approx(0.18)
    assert max(accuracies, key=lambda c: accuracies[c]) == (0.7, 40)
    assert min(ranked) == pytest.approx(0.30)


def test_a_named_curve_is_the_same_as_its_file() -> None:
    from harness.paths import configs_dir

    path = configs_dir() / "skills" / "one-best-of-24.yaml"
    assert parse_skill("one-best-of-24") == parse_skill(str(path))
    assert "one-best-of-24" in skill_names()


def test_an_unknown_name_lists_the_known_ones() -> None:
    with pytest.raises(
        ConfigError, match=r"unknown skill curve 'no-such-curve' \(allowed: .*'one-best-of-24'"
    ):
        parse_skill("no-such-curve")


def _right_wrong(skill: str, temperature: float, n: int = 400) -> list[float]:
    from harness.capability import load_card
    from harness.pricing import load_prices
    from harness.simulator.answer_key import AnswerKey
    from harness.simulator.model import Prompt, SimulatedModel

    card = load_card("qwen3.5-397b")
    sim = SimulatedModel(parse_skill(skill), AnswerKey(None), load_prices)
    out = []
    for i in range(n):
        settings = {**card.defaults(), "temperature": temperature}
        prompt = sim.prepare(
            Prompt(
                "alibaba:qwen@3.5-397b", [{"role": "user", "content": f"What is {i} + 7?"}], None, settings
            ),
            card,
        )
        out.append(1.0 if sim.generate(prompt, card, seed=3).correct else 0.0)
    return out


def test_item_correlation_makes_hard_items_hard_for_every_setting() -> None:
    from harness.stats.power import item_correlation

    independent = item_correlation([_right_wrong("fixed=0.7", 0.2), _right_wrong("fixed=0.7", 0.9)])
    shared = [_right_wrong("fixed=0.7,item_correlation=0.6", t) for t in (0.2, 0.9)]
    assert independent is not None
    assert abs(independent) < 0.12
    measured = item_correlation(shared)
    assert measured is not None
    assert measured > 0.25
    assert sum(shared[0]) / 400 == pytest.approx(0.7, abs=0.06)  # the accuracy is unchanged


def test_item_correlation_is_checked() -> None:
    with pytest.raises(ConfigError, match="item_correlation"):
        parse_skill("fixed=0.7,item_correlation=1.5")
