"""Where records go: `StdoutSink` (default), `FileSink` (a path or fd), `FluentSink` (forward).

`FluentSink` is imported on first use only, so that `import shipper` never imports
fluent-logger (an optional dependency: `pip install logbridge[fluent]`).
"""

from __future__ import annotations

from typing import Any

from ._base import Sink
from .file import FileSink
from .stdout import StdoutSink

__all__ = ["FileSink", "FluentSink", "Sink", "StdoutSink"]


def __getattr__(name: str) -> Any:
    if name == "FluentSink":
        from .fluent import FluentSink

        return FluentSink
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
