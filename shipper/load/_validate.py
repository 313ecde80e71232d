"""Does a row fit its table? One function per table, built once, called per row.

The rule itself belongs to the logger core (`shipper._fit.check_record`): the loader must judge
exactly as the logger does, so it uses that check when it is there. Until it lands, an interim
check compiled from the registry model stands in (types, modes, enums, lengths, ranges, unknown
fields), so that loads are already judged by the registry and not by whatever DuckDB accepts.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from ..registry import (
    BOOL,
    DATE,
    FLOAT64,
    INT64,
    JSON,
    RECORD,
    REPEATED,
    REQUIRED,
    STRING,
    TIMESTAMP,
    Field,
    Table,
)

# row -> reason (empty when the row fits)
Check = Callable[[dict[str, Any]], str]

_TS = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:?\d{2})?\Z")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}\Z")


def checker_for(table: Table) -> Check:
    try:
        from .._fit import check_record
    except ImportError:
        return _compile_table(table)

    def check(row: dict[str, Any]) -> str:
        violations = check_record(table, row)
        return "; ".join(_describe(v) for v in violations) if violations else ""

    return check


def _describe(v: Any) -> str:
    return str(getattr(v, "message", None) or v)


def _compile_table(table: Table) -> Check:
    checks = {f.name: _compile_field(f, f.name) for f in table.fields}
    required = [f.name for f in table.fields if f.mode == REQUIRED]
    known = frozenset(checks)
    name = table.name

    def check(row: dict[str, Any]) -> str:
        for key in required:
            if row.get(key) is None:
                return f"missing required field {key!r}"
        for key, value in row.items():
            c = checks.get(key)
            if c is None:
                if key not in known:
                    return f"field {key!r} is not in table {name}"
                continue
            if value is not None:
                err = c(value)
                if err:
                    return err
        return ""

    return check


def _compile_field(f: Field, path: str) -> Callable[[Any], str]:
    one = _compile_scalar(f, path)
    if f.mode != REPEATED:
        return one

    def repeated(value: Any) -> str:
        if type(value) is not list:
            return f"{path}: expected an array"
        for v in value:
            if v is None:
                return f"{path}: null inside an array"
            err = one(v)
            if err:
                return err
        return ""

    return repeated


def _compile_scalar(f: Field, path: str) -> Callable[[Any], str]:
    c = f.constraints
    t = f.type
    if t == RECORD:
        inner = Table(name=path, version=0, description="", fields=f.fields)
        check = _compile_table(inner)

        def record(v: Any) -> str:
            if type(v) is not dict:
                return f"{path}: expected an object"
            err = check(v)
            return f"{path}: {err}" if err else ""

        return record
    if t == JSON:
        return lambda v: ""
    if t == STRING:
        enum = frozenset(c.enum) if c.enum else None
        maxlen = c.max_length

        def string(v: Any) -> str:
            if type(v) is not str:
                return f"{path}: expected a string, got {type(v).__name__}"
            if enum is not None and v not in enum:
                return f"{path}: {v[:40]!r} is not one of {sorted(enum)}"
            if maxlen is not None and len(v) > maxlen:
                return f"{path}: longer than {maxlen} characters"
            return ""

        return string
    if t in (INT64, FLOAT64):
        lo, hi = c.minimum, c.maximum
        integer = t == INT64

        def number(v: Any) -> str:
            tv = type(v)
            if tv is bool or tv not in (int, float):
                return f"{path}: expected {'an integer' if integer else 'a number'}, got {tv.__name__}"
            if integer and tv is float and not v.is_integer():
                return f"{path}: expected an integer, got {v}"
            if integer and not -(2**63) <= v < 2**63:
                return f"{path}: out of range for INT64"
            if lo is not None and v < lo:
                return f"{path}: {v} is below the minimum {lo}"
            if hi is not None and v > hi:
                return f"{path}: {v} is above the maximum {hi}"
            return ""

        return number
    if t == BOOL:
        return lambda v: "" if type(v) is bool else f"{path}: expected a boolean"
    if t == TIMESTAMP:
        return lambda v: "" if type(v) is str and _TS.match(v) else \
            f"{path}: not an RFC 3339 timestamp: {str(v)[:40]!r}"
    if t == DATE:
        return lambda v: "" if type(v) is str and _DATE.match(v) else f"{path}: not a date"
    return lambda v: ""


# -- the fast path ----------------------------------------------------------------------------
# A loader judges a million rows; a call per field is most of its time. So each table gets one
# generated function, `fits(row) -> bool`, with every field test inline. It only answers yes or
# no; when the answer is no, the detailed check above says why. Both are built from the same
# model, and the tests hold them to the same verdict on hostile rows.

def compile_fits(table: Table, allow: frozenset[str] = frozenset()) -> Callable[[dict[str, Any]], bool]:
    """A generated `fits(row)` for `table`; keys in `allow` (e.g. the routing key) are ignored."""
    env: dict[str, Any] = {"KNOWN": frozenset(f.name for f in table.fields) | allow, "TS": _TS.match,
                           "DATE": _DATE.match}
    lines = ["def fits(row):", "    if not row.keys() <= KNOWN: return False", "    g = row.get"]
    for i, f in enumerate(table.fields):
        lines += [f"    v = g({f.name!r})"]
        lines += ["    " + x for x in _field_code(f, i, env)]
    lines.append("    return True")
    exec("\n".join(lines), env)  # noqa: S102 - code built from the registry model only
    return env["fits"]


def _field_code(f: Field, i: int, env: dict[str, Any]) -> list[str]:
    none = "return False" if f.mode == REQUIRED else "pass"
    if f.mode == REPEATED or f.type == RECORD:
        env[f"C{i}"] = _compile_field(f, f.name)
        return ["if v is None:", f"    {none}", f"elif C{i}(v): return False"]
    c = f.constraints
    t = f.type
    if t == STRING:
        tests = ["type(v) is not str"]
        if c.enum:
            env[f"E{i}"] = frozenset(c.enum)
            tests.append(f"v not in E{i}")
        if c.max_length is not None:
            tests.append(f"len(v) > {c.max_length}")
    elif t in (INT64, FLOAT64):
        if t == INT64:
            tests = ["(type(v) is not int and not (type(v) is float and v.is_integer()))",
                     "not -9223372036854775808 <= v <= 9223372036854775807"]
        else:
            tests = ["(type(v) is not float and type(v) is not int)"]
        if c.minimum is not None:
            tests.append(f"v < {c.minimum!r}")
        if c.maximum is not None:
            tests.append(f"v > {c.maximum!r}")
    elif t == BOOL:
        tests = ["type(v) is not bool"]
    elif t == TIMESTAMP:
        tests = ["type(v) is not str", "TS(v) is None"]
    elif t == DATE:
        tests = ["type(v) is not str", "DATE(v) is None"]
    else:  # JSON: anything
        return []
    return ["if v is None:", f"    {none}", f"elif {' or '.join(tests)}: return False"]
