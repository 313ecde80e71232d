"""Every rule of the checker, one broken table each (vectors/rules.json)."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from shipper.registry import check
from support import SCHEMAS, base_table

VECTORS = json.loads((Path(__file__).parent / "vectors" / "rules.json").read_text())["vectors"]


def _doc(vector):
    doc = base_table("t")
    props = copy.deepcopy(vector.get("props", {}))
    if "long_name" in vector:
        props = {"a" * vector["long_name"]: props.pop("LONGNAME")}
    doc["properties"].update(props)
    doc.update(copy.deepcopy(vector.get("top", {})))
    return doc


@pytest.mark.parametrize("vector", VECTORS, ids=[v["id"] for v in VECTORS])
def test_rule(vector, make_registry):
    root = make_registry({"t": [_doc(vector)]})
    _, problems = check(root)
    rules = {p.rule for p in problems}
    assert vector["rule"] in rules, [str(p) for p in problems]
    hit = next(p for p in problems if p.rule == vector["rule"])
    line = str(hit)
    assert "\n" not in line and f"[{vector['rule']}]" in line and ".schema.json" in line
    if "pointer" in vector:
        assert hit.pointer == vector["pointer"]


def test_clean_base_table_has_no_problems(make_registry):
    _, problems = check(make_registry({"t": [base_table("t")]}))
    assert problems == []


def test_shipped_registry_is_clean():
    _, problems = check(SCHEMAS)
    assert problems == []


def test_nesting_deeper_than_15_is_refused(make_registry):
    node = {"type": "string", "description": "leaf"}
    for i in range(16):
        node = {"type": "object", "description": f"level {i}", "additionalProperties": False,
                "properties": {f"l{i}": node}}
    doc = base_table("t", deep=node)
    _, problems = check(make_registry({"t": [doc]}))
    assert "nesting-depth" in {p.rule for p in problems}


def test_more_than_2000_columns_is_refused_with_the_reason(make_registry):
    props = {f"c{i}": {"type": "integer", "description": "c"} for i in range(2_000)}  # + envelope
    _, problems = check(make_registry({"t": [base_table("t", **props)]}))
    assert [p.rule for p in problems] == ["column-count"]
    assert "300 MB" in problems[0].message and "10,000" in problems[0].message


def test_version_gap(make_registry):
    root = make_registry({"t": [base_table("t")]})
    (root / "t" / "t.3.schema.json").write_text(json.dumps({**base_table("t"), "$id": "urn:x:3"}))
    _, problems = check(root)
    assert [p.rule for p in problems] == ["versions"]


def test_incompatible_next_version_is_reported_with_the_rule(make_registry):
    v1 = base_table("t", a={"type": "integer", "description": "a"})
    v2 = base_table("t", a={"type": "string", "description": "a"})
    _, problems = check(make_registry({"t": [v1, v2]}))
    assert [p.rule for p in problems] == ["compatibility"]
    assert "change-type" in problems[0].message and "t.2.schema.json" in problems[0].file


def test_every_rule_is_documented():
    from shipper.registry._rules import RULES

    text = (SCHEMAS.parent / "docs" / "registry.md").read_text()
    missing = [rule for rule in RULES if f"| `{rule}` |" not in text]
    assert missing == []
