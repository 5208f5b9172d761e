"""Opt-in checks against the real Runware API (`nox -s live`, or `HARNESS_LIVE_TESTS=1 pytest -m live`).

They spend a few hundred tokens: one short arithmetic question per delivery method, through the same
engine and the shipped `runware-qwen` target, so a protocol drift between the simulator and the real
service shows up here first. Skipped unless RUNWARE_API_KEY and HARNESS_LIVE_TESTS are set.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.config import RetryConfig, RunConfig
from harness.loading import load_target
from harness.records import Message, Trial
from harness.rundir import read_records
from harness.runner import run_trials

pytestmark = pytest.mark.live


def _trial(delivery: str) -> Trial:
    return Trial(
        key=f"live-{delivery}",
        cell_id=f"delivery={delivery}",
        cell={"delivery": delivery},
        item_id="arith-1",
        repeat=0,
        target="runware-qwen",
        model="alibaba:qwen@3.5-397b",
        messages=(Message("user", "What is 17 * 3? Answer with the number only."),),
        settings={"maxTokens": 64, "temperature": 0.0, "thinkingLevel": "low"},
        seed=7,
        reference="51",
    )


@pytest.mark.parametrize("delivery", ["sync", "stream", "async"])
async def test_one_short_answer_per_delivery_method(tmp_path: Path, delivery: str) -> None:
    target = load_target("runware-qwen")
    run = RunConfig(concurrency=1, delivery=delivery, max_cost_usd=0.05, retries=RetryConfig(max_attempts=2))
    await run_trials([_trial(delivery)], {target.name: target}, run, tmp_path)
    (record,) = read_records(tmp_path)
    assert record.status == "ok", record.error
    assert record.results
    assert record.results[0].text.strip()
    assert record.results[0].finish_reason in {"stop", "length"}
    assert record.usage is not None
    assert record.usage.prompt_tokens > 0
    assert record.usage.total_tokens == record.usage.prompt_tokens + record.usage.completion_tokens
    assert record.cost_usd is not None
    assert 0 < record.cost_usd < 0.05
    if delivery == "stream":
        assert record.timing.first_token_at_s is not None
