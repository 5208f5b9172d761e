"""The `harness` command: parse arguments, call one command module, map errors to exit codes.

No logic lives here. Each subcommand is a module under harness/commands/ with `add_arguments(parser)`
(argparse only, so `harness --help` stays fast) and `main(args) -> int`, imported when it is picked.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from harness.errors import EXIT_INTERRUPTED, EXIT_USAGE, HarnessError
from harness.rundir.layout import REPORT, SUMMARY

COMMANDS: dict[str, str] = {
    "demo": "Run suites/demo.yaml against the embedded simulator and write an HTML report.",
    "run": "Run a suite against a target and write a run directory.",
    "validate": "Check a suite, its target, data and prompts without sending anything.",
    "report": f"Rebuild scores, {SUMMARY} and {REPORT} from a run directory.",
    "compare": "The CI gate: compare a run against a baseline run.",
    "simulator": "Serve the Runware/OpenAI-compatible simulator in the foreground.",
    "probe": "Check whether a target honours each setting (applied, ignored, rejected, inconclusive).",
    "schema": "Print the JSON Schema of suite or target files.",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="harness",
        description="Evaluate and benchmark LLM inference APIs: quality, latency and cost across settings sweeps.",
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks and debug logs")
    parser.add_argument("--version", action="store_true", help="print the harness version and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, help_text in COMMANDS.items():
        module = importlib.import_module(f"harness.commands.{name}")
        cmd = sub.add_parser(name, help=help_text, description=help_text)
        module.add_arguments(cmd)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.version:
        from harness import __version__

        print(__version__)
        return 0
    if not args.command:
        parser.print_help()
        return EXIT_USAGE
    module = importlib.import_module(f"harness.commands.{args.command}")
    try:
        code: int = module.main(args)
        return code
    except HarnessError as exc:
        if args.debug:
            raise
        print(f"harness {args.command}: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("harness: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


def entrypoint() -> None:
    sys.exit(main())
