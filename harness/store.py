"""Compatibility names for code written before harness.rundir: the run directory now lives there
(`harness.rundir.RunDir`, `harness.rundir.layout`, `harness.rundir.writer.RunStore`). New code imports
harness.rundir; this module only re-exports, so branches in flight keep working after the move.
"""

from __future__ import annotations

from harness.rundir.layout import MANIFEST, RECORDS, REPORT, SCORES, SUMMARY
from harness.rundir.lines import RecordScan, read_latest_lines, read_records, scan_records
from harness.rundir.manifest import read_manifest, write_manifest
from harness.rundir.writer import RunStore

__all__ = [
    "MANIFEST",
    "RECORDS",
    "REPORT",
    "SCORES",
    "SUMMARY",
    "RecordScan",
    "RunStore",
    "read_latest_lines",
    "read_manifest",
    "read_records",
    "scan_records",
    "write_manifest",
]
