"""Registry model -> BigQuery schema files: the JSON schema format and google-cloud-bigquery objects.

The JSON format is the one `bq mk --schema`, the REST API (`tables.insert`) and
fluent-plugin-bigquery's `schema_path` all read: a list of {name, type, mode, description,
fields}. Types use the legacy names (INTEGER, FLOAT, BOOLEAN) because that is what the API
returns when a table is read back, so a plan compares like with like. (Reading a live table
back, and the REST table resource, are the warehouse's: `shipper.warehouse.bigquery`.)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..registry import (
    BOOL,
    FLOAT64,
    INT64,
    RECORD,
    Field,
    Table,
)
from ..registry._parse import parse_table_document

if TYPE_CHECKING:  # pragma: no cover
    from google.cloud import bigquery

# Model type -> the name the BigQuery API uses in schemas.
API_TYPE = {INT64: "INTEGER", FLOAT64: "FLOAT", BOOL: "BOOLEAN"}


def field_to_json(f: Field) -> dict[str, Any]:
    out: dict[str, Any] = {"name": f.name, "type": API_TYPE.get(f.type, f.type), "mode": f.mode}
    if f.description:
        out["description"] = f.description
    if f.type == RECORD:
        out["fields"] = [field_to_json(c) for c in f.fields]
    return out


def table_to_json(table: Table) -> list[dict[str, Any]]:
    return [field_to_json(f) for f in table.fields]


def to_bigquery(json_schema: dict[str, Any]) -> list[dict[str, Any]]:
    """A table's JSON Schema (as in `schemas/`, `$ref`s to the registry allowed) -> BigQuery schema.

    Parses through the same model as everything else, so this cannot drift from the rest.
    """
    from ..registry import RegistryError

    table, problems = parse_table_document(json_schema, "<json_schema>")
    if table is None:
        raise RegistryError(problems)
    return table_to_json(table)


def schema_fields(table: Table) -> list[bigquery.SchemaField]:
    """google-cloud-bigquery `SchemaField`s (imports the client only when called)."""
    from google.cloud import bigquery

    return [bigquery.SchemaField.from_api_repr(f) for f in table_to_json(table)]


__all__ = ["API_TYPE", "field_to_json", "schema_fields", "table_to_json", "to_bigquery"]
