"""Log tables from the registry, on BigQuery or DuckDB: plan, then apply only allowed changes.

    target = open_target("duckdb:///tmp/logs.duckdb")
    p = plan(load_registry(), target)
    apply(p, target)

`ensure_tables(url)` does both for callers (the loader, the demo) that just need the tables.
"""

from __future__ import annotations

from ..registry import Registry, load_registry
from ._plan import CREATE, NOOP, REJECT, UPDATE, Plan, TablePlan, apply, describe, plan
from ._targets import Target, TargetError, open_target, parse_target

__all__ = ["CREATE", "NOOP", "REJECT", "UPDATE", "Plan", "TablePlan", "Target", "TargetError",
           "apply", "describe", "ensure_tables", "open_target", "parse_target", "plan"]


def ensure_tables(target: Target, registry: Registry | None = None) -> Plan:
    """Create or update every table; raise TargetError naming any table that cannot be updated."""
    p = plan(registry or load_registry(full_check=False), target)
    bad = [tp for tp in p.tables if tp.action == REJECT]
    if bad:
        lines = [line for tp in bad for line in describe(tp)]
        raise TargetError("incompatible live tables:\n" + "\n".join(lines))
    apply(p, target)
    return p
