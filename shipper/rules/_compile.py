"""Registry model -> column-rule model, once per table version.

The only place that decides which checks a column of a given type, mode and constraints gets,
and in which order. Every judge reads the result (`rules_for`), never the registry's types.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from .. import _constants as K
from ._model import (
    BOOL,
    DATE,
    DATE_FORMAT,
    DROP,
    ENUM,
    FALLBACK,
    FILL_DEFAULT,
    FLOAT64,
    INT64,
    INT64_RANGE,
    INTEGRAL,
    INVALID_UTF8,
    JSON,
    JSON_VALUE,
    MAX_LENGTH,
    MAXIMUM,
    MINIMUM,
    MOVE_TO_EXTRA,
    NOT_FINITE,
    RECORD,
    STRING,
    TIMESTAMP,
    TIMESTAMP_FORMAT,
    TYPE,
    Check,
    ColumnRule,
    TableRules,
)

# Registry (BigQuery) type -> rule kind.
_KIND = {"STRING": STRING, "INT64": INT64, "FLOAT64": FLOAT64, "BOOL": BOOL,
         "TIMESTAMP": TIMESTAMP, "DATE": DATE, "RECORD": RECORD, "JSON": JSON}


def _checks(kind: str, c: Any) -> tuple[Check, ...]:
    """The ordered checks of one value of `kind` with the registry constraints `c`."""
    if kind == STRING:
        out = [Check(TYPE, STRING, stops=True), Check(INVALID_UTF8)]
        if c.enum is not None:
            out.append(Check(ENUM, tuple(c.enum)))
        if c.max_length is not None:
            out.append(Check(MAX_LENGTH, c.max_length))
        return tuple(out)
    if kind in (INT64, FLOAT64):
        out = [Check(TYPE, kind, stops=True), Check(NOT_FINITE, stops=True)]
        if kind == INT64:
            out += [Check(INTEGRAL, stops=True), Check(INT64_RANGE, stops=True)]
        if c.minimum is not None:
            out.append(Check(MINIMUM, c.minimum))
        if c.maximum is not None:
            out.append(Check(MAXIMUM, c.maximum))
        return tuple(out)
    if kind == BOOL:
        return (Check(TYPE, BOOL, stops=True),)
    if kind == TIMESTAMP:
        return (Check(TIMESTAMP_FORMAT, stops=True),)
    if kind == DATE:
        return (Check(DATE_FORMAT, stops=True),)
    if kind == RECORD:
        return (Check(TYPE, RECORD, stops=True),)
    if kind == JSON:
        return (Check(JSON_VALUE, stops=True),)
    raise ValueError(f"no checks for kind {kind!r}")


def _column(f: Any, has_extra: bool) -> ColumnRule:
    kind = _KIND[f.type]
    required = f.mode == "REQUIRED"
    default = getattr(f.constraints, "default", None)
    if required:
        on_invalid = FILL_DEFAULT if default is not None else FALLBACK
    else:
        on_invalid = MOVE_TO_EXTRA if has_extra else DROP
    if f.name in K.LOGGER_FILLED:
        filled_by = "logger"
    elif f.name in K.DRIVER_FILLED:
        filled_by = "driver"
    else:
        filled_by = "app"
    return ColumnRule(
        name=f.name,
        kind=kind,
        required=required,
        repeated=f.mode == "REPEATED",
        checks=_checks(kind, f.constraints),
        # nested fields: a misfit is dropped from its RECORD (no extra column inside one)
        children=tuple(_column(c, False) for c in f.fields),
        max_length=f.constraints.max_length if kind == STRING else None,
        on_invalid=on_invalid,
        default=default,
        filled_by=filled_by,
    )


@lru_cache(maxsize=512)
def rules_for(table: Any) -> TableRules:
    """The rules of a registry `Table` (any version), compiled once and cached."""
    has_extra = table.extra_field is not None
    return TableRules(
        table=table.name,
        version=table.version,
        columns=tuple(_column(f, has_extra) for f in table.fields),
        extra_column=table.extra_field,
        insert_id_column=table.insert_id_field,
        routing_key=K.ROUTING_KEY,
    )
