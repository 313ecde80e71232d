"""Loggers: per-table compiled code bound to level methods once, at configure time.

`get_logger(table)` returns a `Logger` whose `debug/info/...` attributes are plain functions:
below the configured level they are one shared no-op (no level check per call, structlog's
trick); at or above it they are the table's generated fast path (`_fast.py`) with the
severity and the bound fields baked in. `configure()` rebuilds every logger handed out.
"""

from __future__ import annotations

import itertools
import operator
import os
import sys
import threading
import time
import weakref
from typing import Any

import orjson

from . import _clock, _config, _stats
from ._check import ROUTING_KEY
from ._context import get_context
from ._encode import fit_line
from ._errors import RecordError, Violation
from ._fast import (
    MISS,
    MISSING,
    RESERVED,
    _Slow,
    column_specs,
    compile_function,
    fill_source,
    fits,
    generate_noop_source,
    generate_source,
    is_scalar,
)
from ._fit import Changes, Fitter, Unfixable, fallback_record
from ._redact import Redactor
from .sinks._fd import FdSink

DEFAULT_TABLE = "app_log"
LEVEL_METHODS = (("debug", "DEBUG", 10), ("info", "INFO", 20), ("warning", "WARNING", 30),
                 ("error", "ERROR", 40), ("critical", "CRITICAL", 50))
_SAFE_KEY_LIMIT = 4096
_FILL_LIMIT = 256
# Attributes every logging.LogRecord has: anything else in record.__dict__ came from `extra=`.
STANDARD_ATTRS = frozenset({
    "name", "msg", "args", "levelname", "levelno", "pathname", "filename", "module", "exc_info",
    "exc_text", "stack_info", "lineno", "funcName", "created", "msecs", "relativeCreated",
    "thread", "threadName", "processName", "process", "taskName", "message", "asctime",
})


def _standard_count() -> int:
    """How many attributes `logging.LogRecord.__init__` sets (20 on 3.11, 21 from 3.12)."""
    import logging

    return len(logging.LogRecord("", 0, "", 0, "", (), None).__dict__)


