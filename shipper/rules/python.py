"""The Python target of the column-rule model: each check as a Python expression, and the
generated judges built from them.

Two judges are generated here for any table: `check(record) -> [Violation]`, the one judge that
names every violation (strict mode, the pytest plugin, the loader's reject reasons), and
`fits(record) -> bool`, the same verdict without the reasons (for hot loops: the loader, the
BigQuery stand-in, with `only=BIGQUERY_CHECKS`). Other Python judges (the logger's fast path)
take `fails_expr` / `fits_expr` and write them into their own generated code, so every Python
judge spells a rule the same way.

The generated source is built from small functions that return lines, compiled through
`shipper._codegen` (tracebacks show it), and kept as golden files for the shipped tables.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .. import _codegen
from .._constants import INT64_MAX, INT64_MIN
from .._errors import Violation
from ._model import (
    BOOL,
    DATE_FORMAT,
    DATE_WANTED,
    ENUM,
    FLOAT64,
    INT64,
    INT64_RANGE,
    INTEGRAL,
    INVALID_UTF8,
    JSON_VALUE,
    KIND_WANTED,
    MAX_LENGTH,
    MAXIMUM,
    MINIMUM,
    NOT_FINITE,
    RECORD,
    STRING,
    TIMESTAMP_FORMAT,
    TIMESTAMP_WANTED,
    TYPE,
    Check,
    ColumnRule,
    TableRules,
)
from .values import json_problem, show, utf8_ok, valid_date, valid_timestamp

# What the generated code calls, by the names it uses.
RUNTIME: dict[str, Any] = {
    "V": Violation,
    "UTF8_OK": utf8_ok,
    "TS_OK": valid_timestamp,
    "DATE_OK": valid_date,
    "JSON_PROBLEM": json_problem,
    "SHOW": show,
}

_TYPE_FAILS = {
    STRING: "not isinstance({v}, str)",
    INT64: "type({v}) is bool or not isinstance({v}, (int, float))",
    FLOAT64: "type({v}) is bool or not isinstance({v}, (int, float))",
    BOOL: "type({v}) is not bool",
    RECORD: "type({v}) is not dict",
}


def enum_name(column: str) -> str:
    """The name under which a column's allowed values are in the generated code's namespace."""
    return "E_" + "".join(ch if ch.isalnum() else "_" for ch in column)


def fails_expr(check: Check, v: str, column: str) -> str:
    """A Python expression, true when the non-null value `v` fails `check` (the checks before
    it that stop having passed)."""
    n = check.name
    if n == TYPE:
        return _TYPE_FAILS[check.arg].format(v=v)
    if n == NOT_FINITE:
        return f"isinstance({v}, float) and not {v} - {v} == 0.0"
    if n == INTEGRAL:
        return f"isinstance({v}, float) and not {v}.is_integer()"
    if n == INT64_RANGE:
        return f"not {INT64_MIN} <= {v} <= {INT64_MAX}"
    if n == INVALID_UTF8:
        return f"not UTF8_OK({v})"
    if n == ENUM:
        return f"{v} not in {enum_name(column)}"
    if n == MAX_LENGTH:
        return f"len({v}) > {check.arg!r}"
    if n == MINIMUM:
        return f"{v} < {check.arg!r}"
    if n == MAXIMUM:
        return f"{v} > {check.arg!r}"
    if n == TIMESTAMP_FORMAT:
        return f"not isinstance({v}, str) or not TS_OK({v})"
    if n == DATE_FORMAT:
        return f"not isinstance({v}, str) or not DATE_OK({v})"
    if n == JSON_VALUE:
        return f"JSON_PROBLEM({v}) is not None"
    raise ValueError(f"no Python for check {n!r}")


def fails_any_expr(rule: ColumnRule, v: str, only: frozenset[str] | None = None) -> str:
    """A Python expression, true when the non-null value `v` fails any check of `rule` (of
    `only`, when given). `or` stops at the first failing check, as a stopping check must.
    RECORD children are not looked at: that is the caller's."""
    parts = [fails_expr(c, v, rule.name) for c in rule.checks if only is None or c.name in only]
    if not parts:
        return "False"
    return " or ".join(f"({p})" for p in parts)


