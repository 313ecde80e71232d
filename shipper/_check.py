"""The pure record check: does a record fit its table, and if not, every reason why.

One judge for everyone: the logger's strict mode, the pytest plugin and `shipper load` all ask
this function, so a record the tests accept is a record the loader accepts. It never changes the
record and never raises for bad data (only for a bad `table` argument).
"""

from __future__ import annotations

import math
import re
from datetime import date
from typing import Any

from ._errors import Violation
from ._text import brief, utf8_ok

ROUTING_KEY = "log_table"  # = shipper.registry.ROUTING_KEY, without importing the registry

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1

# What BigQuery parses as a TIMESTAMP in JSON rows: date, 'T' or space, time with up to
# microseconds, and an optional zone (none means UTC).
TIMESTAMP_RE = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[T ]([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]{1,6}))?"
    r"(Z|z|[+-][0-9]{2}:[0-9]{2}|[+-][0-9]{4})?\Z"
)
# The one form the logger writes (from_datetime, now()): other valid forms are normalised to it.
CANONICAL_TIMESTAMP = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z\Z")
DATE_RE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})\Z")

# Short names of the registry types, so this module does not import the registry at all.
_STRING, _INT64, _FLOAT64, _BOOL = "STRING", "INT64", "FLOAT64", "BOOL"
_TIMESTAMP, _DATE, _RECORD, _JSON = "TIMESTAMP", "DATE", "RECORD", "JSON"
_REQUIRED, _REPEATED = "REQUIRED", "REPEATED"


def valid_timestamp(v: str) -> bool:
    """RFC 3339 shape and a real calendar instant (no 2024-02-30, no 25:00)."""
    m = TIMESTAMP_RE.match(v)
    if m is None:
        return False
    y, mo, d, h, mi, s = (int(x) for x in m.group(1, 2, 3, 4, 5, 6))
    if y < 1 or h > 23 or mi > 59 or s > 59:
        return False
    try:
        date(y, mo, d)
    except ValueError:
        return False
    zone = m.group(8)
    if zone and zone not in ("Z", "z"):
        hh, mm = int(zone[1:3]), int(zone[-2:])
        if hh > 23 or mm > 59:
            return False
    return True


def valid_date(v: str) -> bool:
    m = DATE_RE.match(v)
    if m is None:
        return False
    try:
        date(int(m[1]), int(m[2]), int(m[3]))
    except ValueError:
        return False
    return int(m[1]) >= 1


def json_problem(v: Any, depth: int = 0, seen: set[int] | None = None) -> tuple[str, str] | None:
    """(rule, why) when `v` is not a JSON value BigQuery stores, else None."""
    t = type(v)
    if v is None or t is bool or t is str and utf8_ok(v):
        return None
    if t is str:
        return "invalid_utf8", "a string with lone surrogates is not UTF-8"
    if t is int:
        return None if INT64_MIN <= v <= INT64_MAX else ("int64_range",
                                                         f"{brief(v)} does not fit INT64")
    if t is float:
        return None if math.isfinite(v) else ("not_finite", f"{v} is not a JSON number")
    if depth > 500:
        return "depth", "nested deeper than 500 levels"
    if t is dict or t is list:
        seen = seen if seen is not None else set()
        if id(v) in seen:
            return "json_value", "a cycle"
        seen.add(id(v))
        try:
            if t is dict:
                for k, x in v.items():
                    if type(k) is not str:
                        return "json_value", f"key {k!r} is not a string"
                    p = json_problem(x, depth + 1, seen)
                    if p:
                        return p
            else:
                for x in v:
                    p = json_problem(x, depth + 1, seen)
                    if p:
                        return p
        finally:
            seen.discard(id(v))
        return None
    return "json_value", f"a {t.__name__} is not a JSON value"


def check_record(table: Any, record: dict[str, Any]) -> list[Violation]:
    """Every violation of `record` against `table` (a registry `Table`); [] when it fits.

    The routing key is allowed when it names this table. Undeclared fields are violations
    (rule `unknown_field`): the logger moves them into the extra column before a record leaves
    it, so a finished record never has any.
    """
    out: list[Violation] = []
    if not isinstance(record, dict):
        return [Violation("", "type", f"table {table.name}: a record is a JSON object, "
                                      f"got {type(record).__name__}")]
    routed = record.get(ROUTING_KEY, table.name)
    if routed != table.name:
        out.append(Violation(ROUTING_KEY, "routing_key",
                             f"{ROUTING_KEY}: {routed!r} routes this record to another table "
                             f"than {table.name!r}"))
    _check_fields(table.fields, record, "", out, skip=ROUTING_KEY)
    return out


