"""What a sink is: where finished lines go.

`emit` gets both the encoded line and the fitted record dict: a byte sink (stdout, a file)
writes the line; a forward-protocol sink (fluentd) can send the dict without parsing JSON
again. A sink must not keep the record dict after `emit` returns (the logger does not copy it).
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class Sink(Protocol):
    def emit(self, line: bytes, record: dict[str, Any]) -> None:
        """Deliver one record. `line` is JSON plus a trailing newline. May raise OSError: the
        logger counts it as "sink_error" and never lets it reach the app."""

    def flush(self) -> None:
        """Push out anything buffered (a no-op for unbuffered sinks)."""

    def close(self) -> None:
        """Flush and release the resource. Emitting after close is an error (counted)."""