def fits_expr(rule: ColumnRule, v: str, only: frozenset[str] | None = None) -> str:
    """A Python expression, true when the non-null value `v` passes every check of `rule`."""
    return f"not ({fails_any_expr(rule, v, only)})"


def env_for(rules: TableRules) -> dict[str, Any]:
    """The namespace generated code for `rules` needs: the runtime and every enum's values."""
    env = dict(RUNTIME)

    def add(columns: tuple[ColumnRule, ...]) -> None:
        for c in columns:
            if c.enum is not None:
                env[enum_name(c.name)] = frozenset(c.enum)
            add(c.children)

    add(rules.columns)
    return env


# -- the judge: every violation, with its reason ----------------------------------------------

class _Path:
    """Where a value is, in generated code: `expr` evaluates to the dotted path; `text` is the
    same inside an f-string (a constant path is written out: `status_code: expected ...`)."""

    def __init__(self, expr: str, text: str) -> None:
        self.expr = expr
        self.text = text

    @classmethod
    def const(cls, name: str) -> _Path:
        return cls(repr(name), name.replace("{", "{{").replace("}", "}}"))

    @classmethod
    def var(cls, name: str) -> _Path:
        return cls(name, "{" + name + "}")


def _message(check: Check, v: str, path: _Path) -> tuple[str, str]:
    """(rule, f-string source of the message) of a failing check."""
    p = path.text
    n = check.name
    if n == TYPE:
        return "type", f'f"{p}: expected {KIND_WANTED[check.arg]}, got {{type({v}).__name__}}"'
    if n == INTEGRAL:
        return "type", f'f"{p}: expected an integer, got {{SHOW({v})}}"'
    if n == NOT_FINITE:
        return n, f'f"{p}: {{{v}}} is not a JSON number"'
    if n == INT64_RANGE:
        return n, f'f"{p}: {{SHOW({v})}} does not fit INT64"'
    if n == INVALID_UTF8:
        return n, f'f"{p}: lone surrogates are not UTF-8"'
    if n == ENUM:
        return n, f'f"{p}: {{{v}[:40]!r}} is not one of {list(check.arg)!r}"'
    if n == MAX_LENGTH:
        return n, f'f"{p}: {{len({v})}} characters, at most {check.arg} allowed"'
    if n == MINIMUM:
        return n, f'f"{p}: {{SHOW({v})}} is below the minimum {check.arg}"'
    if n == MAXIMUM:
        return n, f'f"{p}: {{SHOW({v})}} is above the maximum {check.arg}"'
    if n == TIMESTAMP_FORMAT:
        return n, (f'f"{p}: {{({v}[:40] if isinstance({v}, str) else type({v}).__name__)!r}} '
                   f'is not {TIMESTAMP_WANTED}"')
    if n == DATE_FORMAT:
        return n, f'f"{p}: not {DATE_WANTED}"'
    raise ValueError(f"no message for check {n!r}")


def _fail_lines(check: Check, rule: ColumnRule, v: str, path: _Path, keyword: str) -> list[str]:
    """`if <check fails>: out.append(<its Violation>)` (or `elif`)."""
    if check.name == JSON_VALUE:
        return [f"{keyword} (p := JSON_PROBLEM({v})) is not None:",
                f'    out.append(V({path.expr}, p[0], f"{path.text}: {{p[1]}}"))']
    rule_name, message = _message(check, v, path)
    return [f"{keyword} {fails_expr(check, v, rule.name)}:",
            f"    out.append(V({path.expr}, {rule_name!r}, {message}))"]


