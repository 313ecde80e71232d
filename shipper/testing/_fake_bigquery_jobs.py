"""Query jobs for FakeBigQueryAPI: `jobs.insert` (query, dryRun), `jobs.get`, `jobs.getQueryResults`.

The answers follow the REST reference: a job resource with `statistics.query.statementType` and
`totalBytesProcessed` (also for a dry run, which runs nothing), `maximumBytesBilled` enforced
(`bytesBilledLimitExceeded`), results as `{schema, rows: [{f: [{v}]}], totalRows, pageToken}`.

Behind the scenes the SQL runs on DuckDB: the fake's rows are copied into an in-memory DuckDB
database per query and the BigQuery SQL is transpiled with sqlglot (directly, not through
shipper's own transpiler, so that a bug there is not mirrored here). This is a stand-in for
tests, not a BigQuery engine: functions sqlglot cannot translate fail as DuckDB fails, and the
byte estimate is the documented per-type data size of the columns the query names (all of them
for `*`), summed over the rows of the tables it reads. DML (with the caller's consent) runs on
the copy and the table's rows are read back from it.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any

# BigQuery schema type -> DuckDB type for the copy.
_DUCK = {"STRING": "VARCHAR", "INTEGER": "BIGINT", "INT64": "BIGINT", "FLOAT": "DOUBLE",
         "FLOAT64": "DOUBLE", "BOOLEAN": "BOOLEAN", "BOOL": "BOOLEAN", "TIMESTAMP": "TIMESTAMPTZ",
         "DATE": "DATE", "JSON": "JSON", "NUMERIC": "DECIMAL(38,9)", "BYTES": "BLOB", "DATETIME": "TIMESTAMP"}
_STATEMENT = {"Select": "SELECT", "Union": "SELECT", "Intersect": "SELECT", "Except": "SELECT",
              "Insert": "INSERT", "Update": "UPDATE", "Delete": "DELETE", "Merge": "MERGE",
              "Drop": "DROP_TABLE", "Alter": "ALTER_TABLE"}


class JobError(Exception):
    def __init__(self, code: int, reason: str, message: str) -> None:
        super().__init__(message)
        self.code, self.reason, self.message = code, reason, message


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def duck_type(f: dict[str, Any]) -> str:
    t = str(f.get("type", "STRING")).upper()
    if t in ("RECORD", "STRUCT"):
        base = "STRUCT(" + ", ".join(f"{_q(c['name'])} {duck_type(c)}" for c in f.get("fields", [])) + ")"
    else:
        base = _DUCK.get(t, "VARCHAR")
    return base + "[]" if (f.get("mode") or "").upper() == "REPEATED" else base


def value_size(f: dict[str, Any], v: Any) -> int:
    """BigQuery's documented data size of a value (the basis of bytes processed)."""
    if v is None:
        return 0
    if (f.get("mode") or "").upper() == "REPEATED" and isinstance(v, list):
        one = dict(f, mode="NULLABLE")
        return sum(value_size(one, x) for x in v)
    t = str(f.get("type", "STRING")).upper()
    if t in ("RECORD", "STRUCT"):
        return sum(value_size(c, v.get(c["name"])) for c in f.get("fields", [])) if isinstance(v, dict) else 0
    if t == "STRING":
        return 2 + len(str(v).encode())
    if t in ("BOOLEAN", "BOOL"):
        return 1
    if t == "JSON":
        return len(json.dumps(v, separators=(",", ":")).encode())
    return 8


def statement_type(tree: Any) -> str:
    from sqlglot import exp

    if isinstance(tree, exp.Create):
        kind = str(tree.args.get("kind") or "TABLE").upper()
        return "CREATE_TABLE_AS_SELECT" if kind == "TABLE" and tree.expression is not None else f"CREATE_{kind}"
    return _STATEMENT.get(type(tree).__name__, "SCRIPT")


def _cell(f: dict[str, Any], v: Any, int64_timestamp: bool) -> Any:
    if v is None:
        return None
    if (f.get("mode") or "").upper() == "REPEATED":
        one = dict(f, mode="NULLABLE")
        return [{"v": _cell(one, x, int64_timestamp)} for x in v]
    t = f["type"]
    if t == "RECORD":
        return {"f": [{"v": _cell(c, v.get(c["name"]), int64_timestamp)} for c in f["fields"]]}
    if t == "TIMESTAMP":
        micros = int(v.timestamp() * 1_000_000) if isinstance(v, datetime) else int(v)
        return str(micros) if int64_timestamp else f"{micros / 1_000_000:.6E}"
    if t == "BOOLEAN":
        return "true" if v else "false"
    if t == "JSON":
        return v if isinstance(v, str) else json.dumps(v)
    if isinstance(v, float):
        return repr(v)
    return str(v)


