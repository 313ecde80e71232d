"""Text helpers that never raise, whatever value they get: for records and for error messages.

`utf8_ok` and `show` (a value for an error message) are the rule model's (`shipper.rules.values`),
re-exported here for the logger's modules.

Python's own `str()` can fail on values an app logs: an int of more than 4300 digits raises
ValueError (the int-to-text limit), a str with lone surrogates (a file name decoded with
`os.fsdecode`) is not encodable as UTF-8, and orjson refuses it. Every place that turns a
value into text for a record or an error message goes through here.
"""

from __future__ import annotations

from .rules.values import show, utf8_ok

__all__ = ["fix_utf8", "int_text", "show", "utf8_ok"]


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
