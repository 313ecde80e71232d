"""A sink for any path or file descriptor (a log file, a pipe, /dev/null in benchmarks)."""

from __future__ import annotations

import os
from pathlib import Path

from ._fd import FdSink


class FileSink(FdSink):
    """`FileSink("/var/log/app.jsonl")` appends (O_APPEND: whole lines even with several
    processes); `FileSink(fd)` writes to an open descriptor and does not close it."""

    def __init__(self, path_or_fd: str | os.PathLike[str] | int) -> None:
        if isinstance(path_or_fd, int) and not isinstance(path_or_fd, bool):
            super().__init__(path_or_fd, owns_fd=False)
            self.path: Path | None = None
        else:
            self.path = Path(path_or_fd)
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o644)
            super().__init__(fd, owns_fd=True)

    def __repr__(self) -> str:
        return f"FileSink({str(self.path) if self.path else self.fd!r})"
