"""The two things a record check can say: a `Violation` (data) and a `RecordError` (strict mode).

Kept apart from the fitting code so that the pytest plugin and `shipper load` can import them
without pulling in the logger.
"""

from __future__ import annotations

from dataclasses import dataclass

# Every rule name a Violation or RecordError can carry (docs/library.md lists them).
RULES = (
    "required",          # a REQUIRED column is missing or null
    "type",              # the value's JSON type is not the column's
    "enum",              # not one of the allowed values
    "maxLength",         # longer (in characters) than the column allows
    "minimum",           # below the column's minimum
    "maximum",           # above the column's maximum
    "int64_range",       # an integer BigQuery's INT64 cannot hold
    "not_finite",        # NaN or +/-Infinity: JSON has no such number, BigQuery rejects it
    "timestamp_format",  # not a timestamp BigQuery parses (RFC 3339 / 'YYYY-MM-DD HH:MM:SS')
    "date_format",       # not a 'YYYY-MM-DD' date
    "unknown_field",     # the table (or RECORD) does not declare the field and has no extra column
    "repeated_null",     # a null inside a REPEATED column
    "json_value",        # a value that is not JSON (JSON column, extra)
    "invalid_utf8",      # a string with lone surrogates: not encodable as UTF-8
    "routing_key",       # the record's routing key names another table
    "unserializable",    # an object the logger cannot turn into JSON
    "max_line_bytes",    # the encoded line is longer than the configured limit
    "depth",             # nested deeper than the logger keeps
    "reserved",          # a caller used a name the logger sets itself (severity, log_id, ...)
    "positional",        # a value passed positionally after the event (fields are keywords)
)


@dataclass(frozen=True)
class Violation:
    """One way a record does not fit its table: the field (dotted path), the rule, and why."""

    field: str
    rule: str
    message: str

    def __str__(self) -> str:
        return self.message


class RecordError(ValueError):
    """A record does not fit its table (strict mode). Names the table, the field and the rule."""

    def __init__(self, table: str, field: str, rule: str, detail: str = "") -> None:
        self.table = table
        self.field = field
        self.rule = rule
        self.detail = detail
        msg = f"table {table!r}, field {field!r}: rule {rule!r}"
        if detail:
            msg += f": {detail}"
        super().__init__(msg)

    @classmethod
    def from_violation(cls, table: str, v: Violation) -> RecordError:
        return cls(table, v.field, v.rule, v.message)
