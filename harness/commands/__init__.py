"""One module per CLI subcommand: `add_arguments(parser)` (light imports only) and `main(args) -> int`.
Also the fast exit of the commands that load the whole harness."""

from __future__ import annotations

import os
import sys


def exit_now(code: int) -> int:
    """End the process with `code` at once when it runs the `harness` command itself: everything is
    written and flushed by now, and the interpreter's teardown of aiohttp, the tokenizer and pandas
    would add ~0.15 s to the user's wait. Inside another program (tests, notebooks) or under coverage
    (which saves its data at exit) it just returns `code`."""
    from harness.report.worker import owns_process

    if not owns_process() or "coverage" in sys.modules:
        return code
    if "logging" in sys.modules:
        import logging

        logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
