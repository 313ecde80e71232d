"""Registry model -> BigQuery JSON schema and SchemaFields (vectors in vectors/bigquery/)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from google.cloud import bigquery

from shipper.registry import compare_fields, load_registry
from shipper.render.bigquery import schema_fields, table_to_json, to_bigquery
from shipper.warehouse.bigquery import field_from_json, table_resource
from support import SCHEMAS

VECTORS = sorted((Path(__file__).parent / "vectors" / "bigquery").glob("*.json"))


@pytest.mark.parametrize("path", VECTORS, ids=[p.stem for p in VECTORS])
def test_to_bigquery_vectors(path):
    vector = json.loads(path.read_text())
    got = to_bigquery(vector["schema"])
    if "bigquery" in vector:
        assert got == vector["bigquery"]
    else:
        assert [f["name"] for f in got] == vector["bigquery_prefix_names"]


def test_committed_fluentd_schema_files_are_the_registry():
    registry = load_registry(SCHEMAS)
    for table in registry.tables:
        committed = json.loads((SCHEMAS.parent / "fluentd" / "schemas" / f"{table.name}.json").read_text())
        assert committed == table_to_json(table)


def test_schema_fields_round_trip_through_the_client():
    registry = load_registry(SCHEMAS)
    for table in registry.tables:
        fields = schema_fields(table)
        assert all(isinstance(f, bigquery.SchemaField) for f in fields)
        back = tuple(field_from_json(f.to_api_repr()) for f in fields)
        assert compare_fields(back, table.fields) == []


def test_table_resource_carries_partitioning_clustering_and_expiration():
    table = load_registry(SCHEMAS).table("access_log")
    res = table_resource(table, "p", "d")
    assert res["tableReference"] == {"projectId": "p", "datasetId": "d", "tableId": "access_log"}
    assert res["timePartitioning"] == {"type": "DAY", "field": "timestamp",
                                       "expirationMs": str(395 * 86_400_000)}
    assert res["clustering"] == {"fields": ["path", "status_code"]}
    assert "requirePartitionFilter" not in res  # the analysts' GROUP BY path query scans all partitions
    parsed = bigquery.Table.from_api_repr(res)
    assert parsed.time_partitioning.field == "timestamp" and parsed.clustering_fields == ["path", "status_code"]


def test_to_bigquery_refuses_what_bigquery_would_refuse():
    from shipper.registry import RegistryError

    bad = {"title": "t", "type": "object", "description": "t",
           "properties": {"x": {"anyOf": [{"type": "string"}, {"type": "integer"}], "description": "x"}}}
    with pytest.raises(RegistryError) as err:
        to_bigquery(bad)
    assert "[unsupported-keyword]" in str(err.value) and "#/properties/x/anyOf" in str(err.value)
