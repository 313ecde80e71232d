"""Which schema changes BigQuery applies in place, and which it refuses.

The rules (BigQuery docs, "Modifying table schemas"): a table can gain NULLABLE or REPEATED
columns, at the top or inside a RECORD; a REQUIRED column only as part of a RECORD that is new
itself; a REQUIRED column can be relaxed to NULLABLE. Everything else (a type change,
NULLABLE->REQUIRED, any change to or from REPEATED, dropping a column, a nested one included)
needs a new table. The same function judges two registry versions and registry-vs-live, so
`schemas check`, `schemas diff` and `tables plan` can never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass

from ._model import NULLABLE, RECORD, REPEATED, REQUIRED, TYPE_ALIASES, Field, Partitioning, Table

ADD_COLUMN = "add-column"
RELAX_MODE = "relax-mode"
CHANGE_DESCRIPTION = "change-description"
CHANGE_CLUSTERING = "change-clustering"
CHANGE_EXPIRATION = "change-partition-expiration"
CHANGE_TABLE_DESCRIPTION = "change-table-description"
# Rejected kinds
DROP_COLUMN = "drop-column"
CHANGE_TYPE = "change-type"
TIGHTEN_MODE = "tighten-mode"
CHANGE_REPEATED = "change-repeated"
ADD_REQUIRED = "add-required-column"
CHANGE_PARTITIONING = "change-partitioning"

# Why each rejected kind is rejected, in the words of the BigQuery docs.
RULES = {
    DROP_COLUMN: "BigQuery cannot drop a column in place (nested ones not at all): keep it, or make a new table",
    CHANGE_TYPE: "BigQuery cannot change a column's type in place",
    TIGHTEN_MODE: "BigQuery cannot change a column from NULLABLE to REQUIRED",
    CHANGE_REPEATED: "BigQuery cannot change a column to or from REPEATED",
    ADD_REQUIRED: "BigQuery adds REQUIRED columns only inside a new RECORD: make it nullable",
    CHANGE_PARTITIONING: "BigQuery cannot change a table's partitioning: make a new table",
}


@dataclass(frozen=True)
class Change:
    kind: str
    path: str  # dotted column path, "" for table-level changes
    allowed: bool
    detail: str

    def __str__(self) -> str:
        where = f"column {self.path}" if self.path else "table"
        if self.allowed:
            return f"{self.kind}: {where}: {self.detail}"
        return f"{self.kind}: {where}: {self.detail} ({RULES[self.kind]})"


def _type(t: str) -> str:
    return TYPE_ALIASES.get(t.upper(), t.upper())


def compare_fields(old: tuple[Field, ...], new: tuple[Field, ...], prefix: str = "",
                   nested_modes: bool = True, descriptions: bool = True) -> list[Change]:
    """Changes that turn `old` columns into `new` ones, in order, allowed or not.

    `nested_modes=False` ignores NULLABLE/REQUIRED inside RECORDs: for targets (DuckDB) whose
    nested fields cannot be NOT NULL, so that a live table is not reported as drifted forever.
    """
    changes: list[Change] = []
    old_by = {f.name.lower(): f for f in old}
    new_names = {f.name.lower() for f in new}
    for f in old:
        if f.name.lower() not in new_names:
            changes.append(Change(DROP_COLUMN, prefix + f.name, False, "column is gone from the registry"))
    for f in new:
        path = prefix + f.name
        before = old_by.get(f.name.lower())
        if before is None:
            if f.mode == REQUIRED and (nested_modes or not prefix):
                changes.append(Change(ADD_REQUIRED, path, False, "new column is REQUIRED"))
            else:
                changes.append(Change(ADD_COLUMN, path, True, f"add {f.mode} {f.type}"))
            continue
        if _type(before.type) != _type(f.type):
            changes.append(Change(CHANGE_TYPE, path, False, f"{_type(before.type)} -> {_type(f.type)}"))
            continue
        check_mode = nested_modes or not prefix
        if before.mode != f.mode:
            if REPEATED in (before.mode, f.mode):
                changes.append(Change(CHANGE_REPEATED, path, False, f"{before.mode} -> {f.mode}"))
                continue
            if check_mode and before.mode == REQUIRED and f.mode == NULLABLE:
                changes.append(Change(RELAX_MODE, path, True, "REQUIRED -> NULLABLE"))
            elif check_mode:
                changes.append(Change(TIGHTEN_MODE, path, False, f"{before.mode} -> {f.mode}"))
        if descriptions and before.description != f.description:
            changes.append(Change(CHANGE_DESCRIPTION, path, True, "description updated"))
        if _type(f.type) == RECORD:
            changes.extend(compare_fields(before.fields, f.fields, path + ".", nested_modes, descriptions))
    return changes


def _partitioning_key(p: Partitioning | None) -> tuple[str, str] | None:
    return None if p is None else (p.field, p.granularity)


def compare_tables(old: Table, new: Table, *, descriptions: bool = True, nested_modes: bool = True) -> list[Change]:
    """All changes from `old` to `new`: columns first, then table options."""
    changes = compare_fields(old.fields, new.fields, nested_modes=nested_modes, descriptions=descriptions)
    if _partitioning_key(old.partitioning) != _partitioning_key(new.partitioning):
        changes.append(Change(CHANGE_PARTITIONING, "", False,
                              f"{_partitioning_key(old.partitioning)} -> {_partitioning_key(new.partitioning)}"))
    elif (old.partitioning and new.partitioning
          and old.partitioning.expiration_days != new.partitioning.expiration_days):
        changes.append(Change(CHANGE_EXPIRATION, "", True,
                              f"{old.partitioning.expiration_days} -> {new.partitioning.expiration_days} days"))
    if tuple(old.clustering) != tuple(new.clustering):
        changes.append(Change(CHANGE_CLUSTERING, "", True,
                              f"{list(old.clustering)} -> {list(new.clustering)} (applies to data written from now on)"))
    if descriptions and old.description != new.description:
        changes.append(Change(CHANGE_TABLE_DESCRIPTION, "", True, "description updated"))
    return changes


def rejected(changes: list[Change]) -> list[Change]:
    return [c for c in changes if not c.allowed]