def _value_lines(rule: ColumnRule, v: str, path: _Path, checks: tuple[Check, ...] | None = None) -> list[str]:
    """Lines that append a Violation for every check the non-null value `v` fails.

    A failing check that `stops` ends the value's checks: consecutive stopping checks form one
    if/elif chain, and the checks after them sit in its `else`. A RECORD's fields are checked
    by the record's own function, once its type is right."""
    checks = rule.checks if checks is None else checks
    if not checks:
        if rule.kind == RECORD:
            return [f"{record_function_name(rule)}({v}, {path.expr} + '.', out)"]
        return []
    first, rest = checks[0], checks[1:]
    lines = _fail_lines(first, rule, v, path, "if")
    if not first.stops:
        return lines + _value_lines(rule, v, path, rest)
    while rest and rest[0].stops:
        lines += _fail_lines(rest[0], rule, v, path, "elif")
        rest = rest[1:]
    tail = _value_lines(rule, v, path, rest)
    return lines + (["else:", *_codegen.indent(tail, 1)] if tail else [])


def record_function_name(rule: ColumnRule) -> str:
    return "check_" + "".join(ch if ch.isalnum() else "_" for ch in rule.name)


def _column_lines(rule: ColumnRule, nested: bool) -> list[str]:
    """Presence, mode and value checks of one column of a record dict `r` (in a RECORD's
    function, `nested`: paths start with the variable `prefix`)."""
    name = rule.name
    if nested:
        lines = [f"path = prefix + {name!r}"]
        path = _Path.var("path")
    else:
        lines = []
        path = _Path.const(name)
    lines += [f"v = r.get({name!r})", "if v is None:"]
    if rule.required:
        lines += [f"    what = 'missing' if {name!r} not in r else 'null'",
                  f'    out.append(V({path.expr}, "required", f"{path.text}: required field is {{what}}"))']
    else:
        lines += ["    pass"]
    if rule.repeated:
        lines += ["elif type(v) is not list:",
                  (f'    out.append(V({path.expr}, "type", f"{path.text}: expected an array, '
                  f'got {{type(v).__name__}}"))'),
                  "else:",
                  "    for i, item in enumerate(v):",
                  f'        ipath = f"{path.text}[{{i}}]"',
                  "        if item is None:",
                  '            out.append(V(ipath, "repeated_null", f"{ipath}: null inside an array"))',
                  "        else:",
                  *_codegen.indent(_value_lines(rule, "item", _Path.var("ipath")), 3)]
    else:
        lines += ["else:", *_codegen.indent(_value_lines(rule, "v", path), 1)]
    return lines


def _unknown_lines(known: str, nested: bool) -> list[str]:
    path = 'f"{prefix}{k}"' if nested else "str(k)"
    return ["for k in r:",
            f"    if k not in {known}:",
            f"        p = {path}",
            '        out.append(V(p, "unknown_field", f"{p}: field is not declared"))']


def _record_functions(columns: tuple[ColumnRule, ...], env: dict[str, Any]) -> list[str]:
    """One function per RECORD column (nested first), `check_<name>(r, prefix, out)`."""
    lines: list[str] = []
    for c in columns:
        if c.kind != RECORD:
            continue
        lines += _record_functions(c.children, env)
        known = f"KNOWN_{record_function_name(c)}"
        env[known] = frozenset(x.name for x in c.children)
        lines += [f"def {record_function_name(c)}(r, prefix, out):"]
        for child in c.children:
            lines += _codegen.indent(_column_lines(child, True), 1)
        lines += _codegen.indent(_unknown_lines(known, True), 1)
        lines += [""]
    return lines


