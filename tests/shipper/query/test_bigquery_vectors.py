"""BigQuery queries with BigQuery's answers, run on the DuckDB warehouse (issue 15, case 7).

`bigquery_vectors.jsonl`: SQL as an analyst writes it for BigQuery and what BigQuery returns
(columns and rows, or the error), from BigQuery's documentation where it gives one. Every vector
must hold on DuckDB, or the difference be listed in docs/local-pipeline.md and refused there.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import orjson
import pytest

from shipper.load import load
from shipper.query import QueryError, format_json, run_query

VECTORS = [json.loads(x) for x in (Path(__file__).parent / "bigquery_vectors.jsonl").read_text().splitlines() if x.strip()]


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory, make_registry_module):
    d = tmp_path_factory.mktemp("bqv")
    src = d / "a.log"
    src.write_bytes(b"\n".join(orjson.dumps(r) for r in [
        {"timestamp": "2026-11-28T10:00:00Z", "severity": "INFO", "message": "hello", "extra": {"user": "u1"}},
        {"log_table": "tagged", "timestamp": "2026-11-28T10:00:00Z", "severity": "INFO", "id": 1},
        {"log_table": "tagged", "timestamp": "2026-11-28T10:00:00Z", "severity": "INFO", "id": 2, "tags": ["a", "b"]},
    ]) + b"\n")
    url = f"duckdb://{d / 'w.duckdb'}"
    s = load([str(src)], url, rejects=d / "r.jsonl", registry=make_registry_module)
    assert s.rejected_total == 0, s.rejected
    return url


@pytest.fixture(scope="module")
def make_registry_module(tmp_path_factory):
    import shutil

    from shipper.registry import load_registry
    from support import SCHEMAS, base_table

    root = tmp_path_factory.mktemp("reg") / "schemas"
    shutil.copytree(SCHEMAS, root)
    doc = base_table("tagged", id={"type": "integer", "description": "row id"},
                     tags={"type": "array", "items": {"type": "string"}, "description": "labels"})
    doc["required"] = ["id"]
    del doc["properties"]["message"]
    (root / "tagged").mkdir()
    (root / "tagged" / "tagged.1.schema.json").write_text(json.dumps(doc))
    return load_registry(root)


def _plain(v):
    if isinstance(v, datetime):
        return json.loads(format_json(type("R", (), {"columns": ["t"], "rows": [(v,)]})()))[0]["t"]
    if isinstance(v, list):
        return [_plain(x) for x in v]
    if isinstance(v, dict):
        return {k: _plain(x) for k, x in v.items()}
    return v


@pytest.mark.parametrize("v", VECTORS, ids=[v["id"] for v in VECTORS])
def test_bigquery_query_on_duckdb(v, warehouse):
    if "columns" in v:
        r = run_query(v["sql"], warehouse)
        assert r.columns == v["columns"]
        assert [[_plain(x) for x in row] for row in r.rows] == v["rows"]
        return
    with pytest.raises(QueryError) as info:
        run_query(v["sql"], warehouse)
    msg = str(info.value)
    assert "sqlglot" not in msg and "Token" not in msg
    if "error" in v:
        assert msg == v["error"]
    elif "error_prefix" in v:
        assert msg.startswith(v["error_prefix"])
    else:
        assert v["error_contains"] in msg


def test_json_format_writes_z_like_the_table(warehouse, capsys):
    from shipper.cli import main

    sql = "SELECT timestamp FROM app_log"
    assert main(["query", sql, "--target", warehouse, "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out) == [{"timestamp": "2026-11-28T10:00:00Z"}]
    assert main(["query", sql, "--target", warehouse]) == 0
    assert "2026-11-28T10:00:00Z" in capsys.readouterr().out
