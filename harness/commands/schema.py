"""`harness schema`: print (or write) the JSON Schema of suite or target files, for editors."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "kind",
        nargs="?",
        choices=("suite", "target"),
        default="suite",
        help="which file kind (default: suite)",
    )
    parser.add_argument("--out", type=Path, help="write to this file instead of standard output")


def main(args: argparse.Namespace) -> int:
    import json

    from harness.config import suite_json_schema, target_json_schema

    schema = suite_json_schema() if args.kind == "suite" else target_json_schema()
    text = json.dumps(schema, indent=2, ensure_ascii=False) + "\n"
    if args.out is None:
        print(text, end="")
    else:
        args.out.write_text(text, encoding="utf-8")
        print(f"wrote {args.out}")
    return 0
