"""Turning the targets of a run into live endpoints: a `provider: simulator` target gets an embedded
simulator started for it (and a made-up API key the simulator checks, like the real service), every
other target is used as configured. The one way the orchestration does this, for the suite's targets
and for the judge's; owns no HTTP beyond starting the server.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from contextlib import AsyncExitStack
from typing import TYPE_CHECKING, Any

from harness.config import TargetConfig

if TYPE_CHECKING:
    from harness.simulator import SimulatorOptions

__all__ = ["SIMULATOR_KEY_ENV", "live_targets", "simulator_options"]

# The embedded simulator checks a key like the real service; each run makes up its own and hands it to
# the provider through this variable (removed again when the run ends).
SIMULATOR_KEY_ENV = "HARNESS_SIMULATOR_KEY"


def simulator_options(
    target: TargetConfig, *, api_key: str, answer_key: Mapping[str, Any]
) -> SimulatorOptions:
    """The simulator a `provider: simulator` target describes (its `simulator:` block)."""
    from harness.simulator import SimulatorOptions

    sim = target.simulator
    return SimulatorOptions(
        answer_key=dict(answer_key),
        api_key=api_key,
        latency=sim.latency if sim else None,
        faults=sim.faults if sim else None,
        capacity=sim.capacity if sim else None,
        seed=sim.seed if sim else 0,
        skill=sim.skill if sim else None,
        card=target.capability or "qwen3.5-397b",
        ignore_settings=sim.ignore_settings if sim else (),
    )


async def live_targets(
    stack: AsyncExitStack, targets: Mapping[str, TargetConfig], *, answer_key: Mapping[str, Any]
) -> dict[str, TargetConfig]:
    """`targets` with each simulator target pointed at a simulator started on `stack` (stopped when the
    stack closes). `answer_key` (input text -> reference) lets the simulated model answer the run's items."""
    out: dict[str, TargetConfig] = {}
    for name, target in targets.items():
        if target.provider == "simulator":
            from harness.simulator import serve_simulator

            key = os.environ.get(SIMULATOR_KEY_ENV) or secrets.token_hex(16)
            if SIMULATOR_KEY_ENV not in os.environ:
                os.environ[SIMULATOR_KEY_ENV] = key
                stack.callback(os.environ.pop, SIMULATOR_KEY_ENV, None)
            options = simulator_options(target, api_key=key, answer_key=answer_key)
            sim = await stack.enter_async_context(serve_simulator(options))
            target = target.model_copy(update={"endpoint": sim.runware_url, "api_key_env": SIMULATOR_KEY_ENV})
        out[name] = target
    return out
