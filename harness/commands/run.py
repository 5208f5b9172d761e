"""`harness run`: parse the flags of a run, hand them to harness.suite_run, print where the results are.
Only argparse is imported at module level, so `harness --help` stays fast."""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path
from typing import Any


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not (value > 0 and math.isfinite(value)):  # nan and inf parse as floats
        raise argparse.ArgumentTypeError(f"expected a positive finite number, got {text!r}")
    return value


def add_suite_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments shared by `run` and `validate`."""
    parser.add_argument("suite", metavar="SUITE", help="suite file, or a name under suites/")
    parser.add_argument(
        "--target",
        "-t",
        metavar="T",
        help="target name under configs/targets/ or a file; 'sim' = embedded simulator",
    )
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="PATH=VALUE",
        help="override a suite field by dotted path, value parsed as YAML (e.g. grid.temperature=[0,0.6])",
    )
    parser.add_argument("--limit", type=positive_int, metavar="N", help="evaluate at most N items")
    parser.add_argument(
        "--yes", "-y", action="store_true", help="accept a plan larger than the suite's max_trials"
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_suite_arguments(parser)
    parser.add_argument(
        "--out", type=Path, metavar="DIR", help="run directory (default: reports/SUITE-TIMESTAMP)"
    )
    parser.add_argument(
        "--concurrency", type=positive_int, metavar="N", help="requests in flight (closed loop)"
    )
    parser.add_argument(
        "--rate", type=positive_float, metavar="RPS", help="open-loop arrival rate, requests/s"
    )
    parser.add_argument(
        "--max-cost",
        type=positive_float,
        metavar="USD",
        help="stop before spending more than this; until trials finish, each one in flight reserves "
        "its prompt plus maxTokens completion tokens at the price table's rate, so a budget below "
        "that sends nothing (lower maxTokens or raise the budget)",
    )
    parser.add_argument("--resume", type=Path, metavar="DIR", help="continue an interrupted run in DIR")
    parser.add_argument(
        "--dry-run", action="store_true", help="print the plan and its estimated cost; send nothing"
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar or progress lines")


def options_from(args: argparse.Namespace, **extra: Any) -> Any:
    from harness.preflight import RunOptions

    return RunOptions(
        target=args.target,
        out=getattr(args, "out", None),
        concurrency=getattr(args, "concurrency", None),
        rate_rps=getattr(args, "rate", None),
        max_cost_usd=getattr(args, "max_cost", None),
        limit=args.limit,
        resume=getattr(args, "resume", None),
        dry_run=getattr(args, "dry_run", False),
        yes=args.yes,
        progress=not getattr(args, "no_progress", False),
        command=tuple(["harness", *sys.argv[1:]]),
        **extra,
    )


def report_result(result: Any, command: str) -> int:
    """Print the outcome of a run: paths on stdout, problems and the resume command on stderr."""
    from harness.suite_run import summarize_result

    for line in summarize_result(result):
        print(line)
    if result.message:
        print(f"harness {command}: {result.message}", file=sys.stderr)
    if result.resume_command:
        print(f"resume with: {result.resume_command}", file=sys.stderr)
    code: int = result.exit_code
    return code


def main(args: argparse.Namespace) -> int:
    from harness.report.worker import outputs_worker, wanted

    # Started first, so its imports (pandas, matplotlib: ~1 s) overlap validation and sending.
    with outputs_worker(not args.dry_run and wanted()) as worker:
        from harness.loading import find_suite, load_suite_source
        from harness.suite_run import run_suite

        source = load_suite_source(find_suite(args.suite), overrides=args.overrides)
        result = run_suite(source, options_from(args), worker=worker)
    from harness.commands import exit_now

    return exit_now(report_result(result, "run"))
