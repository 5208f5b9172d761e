"""Draws two groups of report sections at once: the second group in a forked copy of this process
(matplotlib is CPU-bound and holds the GIL, so threads would not help), the first here. Owns only
the fork, the pipe and the fallback: whatever goes wrong in the copy is redone in this process, where
its error surfaces as usual. Without os.fork (Windows) both groups run here, one after the other.
"""

from __future__ import annotations

import os
import pickle
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

T = TypeVar("T")


def _serial(first: Sequence[Callable[[], T]], second: Sequence[Callable[[], T]]) -> list[T]:
    return [build() for build in (*first, *second)]


def run_split(
    first: Sequence[Callable[[], T]], second: Sequence[Callable[[], T]], *, jobs: int = 2
) -> list[T]:
    """The results of `first` then `second`, in that order; with jobs > 1, `second` is built in a
    forked child meanwhile. Results must pickle; the same values come back as when built here."""
    if jobs < 2 or not second or not hasattr(os, "fork"):
        return _serial(first, second)
    read_fd, write_fd = os.pipe()
    try:
        pid = os.fork()
    except OSError:
        os.close(read_fd)
        os.close(write_fd)
        return _serial(first, second)
    if pid == 0:  # the copy: build, send, and leave without running this process's exit handlers
        os.close(read_fd)
        code = 0
        try:
            data = pickle.dumps([build() for build in second], protocol=pickle.HIGHEST_PROTOCOL)
        except BaseException:
            data, code = b"", 1
        try:
            with os.fdopen(write_fd, "wb") as pipe:
                pipe.write(data)
        except BaseException:
            code = 1
        finally:
            os._exit(code)
    os.close(write_fd)
    try:
        results = [build() for build in first]
    finally:
        with os.fdopen(read_fd, "rb") as pipe:
            data = pipe.read()  # the child writes once, then exits: EOF comes with its exit
        _, status = os.waitpid(pid, 0)
    rest: list[Any] | None = None
    if os.waitstatus_to_exitcode(status) == 0 and data:
        try:
            rest = pickle.loads(data)
        except Exception:
            rest = None
    if rest is None:
        rest = [build() for build in second]
    return results + rest
