"""The HTTP layer shared by providers: the session set up for load, per-attempt deadlines, and
`mapped_errors`, the one place where aiohttp and transport exceptions (and error envelopes) become
classified `ProviderError`s. It never decides to retry; it only says what kind of failure happened.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import math
import os
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

import aiohttp
import orjson

from harness.config import TargetConfig, TimeoutConfig
from harness.errors import (
    AuthError,
    BadRequestError,
    ConfigError,
    PaymentError,
    ProviderError,
    ProviderTimeoutError,
    RateLimitedError,
    ServerError,
)
from harness.providers import Clock, ConnectError, MalformedResponseError, StreamCutError
from harness.providers.sse import DONE, SSEDecoder

READ_BUFSIZE = 1 << 18  # long sync bodies (65k-token answers) arrive in few reads

_AUTH_CODES = frozenset({"invalidApiKey", "missingApiKey", "invalid_api_key", "unauthorized", "forbidden"})
_PAYMENT_CODES = frozenset({"insufficientCredits", "paymentRequired", "insufficient_quota"})
_RATE_CODES = frozenset({"rateLimitExceeded", "rate_limit_exceeded", "tooManyRequests"})
_TIMEOUT_CODES = frozenset({"timeoutProvider", "timeout", "requestTimeout"})
_PERMANENT_PREFIXES = (
    "invalid",
    "missing",
    "unsupported",
    "unknown",
    "incompatible",
    "conflict",
    "valueToo",
    "arrayToo",
    "contentPolicy",
    "modelNotFound",
    "notFound",
    "context_length",
)


def read_api_key(target: TargetConfig) -> str | None:
    """The key named by `target.api_key_env`, read once at provider construction."""
    if target.api_key_env is None:
        return None
    key = os.environ.get(target.api_key_env)
    if not key:
        raise ConfigError(
            f"environment variable {target.api_key_env} is not set (it should hold the API key)",
            field=f"targets.{target.name}.api_key_env",
        )
    return key


EventSink = Callable[[bytes, float], None]  # one SSE event's payload and the time its chunk arrived


class HTTPProvider:
    """What every HTTP provider holds: the target, its URL, the clock, a lazily opened session
    (closed by `aclose` only when the provider opened it), the API key (read once, kept out of every
    repr and message) and the JSON request headers; `_post` sends one body and reads the whole reply,
    `_post_stream` reads it as Server-Sent Events."""

    def __init__(
        self,
        target: TargetConfig,
        url: str,
        *,
        session: aiohttp.ClientSession | None,
        concurrency: int,
        clock: Clock,
    ) -> None:
        self.name = target.name
        self.delivery: str = target.delivery
        self._target = target
        self._url = url
        self._clock = clock
        self._concurrency = concurrency
        self._session = session
        self._owns_session = session is None
        self._secret = read_api_key(target)
        self._headers = {"Content-Type": "application/json"}
        if self._secret:
            self._headers["Authorization"] = f"Bearer {self._secret}"
        self._streams = 0  # streams of this provider being read now (see cut_hint)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(name={self.name!r}, endpoint={self._url!r}, delivery={self.delivery!r})"
        )

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = open_session(self._concurrency, self._target.timeouts)
        return self._session

    async def aclose(self) -> None:
        if self._owns_session and self._session is not None:
            await self._session.close()
            self._session = None

    async def _post(self, guard: mapped_errors, body: bytes) -> tuple[float, bytes]:
        """POST `body`; the time the response headers arrived and the whole body (non-2xx raises)."""
        async with self._http().post(self._url, data=body, headers=self._headers) as resp:
            first_byte = self._clock()
            guard.first_byte()
            raw = await resp.read()
            if resp.status >= 300:
                raise error_from_response(resp.status, raw, resp.headers, secret=self._secret)
        return first_byte, raw

    async def _post_stream(
        self, guard: mapped_errors, body: bytes, headers: Mapping[str, str], on_event: EventSink
    ) -> float:
        """POST `body` and hand each SSE event of the reply to `on_event` with its arrival time, up to
        `[DONE]` (the rest of the body is drained; a connection that breaks after `[DONE]` loses
        nothing) or the end of the body (an unterminated last event still counts); return the time the
        response headers arrived (non-2xx raises; a body cut before `[DONE]` is a StreamCutError)."""
        decoder = SSEDecoder()
        clock = self._clock
        self._streams += 1
        try:
            async with self._http().post(self._url, data=body, headers=headers) as resp:
                first_byte = clock()
                guard.first_byte()
                if resp.status >= 300:
                    raw = await resp.read()
                    raise error_from_response(resp.status, raw, resp.headers, secret=self._secret)
                if resp.content_type == "application/json":
                    # A JSON reply to a stream request (an error envelope with status 200): one event.
                    on_event(await resp.read(), clock())
                    return first_byte
                ended = False
                try:
                    async for chunk in resp.content.iter_any():
                        now = clock()
                        guard.chunk()
                        if ended:
                            continue
                        for event in decoder.feed(chunk):
                            if event == DONE:
                                ended = True
                                break
                            on_event(event, now)
                except (aiohttp.ClientPayloadError, aiohttp.ServerDisconnectedError) as exc:
                    if not ended:
                        raise StreamCutError(
                            f"connection closed mid-stream: {type(exc).__name__}: {exc}" + self.cut_hint()
                        ) from exc
                if not ended:
                    for event in decoder.close():
                        if event != DONE:
                            on_event(event, clock())
            return first_byte
        finally:
            self._streams -= 1

    def cut_hint(self, *, reading: bool = True) -> str:
        """What to add to a cut stream's message when other streams of this target were being read:
        the likely cause is a server that serialises requests and cuts the stream it is sending when
        another request arrives (llama-cpp-python's server does this by default). `reading`: called
        while the cut stream is still counted (inside `_post_stream`)."""
        others = self._streams - (1 if reading else 0)
        if others < 1:
            return ""
        return (
            f" ({others} other stream{'s' if others > 1 else ''} of this target in flight: a server that "
            "serialises requests may end a stream early when another request arrives, as "
            "llama-cpp-python's server does unless started with --interrupt_requests false; set "
            f"max_concurrency: 1 on target {self.name!r} if this recurs; see README, Troubleshooting)"
        )


def open_session(concurrency: int, timeouts: TimeoutConfig) -> aiohttp.ClientSession:
    """One session per target per run: a pool sized to the concurrency (never aiohttp's default 100)."""
    connector = aiohttp.TCPConnector(limit=max(1, concurrency), limit_per_host=0, ttl_dns_cache=300)
    return aiohttp.ClientSession(
        connector=connector,
        timeout=client_timeout(timeouts),
        read_bufsize=READ_BUFSIZE,
        skip_auto_headers=("User-Agent",),
    )


def client_timeout(timeouts: TimeoutConfig) -> aiohttp.ClientTimeout:
    # Only the socket connect is left to aiohttp ("connect" would also count waiting for a pooled
    # connection); first byte, idle and total are enforced by AttemptDeadline.
    return aiohttp.ClientTimeout(total=None, sock_connect=timeouts.connect_s)


def redact(text: str, secret: str | None) -> str:
    if secret and secret in text:
        return text.replace(secret, "***")
    return text


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP-date); None if absent/bad."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    if math.isnan(seconds) or math.isinf(seconds):
        return None
    return max(0.0, seconds)


def classify(
    message: str,
    *,
    status: int | None = None,
    code: str | None = None,
    parameter: str | None = None,
    retry_after_s: float | None = None,
    secret: str | None = None,
) -> ProviderError:
    """Turn an HTTP status and/or an API error code into the matching ProviderError subclass."""
    message = redact(message, secret)
    kw: dict[str, Any] = {"status": status, "code": code, "parameter": parameter}
    if status == 429 or code in _RATE_CODES:
        return RateLimitedError(message, retry_after_s=retry_after_s, **kw)
    if status in (401, 403) or code in _AUTH_CODES:
        return AuthError(message, **kw)
    if status == 402 or code in _PAYMENT_CODES:
        return PaymentError(message, **kw)
    if status == 408 or code in _TIMEOUT_CODES:
        return ProviderTimeoutError(message, **kw)
    if status is not None and status >= 500:
        return ServerError(message, **kw)
    if status is not None and 400 <= status < 500:
        return BadRequestError(message, **kw)
    if code is not None and code.startswith(_PERMANENT_PREFIXES):
        return BadRequestError(message, **kw)
    return ServerError(message, **kw)


def error_from_item(
    item: Mapping[str, Any], *, status: int | None, retry_after_s: float | None, secret: str | None
) -> ProviderError:
    """One entry of an error envelope (`errors[i]`, `error`, or an async `{"status":"error",...}`)."""
    inner = item.get("error")
    if isinstance(inner, Mapping):
        item = inner
    code = item.get("code")
    message = item.get("message") or item.get("errorMessage") or ""
    parameter = item.get("parameter")
    if isinstance(parameter, list):
        parameter = ",".join(str(p) for p in parameter)
    code_s = str(code) if code is not None else None
    if not message:
        message = code_s or "error without message"
    text = f"{code_s}: {message}" if code_s and code_s not in str(message) else str(message)
    if parameter:
        text += f" (parameter {parameter})"
    return classify(
        text,
        status=status,
        code=code_s,
        parameter=str(parameter) if parameter else None,
        retry_after_s=retry_after_s,
        secret=secret,
    )


def error_items(payload: Any) -> list[Mapping[str, Any]]:
    """The error entries of any envelope shape the protocol or its legacy clients know."""
    if not isinstance(payload, Mapping):
        return []
    found: list[Mapping[str, Any]] = []
    errors = payload.get("errors")
    if isinstance(errors, list):
        found.extend(e for e in errors if isinstance(e, Mapping))
    error = payload.get("error")
    if isinstance(error, Mapping):
        found.append(error)
    elif error is True or isinstance(error, str):
        found.append(
            {
                "message": payload.get("errorMessage") or (error if isinstance(error, str) else "error"),
                "code": payload.get("errorId"),
            }
        )
    return found


def error_from_response(
    status: int, body: bytes, headers: Mapping[str, str], *, secret: str | None
) -> ProviderError:
    """A non-2xx response as one classified error (the first entry of its envelope decides)."""
    retry_after = parse_retry_after(headers.get("Retry-After"))
    try:
        payload = orjson.loads(body) if body else None
    except orjson.JSONDecodeError:
        payload = None
    items = error_items(payload)
    if items:
        return error_from_item(items[0], status=status, retry_after_s=retry_after, secret=secret)
    snippet = body[:200].decode("utf-8", "replace").strip()
    return classify(
        f"HTTP {status}" + (f": {snippet}" if snippet else ""),
        status=status,
        retry_after_s=retry_after,
        secret=secret,
    )


def loads(body: bytes, what: str) -> Any:
    """orjson.loads, a decode failure being a (transient) malformed response."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        snippet = body[:80].decode("utf-8", "replace")
        raise MalformedResponseError(f"malformed JSON in {what}: {exc} (body starts {snippet!r})") from exc


def loads_lenient(body: bytes, what: str) -> tuple[Any, bool]:
    """Like `loads`, but well-formed JSON with invalid UTF-8 inside some strings still parses: the bad
    bytes become lone surrogates (see `has_bad_text`), so the items around them are not lost. Returns
    (payload, whether the lenient path was needed)."""
    try:
        return orjson.loads(body), False
    except orjson.JSONDecodeError as exc:
        try:
            return json.loads(body.decode("utf-8", "surrogateescape")), True
        except ValueError:
            pass
        snippet = body[:80].decode("utf-8", "replace")
        raise MalformedResponseError(f"malformed JSON in {what}: {exc} (body starts {snippet!r})") from exc


def has_bad_text(value: Any) -> bool:
    """Whether any string in `value` holds bytes that were not UTF-8 (`loads_lenient`'s surrogates)."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return True
        return False
    if isinstance(value, Mapping):
        return any(has_bad_text(v) for v in value.values())
    if isinstance(value, list):
        return any(has_bad_text(v) for v in value)
    return False


class mapped_errors:
    """Bound one attempt by the target's timeouts and translate whatever escapes it.

    The deadline starts as "first byte"; call `first_byte()` when response headers arrive and
    `chunk()` per stream chunk to move it to "idle"; the total cap always applies. Everything
    aiohttp, the socket layer or the deadline raises leaves as a ProviderError chained to the cause;
    CancelledError and programming errors pass through untouched.

    One loop timer per attempt, armed lazily: moving the deadline later (every chunk) only stores it,
    and the timer, when it fires early, re-arms itself at the current deadline. Only a deadline moved
    earlier than the armed timer re-arms at once. Expiry cancels the attempt's task, and the
    cancellation comes out as a ProviderTimeoutError, as with `asyncio.timeout`.
    """

    __slots__ = (
        "_armed_at",
        "_cancelling",
        "_deadline",
        "_expired",
        "_handle",
        "_loop",
        "_phase",
        "_secret",
        "_task",
        "_timeouts",
        "_total_end",
    )

    def __init__(self, timeouts: TimeoutConfig, *, secret: str | None = None) -> None:
        self._timeouts = timeouts
        self._secret = secret
        self._phase = "first byte"
        self._total_end = self._deadline = self._armed_at = 0.0
        self._expired = False
        self._cancelling = 0
        self._handle: asyncio.TimerHandle | None = None
        self._task: asyncio.Task[Any] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def __aenter__(self) -> mapped_errors:
        loop = self._loop = asyncio.get_running_loop()
        task = self._task = asyncio.current_task()
        if task is None:
            raise RuntimeError("mapped_errors must be used inside a task")
        self._cancelling = task.cancelling()
        t = self._timeouts
        now = loop.time()
        self._total_end = total_end = now + t.total_s
        self._deadline = min(now + t.first_byte_s, total_end)
        # Armed at the earliest moment any later phase could end (first byte, then idle), so the
        # common path (headers, body, done) never re-arms.
        self._arm(min(self._deadline, now + t.idle_s))
        return self

    def expect_first_byte(self) -> None:
        """A new request inside the same attempt (an async poll): wait up to first_byte_s again."""
        self._phase = "first byte"
        self._move(self._timeouts.first_byte_s)

    def first_byte(self) -> None:
        self._phase = "idle"
        self._move(self._timeouts.idle_s)

    def chunk(self) -> None:
        self._move(self._timeouts.idle_s)

    def pause(self, seconds: float) -> None:
        """Allow a deliberate wait (async poll interval) without tripping the idle deadline."""
        self._phase = "poll"
        self._move(seconds + self._timeouts.first_byte_s)

    def _move(self, seconds: float) -> None:
        assert self._loop is not None
        deadline = self._loop.time() + seconds
        if deadline > self._total_end:
            deadline = self._total_end
        self._deadline = deadline
        if deadline < self._armed_at and self._handle is not None:
            self._handle.cancel()
            self._arm(deadline)

    def _arm(self, when: float) -> None:
        assert self._loop is not None
        self._armed_at = when
        self._handle = self._loop.call_at(when, self._on_timer)

    def _on_timer(self) -> None:
        assert self._loop is not None
        assert self._task is not None
        self._handle = None
        if self._loop.time() < self._deadline:  # the deadline moved on since the timer was armed
            self._arm(self._deadline)
            return
        self._expired = True
        self._task.cancel()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> bool:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        if self._expired:
            assert self._task is not None
            # Our cancellation, and nobody else's since we entered: it was the deadline.
            if self._task.uncancel() <= self._cancelling and exc_type is asyncio.CancelledError:
                raise self._timeout_error() from TimeoutError()
        if exc is None or isinstance(exc, ProviderError):
            return False
        mapped = self._map(exc)
        if mapped is None:
            return False
        raise mapped from exc

    def translate(self, exc: BaseException) -> ProviderError | None:
        """What `exc` leaves this block as (itself when it is a ProviderError); None for exceptions
        that pass through untouched. For a caller that recovers from one request's failure inside the
        attempt (a failed async poll) without leaving the block."""
        return exc if isinstance(exc, ProviderError) else self._map(exc)

    def _timeout_error(self) -> ProviderTimeoutError:
        t = self._timeouts
        if self._deadline >= self._total_end - 1e-3:
            return ProviderTimeoutError(f"attempt exceeded the total timeout of {t.total_s:g} s")
        if self._phase == "idle":
            return ProviderTimeoutError(f"no data for {t.idle_s:g} s (idle timeout)")
        return ProviderTimeoutError(f"no response within {t.first_byte_s:g} s (first-byte timeout)")

    def _map(self, exc: BaseException) -> ProviderError | None:
        text = redact(f"{type(exc).__name__}: {exc}", self._secret)
        if isinstance(exc, aiohttp.ServerTimeoutError | aiohttp.ConnectionTimeoutError):
            return ProviderTimeoutError(f"timed out ({text})")
        if isinstance(exc, aiohttp.ClientConnectorError):
            return ConnectError(f"cannot connect: {text}")
        if isinstance(exc, aiohttp.ServerDisconnectedError | aiohttp.ClientPayloadError):
            return StreamCutError(f"connection closed mid-response: {text}")
        if isinstance(exc, aiohttp.ClientResponseError):
            return classify(f"HTTP error: {exc.message}", status=exc.status, secret=self._secret)
        if isinstance(exc, aiohttp.ClientError | ConnectionError):
            return ConnectError(f"transport error: {text}")
        if isinstance(exc, OSError):
            return ConnectError(f"socket error: {text}")
        return None
