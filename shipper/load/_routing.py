"""The routing rule for loads: `shipper.routing.route_table`, the one rule fluentd's config mirrors.

A name the registry lacks is returned as it is, so the loader can report it as an unknown
table and keep the line in the reject file (fluentd, which cannot reject, sends it to raw_log).
The key is removed before insert, as fluentd does.
"""

from __future__ import annotations

from typing import Any

from ..registry import ROUTING_KEY
from ..routing import route_table

__all__ = ["route_table", "strip_routing_key"]


def strip_routing_key(record: dict[str, Any]) -> None:
    record.pop(ROUTING_KEY, None)
