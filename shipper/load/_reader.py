"""Read JSON lines as bytes, in blocks, with a hard cap on how much of one line is ever held.

Why bytes and blocks: a log file may hold anything an app printed (binary garbage, invalid
UTF-8, a 20 MB line, a last line cut off by a crash). Text-mode iteration would raise on the
first bad byte and `for line in f` would hold a huge line in memory whole. Here a line longer
than `max_line` is never joined: it is handed to the caller as an `Oversize` whose pieces stream
straight to the reject output, so memory stays bounded by the block size and the cap.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

BLOCK = 1 << 20


@dataclass
class Oversize:
    """A line longer than the cap. `pieces` yields its bytes once; the reader drains what is
    left of it before moving on, so a caller that does not care may ignore it."""

    pieces: Iterator[bytes]
    size: int = 0  # bytes seen so far; final once `pieces` is exhausted
    complete: bool = True  # False when the input ended inside the line (no newline)


class LineReader:
    """Iterate over blocks of lines of a binary stream; `bytes_read` is for progress bars.

    `blocks()` yields `(lines, last_complete)`: a list whose items are the lines' bytes (without
    the newline; a trailing CR is left for the caller) or an `Oversize`, in input order.
    `last_complete` is False only for the final block when the input does not end with a
    newline. Lists of lines, not one object per line: the loader's per-line cost is the budget.
    """

    def __init__(self, stream: BinaryIO, max_line: int, block: int = BLOCK) -> None:
        self.stream = stream
        self.max_line = max_line
        self.block = block
        self.bytes_read = 0
        self.in_read = False
        self._rest = b""  # bytes after an oversize line's newline, read while streaming it

    def _read(self) -> bytes:
        self.in_read = True  # a stop signal may interrupt a read at once (nothing is half done)
        try:
            chunk = self.stream.read(self.block)
        finally:
            self.in_read = False
        self.bytes_read += len(chunk)
        return chunk

    def blocks(self) -> Iterator[tuple[list[bytes | Oversize], bool]]:
        tail = b""
        limit = self.max_line
        while True:
            if self._rest:  # what followed an oversize line's newline, already read
                chunk, self._rest = self._rest, b""
            else:
                chunk = self._read()
            if not chunk:
                break
            buf = tail + chunk if tail else chunk
            parts: list[bytes | Oversize] = buf.split(b"\n")  # type: ignore[assignment]
            tail = parts.pop()  # type: ignore[assignment]
            if len(buf) > limit:
                # A block holding a whole oversize line: it is already in memory once, never twice.
                for i, part in enumerate(parts):
                    if len(part) > limit:  # type: ignore[arg-type]
                        parts[i] = Oversize(iter((part,)), len(part))  # type: ignore[arg-type]
            if parts:
                yield parts, True
            if len(tail) > limit:
                over = Oversize(iter(()))
                over.pieces = self._stream_oversize(tail, over)
                tail = b""
                yield [over], True
                for _ in over.pieces:  # drain what the caller did not read
                    pass
                if not over.complete:  # the input ended inside the line
                    return
        if tail:
            yield [tail], False

    def __iter__(self) -> Iterator[tuple[int, bytes | Oversize, bool]]:
        """(line number, data, complete) one line at a time: simpler for tests and small inputs."""
        number = 0
        for lines, last_complete in self.blocks():
            for i, data in enumerate(lines):
                number += 1
                yield number, data, last_complete or i < len(lines) - 1

    def _stream_oversize(self, head: bytes, over: Oversize) -> Iterator[bytes]:
        """Yield an oversize line piece by piece up to its newline; keep the bytes after it."""
        over.size = len(head)
        yield head
        while True:
            chunk = self._read()
            if not chunk:
                over.complete = False
                return
            nl = chunk.find(b"\n")
            if nl < 0:
                over.size += len(chunk)
                yield chunk
                continue
            self._rest = chunk[nl + 1:]
            over.size += nl
            if nl:
                yield chunk[:nl]
            return

