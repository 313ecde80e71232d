"""Make a record fit its table: the slow path, compiled once per table and mode.

The fast path (`_fast.py`) only accepts records that already fit. Everything else comes here.
The repair path is a target of the column-rule model (`shipper.rules`): each column's
converter is built once from its `ColumnRule` - kind, allowed values, length, bounds, mode,
children - and what happens to a value no conversion saves is the rule's repair policy
(`on_invalid`): dropped, moved to the extra column, the column's default written, or the record
turned into an `app_log` error record that says what was wrong. Undeclared fields move into the
table's extra column (or are dropped where it has none); every change is reported to a
`Changes` collector. In safe mode the collector counts (`shipper.stats()`); in strict mode any
repair that loses or alters data raises `RecordError` naming the table, the field and the
rule. The record-verdict vectors run through it (tests/shipper/logger/test_record_verdicts.py).

Natural conversions (datetime -> TIMESTAMP text, Enum -> value, tuple -> array, exception ->
error RECORD) are what the API invites, so they are counted as "coerced" but never raise.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from . import _stats
from ._check import (
    TIMESTAMP_RE,
    check_record,
    valid_date,
    valid_timestamp,
)
from ._clock import from_datetime, from_epoch, new_log_id, now
from ._constants import FALLBACK_TABLE, INT64_MAX, INT64_MIN, REDACTED, ROUTING_KEY
from ._encode import (
    clean_text,
    cut,
    datetime_text,
    error_record,
    object_pairs,
    to_json,
)
from ._errors import RecordError, Violation
from ._redact import NO_REDACTION, Redactor
from ._text import int_text, show, utf8_ok
from .rules import FALLBACK, FILL_DEFAULT, MOVE_TO_EXTRA, ColumnRule, TableRules, rules_for
from .rules._model import BOOL, DATE, FLOAT64, INT64, JSON, RECORD, STRING, TIMESTAMP

__all__ = [
    "Changes",
    "Fitter",
    "RecordError",
    "Unfixable",
    "Violation",
    "check_record",
    "compile_fitter",
    "fallback_record",
]

# The one form the logger writes (from_datetime, now()): other valid forms are normalised to it.
CANONICAL_TIMESTAMP = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z\Z")
_INT_TEXT = re.compile(r"\s*[+-]?[0-9]+\s*\Z")
_FLOAT_TEXT = re.compile(r"\s*[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?\s*\Z")
_MAX_FLOAT_INT = 2**53


class Unfixable(Exception):
    """Safe mode could not make the record fit (a REQUIRED field is missing or unusable)."""

    def __init__(self, violation: Violation) -> None:
        super().__init__(violation.message)
        self.violation = violation


class Changes:
    """What happened to one record, by reason. Strict mode raises on the first real repair."""

    __slots__ = ("counts", "first", "strict", "table")

    def __init__(self, table: str, strict: bool) -> None:
        self.table = table
        self.strict = strict
        self.counts: dict[str, int] = {}
        self.first: Violation | None = None

    def change(self, reason: str, path: str, rule: str | None, detail: str) -> None:
        if rule is not None:
            if self.strict:
                raise RecordError(self.table, path, rule, detail)
            if self.first is None:
                self.first = Violation(path, rule, f"{path}: {detail}")
        self.counts[reason] = self.counts.get(reason, 0) + 1

    def commit(self) -> None:
        if self.counts:
            _stats.add_many(self.counts)


class _Invalid(Exception):
    def __init__(self, rule: str, detail: str) -> None:
        super().__init__(detail)
        self.rule = rule
        self.detail = detail


Convert = Callable[[Any, str, Changes], Any]


def _scalar_converter(rule: ColumnRule, redact: Redactor) -> Convert:
    t = rule.kind
    lo_rule, hi_rule = rule.bounds
    if t == STRING:
        enum = rule.enum
        maxlen = rule.max_length

        def string(v: Any, path: str, ch: Changes) -> Any:
            if type(v) is not str:
                v = _as_text(v, path, ch, redact)
            v = clean_text(v, path, ch, redact)
            if enum is not None and v not in enum:
                raise _Invalid("enum", f"{v[:40]!r} is not one of {list(enum)}")
            if maxlen is not None and len(v) > maxlen:
                ch.change("truncated", path, "maxLength",
                          f"{len(v)} characters, at most {maxlen} allowed")
                v = cut(v, maxlen)
            return v

        return string
    if t == INT64:
        lo = max(INT64_MIN, lo_rule) if lo_rule is not None else INT64_MIN
        hi = min(INT64_MAX, hi_rule) if hi_rule is not None else INT64_MAX

        def integer(v: Any, path: str, ch: Changes) -> Any:
            tv = type(v)
            if tv is not int:
                v = _as_int(v, path, ch)
            if not lo <= v <= hi:
                rule = "int64_range" if not INT64_MIN <= v <= INT64_MAX else (
                    "minimum" if v < lo else "maximum")
                raise _Invalid(rule, f"{show(v)} is outside [{lo}, {hi}]")
            return v

        return integer
    if t == FLOAT64:
        flo, fhi = lo_rule, hi_rule

        def number(v: Any, path: str, ch: Changes) -> Any:
            tv = type(v)
            if tv is int:
                if not INT64_MIN <= v <= INT64_MAX:
                    try:
                        v = float(v)
                    except OverflowError:
                        raise _Invalid("not_finite", f"{show(v)} is beyond any "
                                                     "FLOAT64") from None
                    ch.change("coerced", path, "int64_range", "big integer stored as a float")
            elif tv is not float:
                v = _as_float(v, path, ch)
            if type(v) is float and not math.isfinite(v):
                raise _Invalid("not_finite", f"{v} is not a JSON number")
            if flo is not None and v < flo:
                raise _Invalid("minimum", f"{v!r} is below the minimum {flo}")
            if fhi is not None and v > fhi:
                raise _Invalid("maximum", f"{v!r} is above the maximum {fhi}")
            return v

        return number
    if t == BOOL:
        def boolean(v: Any, path: str, ch: Changes) -> Any:
            if type(v) is bool:
                return v
            if type(v) is int and v in (0, 1):
                ch.change("coerced", path, "type", "0/1 stored as a boolean")
                return bool(v)
            if isinstance(v, str) and v.strip().lower() in ("true", "false"):
                ch.change("coerced", path, "type", "text stored as a boolean")
                return v.strip().lower() == "true"
            raise _Invalid("type", f"expected a boolean, got {type(v).__name__}")

        return boolean
    if t == TIMESTAMP:
        return _timestamp
    if t == DATE:
        return _date
    if t == RECORD:
        return _record_converter(rule.children, redact)
    if t == JSON:
        def json_value(v: Any, path: str, ch: Changes) -> Any:
            return to_json(v, path, ch, redact)

        return json_value
    raise ValueError(f"column {rule.name}: unknown kind {t}")


def _as_text(v: Any, path: str, ch: Changes, redact: Redactor = NO_REDACTION) -> str:
    import enum
    import uuid
    from pathlib import PurePath

    if isinstance(v, enum.Enum):
        ch.change("coerced", path, None, "enum member stored as its value")
        v = v.value
        if isinstance(v, str):
            return str(v)
    if isinstance(v, str):
        return str(v)
    if isinstance(v, datetime):
        ch.change("coerced", path, None, "datetime stored as RFC 3339 text")
        return datetime_text(v)
    if isinstance(v, (Decimal, uuid.UUID, PurePath, date)):
        ch.change("coerced", path, None, f"{type(v).__name__} stored as its text")
        return v.isoformat() if isinstance(v, date) else str(v)
    if isinstance(v, (bytes, bytearray, memoryview)):
        ch.change("coerced", path, "type", "bytes stored as text")
        return bytes(v).decode("utf-8", "backslashreplace")
    if v is True or v is False or isinstance(v, (int, float)):
        if isinstance(v, float) and not math.isfinite(v):
            raise _Invalid("not_finite", f"{v} where text was expected")
        ch.change("coerced", path, "type", f"{type(v).__name__} stored as text")
        return str(v).lower() if isinstance(v, bool) else (
            int_text(v) if isinstance(v, int) else str(v))
    if isinstance(v, (dict, list, tuple, set, frozenset)) or object_pairs(v) is not None:
        # walked first (mappings, header objects, models: their secrets are redacted by
        # key), then stored as JSON text
        import orjson

        ch.change("coerced", path, "type", "object stored as JSON text")
        return orjson.dumps(to_json(v, path, ch, redact)).decode()
    try:
        s = str(v)
        if type(s) is not str:
            raise TypeError
    except Exception:  # noqa: BLE001 - user __str__ may fail
        raise _Invalid("unserializable", f"{type(v).__name__} has no usable str()") from None
    ch.change("unserializable", path, "type", f"{type(v).__name__} stored as its str()")
    return s


def _as_int(v: Any, path: str, ch: Changes) -> int:
    if isinstance(v, bool):
        ch.change("coerced", path, "type", "boolean stored as 0/1")
        return int(v)
    if isinstance(v, int):  # IntEnum and other int subclasses
        ch.change("coerced", path, None, f"{type(v).__name__} stored as int")
        return int(v)
    if isinstance(v, float):
        if math.isfinite(v) and v.is_integer():
            return int(v)  # the same integer (the rule takes 3.0): written as 3, not counted
        raise _Invalid("not_finite" if not math.isfinite(v) else "type",
                       f"expected an integer, got {v!r}")
    if isinstance(v, Decimal) and v.is_finite() and v == v.to_integral_value():
        ch.change("coerced", path, "type", "Decimal stored as int")
        return int(v)
    if isinstance(v, (str, bytes)) and len(v) < 40:
        s = v.decode("ascii", "replace") if isinstance(v, bytes) else v
        if _INT_TEXT.match(s):
            ch.change("coerced", path, "type", "digits stored as int")
            return int(s)
    raise _Invalid("type", f"expected an integer, got {type(v).__name__}")


def _as_float(v: Any, path: str, ch: Changes) -> float | int:
    if isinstance(v, bool):
        ch.change("coerced", path, "type", "boolean stored as 0/1")
        return int(v)
    if isinstance(v, int):
        return _as_int(v, path, ch)
    if isinstance(v, float):
        ch.change("coerced", path, None, f"{type(v).__name__} stored as float")
        return float(v)
    if isinstance(v, Decimal) and v.is_finite():
        ch.change("coerced", path, "type", "Decimal stored as float")
        return float(v)
    if isinstance(v, str) and len(v) < 64 and _FLOAT_TEXT.match(v):
        ch.change("coerced", path, "type", "number text stored as float")
        return float(v)
    if hasattr(v, "total_seconds"):  # timedelta: latency=timedelta(...)
        try:
            secs = float(v.total_seconds())
        except Exception:  # noqa: BLE001, S110 - not a usable timedelta: the generic rules below take it
            pass
        else:
            ch.change("coerced", path, None, "timedelta stored as seconds")
            return secs
    raise _Invalid("type", f"expected a number, got {type(v).__name__}")


def _timestamp(v: Any, path: str, ch: Changes) -> str:
    """The column's one form, 'YYYY-MM-DDTHH:MM:SS.ffffffZ' in UTC, from any time the app gives.

    RFC 3339 text in another shape (an offset, a space, fewer digits) is the same instant
    written differently: normalised and counted "coerced", not an error in strict mode."""
    if type(v) is str:
        if CANONICAL_TIMESTAMP.match(v) and valid_timestamp(v):
            return v
        m = TIMESTAMP_RE.match(v)
        if m is not None and valid_timestamp(v):
            try:
                text = from_datetime(_rfc3339(m))
            except (OverflowError, ValueError):
                raise _Invalid("timestamp_format", f"{v[:40]!r} is outside years 1-9999 "
                                                   "in UTC") from None
            ch.change("coerced", path, None, "timestamp text normalised to UTC")
            return text
    if isinstance(v, datetime):
        try:
            text = from_datetime(v)
        except (OverflowError, ValueError):
            raise _Invalid("timestamp_format", f"{v!r} is outside years 1-9999 in UTC") from None
        ch.change("coerced", path, None, "datetime stored as RFC 3339 text")
        return text
    if isinstance(v, date):
        ch.change("coerced", path, None, "date stored as midnight UTC")
        return f"{v.year:04d}-{v.month:02d}-{v.day:02d}T00:00:00.000000Z"
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        if isinstance(v, float) and not math.isfinite(v) or not 0 <= v < 253402300800:
            raise _Invalid("timestamp_format", f"{show(v)} is not a time")
        ch.change("coerced", path, "type", "epoch seconds stored as RFC 3339 text")
        return from_epoch(float(v))
    if isinstance(v, str) and len(v) < 64:
        try:
            d = datetime.fromisoformat(v.replace("Z", "+00:00"))
            text = from_datetime(d if d.tzinfo else d.replace(tzinfo=timezone.utc))
        except (ValueError, OverflowError):
            pass
        else:
            ch.change("coerced", path, "timestamp_format", "timestamp text normalised")
            return text
    shown = show(v[:40]) if isinstance(v, str) else type(v).__name__
    raise _Invalid("timestamp_format", f"{shown} is not a timestamp BigQuery parses")


def _rfc3339(m: re.Match[str]) -> datetime:
    """The instant a TIMESTAMP_RE match names (no zone: UTC, as BigQuery reads it)."""
    y, mo, d, h, mi, s = (int(x) for x in m.group(1, 2, 3, 4, 5, 6))
    frac = m.group(7) or ""
    zone = m.group(8)
    tz = timezone.utc
    if zone and zone not in ("Z", "z"):
        sign = -1 if zone[0] == "-" else 1
        tz = timezone(sign * timedelta(hours=int(zone[1:3]), minutes=int(zone[-2:])))
    return datetime(y, mo, d, h, mi, s, int(frac.ljust(6, "0")), tzinfo=tz)


def _date(v: Any, path: str, ch: Changes) -> str:
    if type(v) is str and valid_date(v):
        return v
    if isinstance(v, datetime):
        ch.change("coerced", path, "type", "datetime stored as its date")
        return v.date().isoformat()
    if isinstance(v, date):
        ch.change("coerced", path, None, "date stored as ISO text")
        return v.isoformat()
    raise _Invalid("date_format", "not a YYYY-MM-DD date")


def _field_converter(rule: ColumnRule, redact: Redactor) -> Convert:
    one = _scalar_converter(rule, redact)
    if not rule.repeated:
        return one

    def repeated(v: Any, path: str, ch: Changes) -> list[Any]:
        if isinstance(v, (str, bytes, dict)) or not hasattr(v, "__iter__"):
            ch.change("coerced", path, "type", "single value stored as a one-item array")
            v = [v]
        out = []
        for i, item in enumerate(list(v)):
            ipath = f"{path}[{i}]"
            if item is None:
                ch.change("dropped_field", ipath, "repeated_null", "null dropped from an array")
                continue
            try:
                out.append(one(item, ipath, ch))
            except _Invalid as exc:
                ch.change("dropped_field", ipath, exc.rule, exc.detail)
        return out

    return repeated


def _record_converter(children: tuple[ColumnRule, ...], redact: Redactor) -> Convert:
    """A RECORD's fields by their rules; a misfit is dropped from it (there is no extra column
    inside a record), a REQUIRED one that is missing or unusable makes the whole value invalid
    (the column's own policy decides then)."""
    convs = {c.name: (c, _field_converter(c, redact)) for c in children}

    def record(v: Any, path: str, ch: Changes) -> dict[str, Any]:
        if isinstance(v, BaseException):
            ch.change("coerced", path, None, "exception stored as {type, message, stack}")
            v = error_record(v)
        if not isinstance(v, dict):
            raise _Invalid("type", f"expected an object, got {type(v).__name__}")
        out: dict[str, Any] = {}
        for key, x in v.items():
            sub = f"{path}.{key}"
            spec = convs.get(key)
            if spec is None:
                ch.change("dropped_field", sub, "unknown_field", "not declared in the RECORD")
                continue
            c, conv = spec
            if x is None:
                continue
            if redact(key):
                ch.change("redacted", sub, None, "secret key")
                x = REDACTED if c.kind == STRING else None
                if x is None:
                    continue
            try:
                out[key] = conv(x, sub, ch)
            except _Invalid as exc:
                if c.required:
                    raise
                ch.change("dropped_field", sub, exc.rule, exc.detail)
        for name, (c, _) in convs.items():
            if c.required and out.get(name) is None:
                raise _Invalid("required", f"{path}.{name}: required field is missing")
        return out

    return record


class Fitter:
    """Per-table converters, built once from the table's rules; `fit(raw, changes)` returns
    the fitted record."""

    def __init__(self, rules: TableRules, redact: Redactor) -> None:
        self.rules = rules
        self.name = rules.table
        self.redact = redact
        self.extra = rules.extra_column
        self.fields = [(c, _field_converter(c, redact)) for c in rules.columns
                       if c.name != self.extra]
        self.declared = frozenset(rules.names)
        self.required = [c for c in rules.columns if c.required]

    def fit(self, raw: dict[str, Any], ch: Changes) -> dict[str, Any]:
        out: dict[str, Any] = {ROUTING_KEY: self.name}
        extra: dict[str, Any] = {}
        given_extra: Any = None
        redact = self.redact
        for c, conv in self.fields:
            name = c.name
            if name not in raw:
                continue
            v = raw[name]
            if v is None:
                if c.required:
                    self._invalid(c, "required", "required field is null", out, ch)
                continue
            if redact(name):
                ch.change("redacted", name, None, "secret key")
                if c.kind == STRING:
                    out[name] = cut(REDACTED, c.max_length or 10)
                elif c.required:
                    self._invalid(c, "type", "secret in a non-text REQUIRED column", out, ch)
                continue
            try:
                out[name] = conv(v, name, ch)
            except _Invalid as exc:
                if c.on_invalid in (FALLBACK, FILL_DEFAULT):
                    self._invalid(c, exc.rule, exc.detail, out, ch)
                    continue
                ch.change("dropped_field", name, exc.rule, exc.detail)
                if c.on_invalid == MOVE_TO_EXTRA and self.extra is not None:
                    ch.change("moved_to_extra", name, None, "invalid value kept in extra")
                    extra[name] = v
        for key, v in raw.items():
            if key in self.declared and key != self.extra or key == ROUTING_KEY:
                continue
            if type(key) is not str:
                key = str(key)
            if key == self.extra:
                if isinstance(v, dict):
                    for k, x in v.items():
                        extra[k if type(k) is str else str(k)] = x
                elif v is not None:
                    given_extra = v  # any JSON value: as given, unless other fields join it
                continue
            if self.extra is None:
                ch.change("dropped_field", key, "unknown_field",
                          f"table {self.name} has no such column and no extra column")
                continue
            # The extra column is where a table wants undeclared fields: placing them there is
            # the design, not a repair, so it is not counted (the fast path does the same).
            extra[key] = v
        for c in self.required:
            if out.get(c.name) is None:
                self._invalid(c, "required", "required field is missing", out, ch)
        if given_extra is not None:
            if extra:  # the caller's non-object extra beside other fields: kept under its name
                extra = {self.extra: given_extra, **extra}
            else:
                out[self.extra] = to_json(given_extra, self.extra, ch, redact)
        if extra:
            out[self.extra] = to_json(extra, self.extra, ch, redact)
        return out

    def _invalid(self, c: ColumnRule, rule: str, detail: str, out: dict[str, Any],
                 ch: Changes) -> None:
        """A REQUIRED column with no usable value: its default, where the registry gives one
        (counted "filled_default"; strict mode raises), else the record cannot be saved."""
        if c.on_invalid == FILL_DEFAULT:
            ch.change("filled_default", c.name, rule, f"{detail}: the column's default written")
            out[c.name] = c.default
            return
        if ch.strict:
            raise RecordError(self.name, c.name, rule, detail)
        raise Unfixable(Violation(c.name, rule, f"{c.name}: {detail}"))


def fallback_record(table: str, raw: dict[str, Any], why: Violation, redact: Redactor,
                    ch: Changes) -> dict[str, Any]:
    """The `app_log` error record that replaces a record no repair could save.

    It keeps what can identify the original (time, service, request and trace ids, the log id)
    when those values are valid, says which field broke which rule, and carries the original
    fields (JSON-safe, redacted) in `extra` so that nothing is lost that could be kept.
    """
    out: dict[str, Any] = {ROUTING_KEY: FALLBACK_TABLE}
    ts = raw.get("timestamp")
    out["timestamp"] = ts if type(ts) is str and valid_timestamp(ts) else now()
    out["severity"] = "ERROR"
    for key, limit in (("service", 128), ("log_id", 128), ("request_id", 128), ("trace_id", 128)):
        v = raw.get(key)
        if type(v) is str and utf8_ok(v):
            out[key] = cut(v, limit)
    if "log_id" not in out:
        out["log_id"] = new_log_id()
    out["logger"] = "shipper"
    out["message"] = (f"shipper: a {table} record could not be repaired: field {why.field!r} "
                      f"breaks rule {why.rule!r} ({why.message})")
    scrap = Changes(FALLBACK_TABLE, False)
    original = {str(k): v for k, v in raw.items() if k != ROUTING_KEY}
    out["extra"] = {
        "shipper_error": {"table": table, "field": why.field, "rule": why.rule,
                          "detail": why.message},
        "record": to_json(original, "record", scrap, redact),
    }
    if "redacted" in scrap.counts:
        ch.counts["redacted"] = ch.counts.get("redacted", 0) + scrap.counts["redacted"]
    return out


def compile_fitter(table: Any, mode: str = "safe", *,
                   redact_keys: Any = None) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """`fit(raw) -> record`: the record made to fit `table` (routing key included).

    safe: never raises; changes are counted in `shipper.stats()`, and an unrepairable record
    comes back as the `app_log` error record (its routing key says so). strict: raises
    `RecordError` at the first change that would lose or alter data.
    """
    if mode not in ("safe", "strict"):
        raise ValueError(f"mode must be 'safe' or 'strict', got {mode!r}")
    rules = rules_for(table)
    if redact_keys is None:
        from ._config import current

        redact_keys = current().redact_keys
    else:
        from ._config import parse_redact_keys

        redact_keys = parse_redact_keys(redact_keys)
    redact = Redactor(redact_keys)
    fitter = Fitter(rules, redact)
    strict = mode == "strict"

    def fit(raw: dict[str, Any]) -> dict[str, Any]:
        ch = Changes(table.name, strict)
        try:
            return fitter.fit(raw, ch)
        except Unfixable as exc:
            ch.change("fallback_error_record", exc.violation.field, None, exc.violation.message)
            if "log_id" not in raw:
                _stats.not_emitted()  # the id the fallback takes is not a written record
            return fallback_record(table.name, raw, exc.violation, redact, ch)
        finally:
            ch.commit()

    return fit

