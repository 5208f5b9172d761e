"""Assembles the simulator's aiohttp app (Runware, OpenAI-compatible and admin routes) and runs it in
the current event loop on a loopback port: `serve_simulator(options)` yields a RunningSimulator.
Owns lifecycle and the admin endpoints (GET /stats, POST /stats/reset, POST /answer-key).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import orjson
from aiohttp import web

from harness.simulator.answer_key import AnswerKey
from harness.simulator.capacity import Handler
from harness.simulator.openai_compat import handle_chat, handle_models
from harness.simulator.options import STATE_KEY, SimulatorOptions, SimulatorState
from harness.simulator.runware import handle_runware
from harness.simulator.transport import JSON
from harness.tokens import count_tokens

LISTEN_BACKLOG = 4096


def _snapshot(state: SimulatorState, *, ledger: bool = False) -> dict[str, Any]:
    snapshot = state.stats.snapshot(ledger=ledger)
    if state.capacity is not None:
        snapshot["capacity"] = state.capacity.snapshot()
    return snapshot


def _reset_state(state: SimulatorState) -> None:
    state.stats.reset()
    if state.capacity is not None:
        state.capacity.reset()


async def _stats(request: web.Request) -> web.Response:
    ledger = request.query.get("ledger", "") not in ("", "0", "false")
    snapshot = _snapshot(request.app[STATE_KEY], ledger=ledger)
    return web.Response(body=orjson.dumps(snapshot), content_type=JSON)


async def _reset(request: web.Request) -> web.Response:
    _reset_state(request.app[STATE_KEY])
    return web.Response(body=b'{"reset":true}', content_type=JSON)


async def _answer_key(request: web.Request) -> web.Response:
    try:
        mapping = orjson.loads(await request.read())
    except orjson.JSONDecodeError:
        mapping = None
    if not isinstance(mapping, dict):
        return web.Response(
            status=400, body=b'{"error":"body must be a JSON object {question: gold}"}', content_type=JSON
        )
    request.app[STATE_KEY].set_answer_key(mapping)
    return web.Response(body=orjson.dumps({"keys": len(mapping)}), content_type=JSON)


async def _health(request: web.Request) -> web.Response:
    return web.Response(body=b'{"ok":true}', content_type=JSON)


def build_app(state: SimulatorState) -> web.Application:
    app = web.Application(client_max_size=64 * 1024 * 1024)
    app[STATE_KEY] = state
    runware: Handler = handle_runware
    chat: Handler = handle_chat
    if state.capacity is not None:  # the capacity model gates inference routes only, never admin ones
        runware = state.capacity.wrap(handle_runware, openai=False)
        chat = state.capacity.wrap(handle_chat, openai=True)
    app.router.add_post("/v1", runware)
    app.router.add_post("/v1/", runware)
    app.router.add_post("/v1/chat/completions", chat)
    app.router.add_get("/v1/models", handle_models)
    app.router.add_get("/stats", _stats)
    app.router.add_post("/stats/reset", _reset)
    app.router.add_post("/answer-key", _answer_key)
    app.router.add_get("/health", _health)
    return app


class RunningSimulator:
    """A simulator serving on `base_url`; Runware clients use `runware_url`, OpenAI clients `openai_base_url`."""

    def __init__(self, state: SimulatorState, host: str, port: int) -> None:
        self.state = state
        self.host = host
        self.port = port
        self.base_url = f"http://{host}:{port}"
        self.runware_url = self.base_url + "/v1"
        self.openai_base_url = self.base_url + "/v1"

    async def stats(self, *, ledger: bool = False) -> dict[str, Any]:
        return _snapshot(self.state, ledger=ledger)

    def reset_stats(self) -> None:
        _reset_state(self.state)

    def set_answer_key(self, mapping: Mapping[str, Any] | str | Path | AnswerKey) -> None:
        """Gold answers by question text (or a JSON/JSONL file of them) for data sets being run."""
        self.state.set_answer_key(mapping)


@asynccontextmanager
async def serve_simulator(options: SimulatorOptions | None = None) -> AsyncIterator[RunningSimulator]:
    """Serve in the current event loop until the block exits; hanging requests are cancelled then."""
    options = options or SimulatorOptions()
    state = SimulatorState(options)
    await asyncio.get_running_loop().run_in_executor(None, count_tokens, "warm up")  # load the tokenizer now
    runner = web.AppRunner(build_app(state), access_log=None, handler_cancellation=True, shutdown_timeout=0.5)
    await runner.setup()
    try:
        # A benchmark opens hundreds of connections at once; aiohttp's default listen backlog (128)
        # drops the SYNs beyond it, and the kernel retries them a whole second later.
        site = web.TCPSite(runner, options.host, options.port, backlog=LISTEN_BACKLOG)
        await site.start()
        address = runner.addresses[0]
        yield RunningSimulator(state, options.host, int(address[1]))
    finally:
        await state.close()
        await runner.cleanup()
