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
from harness.rundir.layout import MANIFEST

if TYPE_CHECKING:
    from harness.config import ScorerConfig, ThresholdConfig
    from harness.gate import ThresholdResult
    from harness.report.markdown import render_markdown
    from harness.scoring.apply import ScoresAhead


def __getattr__(name: str) -> Any:
    # `harness run` imports harness.report.worker, hence this package, in the process that sends:
    # the Markdown summary's modules (cells, formatting, hashlib: ~20 ms) load only where it is written.
    if name == "render_markdown":
        from harness.report.markdown import render_markdown

        return render_markdown
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["Outputs", "build_outputs", "render_markdown", "render_report", "write_summary"]


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
        raise ConfigError("expected a list", file=MANIFEST, field=f"suite.{key}")
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
                file=MANIFEST,
                field=f"suite.{key}[{index}]" + (f".{where}" if where else ""),
            ) from exc
    return out


def manifest_scorers(manifest: Mapping[str, Any]) -> list[ScorerConfig]:
    """The scorers of the suite a manifest records: what build_outputs applies by default."""
    from harness.config import ScorerConfig

    scorers: list[ScorerConfig] = _suite_list(manifest, "scorers", ScorerConfig)
    return scorers


def write_summary(run_dir: Path, summary: Mapping[str, Any]) -> Path:
    """Write summary.json (the JSON object of a Summary) deterministically and atomically; a StoreError
    when it does not fit the Summary schema (harness.rundir.summary)."""
    from harness.rundir import RunDir, summary_from_json

    run = RunDir(run_dir)
    return run.write_summary(summary_from_json(dict(summary), where=str(run.summary_path)))


def build_outputs(
    run_dir: Path | str,
    *,
    scorers: Sequence[ScorerConfig] | None = None,
    comparison: Mapping[str, Any] | None = None,
    max_items: int | None = None,
    html: bool = True,
    report_path: Path | None = None,
    jobs: int = 1,
    ahead: ScoresAhead | None = None,
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
        ahead: scores already computed for some records lines (by the same scorers); the rest are
            scored now. The written files are the same with or without it.
    """
    from harness.config import ThresholdConfig
    from harness.gate import evaluate_thresholds
    from harness.rundir import RunDir, layout, summary_from_json
    from harness.rundir.store import read_latest_lines, records_from_lines
    from harness.scoring import read_scores, score_records, write_scores
    from harness.stats import summarize

    run_dir = Path(run_dir)
    run = RunDir(run_dir)
    if not run_dir.is_dir():
        raise StoreError(
            f"{run_dir}: not a directory; pass a run directory (it holds {layout.MANIFEST} and {layout.RECORDS})"
        )
    manifest = run.manifest().to_dict()
    if scorers is None:
        scorers = manifest_scorers(manifest)
    thresholds: list[ThresholdConfig] = _suite_list(manifest, "thresholds", ThresholdConfig)
    lines, _ = read_latest_lines(run_dir)  # a StoreError when there is no records file
    records = records_from_lines(run_dir / layout.RECORDS, lines)
    if scorers:
        known = [ahead.get(line) for line, _ in lines] if ahead and ahead.scorers == list(scorers) else None
        scores = score_records(records, scorers, run_dir=run_dir, known=known)
        write_scores(run_dir, scores)
    else:
        scores = read_scores(run_dir)
    summary = summarize(records, scores, manifest=manifest)
    judge = _judge_spend(run_dir)
    if judge is not None:
        summary["judge"] = judge
    summary["power"] = _power(run_dir, summary, scores, manifest)
    results = evaluate_thresholds(summary_from_json(summary, where=str(run.summary_path)), thresholds)
    summary["thresholds"] = [r.to_dict() for r in results]
    run.write_summary(summary_from_json(summary, where=str(run.summary_path)))
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
    from harness.rundir import RunDir
    from harness.scoring.judge import judge_usage

    if not RunDir(run_dir).judge().has_records():
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
    from harness.rundir import RunDir

    return RunDir(run_dir).write_report(page, out=out)
