"""`harness probe TARGET`: does each setting actually take effect on this service? Parses the flags,
hands them to harness.probe, prints the verdict table and where the run directory is. Only argparse is
imported at module level, so `harness --help` stays fast."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from harness.commands.run import positive_float, positive_int

DEFAULT_MAX_COST_USD = (
    0.10  # harness.probe.experiments.DEFAULT_MAX_COST_USD (not imported: --help stays light)
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "target",
        metavar="TARGET",
        help="target name under configs/targets/ or a file; 'sim' = embedded simulator",
    )
    parser.add_argument(
        "--card", metavar="CARD", help="capability card (name or file) to use instead of the target's"
    )
    parser.add_argument(
        "--max-cost",
        type=positive_float,
        default=DEFAULT_MAX_COST_USD,
        metavar="USD",
        help="refuse to start (exit 2) when the estimated cost exceeds this (default: %(default)s USD)",
    )
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="print the experiments, trials and estimated cost; send nothing",
    )
    parser.add_argument(
        "--suite",
        metavar="SUITE",
        help="the suite whose settings the exit code guards: exit 1 when a setting it sends (its settings, "
        "grid axes, system prompt, and always usage and cost) is ignored or rejected. Without it, any "
        "ignored or rejected setting exits 1.",
    )
    parser.add_argument(
        "--samples",
        type=positive_int,
        default=6,
        metavar="N",
        help="seeds per compared arm (default %(default)s; below 4 most comparisons are inconclusive)",
    )
    parser.add_argument(
        "--out", type=Path, metavar="DIR", help="run directory (default: reports/probe-TARGET-TIMESTAMP)"
    )


def print_table(result: Any, out: Any = None) -> None:
    """The verdicts as a terminal table (rich; plain columns when not a terminal)."""
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    colours = {"applied": "green", "ignored": "red", "rejected": "yellow", "inconclusive": "dim"}
    table = Table(title=f"probe of {result.prepared.target.name}", show_lines=False)
    for column in ("setting", "sent as", "what was tested", "evidence", "verdict", "statistic"):
        table.add_column(column, overflow="fold")
    for v in result.verdicts:
        table.add_row(
            escape(v.setting),
            escape(v.sent_as),
            escape(v.test),
            escape(v.evidence),
            f"[{colours[v.verdict]}]{v.verdict}[/]",
            escape(v.statistic),
        )
    console = Console(file=out or sys.stdout, width=200 if not (out or sys.stdout).isatty() else None)
    console.print(table)
    summary = ", ".join(f"{s}: {v}" for s, v in result.by_setting.items())
    console.print(f"by setting: {summary}", highlight=False)


def main(args: argparse.Namespace) -> int:
    from harness.loading import display_path
    from harness.probe import ProbeOptions, run_probe

    options = ProbeOptions(
        target=args.target,
        card=args.card,
        max_cost_usd=args.max_cost,
        dry_run=args.dry_run,
        suite=args.suite,
        out=args.out,
        samples=args.samples,
        command=tuple(sys.argv),
    )
    result = run_probe(options)
    if args.dry_run:
        print(result.message)
        return result.exit_code
    if result.verdicts:
        print_table(result)
    if result.run_dir is not None:
        print(f"run directory: {display_path(result.run_dir)}")
    if result.report_path is not None:
        print(f"report: {display_path(result.report_path)}")
    if result.message:
        print(f"harness probe: {result.message}", file=sys.stderr)
    return result.exit_code
