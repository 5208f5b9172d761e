"""The names of a run directory's files, and nothing else: the one module that knows them. Every other
module asks `harness.rundir.RunDir` (or these constants) for a path, so a layout change is one edit.

    RUN_DIR/
      manifest.json    what ran: suite, targets, plan, options, status (harness.rundir.manifest)
      records.jsonl    one Record per line, append-only (harness.rundir.store)
      scores.jsonl     one Score per line, derived, rewritten atomically
      summary.json     the typed Summary (harness.rundir.summary), derived
      report.html      derived
      submitted.jsonl  async delivery: each task's taskUUID before it is submitted; any delivery: the bill
                       of each failed, billed task that is sent again (harness.runner.journal)
      racing.json      run.strategy: racing: every look's decisions, replayed on resume (harness.racing)
      probe.json       a `harness probe` run directory: the verdict of each setting (harness.probe)
      records.parquet, scores.parquet   notebook exports (harness.stats.notebook), derived
      judge/           the judge's own run directory (same layout), written by the judge stage
      .lock            held while a process writes records.jsonl
"""

from __future__ import annotations

__all__ = [
    "JUDGE",
    "LOCK",
    "MANIFEST",
    "PROBE",
    "RACING",
    "RECORDS",
    "RECORDS_PARQUET",
    "REPORT",
    "SCORES",
    "SCORES_PARQUET",
    "SUBMITTED",
    "SUMMARY",
    "temp_name",
]

MANIFEST = "manifest.json"
RECORDS = "records.jsonl"
SCORES = "scores.jsonl"
SUMMARY = "summary.json"
REPORT = "report.html"
RECORDS_PARQUET = "records.parquet"
SCORES_PARQUET = "scores.parquet"
SUBMITTED = "submitted.jsonl"
RACING = "racing.json"
PROBE = "probe.json"
JUDGE = "judge"
LOCK = ".lock"


def temp_name(name: str) -> str:
    """The hidden sibling a derived file is written to before it is renamed into place."""
    return f".{name}.tmp"
