"""The run directory, the contract between spending money and understanding results: its file names
(`layout`, the only module that knows them), the typed `Manifest` and `Summary`, the records reader
(`lines`), the single writer and its lock (`writer.RunStore`), and `RunDir`, the object every reader
and writer of derived files goes through. Nothing here sends a request or computes a statistic.
"""

from __future__ import annotations

from harness.rundir import layout
from harness.rundir.manifest import Manifest, RunStatus, read_manifest, write_manifest
from harness.rundir.run_dir import RunDir, read_json_object, read_scores, write_scores
from harness.rundir.store import RawLine, RecordScan, RunStore, read_latest_lines, read_records, scan_records
from harness.rundir.summary import Summary, summary_from_json, summary_to_json

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
    "read_records",
    "read_scores",
    "scan_records",
    "summary_from_json",
    "summary_to_json",
    "write_manifest",
    "write_scores",
]
