"""The warehouse's errors: each one line a person can act on (the CLI prints it as it is)."""

from __future__ import annotations

from typing import Any


class WarehouseError(Exception):
    """The warehouse cannot be reached or used: one line, for the CLI."""


class LoadAborted(WarehouseError):
    """The target failed in a way a retry of the same rows will not fix (reported, not rejected).

    `summary` is set on the way out: what was loaded before the stop, and where to resume."""

    summary: Any = None


# extra name -> (import name, what needs it)
EXTRAS = {
    "duckdb": ("local", "the DuckDB warehouse"),
    "sqlglot": ("local", "BigQuery SQL on DuckDB"),
    "google.cloud.bigquery": ("bigquery", "the BigQuery warehouse"),
}


def require(module: str) -> Any:
    """Import an optional dependency, or raise one line naming the extra that brings it."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        extra, what = EXTRAS[module]
        raise WarehouseError(f"{what} needs the `{extra}` extra, which is not installed: "
                             f"pip install 'logbridge[{extra}]'") from None
