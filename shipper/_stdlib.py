"""stdlib `logging` -> `app_log` records, for the app's own loggers and every library's.

`StdlibHandler` turns a `LogRecord` into the fields of an app_log record: `message` from
`getMessage()`, `logger` from the logger name, the time from `record.created` (when the event
happened, not when the handler ran), the level mapped to a severity, `extra={...}` fields to
columns or the `extra` column, and `exc_info` to the structured `error` record. It then takes
the same compiled fast path as `shipper.get_logger("app_log")`, so stdlib records are fitted,
redacted, sized and counted exactly like the logger's own.
"""

from __future__ import annotations

import logging
from typing import Any

from . import _config, _stats
from ._clock import from_epoch
from ._logger import DEFAULT_TABLE, STANDARD_ATTRS, Core, core_for
from ._text import brief

# The standard levels; any other level number is mapped by `severity_of`.
SEVERITIES = {10: "DEBUG", 20: "INFO", 30: "WARNING", 40: "ERROR", 50: "CRITICAL"}


def severity_of(levelno: int) -> str:
    if levelno >= 50:
        return "CRITICAL"
    if levelno >= 40:
        return "ERROR"
    if levelno >= 30:
        return "WARNING"
    if levelno >= 20:
        return "INFO"
    if levelno >= 1:
        return "DEBUG"
    return "DEFAULT"


class StdlibHandler(logging.Handler):
    """A logging handler that writes each record as one `app_log` line through shipper.

    The sink does its own locking (and none where a single os.write cannot interleave: a
    regular file, /dev/null), so the handler's lock is not taken (`handle` is overridden): a
    record costs one lock at most, not two.

    After the first record, `handle` is an instance attribute: the table's generated function
    (`Core.stdlib_handle`) that reads the LogRecord's __dict__ and writes the line itself, with
    no getMessage/emit/Formatter calls in between. It hands every record it does not expect
    (filters on the handler, a LogRecord subclass, exc_info, a custom level, a message that is
    not a str or fails to format) to the methods below, which are the reference behaviour.
    `configure()` drops it (`_rebuild`); a subclass that overrides handle or emit keeps its own.
    """

    def __init__(self, level: int = logging.NOTSET, table: str = DEFAULT_TABLE) -> None:
        super().__init__(level)
        self.table = table
        self._core: Core | None = None
        _config.register(self)

    def _rebuild(self) -> None:
        """Called by `shipper.configure()`: the next record compiles against the new settings."""
        self._core = None
        self.__dict__.pop("handle", None)

    def _core_for(self) -> Core:
        core = self._core = core_for(self.table)
        cls = type(self)
        if cls.handle is StdlibHandler.handle and cls.emit is StdlibHandler.emit:
            self.handle = core.stdlib_handle(self, StdlibHandler.handle.__get__(self))  # type: ignore[method-assign]
        return core

    def handle(self, record: logging.LogRecord) -> bool:  # type: ignore[override]
        if self.filters and not self.filter(record):
            return False
        self.emit(record)
        return True

    def emit(self, record: logging.LogRecord) -> None:
        core = self._core
        try:
            if core is None:
                core = self._core_for()
            severity = SEVERITIES.get(record.levelno) or severity_of(record.levelno)
            try:
                message = record.getMessage()
            except Exception as exc:  # noqa: BLE001 - a bad %-format must not lose the record
                message = f"{brief(record.msg, 200)} (message formatting failed: " \
                          f"{type(exc).__name__})"
                record.__dict__.setdefault("args_repr", brief(record.args, 1000))
                _stats.add("coerced")
            d = record.__dict__
            if (record.exc_info and record.exc_info[1] is not None) or record.stack_info:
                # rare: straight to the slow path, which builds the error record
                fields: dict[str, Any] = {"logger": record.name}
                for key in d.keys() - STANDARD_ATTRS:
                    fields[key] = d[key]
                if record.exc_info and record.exc_info[1] is not None:
                    fields["exc_info"] = record.exc_info
                if record.stack_info:
                    fields["stack_info"] = record.stack_info
                core.slow(severity, message, fields, from_epoch(record.created), {})
                return
            core.log_stdlib(severity, message, d, record.created, record.name)
        except Exception as exc:
            if core is not None and core.strict:
                raise
            _stats.add("internal_error")
            if core is not None:  # the documented minimal error record
                core.last_resort(SEVERITIES.get(record.levelno, "ERROR"), exc)

def install_stdlib(level: int | str = logging.INFO, *, logger: logging.Logger | None = None,
                   table: str = DEFAULT_TABLE) -> StdlibHandler:
    """Attach one `StdlibHandler` to the root logger (or `logger`) and set its level.

    Idempotent: an existing StdlibHandler is reused. Other handlers are left in place (remove
    a console handler yourself if you do not want each record twice).
    """
    target = logger if logger is not None else logging.getLogger()
    handler = next((h for h in target.handlers if isinstance(h, StdlibHandler)), None)
    if handler is None:
        handler = StdlibHandler(table=table)
        target.addHandler(handler)
    target.setLevel(level if isinstance(level, int) else str(level).upper())
    return handler
