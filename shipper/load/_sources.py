"""What the loader reads: a file (plain or gzip) or stdin, and the identity each one has.

Identity matters for rows whose key is their position (a raw line with no time of its own: two
equal lines at two places are two events). It does not depend on how a path is spelled:
`st.log`, `./st.log` and `$PWD/st.log` are the same file (its resolved real path), so loading
it again under another spelling adds nothing. stdin has its own identity, `<stdin>` unless a
name is given (`--stdin-name`, e.g. the container whose logs are piped in): the same stream
piped twice adds nothing, and a file loaded by name and then piped in is two sources.

A regular file may still be growing: its last line without a newline is left for the next run
(`waiting`), not loaded cut off. stdin has ended when it ends: its last line is loaded (or
refused) as it is. `final=True` (`--final`) reads a file's last line as complete too.

A `.gz` file (found by its magic bytes, whatever its name) is read decompressed; fluentd's
`compress gzip` backup and secondary files are written that way.
"""

from __future__ import annotations

import gzip
import os
import stat
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

STDIN = "-"
STDIN_NAME = "<stdin>"
GZIP_MAGIC = b"\x1f\x8b"


@dataclass(frozen=True)
class Source:
    arg: str  # as given on the command line
    name: str  # for messages and the reject file
    identity: str  # what positional keys hash: the real path, or the stdin name
    may_grow: bool  # a regular file, not declared final: its unfinished last line waits
    size: int | None  # bytes on disk (compressed), for the progress bar; None for a stream

    @property
    def is_stdin(self) -> bool:
        return self.arg == STDIN


def resolve(arg: str, *, stdin_name: str = STDIN_NAME, final: bool = False) -> Source:
    if arg == STDIN:
        return Source(arg, STDIN_NAME if stdin_name == STDIN_NAME else f"<stdin: {stdin_name}>",
                      stdin_name, False, None)
    path = Path(arg)
    try:
        st = path.stat()
    except OSError:
        raise FileNotFoundError(f"no such file: {arg}") from None
    if stat.S_ISDIR(st.st_mode):
        raise FileNotFoundError(f"{arg} is a directory, not a file of JSON lines")
    regular = stat.S_ISREG(st.st_mode)
    return Source(arg, arg, os.path.realpath(path), regular and not final,
                  st.st_size if regular else None)


class Opened:
    """A source's byte stream (decompressed when gzip) and how far into the source it is."""

    def __init__(self, source: Source, stdin: BinaryIO | None) -> None:
        self.source = source
        self._raw: Any = (stdin or sys.stdin.buffer) if source.is_stdin else open(source.arg, "rb")  # noqa: SIM115
        self.stream: Any = self._raw
        peek = getattr(self._raw, "peek", None)
        head = peek(2)[:2] if peek is not None else b""
        if head == GZIP_MAGIC:
            self.stream = gzip.GzipFile(fileobj=self._raw, mode="rb")
        self.gzip = self.stream is not self._raw

    def position(self, decoded: int) -> int:
        """Bytes of the source consumed (compressed bytes for gzip), for progress."""
        if self.gzip and not self.source.is_stdin:
            try:
                return self._raw.tell()
            except (OSError, ValueError):
                return decoded
        return decoded

    def close(self) -> None:
        if self.gzip:
            self.stream.close()
        if not self.source.is_stdin:
            self._raw.close()
