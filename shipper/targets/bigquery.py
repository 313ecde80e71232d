"""Registry model -> BigQuery: the JSON schema format and google-cloud-bigquery objects.

The JSON format is the one `bq mk --schema`, the REST API (`tables.insert`) and
fluent-plugin-bigquery's `schema_path` all read: a list of {name, type, mode, description,
fields}. Types use the legacy names (INTEGER, FLOAT, BOOLEAN) because that is what the API
returns when a table is read back, so a plan compares like with like.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..registry import (
    BOOL,
    FLOAT64,
    INT64,
    NULLABLE,
    RECORD,
    Field,
    Partitioning,
    Table,
)
from ..registry._model import TYPE_ALIASES
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


def field_from_json(raw: dict[str, Any]) -> Field:
    """BigQuery schema JSON (as the API returns it) -> model Field, to compare with the registry."""
    t = str(raw.get("type", "STRING")).upper()
    return Field(
        name=str(raw["name"]),
        type=TYPE_ALIASES.get(t, t),
        mode=str(raw.get("mode") or NULLABLE).upper(),
        description=str(raw.get("description") or ""),
        fields=tuple(field_from_json(c) for c in raw.get("fields", []) or []),
    )


def partitioning_to_json(p: Partitioning | None) -> dict[str, Any] | None:
    if p is None:
        return None
    out: dict[str, Any] = {"type": p.granularity, "field": p.field}
    if p.expiration_days is not None:
        out["expirationMs"] = str(p.expiration_days * 86_400_000)
    return out


def table_resource(table: Table, project: str, dataset: str) -> dict[str, Any]:
    """The REST `Table` resource for `tables.insert`."""
    resource: dict[str, Any] = {
        "tableReference": {"projectId": project, "datasetId": dataset, "tableId": table.name},
        "description": table.description,
        "schema": {"fields": table_to_json(table)},
    }
    tp = partitioning_to_json(table.partitioning)
    if tp is not None:
        resource["timePartitioning"] = tp
    if table.clustering:
        resource["clustering"] = {"fields": list(table.clustering)}
    return resource


def schema_fields(table: Table) -> list[bigquery.SchemaField]:
    """google-cloud-bigquery `SchemaField`s (imports the client only when called)."""
    from google.cloud import bigquery

    return [bigquery.SchemaField.from_api_repr(f) for f in table_to_json(table)]


__all__ = ["API_TYPE", "field_from_json", "field_to_json", "partitioning_to_json",
           "schema_fields", "table_resource", "table_to_json", "to_bigquery"]
