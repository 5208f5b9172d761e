"""A simulator serving on 127.0.0.1 in a background thread, so tests can call the CLI (which runs its own
event loop) and still read what the simulator received."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from concurrent.futures import Future
from typing import Any

import pytest


class ThreadedSimulator:
    def __init__(self, **options: Any) -> None:
        self.options = {"latency": "0", **options}
        self.loop = asyncio.new_event_loop()
        self.running: Any = None
        self._ready: Future[None] = Future()
        self._stop: asyncio.Event | None = None
        self.thread = threading.Thread(target=self._serve, name="simulator", daemon=True)

    def _serve(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(self._main())

    async def _main(self) -> None:
        from harness.simulator import SimulatorOptions, serve_simulator

        self._stop = asyncio.Event()
        try:
            async with serve_simulator(SimulatorOptions(**self.options)) as sim:
                self.running = sim
                self._ready.set_result(None)
                await self._stop.wait()
        except BaseException as exc:
            if not self._ready.done():
                self._ready.set_exception(exc)
            raise

    def start(self) -> ThreadedSimulator:
        self.thread.start()
        self._ready.result(timeout=30)
        return self

    def stats(self) -> dict[str, Any]:
        result: dict[str, Any] = asyncio.run_coroutine_threadsafe(self.running.stats(), self.loop).result(10)
        return result

    def set_answer_key(self, mapping: dict[str, Any]) -> None:
        self.loop.call_soon_threadsafe(self.running.set_answer_key, mapping)

    def stop(self) -> None:
        assert self._stop is not None
        self.loop.call_soon_threadsafe(self._stop.set)
        self.thread.join(timeout=30)
        self.loop.close()


@pytest.fixture(scope="module")
def simulator() -> Iterator[ThreadedSimulator]:
    sim = ThreadedSimulator().start()
    try:
        yield sim
    finally:
        sim.stop()


@pytest.fixture(scope="module")
def keyed_simulator() -> Iterator[ThreadedSimulator]:
    """A simulator that accepts only the API key "right"."""
    sim = ThreadedSimulator(api_key="right").start()
    try:
        yield sim
    finally:
        sim.stop()
