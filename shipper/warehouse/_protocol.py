"""The one protocol every warehouse backend answers: plan, apply, write, query.

A backend (BigQuery, DuckDB) is one module that knows its client; everything above it (the CLI,
the loader, the demo) talks to this protocol only, so a URL is parsed once and no caller asks
what kind of warehouse it holds.

- plan / apply: the registry's tables against the live ones (`_plan.py` does the comparing; a
  backend only reads a live table back into the model and carries out allowed changes).
- write: `writer()` returns a `RowWriter`. Rows go in per table, in the writer's own encoded
  form: the loader's hot loop asks a table's `encoder` once and calls it per row, so a backend
  can keep its cheapest form (DuckDB: a spool line holding the app's bytes as read; BigQuery:
  the row ready for insertAll). A later writer (BigQuery load jobs, issue 17) fits the same
  shape: encode NDJSON lines, write them to a spool, flush = one load job.
- query: BigQuery standard SQL, read-only unless `allow_write`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from ._errors import WarehouseError

if TYPE_CHECKING:  # pragma: no cover
    from ..registry import Change, Registry, Table
    from ._plan import Plan, TablePlan
    from ._url import WarehouseUrl


class QueryError(WarehouseError):
    """A query that cannot run, in one line, in BigQuery's words where possible."""


@dataclass(frozen=True)
class Param:
    """A query parameter (`@name`), bound by the driver, never pasted into the SQL."""

    name: str
    type: str
    value: Any


@dataclass(frozen=True)
class QueryOptions:
    allow_write: bool = False  # DML/DDL: refused unless asked for
    max_bytes: int | None = None  # BigQuery: refuse (dry run) and cap (maximumBytesBilled)


@dataclass
class QueryResult:
    columns: list[str]
    rows: list[tuple[Any, ...]] = field(default_factory=list)
    sql: str = ""  # the SQL that ran (transpiled, on DuckDB)
    statement_type: str = "SELECT"
    bytes_processed: int | None = None  # BigQuery's dry-run estimate


class Tables(Protocol):
    """What `plan` and `apply` need from a backend."""

    url: WarehouseUrl
    # Whether the backend keeps what BigQuery keeps; DuckDB has no descriptions, nested NOT NULL,
    # partitioning or clustering, and the comparison must not report those as drift.
    tracks_descriptions: bool
    tracks_nested_modes: bool

    def live_table(self, name: str) -> Table | None: ...
    def create(self, table: Table) -> None: ...
    def update(self, table: Table, live: Table, changes: list[Change]) -> None: ...


class WriteReport(Protocol):
    """Where a writer says what happened to the rows (the loader keeps the books)."""

    def loaded(self, table: str, inserted: int, duplicates: int) -> None: ...
    def refused(self, ordinal: int, table: str, kind: str, reason: str, row: Any) -> None: ...
    def notice(self, text: str) -> None: ...  # a retry or a wait, for a person watching


# (key, ordinal, the app's line as read or None, the row) -> one row in the writer's own form
Encoder = Callable[[str, int, "bytes | None", dict[str, Any]], Any]


class RowWriter(Protocol):
    requests: int  # API requests made (BigQuery), for the summary
    process_peak_mb: float  # a helper process's peak memory (DuckDB), for the summary

    def encoder(self, table: Table) -> Encoder: ...
    def write(self, table: Table, first: int, rows: list[Any]) -> None: ...
    def pending(self) -> list[int]: ...  # ordinals of the first row not yet committed
    def flush(self) -> None: ...
    def close(self) -> None: ...


class Warehouse(Tables, Protocol):
    def plan(self, registry: Registry, only: list[str] | None = None) -> Plan: ...
    def apply(self, plan: Plan) -> list[TablePlan]: ...
    def writer(self, registry: Registry, report: WriteReport, **options: Any) -> RowWriter: ...
    def query(self, sql: str, params: list[Param], options: QueryOptions) -> QueryResult: ...
    def close(self) -> None: ...
