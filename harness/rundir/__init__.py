"""The run directory, the contract between spending money and understanding results: its file names
(`layout`, the only module that knows them), the typed `Manifest` and `Summary`, the records reader
(`lines`), the single writer and its lock (`writer.RunStore`), and `RunDir`, the object every reader
and writer of derived files goes through. Nothing here sends a request or computes a statistic.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from harness.rundir import layout

if TYPE_CHECKING:
    from harness.rundir.manifest import Manifest, RunStatus, read_manifest, write_manifest
    from harness.rundir.run_dir import (
        RunDir,
        read_json_object,
        read_probe,
        read_scores,
        write_probe,
        write_scores,
    )
    from harness.rundir.store import (
        RawLine,
        RecordScan,
        RunStore,
        read_latest_lines,
        read_records,
        scan_records,
    )
    from harness.rundir.summary import Summary, summary_from_json, summary_to_json

# Imported on first use, so `harness.rundir.layout` (the CLI's help text) costs nothing.
_LAZY = {
    "Manifest": "manifest",
    "RunStatus": "manifest",
    "read_manifest": "manifest",
    "write_manifest": "manifest",
    "RunDir": "run_dir",
    "read_json_object": "run_dir",
    "read_scores": "run_dir",
    "read_probe": "run_dir",
    "write_probe": "run_dir",
    "write_scores": "run_dir",
    "RawLine": "store",
    "RecordScan": "store",
    "RunStore": "store",
    "read_latest_lines": "store",
    "read_records": "store",
    "scan_records": "store",
    "Summary": "summary",
    "summary_from_json": "summary",
    "summary_to_json": "summary",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'harness.rundir' has no attribute {name!r}")
    value = getattr(import_module(f"harness.rundir.{module}"), name)
    globals()[name] = value
    return value


__all__ = [
    "Manifest",
    "RawLine",
    "RecordScan",
    "RunDir",
    "RunStatus",
    "RunStore",
    "Summary",
    "layout",
    "read_json_object",
    "read_latest_lines",
    "read_manifest",
    "read_probe",
    "read_records",
    "read_scores",
    "scan_records",
    "summary_from_json",
    "summary_to_json",
    "write_manifest",
    "write_probe",
    "write_scores",
]
