"""The exception tree of the harness; every error a user can see is one of these.

    HarnessError
    ├── ConfigError        a suite/target/model/data file is wrong (file, field path, allowed values)
    ├── PlanError          the grid or data set cannot become a plan (empty, too large without --yes)
    ├── ProviderError      one request failed; carries its classification for the runner
    │   ├── TransientError         worth retrying
    │   │   ├── RateLimitedError   429 / rateLimitExceeded; retry_after_s when the server said
    │   │   ├── ServerError        5xx
    │   │   │   ├── ConnectError           the endpoint could not be reached (refused, reset, DNS)
    │   │   │   ├── StreamCutError         the stream ended before every task's final chunk
    │   │   │   └── MalformedResponseError the body is not the JSON / SSE the protocol promises
    │   │   └── ProviderTimeoutError  connect / first byte / idle / total timeout
    │   └── PermanentError         never retried
    │       ├── AuthError          401 / 403
    │       ├── PaymentError       402
    │       └── BadRequestError    400 / validation
    ├── ScoringError       a scorer is misconfigured or crashed
    ├── StoreError         the run directory cannot be read or written
    └── RunStoppedError    the run stopped before finishing its plan (exit code 3, resumable)
        ├── BudgetExceededError    max_cost_usd would be exceeded
        └── CircuitOpenError       errors dominated the recent requests

Two errors live with the one module that raises them, still under HarnessError:
`harness.compare.load.IncompatibleRunsError` (exit 2) and `harness.simulator.process.SimulatorProcessError`.

Exit codes (PRODUCT.md §1) are attached here so that `cli.py` only maps, never decides.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar, Literal

FailureClass = Literal["permanent", "transient", "rate_limited"]

EXIT_OK = 0
EXIT_REGRESSION = 1
EXIT_USAGE = 2
EXIT_INFRA = 3
EXIT_INTERRUPTED = 130


class HarnessError(Exception):
    """Base of every error the harness raises on purpose."""

    exit_code: ClassVar[int] = EXIT_USAGE


class ConfigError(HarnessError):
    """Invalid user input: names the file, the field path, the bad value and what is allowed."""

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        field: str | None = None,
        line: int | None = None,
        allowed: Sequence[object] | str | None = None,
    ) -> None:
        self.message = message
        self.file = file
        self.field = field
        self.line = line
        self.allowed = allowed
        super().__init__(self.render())

    def render(self) -> str:
        where = ""
        if self.file:
            where = self.file + (f":{self.line}" if self.line else "")
        if self.field:
            where = f"{where}: {self.field}" if where else self.field
        text = f"{where}: {self.message}" if where else self.message
        if self.allowed is not None and self.allowed != "":
            allowed = self.allowed if isinstance(self.allowed, str) else ", ".join(map(repr, self.allowed))
            text += f" (allowed: {allowed})"
        return text


class PlanError(HarnessError):
    """The configuration is valid but cannot become a runnable plan."""


class ProviderError(HarnessError):
    """One request to a provider failed. `failure` tells the runner what to do with it."""

    failure: ClassVar[FailureClass] = "permanent"
    kind: ClassVar[str] = "provider"
    exit_code: ClassVar[int] = EXIT_INFRA

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        parameter: str | None = None,
    ) -> None:
        self.message = message
        self.status = status
        self.code = code
        self.parameter = parameter
        super().__init__(message)


class TransientError(ProviderError):
    failure: ClassVar[FailureClass] = "transient"
    kind: ClassVar[str] = "transient"


class RateLimitedError(TransientError):
    failure: ClassVar[FailureClass] = "rate_limited"
    kind: ClassVar[str] = "rate_limited"

    def __init__(self, message: str, *, retry_after_s: float | None = None, **kw: object) -> None:
        self.retry_after_s = retry_after_s
        super().__init__(message, **kw)  # type: ignore[arg-type]


class ServerError(TransientError):
    kind: ClassVar[str] = "server"


class ProviderTimeoutError(TransientError):
    kind: ClassVar[str] = "timeout"


class ConnectError(ServerError):
    """The endpoint could not be reached (refused, reset, DNS): transient."""

    kind: ClassVar[str] = "connect"


class StreamCutError(ServerError):
    """The connection or stream ended before every task had its final chunk: transient."""

    kind: ClassVar[str] = "stream_cut"


class MalformedResponseError(ServerError):
    """The body was not the JSON (or SSE) the protocol promises: transient."""

    kind: ClassVar[str] = "malformed"


class PermanentError(ProviderError):
    failure: ClassVar[FailureClass] = "permanent"
    kind: ClassVar[str] = "permanent"


class AuthError(PermanentError):
    kind: ClassVar[str] = "auth"


class PaymentError(PermanentError):
    kind: ClassVar[str] = "payment"


class BadRequestError(PermanentError):
    kind: ClassVar[str] = "bad_request"


class ScoringError(HarnessError):
    """A scorer is misconfigured (exit 2) or failed on a record."""


class StoreError(HarnessError):
    """The run directory is unreadable, incompatible, or cannot be written."""

    exit_code: ClassVar[int] = EXIT_USAGE


class RunStoppedError(HarnessError):
    """The run stopped before finishing its plan; it can be resumed."""

    exit_code: ClassVar[int] = EXIT_INFRA


class BudgetExceededError(RunStoppedError):
    """max_cost_usd would be exceeded by dispatching more trials."""


class CircuitOpenError(RunStoppedError):
    """Errors dominated the recent requests (every request failing with 401, endpoint unreachable...)."""
