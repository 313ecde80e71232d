"""The schema registry: one JSON Schema per table version, the source of truth for everything.

Public surface: `load_registry()` (parse + check, raises `RegistryError` with one line per
problem), `check()` (problems as a list, for the CLI), the model (`Registry`, `Table`, `Field`)
and the compatibility judge (`compare_tables`).
"""

from __future__ import annotations

from pathlib import Path

from ._compat import Change, compare_fields, compare_tables, rejected
from ._model import (
    BOOL,
    DATE,
    FLOAT64,
    INT64,
    JSON,
    MODES,
    NULLABLE,
    RECORD,
    REPEATED,
    REQUIRED,
    STRING,
    TIMESTAMP,
    TYPES,
    Constraints,
    Field,
    Partitioning,
    Registry,
    Table,
)
from ._parse import default_root, parse_registry
from ._problems import Problem, RegistryError

# The key of a record that names its table; fluentd routes on it and removes it before insert.
ROUTING_KEY = "log_table"
# Where a record without the key goes, and where lines that are not JSON go.
DEFAULT_TABLE = "app_log"
RAW_TABLE = "raw_log"

__all__ = [
    "BOOL",
    "DATE",
    "DEFAULT_TABLE",
    "FLOAT64",
    "INT64",
    "JSON",
    "MODES",
    "NULLABLE",
    "RAW_TABLE",
    "RECORD",
    "REPEATED",
    "REQUIRED",
    "ROUTING_KEY",
    "STRING",
    "TIMESTAMP",
    "TYPES",
    "Change",
    "Constraints",
    "Field",
    "Partitioning",
    "Problem",
    "Registry",
    "RegistryError",
    "Table",
    "check",
    "compare_fields",
    "compare_tables",
    "default_root",
    "load_registry",
    "rejected",
]


def check(root: Path | str | None = None) -> tuple[Registry, list[Problem]]:
    """Parse and check every rule; return the registry and every problem found (sorted)."""
    from ._rules import check_registry

    registry, problems, docs = parse_registry(Path(root) if root is not None else None)
    if not problems:
        problems = check_registry(registry, docs)
    return registry, sorted(set(problems))


def load_registry(root: Path | str | None = None, *, full_check: bool = True) -> Registry:
    """The registry, or `RegistryError` naming every problem.

    `full_check=False` skips the meta-schema and BigQuery rules (CI runs them on every change)
    and only parses: for an app's logger start-up, where importing jsonschema would cost time.
    """
    if full_check:
        registry, problems = check(root)
    else:
        registry, problems, _ = parse_registry(Path(root) if root is not None else None)
    if problems:
        raise RegistryError(problems)
    return registry
