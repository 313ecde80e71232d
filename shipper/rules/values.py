"""What the rules mean for one value: the primitives every Python judge calls.

A timestamp BigQuery parses, a calendar date, a string that is UTF-8, a JSON value BigQuery
stores. The column-rule model names these checks; the Python targets (the generated judge, the
logger's paths, the loader, the BigQuery stand-in) call these functions for them, so "is this a
timestamp" has one answer in Python. The Ruby target (fluentd) translates the same definitions
and runs the same vector file.
"""

from __future__ import annotations

import math
import re
from datetime import date
from typing import Any

from .._constants import INT64_MAX, INT64_MIN

# What BigQuery parses as a TIMESTAMP in JSON rows: date, 'T' or space, time with up to
# microseconds, and an optional zone (none means UTC).
TIMESTAMP_RE = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[T ]([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]{1,6}))?"
    r"(Z|z|[+-][0-9]{2}:[0-9]{2}|[+-][0-9]{4})?\Z"
)
DATE_RE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})\Z")


def valid_timestamp(v: str) -> bool:
    """RFC 3339 shape and a real calendar instant (no 2024-02-30, no 25:00)."""
    m = TIMESTAMP_RE.match(v)
    if m is None:
        return False
    return real_instant(int(m[1]), int(m[2]), int(m[3]), int(m[4]), int(m[5]), int(m[6]), m[8])


def real_instant(y: int, mo: int, d: int, h: int, mi: int, s: int, zone: str | None) -> bool:
    """The parts of a timestamp name a real instant: the day exists in its month, the clock is
    within 00:00:00-23:59:59 and a zone offset (+-HH, +-HHMM, +-HH:MM; or Z, z, UTC) within
    23:59. What valid_timestamp demands and the BigQuery target (`bigquery.py`) too, whose
    pattern takes more spellings of the same parts."""
    if y < 1 or h > 23 or mi > 59 or s > 59:
        return False
    try:
        date(y, mo, d)
    except ValueError:
        return False
    if zone and zone not in ("Z", "z", "UTC"):
        digits = zone[1:].replace(":", "")
        if int(digits[:2]) > 23 or (len(digits) > 2 and int(digits[2:]) > 59):
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


def utf8_ok(s: str) -> bool:
    if s.isascii():
        return True
    try:
        s.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def json_problem(v: Any, depth: int = 0, seen: set[int] | None = None) -> tuple[str, str] | None:
    """(rule, why) when `v` is not a JSON value BigQuery stores, else None."""
    t = type(v)
    if v is None or t is bool or t is str and utf8_ok(v):
        return None
    if t is str:
        return "invalid_utf8", "a string with lone surrogates is not UTF-8"
    if t is int:
        return None if INT64_MIN <= v <= INT64_MAX else ("int64_range", f"{show(v)} does not fit INT64")
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


def show(v: Any, limit: int = 40) -> str:
    """A value as a short text for an error message; never raises (huge ints, broken reprs)."""
    if type(v) is int and v.bit_length() > 200:
        return f"<an integer of {v.bit_length()} bits>"
    if type(v) is str:
        return repr(v[:limit])
    try:
        text = repr(v)
    except Exception:  # noqa: BLE001 - a user __repr__ may fail
        return f"<{type(v).__name__}>"
    return text if len(text) <= limit else text[:limit] + "..."
