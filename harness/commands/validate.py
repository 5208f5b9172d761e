"""`harness validate`: every static check a run would do (suite, targets, key variables, capability card,
data rows, templates, grid size), without sending anything. Exit 0 or 2."""

from __future__ import annotations

import argparse

from harness.commands.run import add_suite_arguments


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_suite_arguments(parser)


def main(args: argparse.Namespace) -> int:
    from harness.commands.run import options_from
    from harness.loading import find_suite, load_suite_source
    from harness.preflight import prepare_run
    from harness.tokens import estimate_tokens

    source = load_suite_source(find_suite(args.suite), overrides=args.overrides)
    prepared = prepare_run(source, options_from(args), count_tokens=estimate_tokens)
    plan = prepared.plan
    for warning in prepared.warnings:
        print(f"warning: {warning}")
    targets = ", ".join(sorted(prepared.targets))
    print(
        f"ok: {source.file} is valid for {targets}: {plan.n_cells} cells, {plan.n_items} items, "
        f"{plan.n_trials} trials, {plan.n_requests} requests, {plan.results} results"
    )
    return 0