def check_lines(rules: TableRules, env: dict[str, Any] | None = None) -> list[str]:
    """Source lines of `check(r) -> list[Violation]` for one table (names it needs beyond
    `env_for(rules)` are added to `env`).

    The routing key is allowed when it names this table. Undeclared fields are violations
    (rule `unknown_field`): the logger moves them into the extra column before a record leaves
    it, so a finished record has none."""
    env = {} if env is None else env
    key = rules.routing_key
    table = rules.table
    lines = [f"# The judge of table {table} v{rules.version}, generated from the column-rule",
             "# model (shipper.rules): every violation of a record, with its field and rule.", ""]
    lines += _record_functions(rules.columns, env)
    env["KNOWN"] = frozenset(rules.names) | {key}
    lines += ["def check(r):",
              "    if type(r) is not dict:",
              (f'        return [V("", "type", f"table {table}: a record is a JSON object, '
              f'got {{type(r).__name__}}")]'),
              "    out = []",
              f"    routed = r.get({key!r}, {table!r})",
              f"    if routed != {table!r}:",
              (f'        out.append(V({key!r}, "routing_key", f"{key}: {{routed!r}} routes this '
              f'record to another table than {table!r}"))')]
    for c in rules.columns:
        lines += _codegen.indent(_column_lines(c, False), 1)
    lines += _codegen.indent(_unknown_lines("KNOWN", False), 1)
    lines += ["    return out"]
    return lines


def compile_check(rules: TableRules) -> Callable[[dict[str, Any]], list[Violation]]:
    env = env_for(rules)
    lines = check_lines(rules, env)
    return _codegen.compile_lines(lines, f"check {rules.table} v{rules.version}", env)["check"]


# -- the verdict alone ------------------------------------------------------------------------

def _fits_column_lines(rule: ColumnRule, only: frozenset[str] | None) -> list[str]:
    """Lines of a `fits` function that `return False` when column `rule` of `r` does not fit."""
    name = rule.name
    lines = [f"v = r.get({name!r})"]
    missing = "return False" if rule.required else "pass"
    if rule.repeated or rule.kind == RECORD:
        # rare and nested: the judge decides (it knows RECORD fields and arrays)
        return lines + ["if v is None:", f"    {missing}", "elif CHECK(r):", "    return False"]
    return lines + ["if v is None:", f"    {missing}",
                    f"elif {fails_any_expr(rule, 'v', only)}:", "    return False"]


def fits_lines(rules: TableRules, only: frozenset[str] | None = None,
               allow: frozenset[str] = frozenset(), env: dict[str, Any] | None = None) -> list[str]:
    """Source lines of `fits(r) -> bool`: True exactly when `check(r)` (restricted to the
    checks in `only`, when given) finds nothing. Keys in `allow` (besides the routing key) are
    not fields. Nested and repeated columns are left to `CHECK`, the full judge."""
    if env is not None:
        env["KNOWN"] = frozenset(rules.names) | allow | {rules.routing_key}
    lines = [f"# fits() of table {rules.table} v{rules.version}"
             + (f", only {sorted(only)}" if only is not None else "")
             + ", generated from the column-rule model", "",
             "def fits(r):",
             "    if not r.keys() <= KNOWN:",
             "        return False",
             f"    if r.get({rules.routing_key!r}, {rules.table!r}) != {rules.table!r}:",
             "        return False"]
    for c in rules.columns:
        lines += _codegen.indent(_fits_column_lines(c, only), 1)
    lines += ["    return True"]
    return lines


def compile_fits(rules: TableRules, only: frozenset[str] | None = None,
                 allow: frozenset[str] = frozenset()) -> Callable[[dict[str, Any]], bool]:
    env = env_for(rules)
    env["CHECK"] = compile_check(rules) if only is None else _restricted_check(rules, only)
    what = "fits" if only is None else "fits-bigquery"
    ns = _codegen.compile_lines(fits_lines(rules, only, allow, env),
                                f"{what} {rules.table} v{rules.version}", env)
    return ns["fits"]


def _restricted_check(rules: TableRules, only: frozenset[str]) -> Callable[[dict[str, Any]], bool]:
    check = compile_check(rules)
    return lambda r: any(v.rule in only or v.rule in ("required", "repeated_null", "unknown_field",
                                                     "routing_key")
                         for v in check(r))
