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


@dataclass(frozen=True)
class Line:
    number: int  # 1-based
    data: bytes | Oversize  # without its newline (and without a trailing CR)
    complete: bool  # False for a last line with no newline at the end of the input


class LineReader:
    """Iterate over `Line`s of a binary stream; `bytes_read` is for progress bars."""

    def __init__(self, stream: BinaryIO, max_line: int, block: int = BLOCK) -> None:
        self.stream = stream
        self.max_line = max_line
        self.block = block
        self.bytes_read = 0
        self._rest = b""  # bytes after an oversize line's newline, read while streaming it

    def _read(self) -> bytes:
        chunk = self.stream.read(self.block)
        self.bytes_read += len(chunk)
        return chunk

    def __iter__(self) -> Iterator[Line]:
        number = 0
        tail = b""
        while True:
            chunk = self._read()
            if not chunk:
                break
            buf = tail + chunk if tail else chunk
            parts = buf.split(b"\n")
            tail = parts.pop()
            for part in parts:
                number += 1
                if len(part) > self.max_line:
                    # Only reachable when a block holds a whole oversize line: still not loaded twice.
                    yield Line(number, _oversize_from(part), True)
                    continue
                if part[-1:] == b"\r":
                    part = part[:-1]
                yield Line(number, part, True)
            if len(tail) > self.max_line:
                number += 1
                over = Oversize(iter(()))
                over.pieces = self._stream_oversize(tail, over)
                tail = b""
                yield Line(number, over, True)
                for _ in over.pieces:  # drain what the caller did not read
                    pass
                tail = self._rest
                self._rest = b""
                if not over.complete:  # the input ended inside the line
                    return
        if tail:
            number += 1
            if tail[-1:] == b"\r":
                tail = tail[:-1]
            yield Line(number, tail, False)

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


def _oversize_from(data: bytes) -> Oversize:
    return Oversize(iter((data,)), len(data))
