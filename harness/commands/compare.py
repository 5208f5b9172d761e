"""`harness compare RUN_DIR --baseline BASE`: the CI regression gate. Parses arguments, calls
harness.compare, writes the requested outputs and returns the gate's exit code; no statistics here.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from harness.rundir.layout import REPORT, SUMMARY


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "run_dir", metavar="RUN_DIR", type=Path, help="the run directory to judge (the current run)"
    )
    parser.add_argument(
        "--baseline",
        metavar="BASE",
        type=Path,
        required=True,
        help=f"baseline run directory (paired tests), or a committed {SUMMARY} (unpaired tests only)",
    )
    parser.add_argument(
        "--junit", metavar="FILE", type=Path, help="write JUnit XML: one testcase per cell x metric"
    )
    parser.add_argument(
        "--markdown",
        metavar="FILE",
        type=Path,
        help='append a Markdown summary (e.g. "$GITHUB_STEP_SUMMARY" or a PR comment body)',
    )
    parser.add_argument(
        "--benchmark-json",
        metavar="FILE",
        type=Path,
        help="write the run's p50/p95 latencies in pytest-benchmark JSON (for github-action-benchmark)",
    )
    parser.add_argument(
        "--no-report",
        action="store_true",
        help=f"do not add the comparison section to RUN_DIR/{REPORT} (e.g. a read-only run directory)",
    )


def main(args: argparse.Namespace) -> int:
    from rich.console import Console

    from harness.compare import IncompatibleRunsError, compare_sides, load_current, load_side
    from harness.compare.benchjson import write_benchmark_json
    from harness.compare.junit import write_junit, write_junit_error
    from harness.compare.markdown import write_markdown, write_markdown_error
    from harness.compare.table import print_comparison

    current = load_current(args.run_dir)
    try:
        comparison = compare_sides(load_side(args.baseline, role="baseline"), current)
    except IncompatibleRunsError as exc:
        # CI still gets a readable artefact saying why nothing was compared.
        if args.junit:
            write_junit_error(str(exc), args.junit)
        if args.markdown:
            write_markdown_error(str(exc), args.markdown)
        raise
    # CI logs are not terminals: rich would wrap the table at 80 columns there.
    print_comparison(comparison, Console(highlight=False, width=None if sys.stdout.isatty() else 160))
    if args.junit:
        write_junit(comparison, args.junit)
    if args.markdown:
        write_markdown(comparison, args.markdown)
    if args.benchmark_json:
        write_benchmark_json(current, args.benchmark_json)
    if not args.no_report:
        from harness.report import build_outputs

        outputs = build_outputs(args.run_dir, comparison=comparison.to_dict())
        print(f"report: {outputs.report_path}")
    return comparison.exit_code
