"""The default sink: fd 1, which Docker's log driver reads."""

from __future__ import annotations

import sys

from ._fd import FdSink


class StdoutSink(FdSink):
    """Each line to file descriptor 1 with `os.write`, before the logging call returns.

    Text a program `print`s goes through Python's `sys.stdout` buffer instead and may reach the
    fd later; `flush()` pushes that buffer out too.
    """

    def __init__(self) -> None:
        super().__init__(1)

    def flush(self) -> None:
        try:
            sys.stdout.flush()
        except (AttributeError, ValueError, OSError):
            pass
