"""Test helpers: a scripted HTTP server on 127.0.0.1 that replays protocol examples, echoing the client's taskUUIDs."""

from __future__ import annotations

import asyncio
import collections
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiohttp import web

from harness.config import TargetConfig, TimeoutConfig
from harness.records import Message, Trial


@dataclass
class Reply:
    status: int = 200
    json: Any = None
    body: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    sse: list[bytes] | None = None  # raw chunks written one by one
    delay_s: float = 0.0
    chunk_delay_s: float = 0.0
    cut: bool = False  # close the connection after the chunks, no terminating chunk


ReplyFn = Callable[[list[dict[str, Any]]], Reply]


class ScriptedServer:
    def __init__(self) -> None:
        self.replies: collections.deque[ReplyFn] = collections.deque()
        self.requests: list[dict[str, Any]] = []
        self.url = ""
        self.providers: list[Any] = []  # closed when the server stops, even after a failed assertion

    def add(self, *fns: ReplyFn) -> None:
        self.replies.extend(fns)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        tasks = orjson.loads(raw) if raw else []
        self.requests.append({"headers": dict(request.headers), "body": tasks, "path": request.path})
        fn = self.replies.popleft() if len(self.replies) > 1 else self.replies[0]
        reply = fn(tasks)
        if reply.delay_s:
            await asyncio.sleep(reply.delay_s)
        if reply.sse is None:
            body = reply.body if reply.body is not None else orjson.dumps(reply.json)
            return web.Response(
                status=reply.status, body=body, headers=reply.headers, content_type="application/json"
            )
        resp = web.StreamResponse(
            status=reply.status, headers={"Content-Type": "text/event-stream", **reply.headers}
        )
        await resp.prepare(request)
        for chunk in reply.sse:
            await resp.write(chunk)
            if reply.chunk_delay_s:
                await asyncio.sleep(reply.chunk_delay_s)
        if reply.cut:
            assert request.transport is not None
            request.transport.close()
            return resp
        await resp.write_eof()
        return resp


@contextlib.asynccontextmanager
async def serve_scripted() -> AsyncIterator[ScriptedServer]:
    scripted = ScriptedServer()
    app = web.Application()
    app.router.add_post("/{tail:.*}", scripted.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    scripted.url = f"http://127.0.0.1:{port}/v1"
    try:
        yield scripted
    finally:
        for provider in scripted.providers:
            await provider.aclose()
        await runner.cleanup()


def make_target(url: str, **kw: Any) -> TargetConfig:
    fields: dict[str, Any] = {
        "name": "t",
        "provider": "runware",
        "endpoint": url,
        "model": "alibaba:qwen@3.5-397b",
    }
    fields.update(kw)
    return TargetConfig(**fields)


def fast_timeouts(**kw: float) -> TimeoutConfig:
    values = {"connect_s": 2.0, "first_byte_s": 2.0, "idle_s": 2.0, "total_s": 5.0}
    values.update(kw)
    return TimeoutConfig(**values)


def make_trial(key: str = "k1", **kw: Any) -> Trial:
    fields: dict[str, Any] = {
        "key": key,
        "cell_id": "temperature=0.6",
        "cell": {"temperature": 0.6},
        "item_id": "item-1",
        "repeat": 0,
        "target": "t",
        "model": "alibaba:qwen@3.5-397b",
        "messages": (Message("user", "Name two moons of Mars."),),
        "settings": {"temperature": 0.6, "maxTokens": 64},
        "seed": 42,
    }
    fields.update(kw)
    return Trial(**fields)


def sse(*events: Any) -> list[bytes]:
    """SSE chunks: dicts are JSON events, bytes are written raw."""
    out = []
    for event in events:
        out.append(event if isinstance(event, bytes) else b"data: " + orjson.dumps(event) + b"\n\n")
    return out
