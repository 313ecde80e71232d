"""`terraform plan` for log tables: what the registry wants versus what the target has."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from ..registry import Change, Registry, Table, compare_tables
from ._errors import WarehouseError
from ._protocol import Tables

CREATE = "create"
UPDATE = "update"
NOOP = "no-op"
REJECT = "rejected"


@dataclass(frozen=True)
class TablePlan:
    table: Table
    action: str
    changes: list[Change] = field(default_factory=list)
    live: Table | None = None

    @property
    def rejected(self) -> list[Change]:
        return [c for c in self.changes if not c.allowed]


@dataclass(frozen=True)
class Plan:
    target: str
    tables: list[TablePlan]

    def count(self, action: str) -> int:
        return sum(1 for t in self.tables if t.action == action)

    @property
    def ok(self) -> bool:
        return self.count(REJECT) == 0


def plan_table(table: Table, target: Tables) -> TablePlan:
    live = target.live_table(table.name)
    if live is None:
        return TablePlan(table, CREATE)
    if not target.tracks_descriptions:
        # DuckDB keeps no partitioning or clustering: compare columns only.
        live = replace(live, description=table.description, partitioning=table.partitioning,
                       clustering=table.clustering)
    changes = compare_tables(live, table, descriptions=target.tracks_descriptions,
                             nested_modes=target.tracks_nested_modes)
    if any(not c.allowed for c in changes):
        return TablePlan(table, REJECT, changes, live)
    return TablePlan(table, UPDATE if changes else NOOP, changes, live)


def plan(registry: Registry, target: Tables, only: list[str] | None = None) -> Plan:
    """Read only: compares, creates nothing (not even an empty DuckDB file)."""
    tables = [t for t in registry.tables if not only or t.name in only]
    return Plan(str(target.url), [plan_table(t, target) for t in tables])


def apply(p: Plan, target: Tables) -> list[TablePlan]:
    """Carry out every allowed table plan; a rejected table is left exactly as it was."""
    done = []
    for tp in p.tables:
        if tp.action == CREATE:
            target.create(tp.table)
        elif tp.action == UPDATE and tp.live is not None:
            target.update(tp.table, tp.live, tp.changes)
        else:
            continue
        done.append(tp)
    return done


def describe(tp: TablePlan) -> list[str]:
    """Human lines for one table, `terraform plan` style."""
    t = tp.table
    if tp.action == CREATE:
        opts = []
        if t.partitioning:
            opts.append(f"partitioned by {t.partitioning.field} ({t.partitioning.granularity})")
        if t.clustering:
            opts.append("clustered by " + ", ".join(t.clustering))
        return [f"+ {t.name}: create table, {len(t.fields)} columns" + (", " + ", ".join(opts) if opts else "")]
    if tp.action == NOOP:
        return [f"  {t.name}: no changes"]
    head = f"{'!' if tp.action == REJECT else '~'} {t.name}: " + (
        "REJECTED, nothing will change in this table" if tp.action == REJECT else "update in place")
    return [head] + [f"    {'+' if c.kind == 'add-column' else '~' if c.allowed else '!'} {c}" for c in tp.changes]


def ensure_tables(target: Tables, registry: Registry) -> Plan:
    """Create or update every table; raise WarehouseError naming any table that cannot be updated."""
    p = plan(registry, target)
    bad = [tp for tp in p.tables if tp.action == REJECT]
    if bad:
        lines = [line for tp in bad for line in describe(tp)]
        raise WarehouseError("incompatible live tables:\n" + "\n".join(lines))
    apply(p, target)
    return p
