"""The run directory's lock: a live writer blocks, a writer killed with SIGKILL does not, even when its
flock outlives it (a descendant inherited the descriptor), and a reused pid is not mistaken for it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import orjson
import pytest

from harness.errors import StoreError
from harness.runlock import RunLock, owner_alive, this_owner
from harness.store import RunStore

# A writer that takes the lock, forks a helper which inherits the lock's descriptor (as a forked
# report worker or any leaked child would), reports both pids and waits to be killed.
_WRITER = textwrap.dedent(
    """
    import os, sys, time
    from harness.store import RunStore
    store = RunStore(sys.argv[1])
    store.open()
    helper = os.fork()
    if helper == 0:
        time.sleep(120)
        os._exit(0)
    print(os.getpid(), helper, flush=True)
    time.sleep(120)
    """
)


def start_writer(run_dir: Path) -> tuple[subprocess.Popen[bytes], int]:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    proc = subprocess.Popen([sys.executable, "-c", _WRITER, str(run_dir)], stdout=subprocess.PIPE, env=env)
    assert proc.stdout is not None
    line = proc.stdout.readline().split()
    assert len(line) == 2, "the writer did not start"
    return proc, int(line[1])


def test_a_lock_whose_writer_was_sigkilled_is_taken_over(tmp_path: Path) -> None:
    proc, helper = start_writer(tmp_path)
    try:
        with pytest.raises(StoreError, match=rf"pid {proc.pid} on"):
            RunStore(tmp_path).open()  # alive: refused, naming the holder
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        store = RunStore(tmp_path)
        store.open()  # the helper still holds the old flock; the dead writer's lock is stale
        assert store._lock.took_over is not None
        assert store._lock.took_over["pid"] == proc.pid
        owner = orjson.loads((tmp_path / ".lock").read_bytes())
        assert owner["pid"] == os.getpid()
        with pytest.raises(StoreError, match=rf"pid {os.getpid()} on"):
            RunStore(tmp_path).open()  # and the new holder is a live writer in turn
        store.close_now()
        assert not (tmp_path / ".lock").exists()
    finally:
        os.kill(helper, signal.SIGKILL)
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        assert proc.stdout is not None
        proc.stdout.close()


def test_a_live_writer_in_this_process_blocks(tmp_path: Path) -> None:
    first = RunLock(tmp_path)
    first.acquire()
    with pytest.raises(StoreError, match="is writing this run directory"):
        RunLock(tmp_path).acquire()
    first.release()


def test_owner_liveness() -> None:
    me = this_owner()
    assert owner_alive(me)
    assert not owner_alive({**me, "start_ticks": (me["start_ticks"] or 0) + 1})  # pid reused
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True)
    assert not owner_alive({"pid": int(dead.stdout), "host": socket.gethostname()})
    assert owner_alive({"pid": 1, "host": "some-other-host"})  # cannot be checked: counts as alive


def test_a_stale_file_naming_a_dead_pid_without_flock_is_reused(tmp_path: Path) -> None:
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True)
    stale = {"pid": int(dead.stdout), "host": socket.gethostname(), "start_ticks": None}
    (tmp_path / ".lock").write_bytes(orjson.dumps(stale))
    lock = RunLock(tmp_path)
    lock.acquire()
    assert lock.took_over == stale
    lock.release()
