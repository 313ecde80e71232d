"""BigQuery standard SQL on DuckDB: transpiled by sqlglot, then made to answer as BigQuery does.

Analysts write one query for both warehouses. sqlglot rewrites the dialect (`"..."` string
literals, `APPROX_QUANTILES(x, 100)[OFFSET(95)]`, `COUNTIF`, `FORMAT_TIMESTAMP`, ...); on top of
it, each place where the transpiled query would answer differently from BigQuery, without a
word, is either made to match or refused in BigQuery's terms (issue 15):

| BigQuery                              | plain transpile on DuckDB     | here                        |
| ------------------------------------- | ----------------------------- | --------------------------- |
| `x / 0` raises "division by zero"     | inf                           | raises the same message     |
| `APPROX_TOP_COUNT(x, n)`: ARRAY of STRUCT(value, count), by count | values only | same shape (exact counts) |
| `SAFE.f(...)`: NULL instead of an error | `SAFE.f` (not found)        | `TRY(f(...))`               |
| unaliased column named `f0_`, `f1_`   | `count_star()`, `(1 + 1)`     | `f0_`, `f1_`, ...           |
| syntax error `Unexpected keyword WHERE at [1:13]` | sqlglot's token dump | BigQuery's wording     |

- `project.dataset.table` references lose their project and dataset (the file is one dataset);
- `@name` parameters become DuckDB `$name` parameters and are bound by the driver, never
  pasted into the SQL text, so a value cannot change the query;
- DuckDB errors are worded as BigQuery words them where the meaning is the same (`Unrecognized
  name`, `Not found: Table`, ...), DuckDB's own message after it in parentheses.

Stored data matches too: a missing REPEATED field is stored as `[]` (`_duckdb_ddl.stored_value`),
so `ARRAY_LENGTH` gives 0 as on BigQuery. What still differs is listed in docs/local-pipeline.md.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ._errors import require
from ._protocol import Param, QueryError, QueryResult

# Statement classes -> BigQuery's statementType names (jobs.query statistics).
_STATEMENT_TYPES = {
    "Select": "SELECT", "Union": "SELECT", "Intersect": "SELECT", "Except": "SELECT",
    "Insert": "INSERT", "Update": "UPDATE", "Delete": "DELETE", "Merge": "MERGE",
    "Drop": "DROP_TABLE", "Alter": "ALTER_TABLE", "TruncateTable": "TRUNCATE_TABLE",
}

# Temporary macros on every query connection: the places where DuckDB's own function answers
# differently from BigQuery's. `error()` raises with BigQuery's message.
MACROS = (
    ("CREATE OR REPLACE TEMP MACRO __bq_div(a, b) AS CASE WHEN b = 0 THEN "
    "error('division by zero: ' || CAST(a AS VARCHAR) || ' / ' || CAST(b AS VARCHAR)) "
    "ELSE a / b END"),
    # ARRAY<STRUCT<value, count>>, most frequent first (BigQuery's sketch is exact for small inputs).
    ("CREATE OR REPLACE TEMP MACRO __bq_approx_top_count(x, n) AS list_transform(list_slice("
    "list_reverse_sort(list_transform(map_entries(histogram(x)), "
    "lambda e: {'count': e.value::BIGINT, 'value': e.key})), 1, n), "
    "lambda e: {'value': e.value, 'count': e.count})"),
)


@dataclass
class Statement:
    """One BigQuery statement, transpiled."""

    source: str
    sql: str  # DuckDB SQL
    type: str  # BigQuery's statementType
    params: list[str] = field(default_factory=list)  # @names used, in order


def transpile(sql: str) -> Statement:
    """BigQuery SQL -> DuckDB SQL. Raises QueryError (a syntax error in BigQuery's words)."""
    sqlglot = require("sqlglot")
    from sqlglot import exp
    from sqlglot.errors import ParseError, TokenError

    try:
        trees = [t for t in sqlglot.parse(sql, read="bigquery") if t is not None]
    except ParseError as exc:
        raise QueryError(syntax_error(sql, exc)) from None
    except TokenError as exc:
        raise QueryError(f"Syntax error: {_token_error(str(exc))}") from None
    if not trees:
        raise QueryError("Syntax error: Unexpected end of script at [1:1]")
    if len(trees) != 1:
        raise QueryError("shipper query runs one statement at a time (BigQuery would run this as a "
                         "multi-statement script)")
    tree = trees[0]
    kind = _STATEMENT_TYPES.get(type(tree).__name__)
    if isinstance(tree, exp.Create):
        kind = f"CREATE_{str(tree.args.get('kind') or 'TABLE').upper()}"
        if tree.expression is not None and kind == "CREATE_TABLE":
            kind = "CREATE_TABLE_AS_SELECT"
    if kind is None:
        kind = type(tree).__name__.upper()
    names: list[str] = []
    for node in tree.find_all(exp.Parameter):
        name = node.name
        if name and name not in names:
            names.append(name)
    for table in tree.find_all(exp.Table):
        # `project.dataset.table` -> `table`: the DuckDB file is the dataset.
        table.set("catalog", None)
        table.set("db", None)
    tree = tree.transform(_to_duckdb_terms)
    if kind == "SELECT":
        _name_columns(tree)
    return Statement(sql, tree.sql(dialect="duckdb"), kind, names)


def _to_duckdb_terms(node: Any) -> Any:
    from sqlglot import exp

    if isinstance(node, exp.Div) and not node.args.get("safe"):
        return exp.Anonymous(this="__bq_div", expressions=[node.this, node.expression])
    if isinstance(node, exp.ApproxTopK):
        return exp.Anonymous(this="__bq_approx_top_count", expressions=[node.this, node.expression])
    if isinstance(node, exp.SafeFunc):
        return exp.Anonymous(this="TRY", expressions=[node.this])
    return node


def _name_columns(tree: Any) -> None:
    """BigQuery's implicit column names: a column keeps its name (a field access its last part),
    any other unaliased expression is `f0_`, `f1_`, ... in order among the unnamed ones."""
    from sqlglot import exp

    select = tree
    while isinstance(select, (exp.Union, exp.Intersect, exp.Except)):
        select = select.this  # the first SELECT names a set operation's columns
    if not isinstance(select, exp.Select):
        return
    n = 0
    named = []
    for e in select.expressions:
        if isinstance(e, (exp.Alias, exp.Column, exp.Star, exp.Dot)):
            named.append(e)
            continue
        named.append(exp.alias_(e, f"f{n}_", quoted=False))
        n += 1
    select.set("expressions", named)


# -- errors ------------------------------------------------------------------------------

def _describe(token: str) -> str:
    from sqlglot.tokens import Tokenizer

    if not token:
        return "end of script"
    if token.upper() in Tokenizer.KEYWORDS and re.fullmatch(r"[A-Za-z_]+", token):
        return f"keyword {token.upper()}"
    if re.fullmatch(r"\d+", token):
        return f'integer literal "{token}"'
    if re.fullmatch(r"\d*\.\d+([eE][+-]?\d+)?|\d+[eE][+-]?\d+", token):
        return f'floating point literal "{token}"'
    if token[:1] in "'\"" and token[-1:] == token[:1]:
        return f"string literal {token}"
    if re.fullmatch(r"`?[A-Za-z_][A-Za-z0-9_]*`?", token):
        return f'identifier "{token.strip("`")}"'
    return f'"{token}"'


def syntax_error(sql: str, exc: Any) -> str:
    """A sqlglot parse error as BigQuery words it: `Syntax error: Unexpected keyword WHERE at [1:13]`."""
    errors = getattr(exc, "errors", None) or []
    if not errors:
        return "Syntax error: the query cannot be read"
    e = errors[0]
    desc = str(e.get("description") or "")
    highlight = str(e.get("highlight") or "")
    line, col = int(e.get("line") or 1), int(e.get("col") or 1)
    at_end = not str(e.get("end_context") or "").strip() and (
        "SENTINEL" in desc or "missing" in desc or desc.startswith("Expecting"))
    if at_end:
        lines = sql.rstrip().split("\n")
        where = f"[{len(lines)}:{len(lines[-1]) + 1}]"
        m = re.match(r"Expecting (\S+)", desc)
        if m:
            return f'Syntax error: Expected "{m[1]}" but got end of script at {where}'
        return f"Syntax error: Unexpected end of script at {where}"
    start = max(1, col - len(highlight) + 1)
    return f"Syntax error: Unexpected {_describe(highlight)} at [{line}:{start}]"


def _token_error(message: str) -> str:
    if "'" in message or '"' in message:
        return "Unclosed string literal"
    return "the query cannot be read"


_WORDS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"Table with name (\S+?) does not exist"), "Not found: Table {0}"),
    (re.compile(r'Referenced column "?([^"\s]+)"? not found'), "Unrecognized name: {0}"),
    (re.compile(r'Referenced table "?([^"\s]+)"? not found'), "Unrecognized name: {0}"),
    (re.compile(r"Scalar Function with name (\w+) does not exist"), "Function not found: {0}"),
    (re.compile(r"Aggregate Function with name (\w+) does not exist"), "Function not found: {0}"),
    (re.compile(r"Parser Error: (.*)"), "Syntax error: {0}"),
    (re.compile(r"Could not convert string '(.*?)' to (\w+)"), "Invalid {1} value: '{0}'"),
    (re.compile(r"Permission Error: (.*)"), "Access Denied: {0} (shipper query reads the warehouse only)"),
]


def bigquery_words(message: str) -> str:
    first = message.splitlines()[0]
    m = re.match(r"Invalid Input Error: (division by zero: .*)", first)
    if m:
        return m[1]  # raised by __bq_div with BigQuery's own message
    for pattern, template in _WORDS:
        m = pattern.search(message)
        if m:
            return template.format(*m.groups()) + f" (DuckDB: {first})"
    return first


# -- running -----------------------------------------------------------------------------

def run_on_duckdb(con: Any, statement: Statement, params: list[Param]) -> QueryResult:
    duckdb = require("duckdb")
    given = {p.name: p for p in params}
    missing = [n for n in statement.params if n not in given]
    if missing:
        raise QueryError(f"Query parameter '{missing[0]}' not found")
    values = {n: given[n].value for n in statement.params}
    try:
        for macro in MACROS:
            con.execute(macro)
        cur = con.execute(statement.sql, values) if values else con.execute(statement.sql)
        columns = [d[0] for d in cur.description or []]
        rows = cur.fetchall()
    except duckdb.Error as exc:
        raise QueryError(bigquery_words(str(exc))) from None
    return QueryResult(columns, rows, statement.sql, statement_type=statement.type)
