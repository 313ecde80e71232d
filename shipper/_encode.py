"""Anything Python -> a JSON value, and a record -> one line that fits the size limit.

Used only on the slow path: the fast path hands orjson values it has already checked. Here every
value is made representable (bytes, datetimes, objects, NaN, huge ints, lone surrogates, cycles,
deep nesting) and every change is reported to a `Notes` collector, which counts it (safe mode)
or raises `RecordError` (strict mode).

Secrets: values under secret keys become "[REDACTED]" at any depth, and an object is walked as
the mapping it is before anything turns it into text - dict and any `Mapping`
(`MappingProxyType`, Starlette/httpx `Headers`, requests' `CaseInsensitiveDict`), header objects
that are not mappings (Werkzeug `Headers`/`EnvironHeaders`, `email.message.Message`),
dataclasses, pydantic models, attrs classes, named tuples, exceptions - so that its field and
header names are judged as keys. Strings holding a URL have its credentials scrubbed
(`Redactor.scrub`). What is not a known shape becomes its `str()` (counted).
"""

from __future__ import annotations

import dataclasses
import enum
import math
import uuid
from collections.abc import Mapping
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import PurePath
from typing import Any, Protocol

import orjson

from ._clock import from_datetime
from ._constants import INT64_MAX, INT64_MIN, LOGGER_KEYS, REDACTED
from ._redact import NO_REDACTION, Redactor
from ._text import fix_utf8, int_text, utf8_ok

MAX_DEPTH = 32  # deeper than this is not a log record any more; BigQuery JSON allows 500

__all__ = ["INT64_MAX", "INT64_MIN", "MAX_DEPTH", "NO_REDACTION", "REDACTED", "Notes", "cut",
           "error_record", "fit_line", "fix_utf8", "to_json", "utf8_ok"]


class Notes(Protocol):
    def change(self, reason: str, path: str, rule: str | None, detail: str) -> None: ...


def truncation_marker(dropped_chars: int) -> str:
    return f"...[truncated {dropped_chars} chars]"


def cut(s: str, keep_chars: int) -> str:
    """`s` shortened to at most `keep_chars` characters, ending in the marker when it fits."""
    if len(s) <= keep_chars:
        return s
    head = keep_chars - len(truncation_marker(len(s)))
    if head <= 0:
        return s[:keep_chars]
    while head + len(truncation_marker(len(s) - head)) > keep_chars:
        head -= 1
    return s[:head] + truncation_marker(len(s) - head)


def error_record(exc: BaseException) -> dict[str, Any]:
    """An exception as the `error` RECORD: qualified type, message, formatted stack. The
    texts are as Python makes them (they may hold lone surrogates or URLs with passwords):
    callers pass the dict through `to_json` or the RECORD converter, which fix both."""
    import traceback

    t = type(exc)
    name = f"{t.__module__}.{t.__qualname__}"
    try:
        message: str | None = str(exc)
    except Exception:  # noqa: BLE001 - a broken __str__ must not break the log call
        message = f"<unprintable {t.__name__}>"
    try:
        stack: str | None = "".join(traceback.format_exception(t, exc, exc.__traceback__))
    except Exception:  # noqa: BLE001
        stack = None
    return {"type": name, "message": message, "stack": stack}


def clean_text(v: str, path: str, notes: Notes, redact: Redactor) -> str:
    """A str made safe to write: URL credentials scrubbed, lone surrogates escaped."""
    if "://" in v:
        scrubbed = redact.scrub(v)
        if scrubbed is not None:
            notes.change("redacted", path, None, "credentials in a URL")
            v = scrubbed
    if utf8_ok(v):
        return v
    notes.change("coerced", path, "invalid_utf8", "lone surrogates escaped")
    return fix_utf8(v)


def to_json(v: Any, path: str, notes: Notes, redact: Redactor = NO_REDACTION,
            depth: int = 0, seen: set[int] | None = None) -> Any:
    """A JSON value for `v` (for extra and JSON columns); redacts secret keys at any depth."""
    t = type(v)
    if v is None or t is bool:
        return v
    if t is str:
        return clean_text(v, path, notes, redact)
    if t is int:
        if INT64_MIN <= v <= INT64_MAX:
            return v
        notes.change("coerced", path, "int64_range", "integer beyond INT64 kept as its digits")
        return int_text(v)
    if t is float:
        if math.isfinite(v):
            return v
        notes.change("coerced", path, "not_finite", f"{v} kept as the string {str(v)!r}")
        return str(v)
    if depth >= MAX_DEPTH:
        notes.change("truncated", path, "depth", f"nested deeper than {MAX_DEPTH} levels")
        return f"[nested deeper than {MAX_DEPTH} levels]"
    if t is dict or t is list or (isinstance(v, (dict, list, tuple, set, frozenset))
                                  and not hasattr(v, "_fields")):
        seen = set() if seen is None else seen
        if id(v) in seen:
            notes.change("unserializable", path, "json_value", "a reference cycle")
            return "[cycle]"
        seen.add(id(v))
        try:
            if isinstance(v, dict):
                return _pairs(list(v.items()), path, notes, redact, depth, seen)
            items = list(v)
            return [to_json(x, f"{path}[{i}]", notes, redact, depth + 1, seen)
                    for i, x in enumerate(items)]
        finally:
            seen.discard(id(v))
    return _other(v, path, notes, redact, depth, seen)


