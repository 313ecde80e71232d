"""The column-rule model: what it takes for a value to fit a column, as data.

The registry model (`shipper.registry`) says what a table *is* (columns, types, modes, options);
this model says what a record must be to *fit* it, as an ordered list of checks per column. Every
judge in logbridge is a target of it: the generated `check_record` (`python.py`), the logger's
fast and repair paths, the loader's check, the BigQuery stand-in's row check and the check that
runs inside fluentd. A rule is written once here; a target only translates each `Check` into its
language (Python, Ruby) or its behaviour (repair), so two judges cannot disagree about a rule.

Check names are the rule names a `Violation` carries (`shipper._errors.RULES`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Column kinds: the registry's BigQuery types, one judge vocabulary.
STRING = "string"
INT64 = "int64"
FLOAT64 = "float64"
BOOL = "bool"
TIMESTAMP = "timestamp"
DATE = "date"
RECORD = "record"
JSON = "json"
KINDS = (STRING, INT64, FLOAT64, BOOL, TIMESTAMP, DATE, RECORD, JSON)

# Checks, in the order a judge applies them to one non-null value. `arg` is the check's
# parameter (a length, a bound, the allowed values). A check marked `stops` ends the value's
# checks when it fails: after a wrong type, the bounds say nothing.
TYPE = "type"                  # the value's JSON type is the kind's (arg: the kind)
INTEGRAL = "integral"          # INT64: a float with a fraction is not an integer (rule "type")
NOT_FINITE = "not_finite"      # NaN / +-Infinity
INT64_RANGE = "int64_range"    # INT64 and JSON integers: within [-2^63, 2^63 - 1]
INVALID_UTF8 = "invalid_utf8"  # lone surrogates
ENUM = "enum"                  # arg: tuple of allowed values
MAX_LENGTH = "maxLength"       # arg: characters
MINIMUM = "minimum"            # arg: inclusive lower bound
MAXIMUM = "maximum"            # arg: inclusive upper bound
TIMESTAMP_FORMAT = "timestamp_format"
DATE_FORMAT = "date_format"
JSON_VALUE = "json_value"      # a JSON column: any JSON value BigQuery stores

# How every target's messages name what a check wanted: "expected an integer", "... is not a
# timestamp BigQuery parses (...)", so that two judges give a value the same reason.
KIND_WANTED = {STRING: "a string", INT64: "an integer", FLOAT64: "a number", BOOL: "a boolean",
               RECORD: "an object"}
TIMESTAMP_WANTED = "a timestamp BigQuery parses (YYYY-MM-DDTHH:MM:SS[.ffffff][Z|+HH:MM])"
DATE_WANTED = "a YYYY-MM-DD date"

# Which Violation rule a failing check reports (INTEGRAL is a kind of wrong type).
VIOLATION_RULE = {INTEGRAL: "type"}

# What BigQuery itself refuses. The registry's own constraints (enum, maxLength, minimum,
# maximum) are logbridge's: a STRING column in BigQuery takes any string. The stand-in of
# BigQuery judges rows with only these checks.
BIGQUERY_CHECKS = frozenset({TYPE, INTEGRAL, NOT_FINITE, INT64_RANGE, INVALID_UTF8,
                             TIMESTAMP_FORMAT, DATE_FORMAT, JSON_VALUE})

# What the repair path does when a value fails a column's checks and cannot be converted:
DROP = "drop"                  # nullable column, no extra column: the field is left out (counted)
MOVE_TO_EXTRA = "move_to_extra"  # nullable column, table has an extra column: kept there (counted)
FILL_DEFAULT = "fill_default"  # REQUIRED with a registry `default`: the default is written (counted)
FALLBACK = "fallback"          # REQUIRED without a default: the record becomes an error record


@dataclass(frozen=True)
class Check:
    name: str
    arg: Any = None
    stops: bool = False

    @property
    def rule(self) -> str:
        """The rule name a Violation carries when this check fails."""
        return VIOLATION_RULE.get(self.name, self.name)


@dataclass(frozen=True)
class ColumnRule:
    """One column: its kind, mode and checks; children for a RECORD.

    `checks` applies to each non-null value (each element of a REPEATED column). A REQUIRED
    column refuses a missing or null value (rule "required"); a REPEATED one refuses a
    non-array and a null element ("type", "repeated_null")."""

    name: str
    kind: str
    required: bool = False
    repeated: bool = False
    checks: tuple[Check, ...] = ()
    children: tuple[ColumnRule, ...] = ()
    # Repair: a value longer than max_length is cut (with a visible marker) rather than refused;
    # a value that fails otherwise and cannot be converted gets `on_invalid`.
    max_length: int | None = None
    on_invalid: str = DROP
    default: Any = None
    # Who fills the column: "logger" (routing key, time, level, id, service), "driver"
    # (Docker's container fields, added by fluentd), or "app".
    filled_by: str = "app"

    def check(self, name: str) -> Check | None:
        for c in self.checks:
            if c.name == name:
                return c
        return None

    @property
    def enum(self) -> tuple[Any, ...] | None:
        c = self.check(ENUM)
        return c.arg if c else None

    @property
    def bounds(self) -> tuple[Any, Any]:
        """(lowest, highest) value a number column takes, the kind's own range included."""
        lo = self.check(MINIMUM)
        hi = self.check(MAXIMUM)
        return (lo.arg if lo else None, hi.arg if hi else None)

    def child(self, name: str) -> ColumnRule | None:
        for c in self.children:
            if c.name == name:
                return c
        return None


@dataclass(frozen=True)
class TableRules:
    """Every column rule of one table version, and what the table does with other fields."""

    table: str
    version: int
    columns: tuple[ColumnRule, ...]
    # Undeclared fields go into this JSON column (the repair path and the logger put them
    # there); a finished record has none outside it.
    extra_column: str | None = None
    insert_id_column: str | None = None
    routing_key: str = "log_table"
    _by_name: dict[str, ColumnRule] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        self._by_name.update((c.name, c) for c in self.columns)

    def column(self, name: str) -> ColumnRule | None:
        return self._by_name.get(name)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.required)

    def max_lengths(self) -> dict[str, int]:
        """Column -> maxLength, for the top-level STRING columns that have one (e.g. the web
        middleware cuts request values to these before it logs them)."""
        return {c.name: c.max_length for c in self.columns
                if c.kind == STRING and c.max_length is not None}
