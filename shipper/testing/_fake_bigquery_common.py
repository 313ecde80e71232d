"""What the BigQuery stand-in's modules share: a table, an API error, the row check."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any


@dataclass
class _Table:
    resource: dict[str, Any]
    rows: list[dict[str, Any]] = field(default_factory=list)
    insert_ids: set[str] = field(default_factory=set)
    judges: dict[bool, tuple[str, Any]] = field(default_factory=dict)  # load? -> (schema, judge)


class ApiError(Exception):
    def __init__(self, code: int, reason: str, message: str) -> None:
        super().__init__(message)
        self.code, self.reason, self.message = code, reason, message

    def body(self) -> dict[str, Any]:
        status = {400: "INVALID_ARGUMENT", 404: "NOT_FOUND", 409: "ALREADY_EXISTS",
                  412: "FAILED_PRECONDITION", 413: "INVALID_ARGUMENT"}.get(self.code, "UNKNOWN")
        return {"error": {"code": self.code, "message": self.message, "status": status,
                          "errors": [{"message": self.message, "domain": "global", "reason": self.reason}]}}


def table_rules(t: _Table, load: bool) -> Any:
    """The row check of a table: the BigQuery target of the column-rule model
    (`shipper.rules.bigquery`) for its live schema, the same for insertAll (`load` False) and
    load jobs; `judge(row, ignore_unknown) -> (BigQuery's error or None, the row as stored)`."""
    from ..rules.bigquery import bigquery_judge, rules_for_schema

    fields = t.resource["schema"]["fields"]
    schema = json.dumps(fields, sort_keys=True)
    kept = t.judges.get(load)
    if kept is None or kept[0] != schema:
        kept = t.judges[load] = (schema, bigquery_judge(
            rules_for_schema(t.resource["tableReference"]["tableId"], fields), load))
    return kept[1]
