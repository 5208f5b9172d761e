"""Client-side helpers of the simulator conformance tests: task builders, POST and SSE readers."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import aiohttp
import orjson

from harness.simulator import RunningSimulator

MODEL = "alibaba:qwen@3.5-397b"
SimFactory = Callable[..., AbstractAsyncContextManager[RunningSimulator]]


def make_task(content: str = "What is 17 * 23?", **fields: Any) -> dict[str, Any]:
    task: dict[str, Any] = {
        "taskType": "textInference",
        "taskUUID": str(uuid.uuid4()),
        "model": MODEL,
        "messages": [{"role": "user", "content": content}],
    }
    task.update(fields)
    return task


async def post(
    session: aiohttp.ClientSession, url: str, tasks: Any, key: str | None = "k"
) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {key}"} if key is not None else {}
    async with session.post(url, data=orjson.dumps(tasks), headers=headers) as resp:
        return resp.status, orjson.loads(await resp.read())


async def read_sse(resp: aiohttp.ClientResponse) -> tuple[list[Any], list[str]]:
    """(events, comments): events are parsed JSON objects or the string "[DONE]"."""
    events: list[Any] = []
    comments: list[str] = []
    async for raw in resp.content:
        line = raw.decode().rstrip("\n")
        if line.startswith(":"):
            comments.append(line)
        elif line.startswith("data: "):
            payload = line[6:]
            events.append(payload if payload == "[DONE]" else orjson.loads(payload))
    return events, comments


async def stream(
    session: aiohttp.ClientSession, url: str, task: dict[str, Any]
) -> tuple[int, list[Any], list[str]]:
    async with session.post(url, data=orjson.dumps([task]), headers={"Authorization": "Bearer k"}) as resp:
        events, comments = await read_sse(resp)
        return resp.status, events, comments


async def read_lines(
    session: aiohttp.ClientSession, url: str, task: dict[str, Any], into: list[bytes]
) -> None:
    """Read a response line by line into `into` (kept even when the read fails)."""
    async with session.post(url, data=orjson.dumps([task]), headers={"Authorization": "Bearer k"}) as resp:
        async for line in resp.content:
            into.append(line)
