"""The reject file: every line or row that was not loaded, with why and where it came from.

JSON lines, appended (a re-run never erases the rejects of an earlier run):
    {"source": "app.log", "line": 12, "table": "access_log", "kind": "does not fit access_log",
     "reason": "...",
     "text": "<the original line>"}            # when the line is UTF-8 text
     "base64": "<the original bytes>"           # when it is not (binary garbage, bad UTF-8)
     "row": {...}                               # when the target refused an already routed row
An oversize line is streamed into the file in pieces (as base64), never held whole.
"""

from __future__ import annotations

import base64
import threading
from pathlib import Path
from typing import Any, BinaryIO

import orjson

from ._reader import Oversize


class RejectSink:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._f: BinaryIO | None = None
        self.count = 0
        # The loader's thread and the DuckDB worker thread both write rejects.
        self._lock = threading.RLock()

    def _file(self) -> BinaryIO:
        if self._f is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._f = open(self.path, "ab")  # noqa: SIM115 - kept open for the load, closed by close()
        return self._f

    def _head(self, source: str, line: int, table: str, reason: str, kind: str = "") -> dict[str, Any]:
        return {"source": source, "line": line, "table": table or None, "kind": kind or None, "reason": reason}

    def line(self, source: str, line: int, table: str, reason: str, data: bytes, kind: str = "") -> None:
        rec = self._head(source, line, table, reason, kind)
        try:
            rec["text"] = data.decode("utf-8")
        except UnicodeDecodeError:
            rec["base64"] = base64.b64encode(data).decode("ascii")
        with self._lock:
            self._file().write(orjson.dumps(rec) + b"\n")
            self.count += 1

    def row(self, source: str, line: int, table: str, reason: str, row: Any, kind: str = "") -> None:
        rec = self._head(source, line, table, reason, kind)
        rec["row"] = row
        with self._lock:
            self._file().write(orjson.dumps(rec, default=str) + b"\n")
            self.count += 1

    def oversize(self, source: str, line: int, reason: str, over: Oversize) -> None:
        """Stream the line into a `base64` field piece by piece; its size goes in `size`."""
        with self._lock:
            self._oversize(source, line, reason, over)

    def _oversize(self, source: str, line: int, reason: str, over: Oversize) -> None:
        f = self._file()
        head = orjson.dumps(self._head(source, line, "", reason, "line over the row size limit"))
        f.write(head[:-1] + b',"base64":"')
        carry = b""
        for piece in over.pieces:
            data = carry + piece
            cut = len(data) - len(data) % 3
            f.write(base64.b64encode(data[:cut]))
            carry = data[cut:]
        f.write(base64.b64encode(carry) + b'","size":' + str(over.size).encode() + b"}\n")
        self.count += 1

    def close(self) -> None:
        if self._f is not None:
            self._f.close()
            self._f = None
