"""The error boundary: classification, Retry-After, envelopes, redaction."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from harness.errors import (
    AuthError,
    BadRequestError,
    PaymentError,
    ProviderTimeoutError,
    RateLimitedError,
    ServerError,
)
from harness.providers._http import classify, error_from_response, error_items, parse_retry_after


@pytest.mark.parametrize(
    ("status", "code", "expected", "failure"),
    [
        (429, None, RateLimitedError, "rate_limited"),
        (None, "rateLimitExceeded", RateLimitedError, "rate_limited"),
        (401, None, AuthError, "permanent"),
        (403, None, AuthError, "permanent"),
        (None, "invalidApiKey", AuthError, "permanent"),
        (402, None, PaymentError, "permanent"),
        (None, "insufficientCredits", PaymentError, "permanent"),
        (408, None, ProviderTimeoutError, "transient"),
        (None, "timeoutProvider", ProviderTimeoutError, "transient"),
        (500, None, ServerError, "transient"),
        (503, "serviceUnavailable", ServerError, "transient"),
        (400, None, BadRequestError, "permanent"),
        (404, None, BadRequestError, "permanent"),
        (None, "invalidMaxTokens", BadRequestError, "permanent"),
        (None, "unsupportedParameter", BadRequestError, "permanent"),
        (None, "inferenceError", ServerError, "transient"),
    ],
)
def test_classify(status: int | None, code: str | None, expected: type, failure: str) -> None:
    error = classify("m", status=status, code=code)
    assert type(error) is expected
    assert error.failure == failure


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("3", 3.0),
        ("0.5", 0.5),
        (" 12 ", 12.0),
        ("-4", 0.0),
        ("", None),
        (None, None),
        ("soon", None),
        ("nan", None),
    ],
)
def test_retry_after_seconds(value: str | None, seconds: float | None) -> None:
    assert parse_retry_after(value) == seconds


def test_retry_after_http_date() -> None:
    now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after("Thu, 01 Jan 2026 12:00:30 GMT", now=now) == 30.0


def test_legacy_websocket_error_shape() -> None:
    [entry] = error_items({"error": True, "errorId": 19, "errorMessage": "Invalid task"})
    assert entry["message"] == "Invalid task"


def test_error_message_is_redacted() -> None:
    error = error_from_response(
        401,
        b'{"errors":[{"code":"invalidApiKey","message":"key sk-live-SECRET is invalid"}]}',
        {},
        secret="sk-live-SECRET",
    )
    assert "sk-live-SECRET" not in str(error)
    assert "***" in error.message


def test_non_json_error_body_is_quoted() -> None:
    error = error_from_response(502, b"<html>Bad gateway</html>", {"Retry-After": "2"}, secret=None)
    assert isinstance(error, ServerError)
    assert error.message == "HTTP 502: <html>Bad gateway</html>"


def test_429_without_body_keeps_retry_after() -> None:
    error = error_from_response(429, b"", {"Retry-After": "7"}, secret=None)
    assert isinstance(error, RateLimitedError)
    assert error.retry_after_s == 7.0
