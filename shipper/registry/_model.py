"""The one intermediate model of the registry.

Every JSON Schema file is parsed once into these dataclasses; every target (BigQuery JSON and
SchemaFields, DuckDB DDL, fluentd config, docs, the logger's record check) reads only this
model. That keeps the type mapping in one place (`_parse.py`) and lets each target stay small.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# BigQuery standard SQL type names. The BigQuery JSON schema format uses the legacy aliases
# (INTEGER, FLOAT, BOOLEAN) that the API itself returns; see `shipper.render.bigquery`.
STRING = "STRING"
INT64 = "INT64"
FLOAT64 = "FLOAT64"
BOOL = "BOOL"
TIMESTAMP = "TIMESTAMP"
DATE = "DATE"
RECORD = "RECORD"
JSON = "JSON"
TYPES = (STRING, INT64, FLOAT64, BOOL, TIMESTAMP, DATE, RECORD, JSON)

NULLABLE = "NULLABLE"
REQUIRED = "REQUIRED"
REPEATED = "REPEATED"
MODES = (NULLABLE, REQUIRED, REPEATED)

# What the API may answer for a type, mapped to the names above.
TYPE_ALIASES = {
    "INTEGER": INT64,
    "INT64": INT64,
    "FLOAT": FLOAT64,
    "FLOAT64": FLOAT64,
    "BOOLEAN": BOOL,
    "BOOL": BOOL,
    "STRUCT": RECORD,
    "RECORD": RECORD,
    "STRING": STRING,
    "TIMESTAMP": TIMESTAMP,
    "DATE": DATE,
    "JSON": JSON,
}


@dataclass(frozen=True)
class Constraints:
    """What the record check enforces beyond the type; BigQuery itself stores none of it."""

    enum: tuple[Any, ...] | None = None
    max_length: int | None = None
    minimum: float | None = None
    maximum: float | None = None
    # JSON Schema `default`: what the repair path writes into a REQUIRED column that is missing
    # or unusable, instead of giving up on the record (e.g. raw_log.stream: "stdout").
    default: Any = None


@dataclass(frozen=True)
class Field:
    name: str
    type: str
    mode: str
    description: str = ""
    fields: tuple[Field, ...] = ()
    constraints: Constraints = field(default_factory=Constraints)
    # Where the field was declared, for error messages: file and JSON pointer.
    source: str = ""
    pointer: str = ""

    def child(self, name: str) -> Field | None:
        for f in self.fields:
            if f.name == name:
                return f
        return None


@dataclass(frozen=True)
class Partitioning:
    field: str
    granularity: str = "DAY"  # HOUR, DAY, MONTH, YEAR
    expiration_days: int | None = None


STREAM = "stream"
BATCH = "batch"


@dataclass(frozen=True)
class Ingestion:
    """How rows reach the table: `stream` (insertAll per flush: seconds of latency, billed per
    byte) or `batch` (a load job per flush of `flush_interval_s`: free, minutes of latency,
    and a per-table daily job quota that `shipper schemas check` holds the fleet to)."""

    mode: str = STREAM
    flush_interval_s: int | None = None


@dataclass(frozen=True)
class Table:
    name: str
    version: int
    description: str
    fields: tuple[Field, ...]
    partitioning: Partitioning | None = None
    clustering: tuple[str, ...] = ()
    insert_id_field: str | None = None
    extra_field: str | None = None
    ingestion: Ingestion = field(default_factory=Ingestion)
    source: str = ""
    # The table's JSON Schema with every $ref resolved: what jsonschema validates against.
    json_schema: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def field(self, name: str) -> Field | None:
        for f in self.fields:
            if f.name == name:
                return f
        return None

    @property
    def field_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)


@dataclass(frozen=True)
class Registry:
    """All tables, every version, as parsed from one `schemas/` directory."""

    root: Path
    versions: dict[str, tuple[Table, ...]]  # table name -> versions, oldest first

    def table(self, name: str, version: int | None = None) -> Table:
        try:
            versions = self.versions[name]
        except KeyError:
            known = ", ".join(sorted(self.versions)) or "none"
            raise KeyError(f"unknown table {name!r} (registry has: {known})") from None
        if version is None:
            return versions[-1]
        for t in versions:
            if t.version == version:
                return t
        raise KeyError(f"table {name!r} has no version {version}")

    @property
    def tables(self) -> tuple[Table, ...]:
        """The latest version of every table, by name."""
        return tuple(self.versions[name][-1] for name in sorted(self.versions))

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(sorted(self.versions))
