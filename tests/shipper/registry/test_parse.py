"""The registry parser: the type mapping (from data vectors), the shipped tables, hostile files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shipper.registry import REQUIRED, RegistryError, load_registry
from shipper.registry._parse import parse_registry
from shipper.render.bigquery import field_to_json
from support import SCHEMAS, SHIPPED_TABLES, base_table

VECTORS = json.loads((Path(__file__).parent / "vectors" / "type_mapping.json").read_text())["vectors"]


@pytest.mark.parametrize("vector", VECTORS, ids=[v["name"] for v in VECTORS])
def test_type_mapping(vector, make_registry):
    schema = {**vector["schema"], "description": "d"}
    doc = base_table(**{vector["name"]: schema})
    if vector["required"]:
        doc["required"] = ["message", vector["name"]]
    registry, problems, _ = parse_registry(make_registry({"t": [doc]}))
    assert problems == []
    got = field_to_json(registry.table("t").field(vector["name"]))
    got.pop("description", None)
    got.pop("name")
    assert got == vector["bigquery"]


def test_shipped_registry_loads_and_passes_every_rule():
    registry = load_registry(SCHEMAS)
    assert registry.names == SHIPPED_TABLES and {"access_log", "app_log", "raw_log"} <= set(SHIPPED_TABLES)
    access = registry.table("access_log")
    assert access.partitioning is not None and access.partitioning.field == "timestamp"
    assert access.clustering == ("path", "status_code")
    assert {f.name: (f.type, f.mode) for f in access.fields}["latency"] == ("FLOAT64", REQUIRED)
    app = registry.table("app_log")
    assert app.extra_field == "extra" and app.field("extra").type == "JSON"
    assert [c.name for c in app.field("error").fields] == ["type", "message", "stack"]
    raw = registry.table("raw_log")
    assert {"stream", "text", "container_name", "container_id", "timestamp"} <= set(raw.field_names)


def test_every_table_has_the_envelope_first():
    registry = load_registry(SCHEMAS)
    envelope = json.loads((SCHEMAS / "_shared" / "envelope.1.schema.json").read_text())["properties"]
    for table in registry.tables:
        assert table.field_names[: len(envelope)] == tuple(envelope)


def test_malformed_json_is_one_line_with_file_and_position(make_registry):
    root = make_registry({"t": ['{"title": "t",\n  "type": "object",,\n}']})
    with pytest.raises(RegistryError) as err:
        load_registry(root)
    lines = str(err.value).splitlines()
    assert len(lines) == 1
    assert "t/t.1.schema.json" in lines[0] and "[json-syntax]" in lines[0] and "line 2 column" in lines[0]


def test_not_utf8_and_not_object(make_registry):
    root = make_registry({"t": ["[1, 2]"]})
    (root / "u").mkdir()
    (root / "u" / "u.1.schema.json").write_bytes(b'{"title": "\xff"}')
    _, problems, _ = parse_registry(root)
    rules = sorted(p.rule for p in problems)
    assert rules == ["json-syntax", "schema-object"]


def test_misplaced_and_misnamed_files(make_registry):
    root = make_registry({"t": [base_table("t")]})
    (root / "t" / "other.1.schema.json").write_text(json.dumps(base_table("other")))
    (root / "t" / "t.v2.json").write_text("{}")
    _, problems, _ = parse_registry(root)
    assert sorted(p.rule for p in problems) == ["file-name", "file-name"]


def test_circular_ref_is_reported_not_a_crash(make_registry):
    doc = base_table("t")
    doc["$defs"] = {"a": {"$ref": "#/$defs/b"}, "b": {"$ref": "#/$defs/a"}}
    doc["properties"]["loop"] = {"$ref": "#/$defs/a"}
    _, problems, _ = parse_registry(make_registry({"t": [doc]}))
    assert [p.rule for p in problems] == ["ref"]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=8),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(
        st.sampled_from(["type", "items", "properties", "format", "enum", "$ref", "required",
                         "additionalProperties", "description", "anyOf", "x"]), children, max_size=4),
    max_leaves=12,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(prop=json_values)
def test_any_property_schema_gives_fields_or_problems_never_a_crash(prop, make_registry):
    doc = base_table("t")
    doc["properties"]["p"] = prop
    registry, problems, _ = parse_registry(make_registry({"t": [doc]}))
    table = registry.table("t")
    assert problems or table.field("p") is not None


@pytest.mark.parametrize("ref", ["", "#", "#/properties/x"])
def test_a_ref_back_into_its_own_table_is_a_problem_not_a_crash(make_registry, ref):
    from shipper.registry import check

    doc = base_table("t", x={"$ref": ref, "description": "loops"})
    _, problems = check(make_registry({"t": [doc]}))
    assert "ref" in {p.rule for p in problems}
