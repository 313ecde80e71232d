"""The slow path: a record the generated fast path would not write as it is, repaired and
accounted for.

`SlowPath.slow` builds the raw record (envelope, context, bound fields, the event, the call's
fields, moving aside what clashes with names the logger owns), fits it to its table (`_fit.py`),
makes it one line within the size limit (`_encode.py`), counts every change (`_stats.py`) and
emits it. Safe mode never raises: a record no repair can save becomes an `app_log` error record
(`fallback_record`), and a failure of this path itself still writes a minimal error record
(`last_resort`). Strict mode raises `RecordError` naming the table, field and rule.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import orjson

from . import _clock, _stats
from ._constants import FALLBACK_TABLE, LOGGER_KEYS, ROUTING_KEY
from ._context import get_context
from ._encode import fit_line
from ._errors import RecordError, Violation
from ._fast import MISSING
from ._fit import Changes, Fitter, Unfixable, fallback_record
from ._redact import Redactor


class SlowPath:
    """Repair, account, emit: one table under one configuration."""

    def __init__(self, rules: Any, cfg: Any, sink: Any, redact: Redactor,
                 learn: Any) -> None:
        self.name = rules.table
        self.strict = cfg.mode == "strict"
        self.sink = sink
        self.max_bytes = cfg.max_line_bytes
        self.service = cfg.service
        self.redact = redact
        self.learn = learn
        self.fitter = Fitter(rules, redact)
        self.declared = frozenset(rules.names)
        self.extra = rules.extra_column
        self.event_to = "message" if rules.column("message") is not None else (
            "extra" if self.extra is not None else None)
        error = rules.column("error")
        self.has_error = error is not None and error.kind in ("record", "json")

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
        self._emit(line, record)

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
            self.last_resort(exc)

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
        self._emit(line, record)

    def _emit(self, line: bytes, record: dict[str, Any]) -> None:
        try:
            self.sink.emit(line, record)
        except Exception:  # noqa: BLE001 - counted: the sink contract
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
        for key in LOGGER_KEYS:
            if key in fields:
                kw.setdefault(key, fields.pop(key))
        raw.update(fields)
        moved: dict[str, Any] = {}
        if event is MISSING:  # log.info(event="x"), structlog's spelling; or no event at all
            event = kw.pop("event", MISSING)
        exc_info = kw.pop("exc_info", None)
        stack_info = kw.pop("stack_info", None)
        for key in LOGGER_KEYS + (("message",) if self.event_to == "message" else ()):
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
            # stack_info=True: the caller's stack (a LogRecord has it as text already)
            if self.extra is not None:
                moved["stack_info"] = (stack_info if isinstance(stack_info, str)
                                       else caller_stack())
            else:
                ch.change("dropped_field", "stack_info", "unknown_field",
                          f"table {self.name} has no extra column")
        if exc_info:
            exc = exception_of(exc_info)
            if exc is not None:
                if self.has_error:
                    raw["error"] = exc
                elif self.extra is not None:
                    moved["error"] = exc
                else:
                    ch.change("dropped_field", "error", "unknown_field",
                              f"table {self.name} has no error or extra column")
        if moved and self.extra is not None:
            base = raw.get(self.extra)
            raw[self.extra] = {**base, **moved} if isinstance(base, dict) else (
                {**moved, "extra": base} if base is not None else moved)
        return raw

    def _fallback(self, raw: dict[str, Any], why: Violation, ch: Changes) -> tuple[dict, bytes]:
        ch.change("fallback_error_record", why.field, None, why.message)
        record = fallback_record(self.name, raw, why, self.redact, ch)
        error = record["extra"]["shipper_error"]
        try:
            line = fit_line(record, self.max_bytes, ch, FALLBACK_TABLE)
        except OverflowError:
            record["extra"] = None
        if not record.get("extra"):
            # the original fields did not fit the line: keep at least what went wrong
            record["extra"] = {"shipper_error": error}
            line = fit_line(record, self.max_bytes, ch, FALLBACK_TABLE)
        return record, line

    def last_resort(self, exc: BaseException) -> None:
        """The slow path itself failed (a bug, or a sink that raised oddly): still say so."""
        try:
            record = {ROUTING_KEY: FALLBACK_TABLE, "timestamp": _clock.now(),
                      "severity": "ERROR", "log_id": _clock.new_log_id(), "logger": "shipper",
                      "message": f"shipper: a {self.name} record was lost to an internal error: "
                                 f"{type(exc).__name__}"}
            if self.service is not None:
                record["service"] = self.service
            _stats.add("fallback_error_record")
            self.sink.emit(orjson.dumps(record, option=orjson.OPT_APPEND_NEWLINE), record)
        except Exception:  # noqa: BLE001
            _stats.add("sink_error")


def exception_of(exc_info: Any) -> BaseException | None:
    """The exception an `exc_info=` argument names: an exception, a sys.exc_info() tuple, or
    any true value for the exception being handled."""
    if isinstance(exc_info, BaseException):
        return exc_info
    if isinstance(exc_info, tuple) and len(exc_info) == 3:
        return exc_info[1]
    return sys.exc_info()[1]


_HERE = os.path.dirname(os.path.abspath(__file__))


def caller_stack() -> str:
    """The stack of the code that called the logger (shipper's own and generated frames left
    out), formatted as the stdlib formats a LogRecord's stack_info."""
    import traceback

    f = sys._getframe(1)
    while f is not None and (f.f_code.co_filename.startswith(_HERE)
                             or f.f_code.co_filename.startswith("<shipper")):
        f = f.f_back
    return "Stack (most recent call last):\n" + "".join(traceback.format_stack(f)).rstrip("\n")