def _pairs(pairs: list[tuple[Any, Any]], path: str, notes: Notes, redact: Redactor,
           depth: int, seen: set[int]) -> dict[str, Any]:
    """Key-value pairs as a JSON object: keys made text, secrets redacted, values walked. A
    key that comes again (a header sent twice) keeps every value, as a list."""
    out: dict[str, Any] = {}
    repeated: set[str] = set()
    for k, x in pairs:
        if type(k) is not str or not utf8_ok(k):
            k = _key(k, path, notes)
        sub = f"{path}.{k}" if path else k
        if redact(k):
            notes.change("redacted", sub, None, "secret key")
            out[k] = REDACTED
            continue
        value = to_json(x, sub, notes, redact, depth + 1, seen)
        if k not in out:
            out[k] = value
        elif k in repeated:
            out[k].append(value)
        else:
            out[k] = [out[k], value]
            repeated.add(k)
    return out


def _key(k: Any, path: str, notes: Notes) -> str:
    notes.change("coerced", path, "json_value", f"key {type(k).__name__} made a string")
    try:
        s = str(k)
    except Exception:  # noqa: BLE001
        s = f"<{type(k).__name__}>"
    return s if utf8_ok(s) else fix_utf8(s)


def object_pairs(v: Any) -> tuple[str, list[tuple[Any, Any]]] | None:
    """(what it is, its name-value pairs) for an object that is a mapping in disguise, else
    None (also when getting them fails). Tried before `str()`, which would write every
    header and field in clear."""
    try:
        return _object_pairs(v)
    except Exception:  # noqa: BLE001 - a model_dump/items() that fails: its str() instead
        return None


def _object_pairs(v: Any) -> tuple[str, list[tuple[Any, Any]]] | None:
    cls = type(v)
    if isinstance(v, Mapping):
        return "mapping", list(v.items())
    if isinstance(v, tuple) and hasattr(v, "_fields"):
        return "named tuple", list(zip(v._fields, v))
    if dataclasses.is_dataclass(v) and not isinstance(v, type):
        return "dataclass", [(f.name, getattr(v, f.name)) for f in dataclasses.fields(v)]
    if callable(getattr(cls, "model_dump", None)) and hasattr(cls, "model_fields"):
        return "pydantic model", list(v.model_dump().items())  # pydantic 2
    if callable(getattr(cls, "dict", None)) and hasattr(cls, "__fields__"):
        return "pydantic model", list(v.dict().items())  # pydantic 1
    attrs = getattr(cls, "__attrs_attrs__", None)
    if attrs is not None and not isinstance(v, type):
        return "attrs object", [(a.name, getattr(v, a.name)) for a in attrs]
    if callable(getattr(v, "items", None)) and callable(getattr(v, "keys", None)) \
            and hasattr(v, "__getitem__") and not isinstance(v, type):
        # header collections that are not Mappings: Werkzeug Headers/EnvironHeaders,
        # email.message.Message (http.client responses), multidicts
        return "header object", [(k, x) for k, x in v.items()]
    return None


