"""The single-writer lock of a run directory: an exclusive `flock` on its `.lock` file, which also
names the holder (pid, host, process start time), so a lock left behind by a writer that died (SIGKILL,
OOM) is told from a live one and taken over. Owns the lock file only; what is written under the lock
is `harness.store`'s business.

A `flock` normally dies with its process, but not always: a descendant that inherited the descriptor
(a forked helper, a leaked child) keeps it, and some network and FUSE file systems keep locks of
killed clients for a while or do not support `flock` at all. So the lock file's owner, not the
`flock` alone, decides: a lock whose owner is gone is stale, its file is removed and a fresh one taken.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import socket
from pathlib import Path
from typing import Any

import orjson

from harness.errors import StoreError

__all__ = ["LOCK", "RunLock", "lock_owner", "owner_alive"]

LOCK = ".lock"
_BUSY = frozenset({errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES})


def _start_ticks(pid: int) -> int | None:
    """The process's start time in clock ticks since boot (Linux /proc), to tell a reused pid."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_bytes()
    except OSError:
        return None
    # The command name (field 2) may hold spaces and parentheses: fields are counted after its ")".
    fields = stat[stat.rfind(b")") + 2 :].split()
    try:
        return int(fields[19])  # field 22 of stat(5): starttime
    except (IndexError, ValueError):
        return None


def _state(pid: int) -> bytes | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_bytes()
    except OSError:
        return None
    fields = stat[stat.rfind(b")") + 2 :].split()
    return fields[0] if fields else None


def this_owner() -> dict[str, Any]:
    pid = os.getpid()
    return {"pid": pid, "host": socket.gethostname(), "start_ticks": _start_ticks(pid)}


def lock_owner(fd: int) -> dict[str, Any] | None:
    """The owner a lock file names (None when it names none: empty, or written by an older harness)."""
    try:
        raw = os.pread(fd, 4096, 0)
        owner = orjson.loads(raw) if raw.strip() else None
    except (OSError, orjson.JSONDecodeError):
        return None
    return owner if isinstance(owner, dict) and isinstance(owner.get("pid"), int) else None


def owner_alive(owner: dict[str, Any]) -> bool:
    """Whether the process a lock file names still runs. A lock from another host cannot be checked
    and counts as alive; on this host, a missing pid, a zombie or a pid now used by a process that
    started at another time (pid reuse) is dead."""
    if owner.get("host") != socket.gethostname():
        return True
    pid = int(owner["pid"])
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # someone else's process, but alive
    if _state(pid) == b"Z":
        return False
    recorded, now = owner.get("start_ticks"), _start_ticks(pid)
    return not (isinstance(recorded, int) and now is not None and now != recorded)


def _describe(owner: dict[str, Any] | None) -> str:
    if owner is None:
        return "another harness process is writing this run directory"
    return (
        f"another harness process (pid {owner['pid']} on {owner.get('host') or '?'}) is writing this run "
        "directory; wait for it to finish or stop it, then resume"
    )


class RunLock:
    """`acquire()` takes the run directory's lock (or raises StoreError naming the live holder);
    `release()` removes the file and unlocks, so a finished run leaves no stray file."""

    def __init__(self, run_dir: Path) -> None:
        self.run_dir = Path(run_dir)
        self.path = self.run_dir / LOCK
        self.fd: int | None = None
        self.took_over: dict[str, Any] | None = None  # the dead owner whose lock was taken, if any

    def acquire(self) -> None:
        # Each pass either holds a lock on the file now at the path, or removes a stale file and tries
        # the new one; a live holder ends the loop with an error.
        for _ in range(100):
            try:
                self.run_dir.mkdir(parents=True, exist_ok=True)
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            except OSError as exc:
                raise StoreError(f"{self.run_dir}: cannot create the run directory: {exc}") from exc
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                locked = True
            except OSError as exc:
                owner = lock_owner(fd)
                if exc.errno not in _BUSY:
                    locked = False  # flock unsupported here: the owner named in the file decides alone
                else:
                    if owner is None or owner_alive(owner):
                        os.close(fd)
                        raise StoreError(f"{self.run_dir}: {_describe(owner)}") from None
                    # The named writer is dead, yet its flock lives on (an inherited descriptor, a
                    # file system that keeps it): retire this file and lock a fresh one.
                    self.took_over = owner
                    self._unlink_if_same(fd)
                    os.close(fd)
                    continue
            if not self._is_current(fd):
                os.close(fd)  # the holder removed it between our open and our lock: try the new file
                continue
            owner = lock_owner(fd)
            if not locked and owner is not None and owner["pid"] != os.getpid() and owner_alive(owner):
                os.close(fd)
                raise StoreError(f"{self.run_dir}: {_describe(owner)}")
            if owner is not None and owner["pid"] != os.getpid() and not owner_alive(owner):
                self.took_over = owner
            self._write_owner(fd)
            self.fd = fd
            return
        raise StoreError(f"{self.run_dir}: could not take the lock file {LOCK} (it keeps changing)")

    def _is_current(self, fd: int) -> bool:
        try:
            current = self.path.stat()
        except FileNotFoundError:
            return False
        held = os.fstat(fd)
        return (current.st_ino, current.st_dev) == (held.st_ino, held.st_dev)

    def _unlink_if_same(self, fd: int) -> None:
        if self._is_current(fd):
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()

    @staticmethod
    def _write_owner(fd: int) -> None:
        data = orjson.dumps(this_owner())
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)
            os.pwrite(fd, data, 0)

    def release(self) -> None:
        """Remove .lock, then release it; removing it while the lock is held is what lets `acquire`
        detect a file that is no longer the lock."""
        if self.fd is None:
            return
        with contextlib.suppress(OSError):
            if self._is_current(self.fd):
                self.path.unlink()
        with contextlib.suppress(OSError):
            fcntl.flock(self.fd, fcntl.LOCK_UN)
        os.close(self.fd)
        self.fd = None
