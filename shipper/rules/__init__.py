"""The column-rule model: "does this value fit this column", written once.

`rules_for(table)` compiles a registry table into `TableRules` (per column: kind, mode, the
ordered checks, the repair policy); every judge is a target of that model (see `_model.py`).
`check_record(table, record)` is the Python judge generated from it: every violation, with the
field and the rule, for strict mode, the pytest plugin and `shipper load`.
"""

from __future__ import annotations

from typing import Any

from .._errors import Violation
from ._compile import rules_for
from ._model import (
    BIGQUERY_CHECKS,
    DROP,
    FALLBACK,
    FILL_DEFAULT,
    KINDS,
    MOVE_TO_EXTRA,
    Check,
    ColumnRule,
    TableRules,
)

__all__ = [
    "BIGQUERY_CHECKS",
    "DROP",
    "FALLBACK",
    "FILL_DEFAULT",
    "KINDS",
    "MOVE_TO_EXTRA",
    "Check",
    "ColumnRule",
    "TableRules",
    "Violation",
    "check_record",
    "judge_for",
    "rules_for",
]

_JUDGES: dict[Any, Any] = {}


def judge_for(table: Any) -> Any:
    """The generated `check(record) -> [Violation]` of a registry table, compiled once."""
    judge = _JUDGES.get(table)
    if judge is None:
        from .python import compile_check

        judge = _JUDGES[table] = compile_check(rules_for(table))
    return judge


def check_record(table: Any, record: Any) -> list[Violation]:
    """Every violation of `record` against `table` (a registry `Table`); [] when it fits.

    Never changes the record and never raises for bad data."""
    return judge_for(table)(record)