def _other(v: Any, path: str, notes: Notes, redact: Redactor, depth: int,
           seen: set[int] | None) -> Any:
    """Known non-JSON types convert (counted "coerced"); the rest become their str()."""
    if isinstance(v, bool):
        return bool(v)
    if isinstance(v, enum.Enum):
        notes.change("coerced", path, None, "enum member stored as its value")
        return to_json(v.value, path, notes, redact, depth + 1, seen)
    if isinstance(v, int):  # int subclass
        return to_json(int(v), path, notes, redact, depth, seen)
    if isinstance(v, float):
        return to_json(float(v), path, notes, redact, depth, seen)
    if isinstance(v, str):
        return to_json(str(v), path, notes, redact, depth, seen)
    if isinstance(v, datetime):
        notes.change("coerced", path, None, "datetime stored as an RFC 3339 string")
        return datetime_text(v)
    if isinstance(v, (date, time)):
        notes.change("coerced", path, None, "stored as an ISO 8601 string")
        return v.isoformat()
    if isinstance(v, timedelta):
        notes.change("coerced", path, None, "timedelta stored as seconds")
        return v.total_seconds()
    if isinstance(v, (bytes, bytearray, memoryview)):
        notes.change("coerced", path, "type", "bytes stored as text")
        return clean_text(bytes(v).decode("utf-8", "backslashreplace"), path, notes, redact)
    if isinstance(v, (Decimal, uuid.UUID, PurePath)):
        notes.change("coerced", path, None, f"{type(v).__name__} stored as its text")
        return clean_text(str(v), path, notes, redact)
    if isinstance(v, BaseException):
        notes.change("coerced", path, None, "exception stored as {type, message, stack}")
        return to_json(error_record(v), path, notes, redact, depth, seen)
    seen = set() if seen is None else seen
    if id(v) in seen:
        notes.change("unserializable", path, "json_value", "a reference cycle")
        return "[cycle]"
    shape = object_pairs(v)
    if shape is not None:
        notes.change("coerced", path, None, f"{shape[0]} stored as an object")
        seen.add(id(v))
        try:
            return _pairs(shape[1], path, notes, redact, depth, seen)
        finally:
            seen.discard(id(v))
    try:
        s = str(v)
        if type(s) is not str:
            raise TypeError("__str__ returned a non-string")
    except Exception:  # noqa: BLE001 - any user __str__ may fail
        notes.change("unserializable", path, "unserializable",
                     f"{type(v).__name__} is not JSON and its str() fails")
        return f"<unserializable {type(v).__qualname__}>"
    notes.change("unserializable", path, "unserializable",
                 f"{type(v).__name__} is not JSON: stored as its str()")
    return clean_text(s, path, notes, redact)


# -- the line ---------------------------------------------------------------------------------

_MIN_KEEP = 32  # characters a shortened value keeps before its marker

# Envelope values never shortened: the routing key, the time and the level are how the record
# is found at all, and they are short.
_KEEP = frozenset({*LOGGER_KEYS, "timestamp"})


def dumps_line(record: dict[str, Any]) -> bytes:
    return orjson.dumps(record, option=orjson.OPT_APPEND_NEWLINE)


def _strings(node: Any, out: list[tuple[int, Any, Any]], top: bool) -> None:
    """Every string leaf as (length, container, key), for shortening the longest."""
    if isinstance(node, dict):
        for k, v in node.items():
            if top and k in _KEEP:
                continue
            if type(v) is str:
                out.append((len(v), node, k))
            elif isinstance(v, (dict, list)):
                _strings(v, out, False)
    elif isinstance(node, list):
        for i, v in enumerate(node):
            if type(v) is str:
                out.append((len(v), node, i))
            elif isinstance(v, (dict, list)):
                _strings(v, out, False)


def fit_line(record: dict[str, Any], max_bytes: int, notes: Notes, table: str) -> bytes:
    """The record as one line (newline included) of at most `max_bytes` bytes.

    Longest strings are shortened first, each with a visible marker; when strings alone cannot
    make room, the extra column goes (counted). Raises OverflowError when nothing is left to cut.
    """
    line = dumps_line(record)
    rounds = 0
    while len(line) > max_bytes:
        rounds += 1
        excess = len(line) - max_bytes
        leaves: list[tuple[int, Any, Any]] = []
        _strings(record, leaves, True)
        leaves.sort(key=lambda x: x[0], reverse=True)
        done = False
        if leaves and rounds < 64:
            length, holder, key = leaves[0]
            marker_len = len(truncation_marker(length))
            # cut by the excess (chars <= bytes, so that is enough) but keep a readable head;
            # when one value cannot absorb it all, the next longest goes in the next round
            keep = max(_MIN_KEEP, length - excess - marker_len)
            if length > keep + marker_len:
                notes.change("truncated", str(key), "max_line_bytes",
                             f"line over {max_bytes} bytes: longest value shortened")
                holder[key] = cut(holder[key], keep + marker_len)
                done = True
        if not done:
            if isinstance(record.get("extra"), dict) and record["extra"]:
                notes.change("dropped_field", "extra", "max_line_bytes",
                             f"line over {max_bytes} bytes: extra column dropped")
                record["extra"] = None
            else:
                raise OverflowError(f"a {table} record cannot be made shorter than "
                                    f"{len(line)} bytes")
        line = dumps_line(record)
    return line


def datetime_text(d: datetime) -> str:
    """RFC 3339 UTC text, or the datetime's own ISO text where UTC would leave years 1-9999."""
    try:
        return from_datetime(d)
    except (OverflowError, ValueError):
        return d.isoformat()
