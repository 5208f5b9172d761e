"""`harness report RUN_DIR`: rebuild scores.jsonl, summary.json and report.html (or print a Markdown
summary) from a run directory alone. It sends no request, except the judge calls a `judge` scorer
still lacks (harness.orchestration.judge; none on a run already judged). Exit 1 when a suite threshold fails."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from harness.errors import EXIT_OK, EXIT_REGRESSION
from harness.rundir.layout import MANIFEST, RECORDS, REPORT


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "run_dir",
        metavar="RUN_DIR",
        type=Path,
        help=f"a run directory (holds {MANIFEST} and {RECORDS})",
    )
    parser.add_argument(
        "--format",
        choices=("html", "md"),
        default="html",
        help=f"html: write {REPORT} (default); md: print a terse Markdown summary (for CI job summaries)",
    )
    parser.add_argument(
        "--out",
        metavar="FILE",
        type=Path,
        help=f"write the report here instead of RUN_DIR/{REPORT} (html) or stdout (md)",
    )
    parser.add_argument(
        "--max-items",
        metavar="N",
        type=_non_negative,
        default=None,
        help="items in the drill-down (default: the suite's report.max_items)",
    )


def _non_negative(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number of items, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected 0 or more items, got {value}")
    return value


def main(args: argparse.Namespace) -> int:
    from harness.rundir import RunDir, layout, read_manifest

    if RunDir(args.run_dir).has_manifest() and "probe" in read_manifest(args.run_dir):
        # a `harness probe` run directory: its own verdicts and page, not a suite report
        from harness.errors import ConfigError
        from harness.probe.outputs import rebuild_probe

        if args.format != "html" or args.out is not None:
            raise ConfigError(
                f"a probe run directory rebuilds its own {layout.REPORT} only", field="--format/--out"
            )
        probe = rebuild_probe(args.run_dir)
        print(probe.report_path)
        return probe.exit_code
    from harness.orchestration.judge import run_judge_stage, suite_judges
    from harness.report import build_outputs, render_markdown
    from harness.report.worker import figure_jobs, owns_process

    html = args.format == "html"
    # The judge's missing calls first (none on a judged run: then nothing is started or sent).
    run_judge_stage(args.run_dir, suite_judges(args.run_dir))
    outputs = build_outputs(
        args.run_dir,
        max_items=args.max_items,
        html=html,
        report_path=args.out if html else None,
        jobs=figure_jobs() if owns_process() else 1,  # no fork of a host program (tests)
    )
    if html:
        print(outputs.report_path)
    else:
        from harness.rundir import RunDir

        text = render_markdown(outputs.summary, manifest=RunDir(args.run_dir).manifest().to_dict())
        if args.out is not None:
            args.out.write_text(text, encoding="utf-8")
            print(args.out)
        else:
            sys.stdout.write(text)
    failed = [r for r in outputs.threshold_results if not r.passed]
    for result in failed:
        print(f"threshold failed: {result.message}", file=sys.stderr)
    return EXIT_REGRESSION if failed else EXIT_OK