def _check_fields(fields: Any, record: dict[str, Any], prefix: str, out: list[Violation],
                  skip: str | None = None) -> None:
    declared = {f.name: f for f in fields}
    for f in fields:
        path = prefix + f.name
        v = record.get(f.name)
        if v is None:
            if f.mode == _REQUIRED:
                what = "missing" if f.name not in record else "null"
                out.append(Violation(path, "required", f"{path}: required field is {what}"))
            continue
        if f.mode == _REPEATED:
            if type(v) is not list:
                out.append(Violation(path, "type",
                                     f"{path}: expected an array, got {type(v).__name__}"))
                continue
            for i, item in enumerate(v):
                ipath = f"{path}[{i}]"
                if item is None:
                    out.append(Violation(ipath, "repeated_null", f"{ipath}: null inside an array"))
                else:
                    _check_value(f, item, ipath, out)
        else:
            _check_value(f, v, path, out)
    for key in record:
        if key not in declared and key != skip:
            path = prefix + str(key)
            out.append(Violation(path, "unknown_field", f"{path}: field is not declared"))


def _check_value(f: Any, v: Any, path: str, out: list[Violation]) -> None:
    t = f.type
    tv = type(v)
    c = f.constraints
    if t == _STRING:
        if not isinstance(v, str):
            out.append(Violation(path, "type", f"{path}: expected a string, got {tv.__name__}"))
            return
        if not utf8_ok(v):
            out.append(Violation(path, "invalid_utf8", f"{path}: lone surrogates are not UTF-8"))
        if c.enum is not None and v not in c.enum:
            out.append(Violation(path, "enum", f"{path}: {v[:40]!r} is not one of {list(c.enum)}"))
        if c.max_length is not None and len(v) > c.max_length:
            out.append(Violation(path, "maxLength",
                                 f"{path}: {len(v)} characters, at most {c.max_length} allowed"))
        return
    if t == _INT64 or t == _FLOAT64:
        if tv is bool or not isinstance(v, (int, float)):
            want = "an integer" if t == _INT64 else "a number"
            out.append(Violation(path, "type", f"{path}: expected {want}, got {tv.__name__}"))
            return
        if isinstance(v, float) and not math.isfinite(v):
            out.append(Violation(path, "not_finite", f"{path}: {v} is not a JSON number"))
            return
        if t == _INT64:
            if isinstance(v, float) and not v.is_integer():
                out.append(Violation(path, "type", f"{path}: expected an integer, got {v!r}"))
                return
            if not INT64_MIN <= v <= INT64_MAX:
                out.append(Violation(path, "int64_range",
                                     f"{path}: {brief(v)} does not fit INT64"))
                return
        if c.minimum is not None and v < c.minimum:
            out.append(Violation(path, "minimum", f"{path}: {brief(v)} is below the minimum {c.minimum}"))
        if c.maximum is not None and v > c.maximum:
            out.append(Violation(path, "maximum", f"{path}: {brief(v)} is above the maximum {c.maximum}"))
        return
    if t == _BOOL:
        if tv is not bool:
            out.append(Violation(path, "type", f"{path}: expected a boolean, got {tv.__name__}"))
        return
    if t == _TIMESTAMP:
        if not isinstance(v, str) or not valid_timestamp(v):
            shown = v[:40] if isinstance(v, str) else tv.__name__
            out.append(Violation(path, "timestamp_format",
                                 f"{path}: {shown!r} is not a timestamp BigQuery parses "
                                 f"(YYYY-MM-DDTHH:MM:SS[.ffffff][Z|+HH:MM])"))
        return
    if t == _DATE:
        if not isinstance(v, str) or not valid_date(v):
            out.append(Violation(path, "date_format", f"{path}: not a YYYY-MM-DD date"))
        return
    if t == _RECORD:
        if tv is not dict:
            out.append(Violation(path, "type", f"{path}: expected an object, got {tv.__name__}"))
            return
        _check_fields(f.fields, v, path + ".", out)
        return
    if t == _JSON:
        p = json_problem(v)
        if p is not None:
            out.append(Violation(path, p[0], f"{path}: {p[1]}"))
        return


__all__ = ["Violation", "check_record", "json_problem", "valid_date", "valid_timestamp"]
