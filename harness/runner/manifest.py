"""The engine's part of manifest.json: the fields it fills at the start of a run (machine, version,
git commit, targets without secrets, plan size, resolved run options) and at the end (status, times,
rates, concurrency history). Pure apart from reading the clock, the platform and `git rev-parse`.
"""

from __future__ import annotations

import math
import os
import platform
import subprocess
import sys
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from harness.config import RunConfig, TargetConfig
from harness.providers import max_batch
from harness.records import SCHEMA_VERSION, Trial

__all__ = ["end_fields", "git_commit", "machine_info", "plan_size", "start_manifest", "utc_now"]


def utc_now() -> datetime:
    return datetime.now(UTC)


def git_commit() -> str | None:
    """HEAD of the harness checkout, if it is one (None otherwise or when git is missing)."""
    from harness.paths import PACKAGE_DIR

    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=PACKAGE_DIR.parent,
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    commit = out.stdout.strip()
    return commit if out.returncode == 0 and len(commit) == 40 else None


def machine_info() -> dict[str, Any]:
    try:
        import uvloop  # noqa: F401

        has_uvloop = True
    except ImportError:
        has_uvloop = False
    import aiohttp

    return {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "implementation": sys.implementation.name,
        "cpu_count": os.cpu_count(),
        "aiohttp": aiohttp.__version__,
        "uvloop_available": has_uvloop,
    }


def plan_size(
    trials: Sequence[Trial], targets: Mapping[str, TargetConfig], *, delivery: str | None = None
) -> dict[str, int]:
    """Cells, trials, requests and results of a plan; requests are batched as the providers batch
    (`delivery` is the run's override of the targets' delivery)."""
    per_target: dict[str, int] = {}
    for trial in trials:
        per_target[trial.target] = per_target.get(trial.target, 0) + 1
    requests = sum(
        math.ceil(count / max_batch(targets[name], delivery)) for name, count in per_target.items()
    )
    return {
        "cells": len({t.cell_id for t in trials}),
        "trials": len(trials),
        "requests": requests,
        "results": sum(t.number_results for t in trials),
    }


def start_manifest(
    given: Mapping[str, Any] | None,
    prior: Mapping[str, Any] | None,
    *,
    trials: Sequence[Trial],
    targets: Mapping[str, TargetConfig],
    run: RunConfig,
    now: datetime,
    skipped: int,
    torn_line: int | None,
) -> dict[str, Any]:
    """The manifest written as a run (or a resumed session of it) starts."""
    from harness import __version__

    manifest: dict[str, Any] = dict(prior or {})
    manifest.update(given or {})
    used = sorted({t.target for t in trials})
    manifest["schema_version"] = SCHEMA_VERSION
    manifest.setdefault("harness_version", __version__)
    if "git_commit" not in manifest:
        manifest["git_commit"] = git_commit()
    manifest.setdefault("machine", machine_info())
    manifest.setdefault("command", list(sys.argv))
    manifest.setdefault("suite", None)
    manifest.setdefault("targets", {name: targets[name].model_dump(mode="json") for name in used})
    manifest.setdefault("plan", plan_size(trials, targets, delivery=run.delivery))
    manifest["run"] = run.model_dump(mode="json")
    manifest["started_at"] = (prior or {}).get("started_at") or now.isoformat()
    manifest["ended_at"] = None
    manifest["status"] = "running"
    manifest["stop_reason"] = None
    manifest["target_rps"] = run.rate_rps
    manifest["achieved_rps"] = None
    manifest["concurrency_history"] = []
    manifest["wall_time_s"] = None
    if prior is not None:
        sessions = list(prior.get("resumed") or [])
        sessions.append({"at": now.isoformat(), "skipped": skipped, "torn_line": torn_line})
        manifest["resumed"] = sessions
    return manifest


def end_fields(
    *,
    status: str,
    stop_reason: str | None,
    now: datetime,
    wall_time_s: float,
    target_rps: float | None,
    achieved_rps: float | None,
    histories: Mapping[str, list[tuple[float, int]]],
) -> dict[str, Any]:
    """The fields updated when a session ends (however it ends)."""
    fields: dict[str, Any] = {
        "status": status,
        "stop_reason": stop_reason,
        "ended_at": now.isoformat(),
        "wall_time_s": round(wall_time_s, 3),
        "target_rps": target_rps,
        "achieved_rps": None if achieved_rps is None else round(achieved_rps, 3),
        "concurrency_history": [list(p) for p in next(iter(histories.values()), [])],
    }
    if len(histories) > 1:
        fields["concurrency_history_by_target"] = {k: [list(p) for p in v] for k, v in histories.items()}
    return fields
