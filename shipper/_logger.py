"""Loggers: one class per table, whose level methods are the table's generated code.

`get_logger(table)` returns an instance of the table's `Logger` subclass. Its `debug/info/...`
are class attributes set from the table's compiled code (`_core.py`, `_fast.py`): below the
configured level one shared no-op (no level check per call, structlog's trick), at or above it
the table's generated method for that level. A logger is just its table and its bound fields,
which the method reads: `bind()` makes an object, compiles nothing and registers nothing
(structlog's cost). `configure()` sets every table class's methods anew, so no logger handed
out ever writes with old settings.
"""

from __future__ import annotations

import sys
import threading
from typing import Any

from . import _config
from ._constants import DEFAULT_TABLE, LEVEL_METHODS
from ._core import Core
from ._fast import MISSING

# Compiled cores per (table, configuration version).
_cores: dict[tuple[str, int], Core] = {}
_cores_lock = threading.RLock()  # reentrant: a signal handler may ask for a logger


def core_for(table_name: str) -> Core:
    cfg = _config.current()
    core = _cores.get((table_name, cfg.version))
    if core is None:
        with _cores_lock:
            cfg = _config.current()
            core = _cores.get((table_name, cfg.version))
            if core is None:
                registry = _config.registry()
                try:
                    table = registry.table(table_name)
                except KeyError as exc:
                    raise ValueError(str(exc.args[0]) if exc.args else str(exc)) from None
                sink = _config.sink()
                cfg = _config.current()
                for old in [k for k in _cores if k[1] != cfg.version]:
                    del _cores[old]
                core = _cores[(table_name, cfg.version)] = Core(table, cfg, sink)
    return core


class Logger:
    """`log.info("event", field=value, ...)` writes one record of `log.table`.

    `Logger(table)` (or `get_logger(table)`) is an instance of the table's subclass, whose
    level methods are the table's generated code; `bind()` returns a new logger whose records
    all carry the given fields.
    """

    __slots__ = ("__weakref__", "_bound", "table")

    # set on each table's subclass (see _TableClass)
    debug: Any
    info: Any
    warning: Any
    error: Any
    critical: Any
    _core: Core

    def __new__(cls, table: str = DEFAULT_TABLE,  # noqa: PYI034 - a subclass of cls, by table
                bound: dict[str, Any] | None = None) -> Logger:
        return object.__new__(_class_for(table) if cls is Logger else cls)

    def __init__(self, table: str = DEFAULT_TABLE, bound: dict[str, Any] | None = None) -> None:
        self.table = table
        self._bound = dict(bound) if bound else {}

    def exception(self, event: Any = MISSING, /, *args: Any, **fields: Any) -> None:
        """`error(...)` with the exception being handled as the `error` record."""
        if type(self).error is self._core.noop:
            return
        fields.setdefault("exc_info", sys.exc_info()[1] or False)
        self.error(event, *args, **fields)

    def bind(self, **fields: Any) -> Logger:
        """A new logger whose records carry these fields too (the call's fields win)."""
        new = object.__new__(type(self))
        new.table = self.table
        new._bound = {**self._bound, **fields}
        return new

    @property
    def bound(self) -> dict[str, Any]:
        return dict(self._bound)

    def __repr__(self) -> str:
        return f"<shipper.Logger table={self.table!r} bound={sorted(self._bound)}>"


class _TableClasses:
    """Makes and keeps the Logger subclass of each table; `configure()` rebuilds them."""

    def __init__(self) -> None:
        self.classes: dict[str, type[Logger]] = {}
        self.lock = threading.RLock()

    def get(self, table: str) -> type[Logger]:
        cls = self.classes.get(table)
        if cls is None:
            with self.lock:
                cls = self.classes.get(table)
                if cls is None:
                    core = core_for(table)  # a table the registry does not have: ValueError
                    cls = type(f"Logger[{table}]", (Logger,), {"__slots__": (),
                                                               "__module__": __name__})
                    cls.__qualname__ = cls.__name__
                    _install(cls, core)
                    self.classes[table] = cls
        return cls

    def _rebuild(self) -> None:
        """Called by `configure()`: every table class takes the new configuration's code. A
        table the new registry does not have keeps its loggers, whose calls raise the
        ValueError that get_logger would (until a registry has the table again)."""
        with self.lock:
            for table, cls in list(self.classes.items()):
                try:
                    core = core_for(table)
                except ValueError:
                    _install_missing(cls, table)
                else:
                    _install(cls, core)


def _install(cls: type[Logger], core: Core) -> None:
    cls._core = core
    for name, fn in core.methods().items():
        setattr(cls, name, fn)


def _install_missing(cls: type[Logger], table: str) -> None:
    for name, _ in LEVEL_METHODS:
        setattr(cls, name, _reresolve(name))


def _reresolve(name: str) -> Any:
    def method(self: Logger, *args: Any, **kwargs: Any) -> None:
        _install(type(self), core_for(self.table))  # ValueError while the table is missing
        getattr(self, name)(*args, **kwargs)

    method.__name__ = name
    return method


_tables = _TableClasses()
_class_for = _tables.get
_config.register(_tables)


def get_logger(table: str = DEFAULT_TABLE, **bound: Any) -> Logger:
    """A logger for a registry table (default `app_log`), with optional bound fields.

    Raises ValueError for a table the registry does not have: a programming error, found at
    start-up rather than at the first log call.
    """
    return Logger(table, bound)
