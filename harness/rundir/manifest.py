"""manifest.json: `Manifest`, the typed view readers get, and the raw reader/writer the engine uses to
keep the file exactly as it wrote it. The schema version is checked on every read; no other module
parses this file.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

from harness.errors import StoreError
from harness.records import SCHEMA_VERSION
from harness.rundir.layout import JUDGE, MANIFEST, temp_name

__all__ = ["Manifest", "RunStatus", "read_manifest", "write_manifest"]

RunStatus = Literal["running", "complete", "interrupted", "stopped", "failed"]


class Manifest(BaseModel):
    """What ran, as manifest.json records it (docs/architecture.md). Every field is optional because
    a manifest is written in stages (start, end) and older harness versions wrote fewer fields.

    Keys this harness does not know (a newer version's, another tool's) are kept and written back
    unchanged (`extra="allow"`): a reader must never drop part of the record of what was spent.
    """

    model_config = ConfigDict(defer_build=True, extra="allow", frozen=True)

    schema_version: int = SCHEMA_VERSION
    harness_version: str | None = None
    git_commit: str | None = None
    machine: dict[str, Any] = Field(default_factory=dict)
    command: list[str] = Field(default_factory=list)
    suite: dict[str, Any] | None = Field(default=None, description="SuiteConfig.model_dump(mode='json')")
    suite_file: str | None = None
    targets: dict[str, dict[str, Any]] = Field(default_factory=dict, description="targets without secrets")
    plan: dict[str, int] = Field(default_factory=dict, description="cells, items, trials, requests, results")
    run: dict[str, Any] = Field(default_factory=dict, description="the resolved RunConfig")
    started_at: str | None = None
    ended_at: str | None = None
    status: RunStatus | None = None
    stop_reason: str | None = None
    target_rps: float | None = None
    achieved_rps: float | None = None
    concurrency_history: list[list[int | float]] = Field(default_factory=list)
    wall_time_s: float | None = None
    judge: dict[str, Any] | None = Field(default=None, description=f"set in RUN_DIR/{JUDGE}/{MANIFEST}")

    _raw: dict[str, Any] = PrivateAttr(default_factory=dict)

    @classmethod
    def from_raw(cls, raw: dict[str, Any]) -> Manifest:
        """The typed view of a manifest's JSON object (which `to_dict` gives back untouched)."""
        manifest = cls.model_validate(raw)
        manifest._raw = raw
        return manifest

    @property
    def suite_name(self) -> str | None:
        name = (self.suite or {}).get("name")
        return str(name) if name else None

    def to_dict(self) -> dict[str, Any]:
        """The manifest as the JSON object it was read from, value for value (a float stays a float, an
        int an int), for code that passes it on; built from the fields when it was not read."""
        return dict(self._raw) if self._raw else self.model_dump(mode="json", exclude_unset=True)


def read_manifest(run_dir: Path, *, role: str = "") -> dict[str, Any]:
    """manifest.json as its raw JSON object (for the engine, which updates and rewrites it); a
    StoreError when it is missing, not JSON, not an object, or newer than this harness reads. `role`
    ("baseline", "current") starts each message."""
    path = Path(run_dir) / MANIFEST
    where = f"{role} {path}" if role else str(path)
    try:
        raw = orjson.loads(path.read_bytes())
    except FileNotFoundError:
        raise StoreError(f"{where}: not found; no manifest (is this a run directory?)") from None
    except orjson.JSONDecodeError as exc:
        raise StoreError(f"{where}: not valid JSON: {exc}") from exc
    if not isinstance(raw, dict):
        raise StoreError(f"{where}: the manifest must be a JSON object")
    version = raw.get("schema_version", SCHEMA_VERSION)
    if not isinstance(version, int) or version > SCHEMA_VERSION:
        raise StoreError(
            f"{where}: schema_version {version!r} is newer than this harness reads ({SCHEMA_VERSION})"
        )
    return raw


def write_manifest(run_dir: Path, manifest: dict[str, Any]) -> None:
    """Replace manifest.json atomically (write a temporary file, then rename)."""
    path = Path(run_dir) / MANIFEST
    tmp = path.with_name(temp_name(MANIFEST))
    data = orjson.dumps(manifest, default=str, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS)
    try:
        with tmp.open("wb") as fh:
            fh.write(data + b"\n")
            fh.flush()
            os.fsync(fh.fileno())
        tmp.replace(path)
    except OSError as exc:
        raise StoreError(f"{path}: cannot write the manifest: {exc}") from exc
