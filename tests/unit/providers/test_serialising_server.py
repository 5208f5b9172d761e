"""Streams against a server that behaves like llama-cpp-python's (uvicorn + sse-starlette, one model
behind a lock): it serialises requests and, while streaming, ends the stream it is sending as soon as
another request waits (`interrupt_requests`, on by default): `data: [DONE]`, then the connection
closes without the chunked body's last chunk, so aiohttp reports TransferEncodingError. One at a
time every stream completes; concurrently, all but the last are cut.

The server is at fault, so the harness classifies: a cut stream is a transient stream_cut whose
message names the likely cause and max_concurrency. And a connection that breaks right after a
complete stream (every choice finished, `[DONE]` received) loses nothing."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import orjson
import pytest
from aiohttp import web
from provider_fixtures import fast_timeouts, make_target, make_trial

from harness.providers import StreamCutError, TaskOutcome, get_provider


def event(obj: Any) -> bytes:
    return b"data: " + orjson.dumps(obj) + b"\n\n"


class LlamaLikeServer:
    def __init__(self, *, interrupt: bool = True, break_after_done: bool = False) -> None:
        self.lock = asyncio.Lock()
        self.waiting = 0
        self.interrupt = interrupt
        self.break_after_done = break_after_done
        self.url = ""

    async def handle(self, request: web.Request) -> web.StreamResponse:
        await request.read()
        self.waiting += 1
        async with self.lock:
            self.waiting -= 1
            resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
            resp.enable_chunked_encoding()
            await resp.prepare(request)
            for i in range(8):
                chunk = {"id": "c", "choices": [{"index": 0, "delta": {"content": f"t{i} "}}]}
                await resp.write(event(chunk))
                await asyncio.sleep(0.005)
                if self.interrupt and self.waiting:
                    await resp.write(b"data: [DONE]\n\n")
                    assert request.transport is not None
                    request.transport.close()  # no terminating chunk: TransferEncodingError
                    return resp
            await resp.write(
                event({"id": "c", "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
            )
            usage = {"prompt_tokens": 5, "completion_tokens": 8, "total_tokens": 13}
            await resp.write(event({"id": "c", "choices": [], "usage": usage}) + b"data: [DONE]\n\n")
            if self.break_after_done:
                assert request.transport is not None
                request.transport.close()
                return resp
            await resp.write_eof()
            return resp


async def serve(server: LlamaLikeServer) -> AsyncIterator[LlamaLikeServer]:
    app = web.Application()
    app.router.add_post("/v1/chat/completions", server.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    server.url = f"http://127.0.0.1:{runner.addresses[0][1]}/v1"
    try:
        yield server
    finally:
        await runner.cleanup()


@pytest.fixture
async def llama() -> AsyncIterator[LlamaLikeServer]:
    async for running in serve(LlamaLikeServer()):
        yield running


async def send_all(url: str, n: int, concurrency: int) -> list[TaskOutcome]:
    target = make_target(url, provider="openai", delivery="stream", timeouts=fast_timeouts())
    provider = get_provider(target, concurrency=concurrency)
    gate = asyncio.Semaphore(concurrency)

    async def one(i: int) -> TaskOutcome:
        async with gate:
            [out] = await provider.send([make_trial(f"k{i}")])
            return out

    try:
        return list(await asyncio.gather(*(one(i) for i in range(n))))
    finally:
        await provider.aclose()


async def test_concurrent_streams_cut_by_the_server_name_the_cause_and_max_concurrency(
    llama: LlamaLikeServer,
) -> None:
    alone = await send_all(llama.url, 3, concurrency=1)
    assert [o.error for o in alone] == [None] * 3
    assert all(o.results[0].text == "t0 t1 t2 t3 t4 t5 t6 t7 " for o in alone)
    outs = await send_all(llama.url, 6, concurrency=3)
    cut = [o.error for o in outs if o.error is not None]
    assert len(cut) >= 4  # every stream with another request waiting behind it
    assert all(isinstance(e, StreamCutError) for e in cut)
    assert all(e.failure == "transient" for e in cut)  # type: ignore[union-attr]
    assert all("max_concurrency: 1" in str(e) for e in cut)
    assert all("interrupt_requests" in str(e) for e in cut)


async def test_a_connection_broken_after_a_complete_stream_loses_nothing() -> None:
    async for server in serve(LlamaLikeServer(interrupt=False, break_after_done=True)):
        outs = await send_all(server.url, 2, concurrency=1)
        assert [o.error for o in outs] == [None, None]
        assert outs[0].usage is not None
        assert outs[0].usage.completion_tokens == 8
