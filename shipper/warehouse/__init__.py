"""Where log tables live: a BigQuery dataset or a DuckDB file, behind one protocol.

    wh = open_warehouse("duckdb:///tmp/logs.duckdb")      # or bigquery://PROJECT/DATASET
    p = wh.plan(registry)         # read only: what would change
    wh.apply(p)                   # create tables, make only the changes BigQuery allows
    wh.query(sql, params, QueryOptions())                # BigQuery SQL, read-only by default
    writer = wh.writer(registry, report)                 # rows in (what `shipper load` uses)

One module per backend (`bigquery.py`, `duckdb.py`), each answering `Warehouse`
(`_protocol.py`); the URL is parsed once (`parse_url`), strictly. Heavy clients are imported
only when a backend uses them, and a missing one is one line naming the extra to install.
"""

from __future__ import annotations

from typing import Any

from ._errors import LoadAborted, WarehouseError
from ._plan import (
    CREATE,
    NOOP,
    REJECT,
    UPDATE,
    Plan,
    TablePlan,
    apply,
    describe,
    ensure_tables,
    plan,
)
from ._protocol import (
    Param,
    QueryError,
    QueryOptions,
    QueryResult,
    RowWriter,
    Warehouse,
    WriteReport,
)
from ._url import BIGQUERY, DUCKDB, WarehouseUrl, parse_url

__all__ = [
    "BIGQUERY", "CREATE", "DUCKDB", "NOOP", "REJECT", "UPDATE", "LoadAborted", "Param", "Plan",
    "QueryError", "QueryOptions", "QueryResult", "RowWriter", "TablePlan", "Warehouse",
    "WarehouseError", "WarehouseUrl", "WriteReport", "apply", "describe", "ensure_tables",
    "open_warehouse", "parse_url", "plan",
]


def open_warehouse(url: str | WarehouseUrl, **options: Any) -> Warehouse:
    """The backend for `url` (parsed here if it is still text). Opening connects to nothing."""
    u = parse_url(url)
    if u.kind == BIGQUERY:
        from .bigquery import BigQueryWarehouse

        return BigQueryWarehouse(u, **options)
    from .duckdb import DuckDBWarehouse

    return DuckDBWarehouse(u)
