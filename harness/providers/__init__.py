"""The `Provider` protocol (one verb: `send` a batch of trials, get one outcome per trial) and the lazy
registry that maps a provider name to the class implementing it. Importing this package imports no
HTTP library; a provider module is imported only when a target picks it.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from harness.errors import (
    ConfigError,
    ConnectError,
    MalformedResponseError,
    ProviderError,
    StreamCutError,
)
from harness.records import Result, Trial, Usage

if TYPE_CHECKING:
    import aiohttp

    from harness.config import TargetConfig

__all__ = [
    "Clock",
    "ConnectError",
    "MalformedResponseError",
    "Provider",
    "ProviderFactory",
    "StreamCutError",
    "TaskOutcome",
    "get_provider",
    "max_batch",
    "provider_names",
    "register_provider",
]

Clock = Callable[[], float]


@dataclass(slots=True)
class TaskOutcome:
    """What one attempt produced for one trial of a batch: results, or the error that ended it.

    Times are on the clock the provider was built with (the run clock). `itl_s` holds the gaps between
    consecutive stream deltas, rounded to 0.1 ms; None for non-streamed deliveries.
    """

    task_uuid: str
    sent_at_s: float
    done_at_s: float
    results: list[Result]
    usage: Usage | None = None
    cost_usd: float | None = None
    first_byte_at_s: float | None = None
    first_token_at_s: float | None = None
    first_answer_token_at_s: float | None = None
    itl_s: list[float] | None = None
    error: ProviderError | None = None


class Provider(Protocol):
    """Sends trials to one target. Whole-request failures raise a classified `ProviderError`;
    failures scoped to one task of a batch come back as `TaskOutcome.error`."""

    name: str
    max_batch: int  # most trials one request may carry (1 when the protocol has no batching)
    delivery: str

    async def send(self, trials: Sequence[Trial]) -> list[TaskOutcome]: ...

    async def aclose(self) -> None: ...


class ProviderFactory(Protocol):
    def __call__(
        self,
        target: TargetConfig,
        *,
        session: aiohttp.ClientSession | None = None,
        concurrency: int = 16,
        clock: Clock = time.perf_counter,
    ) -> Provider: ...


_REGISTRY: dict[str, str | ProviderFactory] = {
    "runware": "harness.providers.runware:RunwareProvider",
    "simulator": "harness.providers.runware:RunwareProvider",
    "openai": "harness.providers.openai_compat:OpenAIProvider",
}


_BATCHING = frozenset({"runware", "simulator"})


def max_batch(target: TargetConfig, delivery: str | None = None) -> int:
    """Most trials one request to `target` carries (`delivery` overriding the target's): Runware's sync
    and async deliveries batch `batch_size` tasks; a stream is one SSE body per task, and chat
    completions take one trial per request."""
    if target.provider not in _BATCHING or (delivery or target.delivery) == "stream":
        return 1
    return target.batch_size


def register_provider(name: str, factory: str | ProviderFactory) -> None:
    """Map a provider name to a factory, or to "package.module:Attribute" imported on first use."""
    _REGISTRY[name] = factory


def provider_names() -> list[str]:
    return sorted(_REGISTRY)


def _resolve(name: str) -> ProviderFactory:
    try:
        entry = _REGISTRY[name]
    except KeyError:
        raise ConfigError(f"unknown provider {name!r}", field="provider", allowed=provider_names()) from None
    if isinstance(entry, str):
        module_name, _, attr = entry.partition(":")
        factory: ProviderFactory = getattr(importlib.import_module(module_name), attr)
        _REGISTRY[name] = factory
        return factory
    return entry


def get_provider(
    target: TargetConfig,
    *,
    session: aiohttp.ClientSession | None = None,
    concurrency: int = 16,
    clock: Clock = time.perf_counter,
) -> Provider:
    """Build the provider a target names. Without `session`, the provider opens (and closes) its own,
    with a connection pool sized to `concurrency`."""
    return _resolve(target.provider)(target, session=session, concurrency=concurrency, clock=clock)