def _field_of(name: str, dtype: Any) -> dict[str, Any]:
    tid = dtype.id
    if tid == "list":
        inner = _field_of(name, dtype.child)
        return {**inner, "mode": "REPEATED"}
    if tid == "struct":
        return {"name": name, "type": "RECORD", "mode": "NULLABLE",
                "fields": [_field_of(n, t) for n, t in dtype.children]}
    text = str(dtype).upper()
    if text == "JSON":
        t = "JSON"
    elif tid in ("bigint", "integer", "smallint", "tinyint", "hugeint", "ubigint", "uinteger"):
        t = "INTEGER"
    elif tid in ("double", "float", "decimal"):
        t = "FLOAT"
    elif tid == "boolean":
        t = "BOOLEAN"
    elif tid in ("timestamp with time zone",):
        t = "TIMESTAMP"
    elif tid == "timestamp":
        t = "DATETIME"
    elif tid == "date":
        t = "DATE"
    else:
        t = "STRING"
    return {"name": name, "type": t, "mode": "NULLABLE"}


def _to_json_value(v: Any) -> Any:
    """A DuckDB value read back into the fake's stored row form (what insertAll would hold)."""
    if isinstance(v, datetime):
        return v.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")
    if isinstance(v, date):
        return v.isoformat()
    if isinstance(v, Decimal):
        return float(v)
    if isinstance(v, dict):
        return {k: _to_json_value(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_to_json_value(x) for x in v]
    return v


class QueryEngine:
    """Runs one query job against the fake's tables (a dict (project, dataset, table) -> _Table)."""

    def __init__(self, tables: dict[tuple[str, str, str], Any]) -> None:
        self.tables = tables

    def run(self, project: str, config: dict[str, Any], dry_run: bool) -> dict[str, Any]:
        import sqlglot
        from sqlglot import exp
        from sqlglot.errors import ParseError, TokenError

        query = config.get("query", "")
        default = config.get("defaultDataset") or {}
        try:
            trees = [t for t in sqlglot.parse(query, read="bigquery") if t is not None]
        except (ParseError, TokenError) as exc:
            raise JobError(400, "invalidQuery", f"Syntax error: {str(exc).splitlines()[0]}") from None
        if len(trees) != 1:
            raise JobError(400, "invalidQuery", "only single statements are supported by this fake")
        tree = trees[0]
        kind = statement_type(tree)
        cte_names = {c.alias_or_name for c in tree.find_all(exp.CTE)}
        used: dict[str, tuple[tuple[str, str, str], Any]] = {}
        for t in tree.find_all(exp.Table):
            if not t.name or (not t.args.get("db") and t.name in cte_names):
                continue
            key = (t.catalog or default.get("projectId") or project, t.db or default.get("datasetId", ""), t.name)
            table = self.tables.get(key)
            if table is None:
                raise JobError(404, "notFound", f"Not found: Table {key[0]}:{key[1]}.{key[2]} was not "
                                                "found in location US")
            used[t.name] = (key, table)
            t.set("catalog", None)
            t.set("db", None)
        scanned = self._bytes(tree, used)
        out: dict[str, Any] = {"statementType": kind, "totalBytesProcessed": str(scanned)}
        if dry_run:
            return out
        cap = config.get("maximumBytesBilled")
        if cap is not None and scanned > int(cap):
            raise JobError(400, "bytesBilledLimitExceeded",
                           f"Query exceeded limit for bytes billed: {int(cap)}. {scanned} or higher required.")
        return {**out, **self._execute(tree, used, config.get("queryParameters") or [], kind)}

    def _bytes(self, tree: Any, used: dict[str, tuple[tuple[str, str, str], Any]]) -> int:
        from sqlglot import exp

        star = any(True for _ in tree.find_all(exp.Star))
        named = {c.name.lower() for c in tree.find_all(exp.Column)}
        total = 0
        for _, table in used.values():
            fields = table.resource["schema"]["fields"]
            cols = [f for f in fields if star or f["name"].lower() in named]
            total += sum(value_size(f, row.get(f["name"])) for row in table.rows for f in cols)
        return total

    def _execute(self, tree: Any, used: dict[str, tuple[tuple[str, str, str], Any]],
                 params: list[dict[str, Any]], kind: str) -> dict[str, Any]:
        import duckdb
        from sqlglot import exp

        con = duckdb.connect(config={"enable_external_access": False})
        try:
            con.execute("SET TimeZone = 'UTC'")
            for name, (_, table) in used.items():
                fields = table.resource["schema"]["fields"]
                con.execute(f"CREATE TABLE {_q(name)} (" + ", ".join(
                    f"{_q(f['name'])} {duck_type(f)}" for f in fields) + ")")
                if table.rows:
                    structure = json.dumps([{f["name"]: _structure(f) for f in fields}])
                    con.execute(f"INSERT INTO {_q(name)} SELECT s.* FROM (SELECT unnest(from_json(?::JSON, ?)) AS s)",
                                [json.dumps(table.rows), structure])
            if kind == "SELECT":
                _name_columns(tree, exp)
            sql = tree.sql(dialect="duckdb")
            values = {p["name"]: _param_value(p) for p in params if p.get("name")}
            try:
                if kind == "SELECT":
                    rel = con.sql(sql, params=values or None)
                    columns, types, rows = rel.columns, rel.types, rel.fetchall()
                else:
                    affected = (con.execute(sql, values) if values else con.execute(sql)).fetchone()
            except duckdb.Error as exc:
                message = str(exc).splitlines()[0]
                if "division by zero" in message.lower():
                    raise JobError(400, "invalidQuery", "division by zero") from None
                raise JobError(400, "invalidQuery", message) from None
            if kind != "SELECT":
                for name, (_, table) in used.items():
                    rel = con.sql(f"SELECT * FROM {_q(name)}")
                    cols = rel.columns
                    table.rows = [{c: _to_json_value(v) for c, v in zip(cols, r) if v is not None}
                                  for r in rel.fetchall()]
                return {"numDmlAffectedRows": str(affected[0] if affected else 0), "schema": None, "rows": []}
            schema = [_field_of(c, t) for c, t in zip(columns, types)]
            return {"schema": {"fields": schema}, "rows": rows}
        finally:
            con.close()


def _name_columns(tree: Any, exp: Any) -> None:
    """BigQuery names an unaliased expression `f0_`, `f1_`, ... (a column keeps its name)."""
    select = tree
    while isinstance(select, (exp.Union, exp.Intersect, exp.Except)):
        select = select.this
    if not isinstance(select, exp.Select):
        return
    n = 0
    out = []
    for e in select.expressions:
        if isinstance(e, (exp.Alias, exp.Column, exp.Star, exp.Dot)):
            out.append(e)
        else:
            out.append(exp.alias_(e, f"f{n}_"))
            n += 1
    select.set("expressions", out)


def _structure(f: dict[str, Any]) -> Any:
    t = str(f.get("type", "STRING")).upper()
    if t in ("RECORD", "STRUCT"):
        inner: Any = {c["name"]: _structure(c) for c in f.get("fields", [])}
    else:
        inner = _DUCK.get(t, "VARCHAR")
    return [inner] if (f.get("mode") or "").upper() == "REPEATED" else inner


def _param_value(p: dict[str, Any]) -> Any:
    t = (p.get("parameterType") or {}).get("type", "STRING")
    raw = (p.get("parameterValue") or {}).get("value")
    if raw is None:
        return None
    if t in ("INT64", "INTEGER"):
        return int(raw)
    if t in ("FLOAT64", "FLOAT"):
        return float(raw)
    if t in ("BOOL", "BOOLEAN"):
        return str(raw).lower() == "true"
    if t == "TIMESTAMP":
        s = str(raw).replace(" UTC", "+00:00").replace("Z", "+00:00")
        if " " in s and "T" not in s:
            s = s.replace(" ", "T", 1)
        dt = datetime.fromisoformat(s)
        return dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)
    if t == "DATE":
        return date.fromisoformat(str(raw))
    return raw


def result_page(job: dict[str, Any], start: int, max_results: int | None, int64_timestamp: bool) -> dict[str, Any]:
    result = job["_result"]
    schema = result.get("schema")
    rows = result.get("rows") or []
    end = len(rows) if max_results is None else min(len(rows), start + max_results)
    page: dict[str, Any] = {
        "kind": "bigquery#getQueryResultsResponse",
        "jobReference": job["jobReference"],
        "jobComplete": True,
        "totalRows": str(len(rows)),
        "cacheHit": False,
        "totalBytesProcessed": job["statistics"]["query"]["totalBytesProcessed"],
    }
    if schema is not None:
        page["schema"] = schema
        fields = schema["fields"]
        page["rows"] = [{"f": [{"v": _cell(f, v, int64_timestamp)} for f, v in zip(fields, r)]}
                        for r in rows[start:end]]
    if "numDmlAffectedRows" in result:
        page["numDmlAffectedRows"] = result["numDmlAffectedRows"]
    if end < len(rows):
        page["pageToken"] = str(end)
    return page
