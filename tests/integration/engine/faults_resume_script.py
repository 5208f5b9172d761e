"""Child process of the faults + SIGKILL + resume test: N trials against a faulty simulator URL.

Usage: python faults_resume_script.py RUN_DIR URL N DELIVERY BATCH_SIZE. Prints "STATUS N_DONE SKIPPED".
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from engine_helpers import make_trials, quick_run, sim_target

from harness.config import RetryConfig, TimeoutConfig
from harness.runner import run_event_loop, run_trials

# Far above a healthy response's time on a loaded 2-core machine: a response billed after the
# client gave up would be paid for but never seen, which is not what this test measures.
TIMEOUTS = TimeoutConfig(connect_s=5, first_byte_s=20, idle_s=20, total_s=60)


def attempts(delivery: str) -> int:
    """Enough attempts that no trial runs out of them under 30 % faults: a sync or stream attempt is one
    request (0.3**12 ~ 5e-7 per trial), but an async attempt is an ack and several polls, any of which
    may end the task (an error envelope or an answer in part, in a poll reply, is the task's failure):
    measured here, about half of the async attempts of a lone task fail, and 0.5**12 ~ 2e-4 per trial
    made about one run in fifteen end with a trial out of attempts. 0.5**20 ~ 1e-6 (20 is the most RetryConfig allows)."""
    return 20 if delivery == "async" else 12


def main() -> int:
    run_dir, url, n, delivery, batch = (
        Path(sys.argv[1]),
        sys.argv[2],
        int(sys.argv[3]),
        sys.argv[4],
        int(sys.argv[5]),
    )
    result = run_event_loop(
        run_trials(
            make_trials(n, max_tokens=64),
            sim_target(url, delivery=delivery, batch_size=batch, timeouts=TIMEOUTS),
            quick_run(
                concurrency=8,
                retries=RetryConfig(max_attempts=attempts(delivery), base_s=0.001, max_backoff_s=0.01),
            ),
            run_dir,
        )
    )
    print(result.status, result.n_done, result.n_skipped_resumed, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
