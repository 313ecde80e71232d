"""Registry model -> DuckDB DDL, and a live DuckDB table -> model, for the local warehouse.

DuckDB stands in for BigQuery on a laptop and in tests. The mapping keeps BigQuery's meaning
where DuckDB can hold it: RECORD -> STRUCT, REPEATED -> LIST, JSON -> JSON, TIMESTAMP ->
TIMESTAMPTZ (UTC), REQUIRED -> NOT NULL at the top level. DuckDB has no NOT NULL inside a
STRUCT and no partitioning or clustering; those differences are ignored when comparing.
"""

from __future__ import annotations

from typing import Any

from ..registry import (
    BOOL,
    DATE,
    FLOAT64,
    INT64,
    JSON,
    NULLABLE,
    RECORD,
    REPEATED,
    REQUIRED,
    STRING,
    TIMESTAMP,
    Field,
    Table,
)

DUCKDB_TYPE = {
    STRING: "VARCHAR",
    INT64: "BIGINT",
    FLOAT64: "DOUBLE",
    BOOL: "BOOLEAN",
    TIMESTAMP: "TIMESTAMPTZ",
    DATE: "DATE",
    JSON: "JSON",
}
# DuckDBPyType.id -> model type, for reading a live table back.
FROM_DUCKDB_ID = {
    "varchar": STRING, "bigint": INT64, "integer": INT64, "smallint": INT64, "tinyint": INT64,
    "hugeint": INT64, "double": FLOAT64, "float": FLOAT64, "boolean": BOOL,
    "timestamp with time zone": TIMESTAMP, "timestamp": TIMESTAMP, "date": DATE, "json": JSON,
    "struct": RECORD,
}


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def column_type(f: Field) -> str:
    if f.type == RECORD:
        inner = ", ".join(f"{quote(c.name)} {column_type(c)}" for c in f.fields)
        base = f"STRUCT({inner})"
    else:
        base = DUCKDB_TYPE[f.type]
    return base + "[]" if f.mode == REPEATED else base


def column_def(f: Field) -> str:
    null = " NOT NULL" if f.mode == REQUIRED else ""
    return f"{quote(f.name)} {column_type(f)}{null}"


def create_table_sql(table: Table) -> str:
    cols = ",\n  ".join(column_def(f) for f in table.fields)
    return f"CREATE TABLE {quote(table.name)} (\n  {cols}\n)"


# Each COMMENT ON COLUMN rewrites the table's whole catalog entry, so commenting every column
# costs columns^2: in one transaction 1,000 columns took 371 MB and 9,998 ran out of 24 GB;
# committed one by one, memory stays flat but 10,000 columns take ~40 s. Wider tables get the
# table comment only (their column docs are in docs/tables.md, generated from the registry).
MAX_COMMENTED_COLUMNS = 1_000


def literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def comment_sql(table: Table) -> list[str]:
    """COMMENT ON statements so that the docs travel with the local tables too.

    Run each in its own transaction (see MAX_COMMENTED_COLUMNS): comments are documentation,
    a create interrupted between two of them leaves a usable table."""
    out = [f"COMMENT ON TABLE {quote(table.name)} IS {literal(table.description)}"]
    if len(table.fields) <= MAX_COMMENTED_COLUMNS:
        out += [f"COMMENT ON COLUMN {quote(table.name)}.{quote(f.name)} IS {literal(f.description)}"
                for f in table.fields if f.description]
    return out


def add_column_sql(table_name: str, path: list[str], f: Field) -> str:
    """ALTER TABLE ... ADD COLUMN, nested paths included (DuckDB >= 1.3 adds STRUCT fields)."""
    target = ".".join(quote(p) for p in [*path, f.name])
    return f"ALTER TABLE {quote(table_name)} ADD COLUMN {target} {column_type(f)}"


def relax_sql(table_name: str, column: str) -> str:
    return f"ALTER TABLE {quote(table_name)} ALTER COLUMN {quote(column)} DROP NOT NULL"


def _field_from_type(name: str, dtype: Any, mode: str) -> Field:
    if dtype.id == "list":
        child = dtype.child
        inner = _field_from_type(name, child, NULLABLE)
        return Field(name, inner.type, REPEATED, fields=inner.fields)
    if dtype.id == "struct":
        children = tuple(_field_from_type(n, t, NULLABLE) for n, t in dtype.children)
        return Field(name, RECORD, mode, fields=children)
    if str(dtype).upper() == "JSON":  # JSON is a VARCHAR alias: its id says varchar
        return Field(name, JSON, mode)
    return Field(name, FROM_DUCKDB_ID.get(dtype.id, dtype.id.upper()), mode)


def live_fields(con: Any, table_name: str) -> tuple[Field, ...] | None:
    """The live table's columns as model Fields, or None when the table does not exist."""
    rows = con.execute(
        "SELECT column_name, is_nullable FROM information_schema.columns "
        "WHERE table_schema = current_schema() AND table_name = ? ORDER BY ordinal_position",
        [table_name],
    ).fetchall()
    if not rows:
        return None
    rel = con.table(quote(table_name))
    types = dict(zip(rel.columns, rel.types))
    return tuple(_field_from_type(name, types[name], NULLABLE if nullable == "YES" else REQUIRED)
                 for name, nullable in rows)


def _has_repeated(fields: tuple[Field, ...]) -> bool:
    return any(f.mode == REPEATED or (f.type == RECORD and _has_repeated(f.fields)) for f in fields)


def stored_value(f: Field, src: str, depth: int = 0) -> str:
    """The SQL for the value BigQuery stores for `src`: a missing REPEATED field is `[]`.

    BigQuery has no NULL arrays (a NULL or absent repeated field reads back as an empty array,
    so `ARRAY_LENGTH` gives 0); DuckDB keeps NULL unless told. Applied on insert, nested
    repeated fields inside RECORDs included."""
    if f.type == RECORD and _has_repeated(f.fields):
        if f.mode == REPEATED:
            var = f"__e{depth}"
            return f"COALESCE(list_transform({src}, lambda {var}: {_struct(f, var, depth)}), [])"
        return f"CASE WHEN {src} IS NULL THEN NULL ELSE {_struct(f, src, depth)} END"
    if f.mode == REPEATED:
        return f"COALESCE({src}, [])"
    return src


def _struct(f: Field, src: str, depth: int) -> str:
    return "struct_pack(" + ", ".join(
        f"{quote(c.name)} := {stored_value(c, f'{src}.{quote(c.name)}', depth + 1)}" for c in f.fields) + ")"


def field_at(fields: tuple[Field, ...], path: list[str]) -> Field:
    for f in fields:
        if f.name.lower() == path[0].lower():
            return f if len(path) == 1 else field_at(f.fields, path[1:])
    raise KeyError(".".join(path))
