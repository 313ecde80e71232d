"""The record check, as the logger core imports it: the column-rule model's generated judge.

`check_record` is `shipper.rules.check_record` (one judge for strict mode, the pytest plugin and
`shipper load`); the value primitives are `shipper.rules.values`. Kept as a module so that the
logger's imports stay where they are while it moves onto the rule model.
"""

from __future__ import annotations

from ._constants import INT64_MAX, INT64_MIN, ROUTING_KEY
from ._errors import Violation
from .rules import check_record
from .rules.values import (
    DATE_RE,
    TIMESTAMP_RE,
    json_problem,
    utf8_ok,
    valid_date,
    valid_timestamp,
)

__all__ = [
    "DATE_RE",
    "INT64_MAX",
    "INT64_MIN",
    "ROUTING_KEY",
    "TIMESTAMP_RE",
    "Violation",
    "check_record",
    "json_problem",
    "utf8_ok",
    "valid_date",
    "valid_timestamp",
]
