"""The default sink: the process's stdout (file descriptor 1), which Docker's log driver reads."""

from __future__ import annotations

import os
import sys

from ._fd import FdSink


class StdoutSink(FdSink):
    """Each line to stdout with `os.write`, before the logging call returns.

    The sink writes to its own duplicate of fd 1, taken when it is made (the first record, for
    the default sink): if the app later closes fd 1, the number is free for the next file the
    process opens, and records must not go into that file. They keep going where stdout went
    when the sink was made (a process that closed stdout to detach from it should configure
    another sink). With fd 1 already closed when the sink is made, every record is counted as
    a `sink_error` and nothing is written.

    Text a program `print`s goes through Python's `sys.stdout` buffer instead and may reach the
    fd later; `flush()` pushes that buffer out too.

    shared: whether other processes write to the same pipe (prefork servers); None detects it
    (see `shipper.sinks._fd`).
    """

    def __init__(self, *, shared: bool | None = None) -> None:
        try:
            fd = os.dup(1)
        except OSError:
            fd = -1  # fd 1 is closed: writes fail (EBADF) and are counted, never redirected
        super().__init__(fd, owns_fd=fd >= 0, shared=shared)

    def flush(self) -> None:
        try:
            sys.stdout.flush()
        except (AttributeError, ValueError, OSError):
            pass

    def __repr__(self) -> str:
        return "StdoutSink()"
