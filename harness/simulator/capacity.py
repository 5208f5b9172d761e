"""The simulator's capacity model: a server with `slots` concurrent sequences and a FIFO queue in front
of them, so latency rises past saturation as a real inference server's does. Parses `--capacity` specs
and gates the inference routes; owns no protocol shapes beyond the "queue full" error.

A request waits in the FIFO queue until a slot is free, then holds the slot for its whole service time
(prefill + decode, as the latency model says, the stream included). With a mean service time S:

    knee (max throughput)  = slots / S            requests per second
    queue wait, below knee ~ 0 ; above it grows by (offered - knee) / knee seconds per second of load

`batch=F` models batching slowdown: a request admitted while k other slots are busy first spends
F * k extra seconds in prefill (inside its slot), so at saturation S becomes S + F * (slots - 1).
`queue=N` bounds the queue (waiting requests, not the ones in slots): arrival N+1 is refused at once
with `full` (503 serviceUnavailable, or 429 rateLimitExceeded). No `--capacity` = unlimited (no queue).
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal

import orjson
from aiohttp import web

from harness.errors import ConfigError
from harness.simulator.transport import JSON, openai_error, runware_error

__all__ = ["CapacityGate", "CapacityModel", "parse_capacity"]

_FIELD = "--capacity"
_KEYS = ("slots", "queue", "full", "batch")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(slots=True, frozen=True)
class CapacityModel:
    slots: int
    queue: int | None = None  # max waiting requests; None = unbounded
    full: Literal[429, 503] = 503
    batch_s: float = 0.0  # extra prefill seconds per other busy slot

    def knee_rps(self, service_s: float) -> float:
        """Theoretical saturation throughput for a mean service time (at full occupancy)."""
        return self.slots / (service_s + self.batch_s * (self.slots - 1))

    def to_spec(self) -> str:
        parts = [f"slots={self.slots}", f"full={self.full}", f"batch={self.batch_s!r}"]
        if self.queue is not None:
            parts.insert(1, f"queue={self.queue}")
        return ",".join(parts)


def parse_capacity(spec: str | CapacityModel | None) -> CapacityModel | None:
    """`slots=4[,queue=64,full=503|429,batch=0.01]`, or none/off/0 (unlimited)."""
    if spec is None or isinstance(spec, CapacityModel):
        return spec
    if spec.strip().lower() in ("", "0", "none", "off"):
        return None
    values: dict[str, str] = {}
    for part in spec.split(","):
        key, sep, raw = part.partition("=")
        key = key.strip()
        if not sep or key not in _KEYS:
            raise ConfigError(f"bad capacity item {part.strip()!r}", field=_FIELD, allowed=list(_KEYS))
        values[key] = raw.strip()
    if "slots" not in values:
        raise ConfigError("a capacity spec needs slots=N", field=_FIELD, allowed=list(_KEYS))
    slots = _int(values["slots"], "slots", minimum=1)
    queue = _int(values["queue"], "queue", minimum=0) if "queue" in values else None
    full = values.get("full", "503")
    if full not in ("429", "503"):
        raise ConfigError(f"full={full!r} is not a refusal status", field=_FIELD, allowed=["429", "503"])
    try:
        batch = float(values.get("batch", "0"))
    except ValueError:
        raise ConfigError(f"batch must be a number, got {values['batch']!r}", field=_FIELD) from None
    if batch < 0:
        raise ConfigError(f"batch={batch} out of range", field=_FIELD, allowed="numbers >= 0")
    return CapacityModel(slots, queue, 429 if full == "429" else 503, batch)


def _int(raw: str, key: str, *, minimum: int) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{key} must be an integer, got {raw!r}", field=_FIELD) from None
    if value < minimum:
        raise ConfigError(f"{key}={value} out of range", field=_FIELD, allowed=f"integers >= {minimum}")
    return value


class CapacityGate:
    """Slots and a FIFO queue shared by every inference route of one server (one event loop)."""

    def __init__(self, model: CapacityModel) -> None:
        self.model = model
        self.busy = 0
        self.waiters: collections.deque[asyncio.Future[None]] = collections.deque()
        self.admitted = 0
        self.refused = 0
        self.max_queue = 0
        self.queue_wait_s = 0.0

    def snapshot(self) -> dict[str, Any]:
        return {
            "slots": self.model.slots,
            "busy": self.busy,
            "queued": len(self.waiters),
            "admitted": self.admitted,
            "refused": self.refused,
            "max_queue": self.max_queue,
            "queue_wait_s": round(self.queue_wait_s, 6),
        }

    def reset(self) -> None:
        self.admitted = self.refused = self.max_queue = 0
        self.queue_wait_s = 0.0

    async def _acquire(self) -> bool:
        """Take a slot, waiting in FIFO order; False when the queue is full (the request is refused)."""
        if self.busy < self.model.slots and not self.waiters:
            self.busy += 1
            return True
        if self.model.queue is not None and len(self.waiters) >= self.model.queue:
            return False
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[None] = loop.create_future()
        self.waiters.append(waiter)
        self.max_queue = max(self.max_queue, len(self.waiters))
        started = loop.time()
        try:
            await waiter  # _release hands its slot over: busy is not decremented in between
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self._release()  # the slot was handed to us just as we were cancelled
            else:
                self.waiters.remove(waiter)
            raise
        self.queue_wait_s += loop.time() - started
        return True

    def _release(self) -> None:
        while self.waiters:
            waiter = self.waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
        self.busy -= 1

    def wrap(self, handler: Handler, *, openai: bool) -> Handler:
        """`handler` behind the slots: queued FIFO, refused when the queue is full, slot held until
        the response (a stream included) is finished."""

        async def gated(request: web.Request) -> web.StreamResponse:
            if not await self._acquire():
                self.refused += 1
                return self._refusal(openai)
            self.admitted += 1
            try:
                others = self.busy - 1
                if self.model.batch_s > 0 and others > 0:
                    await asyncio.sleep(self.model.batch_s * others)
                return await handler(request)
            finally:
                self._release()

        return gated

    def _refusal(self, openai: bool) -> web.Response:
        status = self.model.full
        if status == 429:
            code, message = "rateLimitExceeded", "Too many queued requests (simulated capacity)."
        else:
            code, message = "serviceUnavailable", "The server is at capacity (simulated queue full)."
        if openai:
            kind = "rate_limit_error" if status == 429 else "server_error"
            payload: dict[str, Any] = openai_error(message, type_=kind, code=code)
        else:
            payload = {"data": [], "errors": [runware_error(code, message)]}
        return web.Response(status=status, body=orjson.dumps(payload), content_type=JSON)
