"""Statistics recover a known truth: the simulator (on 127.0.0.1) answers right with an injected
accuracy per temperature (a --skill file of overrides); the engine sends the sweep; the numeric scorer
and summarize() measure it. Each cell's 95% CI must cover the injected accuracy in >= 90% of cells over
repeated seeds, and the CI must narrow like 1/sqrt(n).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.config import RunConfig, ScorerConfig, TargetConfig
from harness.records import Message, Record, Trial

INJECTED = {0.2: 0.9, 0.6: 0.75, 1.0: 0.6, 1.4: 0.35}
MODEL = "alibaba:qwen@3.5-397b"
KEY_ENV = "HARNESS_TEST_SIM_KEY"

pytestmark = pytest.mark.slow


def _trials(seeds: Sequence[int], n_items: int) -> list[Trial]:
    trials = []
    for seed in seeds:
        for temperature in INJECTED:
            cell = {"temperature": temperature, "seed": seed}
            cell_id = f"seed={seed},temperature={temperature}"
            for i in range(n_items):
                a, b = 12 + 7 * i, 5 + 3 * i
                trials.append(
                    Trial(
                        key=f"{cell_id}|q{i}",
                        cell_id=cell_id,
                        cell=cell,
                        item_id=f"q{i}",
                        repeat=0,
                        target="sim",
                        model=MODEL,
                        messages=(Message("user", f"What is {a} + {b}?"),),
                        settings={"temperature": temperature, "maxTokens": 256},
                        seed=seed * 100_003 + i,
                        reference=str(a + b),
                    )
                )
    return trials


async def _run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, trials: list[Trial]) -> list[Record]:
    from harness.runner import run_trials
    from harness.simulator import SimulatorOptions, serve_simulator
    from harness.stats.notebook import read_run_records

    skill = tmp_path / "skill.yaml"
    overrides = [{"when": {"temperature": t}, "accuracy": p} for t, p in INJECTED.items()]
    skill.write_text(yaml.safe_dump({"fixed": 0.5, "overrides": overrides}))
    monkeypatch.setenv(KEY_ENV, "test-key")
    options = SimulatorOptions(skill=skill, api_key="test-key", latency="0")
    async with serve_simulator(options) as sim:
        target = TargetConfig(
            name="sim", provider="simulator", endpoint=sim.runware_url, model=MODEL, api_key_env=KEY_ENV,
            batch_size=50,
        )  # fmt: skip
        result = await run_trials(trials, {"sim": target}, RunConfig(concurrency=8), tmp_path / "run")
    assert (result.n_ok, result.n_error) == (len(trials), 0)
    return read_run_records(tmp_path / "run")


def _summary(records: list[Record]) -> dict[str, Any]:
    from harness.scoring import score_records
    from harness.stats import summarize

    scores = score_records(records, [ScorerConfig(name="numeric")])
    return summarize(records, scores, manifest=None)


async def test_each_cell_ci_covers_the_injected_accuracy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    records = await _run(tmp_path, monkeypatch, _trials(seeds=range(1, 11), n_items=100))
    summary = _summary(records)
    assert len(summary["cells"]) == 40
    covered = 0
    for cell in summary["cells"]:
        acc = cell["metrics"]["accuracy"]
        truth = INJECTED[cell["cell"]["temperature"]]
        assert (acc["n"], acc["method"]) == (100, "wilson")
        assert abs(acc["mean"] - truth) < 0.2  # far outside any CI: the curve was not applied at all
        covered += acc["ci_low"] <= truth <= acc["ci_high"]
    assert covered / 40 >= 0.9
    # Averaged over the ten seeds, the main effect of temperature recovers the curve's order.
    means = [e["mean"] for e in summary["main_effects"]["temperature"]]
    assert means == sorted(means, reverse=True)
    for entry in summary["main_effects"]["temperature"]:
        assert entry["ci_low"] - 0.05 <= INJECTED[entry["value"]] <= entry["ci_high"] + 0.05


async def test_ci_width_shrinks_like_one_over_sqrt_n(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    records = await _run(tmp_path, monkeypatch, _trials(seeds=[1], n_items=400))
    widths: dict[int, list[float]] = {}
    for n in (25, 100, 400):
        keep = {f"q{i}" for i in range(n)}
        for cell in _summary([r for r in records if r.item_id in keep])["cells"]:
            acc = cell["metrics"]["accuracy"]
            widths.setdefault(n, []).append(acc["ci_high"] - acc["ci_low"])
    mean_width = {n: sum(w) / len(w) for n, w in widths.items()}
    # Four times the samples, half the width (within the noise of the observed proportions).
    assert mean_width[25] / mean_width[100] == pytest.approx(2.0, rel=0.2)
    assert mean_width[100] / mean_width[400] == pytest.approx(2.0, rel=0.2)
