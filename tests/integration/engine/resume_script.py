"""Child process of the kill/resume tests: run N trials against a simulator URL into RUN_DIR.

Usage: python resume_script.py RUN_DIR URL N. Exits 130 on SIGINT (after the engine wrote what it had).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from engine_helpers import make_trials, quick_run, sim_target

from harness.runner import run_event_loop, run_trials


def main() -> int:
    run_dir, url, n = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    try:
        result = run_event_loop(
            run_trials(
                make_trials(n, max_tokens=64),
                sim_target(url, delivery="stream"),
                quick_run(concurrency=8),
                run_dir,
            )
        )
    except KeyboardInterrupt:
        return 130
    print(result.status, result.n_done, result.n_skipped_resumed, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