class Core:
    """Everything one table needs under one configuration: converters, fast functions, sink."""

    def __init__(self, table: Any, cfg: _config.Config, sink: Any) -> None:
        self.table = table
        self.name = table.name
        self.cfg = cfg
        self.strict = cfg.mode == "strict"
        self.sink = sink
        self.max_bytes = cfg.max_line_bytes
        self.redact = Redactor(cfg.redact_keys)
        self.fitter = Fitter(table, self.redact)
        self.declared = frozenset(table.field_names)
        self.extra = table.extra_field
        msg = table.field("message")
        self.event_to = "message" if msg is not None else (
            "extra" if self.extra is not None else None)
        self.service = cfg.service
        self.has_error = (table.field("error") is not None
                          and table.field("error").type in ("RECORD", "JSON"))
        specs = column_specs(table, self.redact)
        self.specs = specs
        # stdlib records: per tuple of extra keys, the function that places them (bounded),
        # and the same functions by (len(record.__dict__), last key), which is cheaper to make
        self._fills: dict[tuple[Any, ...], Any] = {}
        self._fills_by_end: dict[tuple[int, Any], Any] = {}
        safe_keys: set[str] = set()

        def learn(key: str) -> bool:
            # An undeclared key may go into extra on the fast path when it is not a secret and
            # not a name the logger owns; the answer is remembered (bounded).
            ok = (type(key) is str and key not in RESERVED and not self.redact(key)
                  and key != self.extra and key not in STANDARD_ATTRS and key not in specs)
            if ok and len(safe_keys) < _SAFE_KEY_LIMIT:
                safe_keys.add(key)
            return ok

        env = {
            "TABLE": table.name, "SERVICE": cfg.service, "CLK": _clock,
            "TIME_NS": time.time_ns, "NS_PREFIX": _clock.ns_prefix,
            "US_PREFIX": _clock.us_prefix, "D3": _clock.DIGITS3, "CTX_GET": get_context,
            "SPEC_GET": specs.get, "SAFE_KEYS": safe_keys, "LEARN": learn,
            "EXTRA": self.extra, "DUMPS": orjson.dumps, "OPT": orjson.OPT_APPEND_NEWLINE,
            "MAXB": cfg.max_line_bytes, "URL_SECRET": self.redact.line_has_credentials,
            "EMIT": sink.emit, "SINK_ERROR": self._sink_error, "SLOW": self.slow,
            "POSITIONAL": self.positional,
            "STANDARD": STANDARD_ATTRS, "NSTD": _standard_count(), "ISLICE": itertools.islice,
            "REVERSED": reversed, "NEXT": next, "ROUND": round, "MISS": MISS,
            "FILLS_GET": self._fills_by_end.get, "FILL_EXACT": self._fill_exact,
        }
        # a plain fd: write inline, no call, where writes cannot interleave; else its
        # write_line (locks, signal-handler handoff)
        inline_fd: bool | str = type(sink).emit is FdSink.emit
        if inline_fd:
            env.update({"FD": sink.fd, "WRITE": os.write, "FINISH_LOCKED": sink.finish_locked,
                        "WRITE_LINE": sink.write_line})
            if sink.atomic_up_to(cfg.max_line_bytes):
                inline_fd = "nolock"
        self.learn = learn
        self._env = env
        self._nstd = env["NSTD"]
        self._inline_fd = inline_fd
        self.handle_source: str | None = None
        service = cfg.service is not None
        self.method_source = generate_source(table, service=service, stdlib=False, specs=specs,
                                             inline_fd=inline_fd)
        self.unbound_method_source = generate_source(table, service=service, stdlib=False,
                                                     specs=specs, inline_fd=inline_fd, bound=False)
        self.stdlib_source = generate_source(table, service=service, stdlib=True, specs=specs,
                                             inline_fd=inline_fd)
        # What a level below the configured one is: nothing, not even a check; one per table
        self.noop = compile_function(generate_noop_source(table), {}, "log_noop")
        self._namespaces: list[weakref.ref[Any]] = []
        self.log_stdlib = self._compile(self.stdlib_source, {"BOUND": {}}, "log_stdlib")
        _live_cores.add(self)

    def stdlib_handle(self, handler: Any, generic: Any) -> Any:
        """`handler.handle` for this table: a LogRecord to a line in one generated function.

        `generic` is the handler's Python path, for the records the prologue leaves to it."""
        import logging

        from ._stdlib import SEVERITIES

        if self.handle_source is None:
            self.handle_source = generate_source(
                self.table, service=self.service is not None, stdlib="handle", specs=self.specs,
                inline_fd=self._inline_fd)
        return self._compile(self.handle_source, {
            "BOUND": {}, "H": handler, "PY_HANDLE": generic, "LOGRECORD": logging.LogRecord,
            "SEVS_GET": SEVERITIES.get}, "handle")

    def _fill_exact(self, d: dict[Any, Any]) -> Any:
        """The function that places the extra fields of stdlib records with exactly the keys
        of `d`'s tail (generated at the first such record), filed by (len(d), last key) too.

        One is generated per distinct key tuple (a call site logs the same keys every time), up
        to _FILL_LIMIT of them; past that, or for keys that are not all str, `_fill_generic`."""
        keys = tuple(itertools.islice(d, self._nstd, None))
        fn = self._fills.get(keys)
        if fn is None:
            src = None
            if len(self._fills) < _FILL_LIMIT:
                src = fill_source(keys, self.specs, STANDARD_ATTRS,
                                  self.learn if self.extra is not None else lambda k: False, d)
            if src is None:
                fn = self._fill_generic
            else:
                fn = self._fills[keys] = compile_function(
                    src, {"GET": operator.itemgetter(*keys), "MISS": MISS}, "fill")
        end = (len(d), keys[-1])
        if len(self._fills_by_end) < _FILL_LIMIT or end in self._fills_by_end:
            self._fills_by_end[end] = fn
        return fn

    def _fill_generic(self, d: dict[Any, Any], rec: dict[str, Any]) -> dict[str, Any] | None:
        """`fill_source`'s rules as a loop, for any keys."""
        ex: dict[str, Any] | None = None
        for k, v in itertools.islice(d.items(), self._nstd, None):
            if k in STANDARD_ATTRS:
                continue
            spec = self.specs.get(k) if type(k) is str else None
            if spec is not None:
                if not fits(spec, v):
                    raise _Slow
                rec[k] = v
            elif self.extra is not None and type(k) is str and self.learn(k) and is_scalar(v):
                if ex is None:
                    ex = {}
                ex[k] = v
            else:
                raise _Slow
        return ex

    def method(self, severity: str, bound: dict[str, Any]) -> Any:
        """The logging function for one level and one set of bound fields."""
        source = self.method_source if bound else self.unbound_method_source
        return self._compile(source, {"SEV": severity, "BOUND": bound}, "log_method")

    def _compile(self, source: str, env: dict[str, Any], name: str) -> Any:
        fn = compile_function(source, {**self._env, **env, "PFX": _clock._prefix,
                                       "SEQ": _clock._seq}, name)
        # The log id's prefix and counter are globals of the function (a module attribute
        # lookup per record costs more); a forked child gets new ones through this list.
        self._namespaces.append(weakref.ref(fn))
        return fn

    def after_fork(self) -> None:
        for ref in self._namespaces:
            fn = ref()
            if fn is not None:
                fn.__globals__.update(PFX=_clock._prefix, SEQ=_clock._seq)

    def _sink_error(self) -> None:
        _stats.add("sink_error")

    # -- the slow path ------------------------------------------------------------------------

    def positional(self, severity: str, event: Any, first: Any, ts: str | None,
                   bound: dict[str, Any]) -> None:
        """`log.info("event", value)`: fields are keywords; which column a positional value
        was meant for is unknowable, so the call becomes an error record (strict: TypeError)."""
        if self.strict:
            raise TypeError(f"shipper logger methods take the event and keyword fields only, "
                            f"got a positional {type(first).__name__}")
        why = Violation("", "positional", "positional arguments after the event are not "
                                          "supported: pass fields as keywords")
        ch = Changes(self.name, False)
        raw = {"timestamp": ts or _clock.now(), "severity": severity, "message": event,
               "args": first}
        if self.service is not None:
            raw["service"] = self.service
        raw["log_id"] = _clock.new_log_id()
        record, line = self._fallback(raw, why, ch)
        ch.commit()
        try:
            self.sink.emit(line, record)
        except Exception:  # noqa: BLE001
            _stats.add("sink_error")

    def slow(self, severity: str, event: Any, kw: dict[str, Any], ts: str | None,
             bound: dict[str, Any], log_id: str | None = None) -> None:
        """Repair, account, emit. Safe mode: never raises. Strict: raises RecordError.

        `log_id` is the id the fast path already took (each id is one written record: that is
        how "emitted" is counted), or None to take one here."""
        if log_id is None:
            log_id = _clock.new_log_id()
        try:
            self._slow(severity, event, kw, ts, bound, log_id)
        except RecordError:
            _stats.not_emitted()
            if self.strict:
                raise
            _stats.add("internal_error")
        except Exception as exc:
            _stats.not_emitted()
            if self.strict and not isinstance(exc, OSError):
                raise
            _stats.add("internal_error")
            self.last_resort(severity, exc)

    def _slow(self, severity: str, event: Any, kw: dict[str, Any], ts: str | None,
              bound: dict[str, Any], log_id: str) -> None:
        if self.extra is not None:
            for key in kw:  # names seen once are fast-path names from now on (if safe)
                if key not in self.declared and type(key) is str:
                    self.learn(key)
        ch = Changes(self.name, self.strict)
        raw = self.raw_record(severity, event, kw, ts, bound, ch, log_id)
        try:
            record = self.fitter.fit(raw, ch)
            line = fit_line(record, self.max_bytes, ch, self.name)
        except Unfixable as exc:
            record, line = self._fallback(raw, exc.violation, ch)
        except OverflowError as exc:
            if self.strict:
                raise RecordError(self.name, "", "max_line_bytes", str(exc)) from None
            record, line = self._fallback(raw, Violation("", "max_line_bytes", str(exc)), ch)
        ch.commit()
        try:
            self.sink.emit(line, record)
        except Exception:  # noqa: BLE001
            _stats.add("sink_error")

    def raw_record(self, severity: str, event: Any, kw: dict[str, Any], ts: str | None,
                   bound: dict[str, Any], ch: Changes, log_id: str | None = None
                   ) -> dict[str, Any]:
        """Envelope + context + bound + event + call fields, before any repair."""
        raw: dict[str, Any] = {"timestamp": ts if ts is not None else _clock.now(),
                               "severity": severity}
        if self.service is not None:
            raw["service"] = self.service
        raw["log_id"] = log_id if log_id is not None else _clock.new_log_id()
        fields = {k: v for k, v in get_context().items()
                  if self.extra is not None or k in self.declared}
        fields.update(bound)
        kw = dict(kw)
        # the envelope's own keys are the logger's whoever passed them (the log id is the
        # insertId): a context or bound value of that name is treated like a call field's
        for key in RESERVED:
            if key in fields:
                kw.setdefault(key, fields.pop(key))
        raw.update(fields)
        moved: dict[str, Any] = {}
        if event is MISSING:  # log.info(event="x"), structlog's spelling; or no event at all
            event = kw.pop("event", MISSING)
        exc_info = kw.pop("exc_info", None)
        stack_info = kw.pop("stack_info", None)
        for key in RESERVED + (("message",) if self.event_to == "message" else ()):
            if key in kw:
                value = kw.pop(key)
                if self.extra is not None:
                    ch.change("moved_to_extra", key, "reserved",
                              f"{key!r} is set by the logger; the caller's value kept in extra")
                    moved[key] = value
                else:
                    ch.change("dropped_field", key, "reserved",
                              f"{key!r} is set by the logger; the caller's value dropped")
        if event is MISSING:
            pass  # a table whose message is REQUIRED makes this an error record ("required")
        elif self.event_to == "message":
            raw["message"] = event
        elif self.event_to == "extra":
            moved["event"] = event
        raw.update(kw)
        if stack_info:
            # the stdlib's stack_info=True: the caller's stack (a LogRecord has it as text)
            if self.extra is not None:
                moved["stack_info"] = (stack_info if isinstance(stack_info, str)
                                       else _caller_stack())
            else:
                ch.change("dropped_field", "stack_info", "unknown_field",
                          f"table {self.name} has no extra column")
        if exc_info:
            exc = self._exception(exc_info)
            if exc is not None:
                if self.has_error:
                    raw["error"] = exc
                elif self.extra is not None:
                    moved["error"] = exc
                else:
                    ch.change("dropped_field", "error", "unknown_field",
                              f"table {self.name} has no error or extra column")
        if moved:
            base = raw.get(self.extra) if self.extra else None
            raw[self.extra] = {**base, **moved} if isinstance(base, dict) else (
                {**moved, "extra": base} if base is not None else moved)
        return raw

    @staticmethod
    def _exception(exc_info: Any) -> BaseException | None:
        if isinstance(exc_info, BaseException):
            return exc_info
        if isinstance(exc_info, tuple) and len(exc_info) == 3:
            return exc_info[1]
        return sys.exc_info()[1]

    def _fallback(self, raw: dict[str, Any], why: Violation, ch: Changes) -> tuple[dict, bytes]:
        ch.change("fallback_error_record", why.field, None, why.message)
        record = fallback_record(self.name, raw, why, self.redact, ch)
        error = record["extra"]["shipper_error"]
        try:
            line = fit_line(record, self.max_bytes, ch, "app_log")
        except OverflowError:
            record["extra"] = None
        if not record.get("extra"):
            # the original fields did not fit the line: keep at least what went wrong
            record["extra"] = {"shipper_error": error}
            line = fit_line(record, self.max_bytes, ch, "app_log")
        return record, line

    def last_resort(self, severity: str, exc: BaseException) -> None:
        """The slow path itself failed (a bug, or a sink that raised oddly): still say so."""
        try:
            record = {ROUTING_KEY: "app_log", "timestamp": _clock.now(), "severity": "ERROR",
                      "log_id": _clock.new_log_id(), "logger": "shipper",
                      "message": f"shipper: a {self.name} record was lost to an internal error: "
                                 f"{type(exc).__name__}"}
            if self.service is not None:
                record["service"] = self.service
            _stats.add("fallback_error_record")
            self.sink.emit(orjson.dumps(record, option=orjson.OPT_APPEND_NEWLINE), record)
        except Exception:  # noqa: BLE001
            _stats.add("sink_error")


