"""A failed attempt whose reply reported a cost was paid for: its cost reaches the trial's record
(summed with the final attempt's), with its taskUUID, whether the trial later succeeds, fails for
good, or is abandoned by a stopping run; it is handed to `Lane.on_bill` (the journal) as soon as it is
known, and bills carried from a killed session (`Lane.carried`) reach the record of the next attempt."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from harness.config import PriceConfig, RetryConfig
from harness.providers import MalformedResponseError, TaskOutcome
from harness.records import Message, Record, Result, Trial, Usage
from harness.runner.execute import Bill, Lane, collect_batch, execute_batch
from harness.runner.ratelimit import AdaptiveLimit
from harness.runner.retry import RetryPolicy

TRIAL = Trial(
    key="k1",
    cell_id="c",
    cell={},
    item_id="i",
    repeat=0,
    target="sim",
    model="m",
    messages=(Message("user", "What is 2 + 2?"),),
)
PRICES = PriceConfig(prompt_per_mtok=1.0, completion_per_mtok=2.0, thinking_per_mtok=2.0)


class Scripted:
    name = "p"
    max_batch = 1
    delivery = "sync"

    def __init__(self, outcomes: list[TaskOutcome]) -> None:
        self.outcomes = outcomes

    async def send(self, trials: Sequence[Trial]) -> list[TaskOutcome]:
        return [self.outcomes.pop(0)]

    async def aclose(self) -> None:
        return None


def malformed(uuid: str, cost: float) -> TaskOutcome:
    return TaskOutcome(
        uuid,
        1.0,
        2.0,
        [],
        usage=Usage(10, 20, 0, 30),
        cost_usd=cost,
        error=MalformedResponseError("bad UTF-8"),
    )


def ok(uuid: str, cost: float) -> TaskOutcome:
    return TaskOutcome(uuid, 3.0, 4.0, [Result("4")], usage=Usage(10, 20, 0, 30), cost_usd=cost)


def make_lane(
    provider: object, records: list[Record], *, max_attempts: int = 3, stopping: bool = False
) -> Lane:
    async def pause(seconds: float) -> bool:
        return stopping

    return Lane(
        provider=provider,  # type: ignore[arg-type]
        limiter=AdaptiveLimit(1, clock=lambda: 0.0),
        policy=RetryPolicy(RetryConfig(max_attempts=max_attempts, base_s=0.0)),
        now=lambda: 5.0,
        finish=records.append,
        pause=pause,
        on_retry=lambda trial, error, wait: None,
        on_first_send=lambda t: None,
        prices=PRICES,
    )


async def run(outcomes: list[TaskOutcome], *, max_attempts: int = 3, stopping: bool = False) -> list[Record]:
    records: list[Record] = []
    lane = make_lane(Scripted(outcomes), records, max_attempts=max_attempts, stopping=stopping)
    await execute_batch(lane, [TRIAL], 0.0)
    return records


ONE_PRICE = (10 * 1.0 + 20 * 2.0) / 1e6


async def test_a_success_after_a_billed_malformed_attempt_records_both_costs() -> None:
    [record] = await run([malformed("u1", 0.1), ok("u2", 0.2)])
    assert record.status == "ok"
    assert record.cost_usd == pytest.approx(0.3)
    assert record.price_table_cost_usd == pytest.approx(2 * ONE_PRICE)
    assert (record.task_uuid, record.earlier_task_uuids) == ("u2", ["u1"])


async def test_a_trial_failing_for_good_records_every_billed_attempt_once() -> None:
    [record] = await run([malformed("u1", 0.1), malformed("u2", 0.2)], max_attempts=2)
    assert record.status == "error"
    assert record.cost_usd == pytest.approx(0.3)
    assert record.price_table_cost_usd == pytest.approx(2 * ONE_PRICE)
    assert (record.task_uuid, record.earlier_task_uuids) == ("u2", ["u1"])


async def test_an_abandoned_trial_with_a_billed_attempt_is_recorded_with_that_cost() -> None:
    [record] = await run([malformed("u1", 0.1)], stopping=True)
    assert record.status == "error"
    assert record.cost_usd == pytest.approx(0.1)
    assert record.earlier_task_uuids == ["u1"]


async def test_a_billed_failed_attempt_goes_to_on_bill_when_it_is_known() -> None:
    records: list[Record] = []
    bills: list[tuple[str, Bill]] = []
    lane = make_lane(Scripted([malformed("u1", 0.1), ok("u2", 0.2)]), records)
    lane.on_bill = lambda trial, bill: bills.append((trial.key, bill))
    await execute_batch(lane, [TRIAL], 0.0)
    assert bills == [("k1", Bill("u1", 0.1, pytest.approx(ONE_PRICE)))]
    assert records[0].earlier_task_uuids == ["u1"]


async def test_bills_carried_from_a_killed_session_reach_the_next_attempts_record_once() -> None:
    records: list[Record] = []
    lane = make_lane(Scripted([ok("u2", 0.2)]), records)
    lane.carried["k1"] = [Bill("u0", 0.05, None)]
    await execute_batch(lane, [TRIAL], 0.0)
    [record] = records
    assert record.cost_usd == pytest.approx(0.25)
    assert record.price_table_cost_usd == pytest.approx(ONE_PRICE)  # u0's usage was not reported
    assert (record.task_uuid, record.earlier_task_uuids) == ("u2", ["u0"])
    assert lane.carried == {}


class Collecting(Scripted):
    delivery = "async"

    def __init__(self, collected: TaskOutcome | None, outcomes: list[TaskOutcome]) -> None:
        super().__init__(outcomes)
        self.collected = collected

    async def collect(self, trials: Sequence[Trial], uuids: Sequence[str]) -> list[TaskOutcome | None]:
        return [self.collected]


async def test_a_collected_task_that_failed_billed_is_carried_to_the_resend() -> None:
    records: list[Record] = []
    bills: list[Bill] = []
    lane = make_lane(Collecting(malformed("u1", 0.1), [ok("u2", 0.2)]), records)
    lane.on_bill = lambda trial, bill: bills.append(bill)
    assert await collect_batch(lane, [TRIAL], ["u1"], 0.0) == set()  # not collected: sent again
    assert records == []
    assert [b.task_uuid for b in bills] == ["u1"]  # on disk before the resend goes
    await execute_batch(lane, [TRIAL], 0.0)
    [record] = records
    assert record.status == "ok"
    assert record.cost_usd == pytest.approx(0.3)
    assert (record.task_uuid, record.earlier_task_uuids) == ("u2", ["u1"])


async def test_a_collected_task_records_the_bills_carried_for_its_trial() -> None:
    records: list[Record] = []
    lane = make_lane(Collecting(ok("u1", 0.2), []), records)
    lane.carried["k1"] = [Bill("u0", 0.05, None)]
    assert await collect_batch(lane, [TRIAL], ["u1"], 0.0) == {"k1"}
    [record] = records
    assert record.cost_usd == pytest.approx(0.25)
    assert (record.task_uuid, record.earlier_task_uuids, record.attempts) == ("u1", ["u0"], 1)
