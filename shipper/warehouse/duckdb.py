"""The DuckDB backend: a local file standing in for a BigQuery dataset (development, tests, replay).

One class, `DuckDBWarehouse`, answers the warehouse protocol:
- tables: the registry's tables as DuckDB DDL (`_duckdb_ddl`), read back into the model to plan;
  `plan` opens the file read-only and creates nothing (a missing file plans every table as new);
- write: `_duckdb_load.DuckDBWriter`, spooled batches inserted by a child process;
- query: BigQuery SQL transpiled by sqlglot (`_bigquery_sql`), on a connection that can read
  the warehouse and nothing else: read-only, no file or network access, no extension installed
  or loaded (a query tool runs text someone typed or pasted; `COPY ... TO`, `read_text` or
  `httpfs` would make it a file reader, a file writer and a downloader).
"""

from __future__ import annotations

from typing import Any

from ..registry import Change, Registry, Table
from ..registry._compat import ADD_COLUMN, RELAX_MODE
from ._duckdb_connect import connect
from ._duckdb_ddl import add_column_sql, comment_sql, create_table_sql, live_fields, relax_sql
from ._errors import require
from ._plan import Plan, TablePlan, apply, plan
from ._protocol import Param, QueryError, QueryOptions, QueryResult, RowWriter, WriteReport
from ._url import WarehouseUrl

# For every query connection: no file system or network, no extensions, and these cannot be
# switched back on by the query itself.
QUERY_CONFIG = {
    "enable_external_access": False,
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
    "allow_community_extensions": False,
    # sqlglot writes `x -> ...` lambdas, which DuckDB 2 only takes when told.
    "lambda_syntax": "ENABLE_SINGLE_ARROW",
    "lock_configuration": True,
}
class DuckDBWarehouse:
    tracks_descriptions = False
    tracks_nested_modes = False

    def __init__(self, url: WarehouseUrl) -> None:
        require("duckdb")  # said at once: every use of this warehouse needs it
        self.url = url
        self.path = url.file
        self._con: Any = None
        self._read_only = True

    # -- connection ----------------------------------------------------------------------
    def _connection(self, write: bool) -> Any:
        if self._con is not None and (self._read_only and write):
            self.close()
        if self._con is None:
            if write and str(self.path) != ":memory:":
                self.path.parent.mkdir(parents=True, exist_ok=True)
            self._con = connect(self.path, read_only=not write and self.exists)
            self._read_only = not write
        return self._con

    @property
    def exists(self) -> bool:
        return str(self.path) == ":memory:" or self.path.exists()

    @property
    def con(self) -> Any:
        """A read-write connection (creates the file)."""
        return self._connection(write=True)

    def close(self) -> None:
        if self._con is not None:
            self._con.close()
            self._con = None

    # -- tables --------------------------------------------------------------------------
    def live_table(self, name: str) -> Table | None:
        if not self.exists:
            return None
        fields = live_fields(self._connection(write=False), name)
        if fields is None:
            return None
        return Table(name=name, version=0, description="", fields=fields, source=f"{self.path}:{name}")

    def create(self, table: Table) -> None:
        con = self.con
        con.execute("BEGIN")
        try:
            con.execute(create_table_sql(table))
            con.execute("COMMIT")
        except Exception:
            con.execute("ROLLBACK")
            raise
        for stmt in comment_sql(table):  # each its own transaction: see MAX_COMMENTED_COLUMNS
            con.execute(stmt)

    def update(self, table: Table, live: Table, changes: list[Change]) -> None:
        from ._duckdb_ddl import field_at

        statements = []
        for c in changes:
            parts = c.path.split(".")
            if c.kind == ADD_COLUMN:
                statements.append(add_column_sql(table.name, parts[:-1], field_at(table.fields, parts)))
            elif c.kind == RELAX_MODE and len(parts) == 1:
                statements.append(relax_sql(table.name, parts[0]))
        con = self.con
        con.execute("BEGIN")
        try:
            for stmt in statements:
                con.execute(stmt)
            con.execute("COMMIT")
        except Exception:
            con.execute("ROLLBACK")
            raise

    def plan(self, registry: Registry, only: list[str] | None = None) -> Plan:
        return plan(registry, self, only)

    def apply(self, p: Plan) -> list[TablePlan]:
        return apply(p, self)

    # -- write ---------------------------------------------------------------------------
    def writer(self, registry: Registry, report: WriteReport, **options: Any) -> RowWriter:
        """Tables created or updated first (as `tables apply`), then the file is the writer's."""
        from ._duckdb_load import DuckDBWriter
        from ._plan import ensure_tables

        try:
            ensure_tables(self, registry)
        finally:
            self.close()  # the writer's child process owns the file from here on
        widest = max((_count(t.fields) for t in registry.tables), default=0)
        return DuckDBWriter(self.path, report, columns=widest, **options)

    # -- query ---------------------------------------------------------------------------
    def query(self, sql: str, params: list[Param], options: QueryOptions) -> QueryResult:
        from ._bigquery_sql import run_on_duckdb, transpile

        statement = transpile(sql)
        if statement.type != "SELECT" and not options.allow_write:
            raise QueryError(read_only_refusal(statement.type))
        if not self.exists:
            raise QueryError(f"Not found: {self.path} (load something first: shipper load ... "
                             f"--target {self.url})")
        write = options.allow_write and statement.type != "SELECT"
        con = connect(self.path, read_only=not write, config=QUERY_CONFIG)
        try:
            return run_on_duckdb(con, statement, params)
        finally:
            con.close()


def _count(fields: tuple) -> int:
    return sum(1 + _count(f.fields) for f in fields)


def read_only_refusal(statement_type: str) -> str:
    return (f"shipper query is read-only: a {statement_type} statement changes data; "
            "pass --allow-write to run it (only SELECT runs without it)")
