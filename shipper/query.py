"""BigQuery standard SQL on BigQuery or, transpiled by sqlglot, on the local DuckDB warehouse.

Analysts write one query for both. On DuckDB:
- sqlglot rewrites BigQuery syntax (`"..."` string literals, `APPROX_QUANTILES(x, 100)[OFFSET(95)]`,
  `COUNTIF`, `FORMAT_TIMESTAMP`, ...);
- `project.dataset.table` references lose their project and dataset (the file is one dataset);
- `@name` parameters become DuckDB `$name` parameters and are bound by the driver, never
  pasted into the SQL text, so a value cannot change the query;
- errors are worded as BigQuery words them where the meaning is the same (`Unrecognized name`,
  `Not found: Table`, `Syntax error: ... at [line:column]`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import Any

PARAM_TYPES = ("STRING", "INT64", "FLOAT64", "BOOL", "TIMESTAMP", "DATE")
_INT = re.compile(r"[+-]?\d+\Z")
_FLOAT = re.compile(r"[+-]?(\d+\.\d*|\.\d+|\d+)([eE][+-]?\d+)?\Z")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}\Z")
_TS = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")


class QueryError(Exception):
    """A query that cannot run, in one line, in BigQuery's words where possible."""


@dataclass(frozen=True)
class Param:
    name: str
    type: str
    value: Any


@dataclass
class QueryResult:
    columns: list[str]
    rows: list[tuple[Any, ...]] = field(default_factory=list)
    sql: str = ""  # the SQL that ran (transpiled, on DuckDB)


def parse_param(text: str) -> Param:
    """`name=value` (type inferred) or `name:TYPE=value`, as `bq query --parameter` takes them."""
    if "=" not in text:
        raise QueryError(f"bad parameter {text!r}: expected name=value or name:TYPE=value")
    head, raw = text.split("=", 1)
    name, _, typ = head.partition(":")
    name = name.lstrip("@")
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
        raise QueryError(f"bad parameter name {name!r}")
    typ = typ.upper() or infer_type(raw)
    typ = {"INTEGER": "INT64", "FLOAT": "FLOAT64", "BOOLEAN": "BOOL"}.get(typ, typ)
    if typ not in PARAM_TYPES:
        raise QueryError(f"parameter {name}: unsupported type {typ} (use one of {', '.join(PARAM_TYPES)})")
    return Param(name, typ, convert(name, typ, raw))


def infer_type(raw: str) -> str:
    if _INT.match(raw):
        return "INT64"
    if _FLOAT.match(raw):
        return "FLOAT64"
    if raw.lower() in ("true", "false"):
        return "BOOL"
    if _DATE.match(raw):
        return "DATE"
    if _TS.match(raw):
        return "TIMESTAMP"
    return "STRING"


def convert(name: str, typ: str, raw: str) -> Any:
    try:
        if typ == "INT64":
            return int(raw)
        if typ == "FLOAT64":
            return float(raw)
        if typ == "BOOL":
            if raw.lower() not in ("true", "false"):
                raise ValueError(raw)
            return raw.lower() == "true"
        if typ == "DATE":
            return date.fromisoformat(raw)
        if typ == "TIMESTAMP":
            dt = datetime.fromisoformat(raw.replace("Z", "+00:00"))
            return dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)
    except ValueError:
        raise QueryError(f"parameter {name}: {raw!r} is not a valid {typ}") from None
    return raw


# -- DuckDB ---------------------------------------------------------------------------------

def transpile(sql: str) -> tuple[str, list[str]]:
    """BigQuery SQL -> (DuckDB SQL, parameter names used). Raises QueryError on a parse error."""
    import sqlglot
    from sqlglot import exp
    from sqlglot.errors import ParseError

    try:
        trees = sqlglot.parse(sql, read="bigquery")
    except ParseError as exc:
        raise QueryError(_syntax_error(exc)) from None
    trees = [t for t in trees if t is not None]
    if len(trees) != 1:
        raise QueryError("Syntax error: expected exactly one statement")
    tree = trees[0]
    names: list[str] = []
    for node in tree.find_all(exp.Parameter):
        name = node.name
        if name and name not in names:
            names.append(name)
    for table in tree.find_all(exp.Table):
        # `project.dataset.table` -> `table`: the DuckDB file is the dataset.
        table.set("catalog", None)
        table.set("db", None)
    return tree.sql(dialect="duckdb"), names


def _syntax_error(exc: Any) -> str:
    errors = getattr(exc, "errors", None) or []
    if errors:
        e = errors[0]
        desc = str(e.get("description") or exc).splitlines()[0]
        desc = re.sub(r"<Token token_type: [^,]+, text: ([^,]*),[^>]*>", r"\1", desc)
        return f"Syntax error: {desc} at [{e.get('line', 1)}:{e.get('col', 1)}]"
    return f"Syntax error: {str(exc).splitlines()[0]}"


