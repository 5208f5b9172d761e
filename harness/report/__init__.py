"""Derived outputs of a run directory: re-scored scores.jsonl, summary.json with threshold verdicts,
report.html, and a terse Markdown summary. Reads only the run directory and sends no request.

Importing this package is cheap: pandas, matplotlib and jinja2 load inside the functions that draw
and render, so `harness --help` stays fast.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.errors import ConfigError, StoreError
from harness.report.markdown import render_markdown

if TYPE_CHECKING:
    from harness.config import ScorerConfig, ThresholdConfig
    from harness.gate import ThresholdResult

__all__ = ["Outputs", "build_outputs", "render_markdown", "render_report", "write_summary"]

REPORT_FILE = "report.html"
SUMMARY_FILE = "summary.json"


@dataclass(slots=True, frozen=True)
class Outputs:
    """What `build_outputs` wrote: the summary (thresholds included), their verdicts, the page."""

    summary: dict[str, Any]
    threshold_results: list[ThresholdResult]
    report_path: Path | None


def _suite_list(manifest: Mapping[str, Any], key: str, model: type[Any]) -> list[Any]:
    """`manifest.json` suite.<key> validated as a list of `model`, or ConfigError naming the entry."""
    suite = manifest.get("suite")
    if not isinstance(suite, Mapping):
        return []
    entries = suite.get(key) or []
    if not isinstance(entries, list):
        raise ConfigError("expected a list", file="manifest.json", field=f"suite.{key}")
    from pydantic import ValidationError

    out = []
    for index, entry in enumerate(entries):
        try:
            out.append(model.model_validate(entry))
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first.get("loc", ()))
            raise ConfigError(
                f"{first.get('msg', 'invalid')}",
                file="manifest.json",
                field=f"suite.{key}[{index}]" + (f".{where}" if where else ""),
            ) from exc
    return out


def write_summary(run_dir: Path, summary: Mapping[str, Any]) -> Path:
    """Write summary.json deterministically (sorted keys, two-space indent) and atomically."""
    import orjson

    path = run_dir / SUMMARY_FILE
    tmp = run_dir / f".{SUMMARY_FILE}.tmp"
    data = orjson.dumps(
        summary, option=orjson.OPT_SORT_KEYS | orjson.OPT_INDENT_2 | orjson.OPT_SERIALIZE_NUMPY
    )
    try:
        tmp.write_bytes(data + b"\n")
        tmp.replace(path)
    except OSError as exc:
        raise StoreError(f"{path}: cannot write the summary ({exc})") from exc
    return path


def build_outputs(
    run_dir: Path | str,
    *,
    scorers: Sequence[ScorerConfig] | None = None,
    comparison: Mapping[str, Any] | None = None,
    max_items: int | None = None,
    html: bool = True,
    report_path: Path | None = None,
    jobs: int = 1,
) -> Outputs:
    """Re-score, summarise, check thresholds, and write scores.jsonl, summary.json and report.html.

    Args:
        scorers: scorers to apply; by default the manifest's suite's (a run without a suite keeps
            the scores.jsonl it has).
        comparison: `Comparison.to_dict()` of `harness compare`, shown as a section when given.
        max_items: cap of the items drill-down; by default the suite's `report.max_items`.
        html: False to skip report.html (summary.json and scores.jsonl are still rewritten).
        report_path: where to write the page instead of RUN_DIR/report.html.
        jobs: 2 to draw half of the figures in a forked process (harness.report.parallel).
    """
    from harness.config import ScorerConfig, ThresholdConfig
    from harness.gate import evaluate_thresholds
    from harness.scoring import read_scores, score_records, write_scores
    from harness.stats import summarize
    from harness.stats.run import read_json
    from harness.store import read_records

    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise StoreError(
            f"{run_dir}: not a directory; pass a run directory (it holds manifest.json and records.jsonl)"
        )
    manifest = read_json(run_dir / "manifest.json")
    if scorers is None:
        scorers = _suite_list(manifest, "scorers", ScorerConfig)
    thresholds: list[ThresholdConfig] = _suite_list(manifest, "thresholds", ThresholdConfig)
    records = read_records(run_dir)
    if scorers:
        scores = score_records(records, scorers, run_dir=run_dir)
        write_scores(run_dir, scores)
    else:
        scores = read_scores(run_dir)
    summary = summarize(records, scores, manifest=manifest)
    judge = _judge_spend(run_dir)
    if judge is not None:
        summary["judge"] = judge
    summary["power"] = _power(run_dir, summary, scores, manifest)
    results = evaluate_thresholds(summary, thresholds)
    summary["thresholds"] = [r.to_dict() for r in results]
    write_summary(run_dir, summary)
    path = (
        render_report(
            run_dir,
            summary=summary,
            comparison=comparison,
            max_items=max_items,
            out=report_path,
            jobs=jobs,
        )
        if html
        else None
    )
    return Outputs(summary=summary, threshold_results=results, report_path=path)


def _power(
    run_dir: Path, summary: Mapping[str, Any], scores: Sequence[Any], manifest: Mapping[str, Any]
) -> dict[str, Any]:
    """summary.json's `power` block (harness.power), with the race's log when the run raced."""
    from harness.power import power_section
    from harness.racing import read_log

    raced = (manifest.get("run") or {}).get("strategy") == "racing"
    return power_section(summary, scores, manifest, read_log(run_dir) if raced else None)


def _judge_spend(run_dir: Path) -> dict[str, Any] | None:
    """Tokens and cost of the judge's calls (RUN_DIR/judge/), kept apart from the model under test's;
    None when no judge ran."""
    from harness.scoring.judge import JUDGE_DIR, judge_usage

    if not (run_dir / JUDGE_DIR / "records.jsonl").exists():
        return None
    usage = judge_usage(run_dir)
    return {
        "trials": usage["calls"],
        "errors": usage["errors"],
        "prompt_tokens": usage["prompt_tokens"],
        "completion_tokens": usage["completion_tokens"],
        "thinking_tokens": usage["thinking_tokens"],
        "cost_usd": round(float(usage["cost_usd"]), 10),
    }


def render_report(
    run_dir: Path | str,
    *,
    summary: dict[str, Any] | None = None,
    comparison: Mapping[str, Any] | None = None,
    max_items: int | None = None,
    out: Path | None = None,
    jobs: int = 1,
) -> Path:
    """Write report.html from the run directory as it is (summary.json unless `summary` is given)."""
    from harness.report.render import build_context, render_html
    from harness.report.rundata import load_run_files

    run_dir = Path(run_dir)
    files = load_run_files(run_dir, summary=summary)
    page = render_html(build_context(files, comparison=comparison, max_items=max_items, jobs=jobs))
    path = out if out is not None else run_dir / REPORT_FILE
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        tmp.write_text(page, encoding="utf-8")
        tmp.replace(path)
    except OSError as exc:
        raise StoreError(f"{path}: cannot write the report ({exc})") from exc
    return path
