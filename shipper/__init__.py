"""logbridge's shipper: structured log records that always fit their BigQuery table.

    import shipper
    log = shipper.get_logger("access_log")
    log.info("request", path="/", method="GET", status_code=200, latency=0.012)

Everything is imported on first use (module `__getattr__`): `import shipper` loads no
registry, no orjson and no logging machinery, so an app pays for the logger only when it logs.
"""

from __future__ import annotations

# `typing` alone costs ~20 ms to import: not at `import shipper`.
TYPE_CHECKING = False

__all__ = [
    "Logger",
    "RecordError",
    "StdlibHandler",
    "Violation",
    "bind_context",
    "clear_context",
    "configure",
    "context",
    "get_config",
    "get_logger",
    "install_stdlib",
    "reset_stats",
    "sinks",
    "stats",
    "unbind_context",
]

_LAZY = {
    "get_logger": ("._logger", "get_logger"),
    "Logger": ("._logger", "Logger"),
    "configure": ("._config", "configure"),
    "get_config": ("._config", "get_config"),
    "bind_context": ("._context", "bind_context"),
    "unbind_context": ("._context", "unbind_context"),
    "clear_context": ("._context", "clear_context"),
    "context": ("._context", "context"),
    "stats": ("._stats", "stats"),
    "reset_stats": ("._stats", "reset_stats"),
    "RecordError": ("._errors", "RecordError"),
    "Violation": ("._errors", "Violation"),
    "StdlibHandler": ("._stdlib", "StdlibHandler"),
    "install_stdlib": ("._stdlib", "install_stdlib"),
    "sinks": (".sinks", None),  # a subpackage: `shipper.sinks.FileSink` right after import
}

if TYPE_CHECKING:
    from typing import Any

    from . import sinks
    from ._config import configure, get_config
    from ._context import bind_context, clear_context, context, unbind_context
    from ._errors import RecordError, Violation
    from ._logger import Logger, get_logger
    from ._stats import reset_stats, stats
    from ._stdlib import StdlibHandler, install_stdlib


def __getattr__(name: str) -> Any:
    spec = _LAZY.get(name)
    if spec is None:
        raise AttributeError(f"module 'shipper' has no attribute {name!r}")
    import importlib

    module = importlib.import_module(spec[0], __name__)
    value = module if spec[1] is None else getattr(module, spec[1])
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
