"""Writing lines to a file descriptor: one `os.write` per record, under a lock.

`os.write` hands the bytes to the kernel before the logging call returns (no Python buffer,
so no dependence on PYTHONUNBUFFERED, nothing lost on SIGKILL). A write of more than PIPE_BUF
bytes to a pipe is not atomic, and two threads writing at once could interleave pieces of two
lines; on pipes, sockets and terminals a lock (about 0.15 µs) keeps each line whole. A short write (a pipe that
was nearly full, a signal) is completed with further writes.
"""

from __future__ import annotations

import os
import threading
import weakref
from typing import Any

_sinks: weakref.WeakSet[FdSink] = weakref.WeakSet()


def _after_fork() -> None:
    # a lock held by another thread at fork time would stay locked forever in the child
    # (the same lock object, reset in place: compiled loggers hold its bound methods)
    for sink in list(_sinks):
        reinit = getattr(sink._lock, "_at_fork_reinit", None)
        if reinit is not None:
            reinit()
        else:
            sink._lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork)


def needs_lock(fd: int) -> bool:
    """Whether concurrent writes to `fd` can interleave inside a line.

    Pipes, FIFOs, sockets and terminals (Docker's stdout is a pipe, or a pty with -t) split
    writes over PIPE_BUF (4 KiB), so lines are written under a lock. A regular file (the
    kernel serialises writes and file positions per file) or /dev/null needs none. When in
    doubt (fstat fails), lock."""
    import stat

    try:
        mode = os.fstat(fd).st_mode
    except OSError:
        return True
    if stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode):
        return True
    if stat.S_ISCHR(mode):
        return os.isatty(fd)
    return not stat.S_ISREG(mode)


class FdSink:
    """Lines to an already-open file descriptor (not closed by `close` unless `owns_fd`)."""

    def __init__(self, fd: int, *, owns_fd: bool = False) -> None:
        self.fd = fd
        self.owns_fd = owns_fd
        self._lock = threading.Lock()
        self.locked = needs_lock(fd)
        self._closed = False
        _sinks.add(self)

    def emit(self, line: bytes, record: dict[str, Any] | None = None) -> None:
        if not self.locked:
            n = os.write(self.fd, line)
            if n != len(line):
                self.finish_locked(line, n)
            return
        with self._lock:
            n = os.write(self.fd, line)
            if n != len(line):
                self.finish(line, n)

    def finish_locked(self, line: bytes, n: int) -> None:
        with self._lock:
            self.finish(line, n)

    def finish(self, line: bytes, n: int) -> None:
        """Complete a short write (the caller holds the lock)."""
        view = memoryview(line)
        while n < len(line):
            n += os.write(self.fd, view[n:])

    def flush(self) -> None:
        pass

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            if self.owns_fd:
                os.close(self.fd)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(fd={self.fd})"
