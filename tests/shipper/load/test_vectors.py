"""DuckDB and BigQuery targets give the same answer for every line of one vector file (issue 15, case 4).

`load_vectors.jsonl`: a line (or its bytes as base64) and where it must end: a table, or the reject
file with that kind of reason. All lines go through `shipper load` once per target - a real DuckDB
file, and the real google-cloud-bigquery client against FakeBigQueryAPI - and every line must end in
the same place on both, and where the vector says.
"""

from __future__ import annotations

import base64
import json
from collections import Counter
from pathlib import Path

import pytest
from support import bigquery_with_tables

from shipper.load import load

VECTORS = [json.loads(line) for line in (Path(__file__).parent / "load_vectors.jsonl").read_text().splitlines()
           if line.strip()]


def _line(v) -> bytes:
    return base64.b64decode(v["line_base64"]) if "line_base64" in v else v["line"].encode()


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("vec") / "vectors.log"
    path.write_bytes(b"".join(_line(v) + b"\n" for v in VECTORS))
    return path


def _outcome(summary, rejects_path: Path) -> tuple[dict[int, str], Counter]:
    rejected = {}
    if rejects_path.exists():
        for rec in map(json.loads, rejects_path.read_text().splitlines()):
            rejected[rec["line"]] = rec["kind"]
    loaded = Counter({name: t.inserted for name, t in summary.tables.items() if t.inserted})
    return rejected, loaded


@pytest.fixture(scope="module")
def duckdb_outcome(source, tmp_path_factory):
    d = tmp_path_factory.mktemp("vduck")
    s = load([str(source)], f"duckdb://{d / 'w.duckdb'}", rejects=d / "r.jsonl")
    return _outcome(s, d / "r.jsonl"), d / "w.duckdb"


@pytest.fixture(scope="module")
def bigquery_outcome(source, tmp_path_factory):
    d = tmp_path_factory.mktemp("vbq")
    with bigquery_with_tables() as (fake, wh):
        s = load([str(source)], wh, rejects=d / "r.jsonl")
        rows = {t: fake.rows("logs", t) for t in ("app_log", "access_log", "raw_log")}
    return _outcome(s, d / "r.jsonl"), rows


EXPECTED_REJECTS = {i + 1: v["reject"] for i, v in enumerate(VECTORS) if "reject" in v}
EXPECTED_TABLES = Counter(v["table"] for v in VECTORS if "table" in v)


@pytest.mark.parametrize("target", ["duckdb", "bigquery"])
def test_every_vector_ends_where_it_says(target, duckdb_outcome, bigquery_outcome):
    (rejected, loaded), _ = duckdb_outcome if target == "duckdb" else bigquery_outcome
    wrong = {VECTORS[n - 1]["id"]: (kind, EXPECTED_REJECTS.get(n)) for n, kind in rejected.items()
             if EXPECTED_REJECTS.get(n) != kind}
    missing = {VECTORS[n - 1]["id"]: kind for n, kind in EXPECTED_REJECTS.items() if n not in rejected}
    assert not wrong and not missing, (wrong, missing)
    assert loaded == EXPECTED_TABLES


def test_both_targets_agree_line_by_line(duckdb_outcome, bigquery_outcome):
    assert duckdb_outcome[0] == bigquery_outcome[0]


def test_json_column_values_are_stored_alike(duckdb_outcome, bigquery_outcome):
    """A string in a JSON column is a JSON string on both (fluent-plugin-bigquery sends JSON text)."""
    import duckdb

    con = duckdb.connect(str(duckdb_outcome[1]), read_only=True)
    try:
        duck = list(json.loads(e) for (e,) in con.execute(
            "SELECT extra FROM app_log WHERE extra IS NOT NULL").fetchall())
    finally:
        con.close()
    bq = [r["extra"] for r in bigquery_outcome[1]["app_log"] if r.get("extra") is not None]
    assert sorted(map(json.dumps, duck)) == sorted(map(json.dumps, bq))
    assert "not json {" in duck and "5" in duck


def test_gzip_input_is_read(tmp_path, source):
    import gzip

    gz = tmp_path / "vectors.log.gz"
    gz.write_bytes(gzip.compress(source.read_bytes()))
    s = load([str(gz)], f"duckdb://{tmp_path / 'w.duckdb'}", rejects=tmp_path / "r.jsonl")
    rejected, loaded = _outcome(s, tmp_path / "r.jsonl")
    assert loaded == EXPECTED_TABLES and rejected == EXPECTED_REJECTS
    assert "not UTF-8 text" not in s.rejected or s.rejected["not UTF-8 text"] == 1