def _caller_stack() -> str:
    """The stack of the code that called the logger (shipper's own and generated frames left
    out), formatted as the stdlib formats a LogRecord's stack_info."""
    import traceback

    here = os.path.dirname(os.path.abspath(__file__))
    f = sys._getframe(1)
    while f is not None and (f.f_code.co_filename.startswith(here)
                             or f.f_code.co_filename.startswith("<shipper")):
        f = f.f_back
    return "Stack (most recent call last):\n" + "".join(traceback.format_stack(f)).rstrip("\n")


_live_cores: weakref.WeakSet[Core] = weakref.WeakSet()


def _after_fork() -> None:
    for core in list(_live_cores):
        core.after_fork()


_clock.fork_hooks.append(_after_fork)

# Compiled cores per (table, configuration version): loggers of the same table share one.
_cores: dict[tuple[str, int], Core] = {}
_cores_lock = threading.RLock()  # reentrant: a signal handler may ask for a logger


def core_for(table_name: str) -> Core:
    cfg = _config.current()
    key = (table_name, cfg.version)
    core = _cores.get(key)
    if core is None:
        with _cores_lock:
            core = _cores.get(key)
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

    The level methods are instance attributes rebuilt by `configure()`; `bind()` returns a new
    logger whose records all carry the given fields.
    """

    __slots__ = (
        "__weakref__",
        "_bound",
        "critical",
        "debug",
        "error",
        "info",
        "table",
        "warning",
    )

    def __init__(self, table: str = DEFAULT_TABLE, bound: dict[str, Any] | None = None) -> None:
        self.table = table
        self._bound = dict(bound or {})
        self._rebuild()
        _config.register(self)

    def _rebuild(self) -> None:
        core = core_for(self.table)
        level = core.cfg.level
        for method, severity, number in LEVEL_METHODS:
            fn = core.method(severity, self._bound) if number >= level else core.noop
            object.__setattr__(self, method, fn)

    def exception(self, event: str, **fields: Any) -> None:
        """`error(...)` with the exception being handled as the `error` record."""
        if self.error.__name__ == "log_noop":
            return
        fields.setdefault("exc_info", sys.exc_info()[1] or False)
        self.error(event, **fields)

    def bind(self, **fields: Any) -> Logger:
        return Logger(self.table, {**self._bound, **fields})

    @property
    def bound(self) -> dict[str, Any]:
        return dict(self._bound)

    def __repr__(self) -> str:
        return f"<shipper.Logger table={self.table!r} bound={sorted(self._bound)}>"


def get_logger(table: str = DEFAULT_TABLE, **bound: Any) -> Logger:
    """A logger for a registry table (default `app_log`), with optional bound fields.

    Raises ValueError for a table the registry does not have: a programming error, found at
    start-up rather than at the first log call.
    """
    return Logger(table, bound)
