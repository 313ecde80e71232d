"""Writing lines to a file descriptor: whole lines, from threads, signal handlers and processes.

`os.write` hands the bytes to the kernel before the logging call returns (no Python buffer
between records, so no dependence on PYTHONUNBUFFERED, nothing lost on SIGKILL). What can go
wrong, and what this module does about it:

- **Threads.** A write of more than PIPE_BUF (4 KiB) bytes to a pipe is not atomic: another
  writer's bytes can land inside it. On pipes, sockets and terminals every line is written
  under a lock (a regular file or /dev/null needs none: the kernel serialises those writes).
- **Signal handlers.** A handler runs on the main thread between two bytecodes, possibly in the
  middle of a write the main thread is making. If it logs, it must neither wait for the lock its
  own thread holds (a deadlock for good) nor write into the middle of a half-written line. So
  the lock is reentrant and a write that finds its own thread already writing hands its line
  over (`_pending`): the outer write sends it right after its own line. A handler that raises
  (`sys.exit()` in a SIGTERM handler) cannot cut a line in half either: the line goes through a
  `BufferedWriter`, whose C code keeps exact count of what the kernel took, and the rest of the
  line (and the handed-over lines) is sent before the exception goes on.
- **Processes.** Prefork servers (gunicorn, uwsgi, multiprocessing) share one stdout pipe. A
  line over PIPE_BUF from one process can be split by any other process's write, even a short
  one, so when the pipe is shared *every* line is written under a POSIX record lock on the
  pipe (`fcntl.lockf`, released by the kernel if the process dies). It costs about 1 µs per
  line, so it is taken only when the pipe is shared: this process has forked or was forked
  (`os.register_at_fork`), or its parent holds the same pipe (a gunicorn worker, a
  multiprocessing child, `sh -c 'a & b'`), or the sink was made with `shared=True`. Where every
  line is at most PIPE_BUF bytes (`max_line_bytes <= 4096`), every write is atomic and no lock
  is taken at all (the logger then writes inline, see `atomic_up_to`).
- **A short write** (a pipe that was nearly full, a signal) is completed with further writes.
"""

from __future__ import annotations

import atexit
import collections
import errno
import io
import os
import stat
import threading
import weakref
from typing import Any

# POSIX guarantees atomic pipe writes up to PIPE_BUF bytes (Linux: 4096).
try:
    import select

    PIPE_BUF: int = select.PIPE_BUF
except (ImportError, AttributeError):  # pragma: no cover - not POSIX
    PIPE_BUF = 512

# A line goes through a BufferedWriter of this size: the C code then keeps exact count of a
# partial write (see the module docstring). Longer lines go through it in pieces.
_BUFFER = 1 << 20

_sinks: weakref.WeakSet[FdSink] = weakref.WeakSet()
# Set in a process that forked and in every child: its stream sinks are shared from then on.
_forked = False


def _before_fork() -> None:
    global _forked
    _forked = True
    for sink in list(_sinks):
        sink.shared = sink.shared or sink.kind == "pipe"


def _after_fork_in_child() -> None:
    # A lock held by another thread at fork time would stay locked forever in the child
    # (the same lock object, reset in place: compiled loggers hold its bound methods).
    for sink in list(_sinks):
        reinit = getattr(sink._lock, "_at_fork_reinit", None)
        if reinit is not None:
            reinit()
        else:
            sink._lock = threading.RLock()
        sink._busy = False
        sink._pending.clear()
        sink._drop_buffer()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(before=_before_fork, after_in_child=_after_fork_in_child)

try:
    import fcntl

    _lockf: Any = fcntl.lockf
    _LOCK_EX, _LOCK_UN = fcntl.LOCK_EX, fcntl.LOCK_UN
except ImportError:  # pragma: no cover - not POSIX: no process lock (and no fork)
    _lockf, _LOCK_EX, _LOCK_UN = (lambda fd, op: None), 0, 0


def fd_kind(fd: int) -> str:
    """"file" (a regular file, /dev/null: writes never interleave), "pipe" (a pipe, FIFO or
    socket: writes over PIPE_BUF can interleave, with threads and with other processes),
    "tty" (a terminal: the kernel serialises each write, but a signal can cut one short), or
    "unknown" (fstat failed: treated like a pipe, except that no process lock is taken)."""
    try:
        mode = os.fstat(fd).st_mode
    except OSError:
        return "unknown"
    if stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode):
        return "pipe"
    if stat.S_ISCHR(mode):
        return "tty" if os.isatty(fd) else "file"
    return "file" if stat.S_ISREG(mode) else "unknown"


def parent_holds(fd: int) -> bool:
    """Whether the parent process has the file `fd` refers to open too (Linux /proc).

    True when it cannot be told (no /proc, no permission): a lock too many costs a
    microsecond, a lock too few tears lines. A parent outside the process's namespace
    (PID 1 in a container: getppid() is 0) or init holds nothing of ours."""
    ppid = os.getppid()
    if ppid <= 1:
        return False
    try:
        me = os.fstat(fd)
        names = os.listdir(f"/proc/{ppid}/fd")
    except FileNotFoundError:
        return not os.path.isdir("/proc/self/fd")  # no /proc at all: cannot tell
    except OSError:
        return True
    for name in names[:4096]:
        try:
            st = os.stat(f"/proc/{ppid}/fd/{name}")
        except OSError:
            continue
        if st.st_ino == me.st_ino and st.st_dev == me.st_dev:
            return True
    return False