def run_duckdb(con: Any, sql: str, params: list[Param]) -> QueryResult:
    import duckdb

    text, used = transpile(sql)
    given = {p.name: p for p in params}
    missing = [n for n in used if n not in given]
    if missing:
        raise QueryError(f"Query parameter '{missing[0]}' not found")
    values = {n: given[n].value for n in used}
    try:
        cur = con.execute(text, values) if values else con.execute(text)
        columns = [d[0] for d in cur.description or []]
        rows = cur.fetchall()
    except duckdb.Error as exc:
        raise QueryError(bigquery_words(str(exc))) from None
    return QueryResult(columns, rows, text)


_RULES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r'Table with name (\S+?) does not exist'), "Not found: Table {0}"),
    (re.compile(r'Referenced column "?([^"\s]+)"? not found'), "Unrecognized name: {0}"),
    (re.compile(r'Referenced table "?([^"\s]+)"? not found'), "Unrecognized name: {0}"),
    (re.compile(r'Scalar Function with name (\w+) does not exist'), "Function not found: {0}"),
    (re.compile(r'Aggregate Function with name (\w+) does not exist'), "Function not found: {0}"),
    (re.compile(r'Parser Error: (.*)'), "Syntax error: {0}"),
    (re.compile(r'Could not convert string \'(.*?)\' to (\w+)'), "Invalid {1} value: '{0}'"),
]


def bigquery_words(message: str) -> str:
    first = message.splitlines()[0]
    for pattern, template in _RULES:
        m = pattern.search(message)
        if m:
            return template.format(*m.groups()) + f" (DuckDB: {first})"
    return first


# -- BigQuery -------------------------------------------------------------------------------

def bigquery_job_config(params: list[Param]) -> Any:
    from google.cloud import bigquery

    return bigquery.QueryJobConfig(query_parameters=[
        bigquery.ScalarQueryParameter(p.name, p.type, p.value) for p in params])


def run_bigquery(client: Any, sql: str, params: list[Param], default_dataset: str | None) -> QueryResult:
    from google.api_core import exceptions as gexc

    config = bigquery_job_config(params)
    if default_dataset:
        config.default_dataset = default_dataset
    try:
        result = client.query(sql, job_config=config).result()
    except gexc.GoogleAPIError as exc:
        raise QueryError(getattr(exc, "message", None) or str(exc)) from None
    columns = [f.name for f in result.schema]
    return QueryResult(columns, [tuple(row.values()) for row in result], sql)


def run_query(sql: str, target: str, params: list[Param] | None = None) -> QueryResult:
    """Run BigQuery SQL on `target` (bigquery://PROJECT/DATASET or duckdb:///file.duckdb)."""
    from .tables import parse_target

    params = params or []
    t = parse_target(target)
    if t.kind == "duckdb":
        import duckdb

        try:
            con = duckdb.connect(t.path, read_only=True)
        except duckdb.Error as exc:
            raise QueryError(f"cannot open {t.path}: {str(exc).splitlines()[0]}") from None
        try:
            con.execute("SET TimeZone = 'UTC'")
            return run_duckdb(con, sql, params)
        finally:
            con.close()
    from .tables._targets import make_bigquery_client

    client = make_bigquery_client(t.project)
    try:
        return run_bigquery(client, sql, params, f"{t.project}.{t.dataset}")
    finally:
        client.close()


# -- output ---------------------------------------------------------------------------------

def _cell(v: Any) -> str:
    if v is None:
        return "NULL"
    if isinstance(v, datetime):
        return v.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")
    if isinstance(v, float):
        return f"{v:.6g}"
    return str(v)


def format_table(result: QueryResult) -> str:
    cells = [[_cell(v) for v in row] for row in result.rows]
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(result.columns)]
    line = "+" + "+".join("-" * (w + 2) for w in widths) + "+"
    out = [line, "| " + " | ".join(c.ljust(w) for c, w in zip(result.columns, widths)) + " |", line]
    out += ["| " + " | ".join(c.ljust(w) for c, w in zip(r, widths)) + " |" for r in cells]
    out.append(line)
    out.append(f"({len(result.rows)} row{'s' if len(result.rows) != 1 else ''})")
    return "\n".join(out)


def format_json(result: QueryResult) -> str:
    import orjson

    def default(v: Any) -> Any:
        return _cell(v)

    rows = [dict(zip(result.columns, r)) for r in result.rows]
    return orjson.dumps(rows, default=default, option=orjson.OPT_INDENT_2).decode()


def format_csv(result: QueryResult) -> str:
    import csv
    import io

    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(result.columns)
    for r in result.rows:
        w.writerow(["" if v is None else _cell(v) for v in r])
    return buf.getvalue().rstrip("\n")


FORMATS = {"table": format_table, "json": format_json, "csv": format_csv}
