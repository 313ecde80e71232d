"""The one rule for which table a record goes to; fluentd's router plugin (`shipper fluentd render`,
fluentd/plugins/out_logbridge_route.rb) applies the same rule.

`shipper load` uses it for the local pipeline; `tests/fluentd` checks on real fluentd that every
record lands where this function says. The rule, on the record's `log_table` value:

- missing, null or empty           -> DEFAULT_TABLE (app_log): records not written by shipper;
- the name of a registry table     -> that table;
- anything else (an unknown name, a number, a list ...) -> RAW_TABLE (raw_log), the record kept
  whole as JSON in `text`, so that a table the fluentd image does not know yet creates no route
  and loses nothing.

A Docker log line that is not JSON goes to RAW_TABLE as well (`route_line`).
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from .registry import DEFAULT_TABLE, RAW_TABLE, ROUTING_KEY

__all__ = ["DEFAULT_TABLE", "RAW_TABLE", "ROUTING_KEY", "is_unknown_table", "route_line", "route_table"]


def route_table(record: dict[str, Any], tables: Collection[str] | None = None) -> str:
    """The table a structured record goes to.

    `tables` is the set of table names fluentd has routes for (the registry's); without it any
    non-empty string is taken as the table name and only non-strings are unknown.
    """
    value = record.get(ROUTING_KEY)
    if value is None or value == "":
        return DEFAULT_TABLE
    if isinstance(value, str) and (tables is None or value in tables):
        return value
    return RAW_TABLE


def is_unknown_table(record: dict[str, Any], tables: Collection[str]) -> bool:
    """True when the record names a table that has no route (it goes to raw_log whole)."""
    value = record.get(ROUTING_KEY)
    return not (value is None or value == "" or (isinstance(value, str) and value in tables))


def route_line(line: str) -> str | None:
    """For a Docker log line: None when it is a JSON object (route the parsed record), else RAW_TABLE."""
    import json

    try:
        parsed = json.loads(line)
    except ValueError:
        return RAW_TABLE
    return None if isinstance(parsed, dict) else RAW_TABLE
