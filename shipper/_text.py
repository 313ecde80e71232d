"""Text helpers that never raise, whatever value they get: for records and for error messages.

Python's own `str()` can fail on values an app logs: an int of more than 4300 digits raises
ValueError (the int-to-text limit), a str with lone surrogates (a file name decoded with
`os.fsdecode`) is not encodable as UTF-8, and orjson refuses it. Every place that turns a
value into text for a record or an error message goes through here.
"""

from __future__ import annotations

from typing import Any


def utf8_ok(s: str) -> bool:
    """Whether `s` encodes as UTF-8 (no lone surrogates)."""
    if s.isascii():
        return True
    try:
        s.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def fix_utf8(s: str) -> str:
    """Lone surrogates (not encodable as UTF-8) written as visible '\\udxxx' escapes."""
    return s.encode("utf-8", "backslashreplace").decode("utf-8")


def int_text(v: int) -> str:
    """The decimal digits of `v`, or, past the interpreter's int-to-text limit (4300 digits by
    default), its hexadecimal digits ("0x...", which have no limit)."""
    try:
        return str(v)
    except ValueError:
        return hex(v)


def brief(v: Any, limit: int = 40) -> str:
    """A short repr of `v` for an error message: never raises, never longer than ~`limit`."""
    if type(v) is int and v.bit_length() > 128:
        return f"an integer of {v.bit_length()} bits"
    try:
        text = repr(v)
    except Exception:  # noqa: BLE001 - a user __repr__ may fail
        return f"<{type(v).__name__} with a failing repr>"
    if type(text) is not str:
        return f"<{type(v).__name__}>"
    text = text if utf8_ok(text) else fix_utf8(text)
    return text if len(text) <= limit else text[:limit] + "..."
