"""Does a row fit its table? The judge is `shipper._fit.check_record`, the logger core's check.

The loader must judge exactly as the logger and the pytest plugin do, so every verdict that
rejects a row, and every reason written to the reject file, comes from `check_record`.

A million rows through `check_record` would cost ~10 µs each, most of a load's time budget. So
each table also gets one generated function, `fits(row) -> bool`, with every field test inline,
built from the same registry model and the same primitives (`TIMESTAMP_RE`, `valid_timestamp`,
`valid_date`, `json_problem`). It only answers "fits" for rows `check_record` would accept with
no violation; anything else (including everything it is unsure about) goes to `check_record`.
A hypothesis test holds the two to the same verdict.

Rows here always come from orjson, which never yields NaN, infinities or lone surrogates: the
fast function does not test for those; `check_record` still does on the careful path.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .._check import TIMESTAMP_RE, json_problem, valid_date, valid_timestamp
from .._fit import check_record
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
from ._records import has_big_float

# row -> reason (empty when the row fits)
Check = Callable[[dict[str, Any]], str]


def checker_for(table: Table) -> Check:
    """`check_record`'s verdict as one line: every violation, joined."""

    def check(row: dict[str, Any]) -> str:
        violations = check_record(table, row)
        return "; ".join(str(getattr(v, "message", None) or v) for v in violations)

    return check


def timestamp_ok(v: str) -> bool:
    """`valid_timestamp`, with a shortcut for the common shape (day <= 28, UTC): no int parsing."""
    if TIMESTAMP_RE.match(v) is None:
        return False
    if (v[-1] in "Zz" and "01" <= v[8:10] <= "28" and "01" <= v[5:7] <= "12" and v[11:13] <= "23"
            and v[14:16] <= "59" and v[17:19] <= "59" and v[:4] != "0000"):
        return True
    return valid_timestamp(v)


def compile_fits(table: Table, allow: frozenset[str] = frozenset()) -> Callable[[dict[str, Any]], bool]:
    """A generated `fits(row)` for `table`; keys in `allow` (e.g. the routing key) are ignored."""
    env: dict[str, Any] = {"KNOWN": frozenset(f.name for f in table.fields) | allow, "TS": timestamp_ok,
                           "DATE": valid_date, "JP": json_problem, "BIG": has_big_float,
                           "CHECK": check_record, "TABLE": table}
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
        # Rare and nested: the whole row goes to the judge itself.
        return ["if v is None:", f"    {none}", "elif CHECK(TABLE, row): return False"]
    c = f.constraints
    t = f.type
    if t == STRING:
        tests = ["type(v) is not str"]
        if c.enum is not None:
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
        tests = ["type(v) is not str", "not TS(v)"]
    elif t == DATE:
        tests = ["type(v) is not str", "not DATE(v)"]
    elif t == JSON:
        # A float this large may be an integer orjson could not hold: decided on the careful path.
        tests = ["JP(v) is not None", "BIG(v)"]
    else:  # a type this code does not know: let the judge decide
        tests = ["CHECK(TABLE, row)"]
    return ["if v is None:", f"    {none}", f"elif {' or '.join(tests)}: return False"]
