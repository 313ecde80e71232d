"""The routing rule, taken from `shipper.routing` (the one rule fluentd's config mirrors).

Until that module exists, the same rule as the registry states it: the record's `log_table`
when it is a non-empty string, else `app_log`. The key is removed before insert, as fluentd does.
"""

from __future__ import annotations

from typing import Any

from ..registry import DEFAULT_TABLE, ROUTING_KEY

try:  # pragma: no cover - depends on the fluentd-config work having landed
    from ..routing import route_table as _route_table
except ImportError:  # pragma: no cover
    _route_table = None


def route_table(record: dict[str, Any]) -> str:
    if _route_table is not None:
        return _route_table(record)
    value = record.get(ROUTING_KEY)
    return value if type(value) is str and value else DEFAULT_TABLE


def strip_routing_key(record: dict[str, Any]) -> None:
    record.pop(ROUTING_KEY, None)
