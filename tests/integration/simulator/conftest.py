"""Fixtures of the simulator conformance tests: a live simulator on 127.0.0.1 and an aiohttp client."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from typing import Any

import aiohttp
import pytest
from sim_client import SimFactory

from harness.simulator import RunningSimulator, SimulatorOptions, serve_simulator


@pytest.fixture
def start_sim() -> SimFactory:
    """`async with start_sim(faults="500=1") as sim:` — a simulator with the given options."""

    def factory(**options: Any) -> AbstractAsyncContextManager[RunningSimulator]:
        return serve_simulator(SimulatorOptions(**options))

    return factory


@pytest.fixture
async def sim() -> AsyncIterator[RunningSimulator]:
    async with serve_simulator(SimulatorOptions(seed=7)) as running:
        yield running


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client:
        yield client
