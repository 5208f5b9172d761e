"""AdaptiveLimit (AIMD), on a fake clock."""

from __future__ import annotations

import asyncio

from engine_fixtures import FakeClock
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.runner.ratelimit import AdaptiveLimit


def limit(ceiling: int = 8, **kw: object) -> tuple[AdaptiveLimit, FakeClock]:
    clock = FakeClock()
    return AdaptiveLimit(ceiling, clock=clock.now, **kw), clock  # type: ignore[arg-type]


def test_a_429_halves_the_limit_once_per_round_trip() -> None:
    lim, clock = limit(8)
    clock.advance(1.0)
    lim.on_rate_limited(sent_at=0.5)
    assert lim.limit == 4
    lim.on_rate_limited(sent_at=0.9)  # sent before the decrease: same congestion episode
    assert lim.limit == 4
    clock.advance(1.0)
    lim.on_rate_limited(sent_at=1.5)
    assert lim.limit == 2
    assert lim.history == [(0.0, 8), (1.0, 4), (2.0, 2)]


def test_clean_stretches_grow_it_back_to_the_ceiling() -> None:
    lim, _clock = limit(4)
    lim.on_rate_limited(sent_at=0.0)
    lim.on_rate_limited(sent_at=0.0)
    assert lim.limit == 2
    for _ in range(2):
        lim.on_success()
    assert lim.limit == 3
    for _ in range(3):
        lim.on_success()
    assert lim.limit == 4
    for _ in range(50):
        lim.on_success()
    assert lim.limit == 4


def test_never_below_the_floor() -> None:
    lim, clock = limit(2)
    for _i in range(5):
        clock.advance(1)
        lim.on_rate_limited(sent_at=clock.now())
    assert lim.limit == 1


def test_fixed_limit_does_not_move() -> None:
    lim, _ = limit(4, adaptive=False)
    lim.on_rate_limited(sent_at=0.0)
    assert lim.limit == 4


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 6), st.lists(st.sampled_from(["ok", "429"]), min_size=1, max_size=40))
def test_in_flight_never_exceeds_the_limit(ceiling: int, events: list[str]) -> None:
    async def scenario() -> None:
        lim, clock = limit(ceiling)
        peak = 0
        outcomes = iter(events * 3)

        async def request() -> None:
            nonlocal peak
            await lim.acquire()
            try:
                assert lim.in_flight <= max(lim.limit, 1) or lim.in_flight <= ceiling
                peak = max(peak, lim.in_flight)
                await asyncio.sleep(0)
                sent = clock.now()
                clock.advance(0.01)
            finally:
                lim.release()
            if next(outcomes, "ok") == "429":
                lim.on_rate_limited(sent)
            else:
                lim.on_success()

        async with asyncio.TaskGroup() as group:
            for _ in range(len(events)):
                group.create_task(request())
        assert peak <= ceiling
        assert lim.in_flight == 0

    asyncio.run(scenario())


async def test_waiters_are_admitted_in_order_when_slots_free() -> None:
    lim, _ = limit(1, adaptive=False)
    order: list[int] = []
    await lim.acquire()

    async def waiter(i: int) -> None:
        await lim.acquire()
        order.append(i)
        lim.release()

    tasks = [asyncio.create_task(waiter(i)) for i in range(3)]
    await asyncio.sleep(0)
    lim.release()
    await asyncio.gather(*tasks)
    assert order == [0, 1, 2]


async def test_a_cancelled_waiter_gives_its_place_back() -> None:
    lim, _ = limit(1, adaptive=False)
    await lim.acquire()
    task = asyncio.create_task(lim.acquire())
    await asyncio.sleep(0)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    lim.release()
    assert lim.in_flight == 0
    await asyncio.wait_for(lim.acquire(), 1)
    assert lim.in_flight == 1
