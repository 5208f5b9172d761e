"""mapped_errors' per-attempt deadlines: first byte, idle (moved by chunks), total cap, and an outside
cancellation that must stay a cancellation."""

from __future__ import annotations

import asyncio

import pytest

from harness.config import TimeoutConfig
from harness.errors import ProviderTimeoutError
from harness.providers._http import mapped_errors


def timeouts(**kw: float) -> TimeoutConfig:
    values = {"connect_s": 1.0, "first_byte_s": 1.0, "idle_s": 1.0, "total_s": 5.0} | kw
    return TimeoutConfig(**values)


async def test_no_first_byte_is_a_first_byte_timeout() -> None:
    with pytest.raises(ProviderTimeoutError, match="first-byte timeout"):
        async with mapped_errors(timeouts(first_byte_s=0.02)):
            await asyncio.sleep(1)


async def test_chunks_keep_the_attempt_alive_past_the_first_deadline() -> None:
    async with mapped_errors(timeouts(first_byte_s=0.05, idle_s=0.05)) as guard:
        guard.first_byte()
        for _ in range(6):  # 0.12 s in all: past both first deadlines, never 0.05 s idle
            await asyncio.sleep(0.02)
            guard.chunk()
    assert guard._expired is False


async def test_silence_after_the_first_byte_is_an_idle_timeout() -> None:
    async def attempt() -> None:
        async with mapped_errors(timeouts(first_byte_s=1.0, idle_s=0.03)) as guard:
            await asyncio.sleep(0.01)
            guard.first_byte()
            await asyncio.sleep(1)

    with pytest.raises(ProviderTimeoutError, match="idle timeout"):
        await attempt()


async def test_a_deadline_moved_earlier_than_the_armed_timer_still_fires() -> None:
    loop = asyncio.get_running_loop()
    started = loop.time()

    async def attempt() -> None:
        async with mapped_errors(timeouts(first_byte_s=0.03, idle_s=2.0)) as guard:
            guard.pause(5.0)  # the timer is now armed far out
            guard.expect_first_byte()  # ... and the deadline back at 0.03 s
            await asyncio.sleep(1)

    with pytest.raises(ProviderTimeoutError, match="first-byte timeout"):
        await attempt()
    assert loop.time() - started < 0.5


async def test_the_total_cap_applies_whatever_the_chunks() -> None:
    async def attempt() -> None:
        async with mapped_errors(timeouts(first_byte_s=1.0, idle_s=1.0, total_s=0.08)) as guard:
            guard.first_byte()
            while True:
                await asyncio.sleep(0.01)
                guard.chunk()

    with pytest.raises(ProviderTimeoutError, match=r"total timeout of 0\.08"):
        await attempt()


async def test_an_outside_cancellation_is_not_a_timeout() -> None:
    async def attempt() -> None:
        async with mapped_errors(timeouts()):
            await asyncio.sleep(1)

    task = asyncio.create_task(attempt())
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_a_timeout_leaves_the_task_uncancelled() -> None:
    with pytest.raises(ProviderTimeoutError):
        async with mapped_errors(timeouts(first_byte_s=0.01)):
            await asyncio.sleep(1)
    task = asyncio.current_task()
    assert task is not None
    assert task.cancelling() == 0
    await asyncio.sleep(0)  # no cancellation left pending either


async def test_the_timer_is_released_on_exit() -> None:
    async with mapped_errors(timeouts()) as guard:
        guard.first_byte()
    assert guard._handle is None
