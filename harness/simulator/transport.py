"""How the simulator puts bytes on the wire, faults included: JSON bodies (whole, truncated by
drop_stream, malformed by bad_json), early faults (429/500/503/hang), and SSE streams with `: ping`
keep-alives. Every writer reports whether the client got everything, which decides billing.
Owns no protocol shapes beyond the error envelopes of the faults.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import orjson
from aiohttp import web

JSON = "application/json"
EARLY_FAULTS = ("429", "500", "503", "timeout")
_FAULT_STATUS = {"429": 429, "500": 500, "503": 503, "timeout": 504}
_RUNWARE_CODES = {
    "429": ("rateLimitExceeded", "Rate limit exceeded. Slow down and retry."),
    "500": ("internalServerError", "Internal server error (simulated)."),
    "503": ("serviceUnavailable", "Service temporarily unavailable (simulated)."),
    "timeout": ("timeoutProvider", "The external provider did not respond within the timeout window."),
}


def _alive(request: web.BaseRequest) -> bool:
    transport = request.transport
    return transport is not None and not transport.is_closing()


def runware_error(code: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"code": code, "message": message, **extra}


def openai_error(
    message: str, *, type_: str, code: str | int | None = None, param: str | None = None
) -> dict[str, Any]:
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}


async def early_fault(
    request: web.BaseRequest, fault: str, hang_s: float, retry_after_s: float | None, *, openai: bool = False
) -> web.Response:
    """The response of a 429/500/503/timeout fault (a timeout first hangs `hang_s`)."""
    if fault == "timeout":
        await asyncio.sleep(hang_s)
    code, message = _RUNWARE_CODES[fault]
    if openai:
        payload: dict[str, Any] = openai_error(
            message, type_="rate_limit_error" if fault == "429" else "server_error", code=code
        )
    else:
        payload = {"data": [], "errors": [runware_error(code, message)]}
    headers = {"Retry-After": f"{retry_after_s:g}"} if fault == "429" and retry_after_s is not None else None
    return web.Response(
        status=_FAULT_STATUS[fault], body=orjson.dumps(payload), content_type=JSON, headers=headers
    )


async def send_json(
    request: web.BaseRequest,
    status: int,
    payload: Any,
    fault: str | None,
    mangle: Callable[[bytes], bytes] | None = None,
) -> tuple[web.StreamResponse, bool]:
    """Write `payload` (its bytes passed through `mangle` when given); drop_stream sends half the
    declared body then cuts the connection, bad_json sends a complete but malformed body. Returns
    (response, delivered whole and well-formed); other faults are the caller's and send normally."""
    body = orjson.dumps(payload)
    if mangle is not None:
        body = mangle(body)
    if fault not in ("drop_stream", "bad_json"):  # one write for headers and body
        whole = web.Response(status=status, body=body, content_type=JSON)
        try:
            await whole.prepare(request)
            await whole.write_eof()
        except (ConnectionError, RuntimeError):
            return whole, False
        return whole, _alive(request)
    if fault == "bad_json":
        body = body[: max(1, len(body) // 2)]
    resp = web.StreamResponse(status=status, headers={"Content-Type": JSON})
    resp.content_length = len(body)
    try:
        await resp.prepare(request)
        if fault == "drop_stream":
            await resp.write(body[: len(body) // 2])
            _cut(request)
            return resp, False
        await resp.write(body)
        await resp.write_eof()
    except (ConnectionError, RuntimeError):
        return resp, False
    return resp, False


def _cut(request: web.BaseRequest) -> None:
    transport = request.transport
    if transport is not None:
        transport.abort()


class SSEWriter:
    """An SSE body: `data: <json>` events, `: ping` comments while waiting, faults applied at the end."""

    def __init__(self, request: web.BaseRequest, fault: str | None, ping_s: float) -> None:
        self.request = request
        self.fault = fault
        self.ping_s = ping_s
        self.response = web.StreamResponse(
            status=200, headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
        )
        self._buffer: list[bytes] = []

    async def open(self) -> None:
        await self.response.prepare(self.request)

    def add(self, event: Any, mangle: Callable[[bytes], bytes] | None = None) -> None:
        data = orjson.dumps(event)
        self._buffer.append(b"data: " + (data if mangle is None else mangle(data)) + b"\n\n")

    async def flush(self) -> None:
        if self._buffer:
            data = b"".join(self._buffer)
            self._buffer.clear()
            await self.response.write(data)

    async def wait(self, seconds: float) -> None:
        """Sleep, sending `: ping` comments whenever `ping_s` passes without output."""
        await self.flush()
        loop = asyncio.get_running_loop()
        end = loop.time() + seconds
        while (left := end - loop.time()) > 0:
            if left > self.ping_s:
                await asyncio.sleep(self.ping_s)
                await self.response.write(b": ping\n\n")
            else:
                await asyncio.sleep(left)

    async def finish(self, final_events: list[Any]) -> bool:
        """Send the final events and `[DONE]` unless a fault says otherwise; True if delivered whole
        (the caller decides whether a reply fault, such as a missing final chunk, is billed)."""
        if self.fault == "drop_stream":
            await self.flush()
            _cut(self.request)
            return False
        if self.fault == "bad_json":
            self._buffer.append(b'data: {"taskType":"textInference","delta":{"te\n\n')
            await self.flush()
            await self.response.write_eof()
            return False
        for event in final_events:
            self.add(event)
        self._buffer.append(b"data: [DONE]\n\n")
        await self.flush()
        await self.response.write_eof()
        return _alive(self.request)
