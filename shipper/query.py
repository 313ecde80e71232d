"""`shipper query`: BigQuery standard SQL on either warehouse, its parameters and its output.

The running is the warehouse's (`shipper.warehouse`: BigQuery itself, or DuckDB with the SQL
transpiled, see `shipper.warehouse._bigquery_sql`); this module parses `--param` values as
`bq query --parameter` does and formats results (table, JSON, CSV) the same way for both:
timestamps in UTC with `Z`, in every format.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timezone
from typing import Any

from .warehouse import Param, QueryError, QueryOptions, QueryResult, WarehouseUrl, open_warehouse

__all__ = ["FORMATS", "Param", "QueryError", "QueryOptions", "QueryResult", "parse_param", "run_query"]

PARAM_TYPES = ("STRING", "INT64", "FLOAT64", "BOOL", "TIMESTAMP", "DATE")
_INT = re.compile(r"[+-]?\d+\Z")
_FLOAT = re.compile(r"[+-]?(\d+\.\d*|\.\d+|\d+)([eE][+-]?\d+)?\Z")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}\Z")
_TS = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")


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


# -- running -------------------------------------------------------------------------------

def run_query(sql: str, target: str | WarehouseUrl, params: list[Param] | None = None,
              options: QueryOptions | None = None) -> QueryResult:
    """Run BigQuery SQL on `target` (bigquery://PROJECT/DATASET or duckdb:///file.duckdb).

    Read-only unless `options.allow_write`: see `shipper.warehouse` (DuckDB: no file, network or
    extension access at all; BigQuery: a dry run tells the statement type and bytes first)."""
    warehouse = open_warehouse(target)
    try:
        return warehouse.query(sql, params or [], options or QueryOptions())
    finally:
        warehouse.close()


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

    # Datetimes through `_cell` too (orjson would write `+00:00`; the table output writes `Z`).
    rows = [dict(zip(result.columns, r)) for r in result.rows]
    return orjson.dumps(rows, default=default,
                        option=orjson.OPT_INDENT_2 | orjson.OPT_PASSTHROUGH_DATETIME).decode()


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