def _depth(lock: Any) -> int:
    """How many times the calling thread holds the reentrant `lock` (its repr says:
    "<locked _thread.RLock object owner=... count=2 at ...>"; asked only when a write finds
    the busy flag set, to tell a nested write from a flag that an exception left behind)."""
    text = repr(lock)
    i = text.find(" count=")
    if i < 0:
        return 2  # cannot tell: take it as nested
    return int(text[i + 7:text.index(" ", i + 7)])


def _write_pending_at_exit() -> None:
    for sink in list(_sinks):
        if sink._pending and not sink._closed:
            try:
                sink.write_line(None)
            except Exception:  # noqa: BLE001, S110 - at exit there is no one left to tell
                pass


atexit.register(_write_pending_at_exit)


def _write_buffered(buf: io.BufferedWriter, line: bytes) -> None:
    """A line through the buffer, flushed: the buffer's C code counts what the kernel took.
    A line longer than the buffer would bypass it: it is written in pieces that fit."""
    if len(line) <= _BUFFER:
        buf.write(line)
        buf.flush()
        return
    view = memoryview(line)
    for i in range(0, len(line), _BUFFER):
        buf.write(view[i:i + _BUFFER])
        buf.flush()


class FdSink:
    """Lines to an open file descriptor (closed by `close` only when `owns_fd`).

    shared: whether other processes write to the same pipe (see the module docstring); None
    detects it. Only pipes and sockets take the process lock."""

    def __init__(self, fd: int, *, owns_fd: bool = False, shared: bool | None = None) -> None:
        self.fd = fd
        self.owns_fd = owns_fd
        self.kind = fd_kind(fd)
        self.locked = self.kind != "file"
        self._lock = threading.RLock()
        self._busy = False  # this sink's lock holder is inside a write
        self._pending: collections.deque[bytes] = collections.deque()
        if shared is None:
            shared = self.kind == "pipe" and (_forked or parent_holds(fd))
        self.shared = bool(shared) and self.kind == "pipe"
        self._buffer: io.BufferedWriter | None = None
        self._closed = False
        _sinks.add(self)

    # -- what the logger's generated code uses ---------------------------------------------------

    def atomic_up_to(self, max_bytes: int) -> bool:
        """True when a single `os.write` of a line of at most `max_bytes` bytes never
        interleaves with another writer's, so that the logger may write inline, unlocked."""
        return self.kind == "file" or (self.kind == "pipe" and max_bytes <= PIPE_BUF)

    def emit(self, line: bytes, record: dict[str, Any] | None = None) -> None:
        if not self.locked:
            n = os.write(self.fd, line)
            if n != len(line):
                self.finish_locked(line, n)
            return
        self.write_line(line)

    def write_line(self, line: bytes | None) -> None:
        """One whole line (None: only the lines handed over), under the thread lock, and the
        process lock on a shared pipe. One function, for speed: this is the pipe path of
        every record.

        A handed-over line leaves the queue after it was written: an exception between the
        two sends it twice rather than never (its log_id is BigQuery's insertId, which drops
        the copy). Lines still queued when such an exception ends the process are written at
        exit (`_write_pending_at_exit`)."""
        lock = self._lock
        lock.acquire()
        try:
            if self._busy and _depth(lock) > 1:
                # This thread is already inside a write of this sink: a signal handler (or
                # something the write called) logged while a line was half written. Waiting
                # would deadlock, writing would split that line: hand the line over.
                if line is not None:
                    self._pending.append(line)
                return
            self._busy = True
            try:
                shared = self.shared
                if shared:
                    _lockf(self.fd, _LOCK_EX)
                try:
                    pending = self._pending
                    buf = self._buffer or self._new_buffer()
                    try:
                        while pending:  # handed over before this write began
                            _write_buffered(buf, pending[0])
                            pending.popleft()
                        if line is not None:
                            _write_buffered(buf, line)
                        while pending:  # handed over during it
                            _write_buffered(buf, pending[0])
                            pending.popleft()
                    except OSError:
                        self._drop_buffer()
                        raise
                    except BaseException:
                        # an exception a signal handler raised into the write: the line it
                        # cut goes out whole (the buffer knows what the kernel took) first
                        try:
                            buf.flush()
                        except Exception:  # noqa: BLE001, S110 - the one in flight is reported
                            pass
                        raise
                finally:
                    if shared:
                        _lockf(self.fd, _LOCK_UN)
            finally:
                self._busy = False
            if self._pending:  # handed over after the last look at the queue
                self.write_line(None)
        finally:
            lock.release()

    def _new_buffer(self) -> io.BufferedWriter:
        if self.fd < 0:
            raise OSError(errno.EBADF, "no file descriptor (stdout was closed when the sink "
                                       "was made)")
        buf = self._buffer = io.BufferedWriter(io.FileIO(self.fd, "wb", closefd=False), _BUFFER)
        return buf

    def _drop_buffer(self) -> None:
        """After a failed write (EPIPE, EBADF): forget what the buffer still holds, so that a
        failed line is counted once and not sent again in front of a later one. Closing the
        raw file (not the fd: closefd=False) makes the buffer count as closed, so that it
        does not write what it holds when it is collected."""
        buf, self._buffer = self._buffer, None
        if buf is not None:
            buf.raw.close()

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
            self._drop_buffer()
            if self.owns_fd:
                os.close(self.fd)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(fd={self.fd})"
