"""`harness demo`: run suites/demo.yaml against the embedded simulator (no key, no network) and print the
path of its report.html."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--out", type=Path, metavar="DIR", help="run directory (default: reports/demo-TIMESTAMP)"
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar or progress lines")


def main(args: argparse.Namespace) -> int:
    import sys

    from harness.report.worker import outputs_worker, wanted

    with outputs_worker(wanted()) as worker:
        from harness.commands.run import report_result
        from harness.loading import load_suite_source
        from harness.orchestration.suite import run_suite
        from harness.paths import suites_dir
        from harness.preflight import RunOptions

        source = load_suite_source(suites_dir() / "demo.yaml")
        options = RunOptions(
            target="sim",
            out=args.out,
            progress=not args.no_progress,
            command=("harness", *sys.argv[1:]),
        )
        result = run_suite(source, options, worker=worker)
    from harness.commands import exit_now

    return exit_now(report_result(result, "demo"))
