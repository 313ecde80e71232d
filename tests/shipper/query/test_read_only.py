"""`shipper query` is read-only by default on both warehouses (issue 15, case 2).

DuckDB: a real file, the issue's hostile statements. BigQuery: the real google-cloud-bigquery
client against FakeBigQueryAPI, whose jobs.insert answers dry runs with the statement type and
the bytes a query would scan, as BigQuery's REST reference says.
"""

from __future__ import annotations

import json

import orjson
import pytest
from support import BIGQUERY_URL, bigquery_with_tables

from shipper.cli import main
from shipper.load import load
from shipper.query import QueryError, QueryOptions, run_query


@pytest.fixture(scope="module")
def duck(tmp_path_factory):
    d = tmp_path_factory.mktemp("ro")
    src = d / "a.log"
    src.write_bytes(orjson.dumps({"timestamp": "2026-11-28T10:00:00Z", "severity": "INFO", "message": "m"}) + b"\n")
    url = f"duckdb://{d / 'logs.duckdb'}"
    load([str(src)], url, rejects=d / "r.jsonl")
    return url


@pytest.mark.parametrize("sql", [
    "COPY (SELECT 'pwned' AS x) TO '{victim}'",
    "SELECT * FROM read_text('/etc/passwd')",
    "SELECT * FROM read_csv('/etc/passwd')",
    "SELECT * FROM read_parquet('https://example.invalid/x.parquet')",
    "INSTALL httpfs",
    "LOAD httpfs",
    "ATTACH '{victim}' AS other",
    "SET enable_external_access = true",
])
def test_duckdb_query_cannot_touch_files_network_or_extensions(duck, tmp_path, sql):
    victim = tmp_path / "victim.txt"
    victim.write_text("untouched")
    with pytest.raises(QueryError):
        run_query(sql.format(victim=victim), duck)
    assert victim.read_text() == "untouched"


def test_duckdb_dml_is_refused_unless_allowed(duck, capsys):
    assert main(["query", "DELETE FROM app_log WHERE TRUE", "--target", duck]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "read-only" in err[0] and "--allow-write" in err[0]
    assert run_query("SELECT count(*) AS n FROM app_log", duck).rows == [(1,)]
    r = run_query("INSERT INTO app_log (timestamp, severity, message) VALUES (TIMESTAMP '2026-11-28 11:00:00+00', 'INFO', 'w')",
                  duck, options=QueryOptions(allow_write=True))
    assert r.statement_type == "INSERT"
    assert run_query("SELECT count(*) AS n FROM app_log", duck).rows == [(2,)]
    with pytest.raises(QueryError):  # --allow-write opens the warehouse, never the file system
        run_query("COPY app_log TO '/tmp/x.csv'", duck, options=QueryOptions(allow_write=True))


URL = BIGQUERY_URL


@pytest.fixture
def bq(monkeypatch):
    with bigquery_with_tables() as (fake, wh):
        wh.client.insert_rows_json("test-project.logs.app_log", [
            {"timestamp": "2026-11-28T10:00:00Z", "severity": "INFO", "message": "hello",
             "extra": json.dumps({"user": "u1"})}])
        wh.close()
        fake.requests.clear()
        monkeypatch.setenv("SHIPPER_BIGQUERY_ENDPOINT", fake.endpoint)
        yield fake


def _jobs(fake):
    return [r.body["configuration"] for r in fake.calls("POST", "/jobs")]


def test_bigquery_select_runs_after_a_dry_run(bq, capsys):
    assert main(["query", "SELECT message, JSON_VALUE(extra, '$.user') AS u FROM app_log", "--target", URL,
                 "--format", "json"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out) == [{"message": "hello", "u": "u1"}]
    jobs = _jobs(bq)
    assert [j.get("dryRun", False) for j in jobs] == [True, False]
    assert "SELECT, " in captured.err and "bytes processed (dry run)" in captured.err


@pytest.mark.parametrize("sql,kind", [
    ("DELETE FROM app_log WHERE TRUE", "DELETE"),
    ("INSERT INTO app_log (timestamp, severity, message) VALUES (CURRENT_TIMESTAMP(), 'INFO', 'x')", "INSERT"),
    ("UPDATE app_log SET message = 'x' WHERE TRUE", "UPDATE"),
    ("DROP TABLE app_log", "DROP_TABLE"),
])
def test_bigquery_non_select_is_refused_by_its_dry_run(bq, capsys, sql, kind):
    assert main(["query", sql, "--target", URL]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"a {kind} statement changes data" in err[0] and "--allow-write" in err[0]
    assert [j.get("dryRun", False) for j in _jobs(bq)] == [True]  # nothing but the dry run ran
    assert [r["message"] for r in bq.rows("logs", "app_log")] == ["hello"]


def test_bigquery_dml_runs_with_allow_write(bq, capsys):
    assert main(["query", "DELETE FROM app_log WHERE message = 'hello'", "--target", URL, "--allow-write"]) == 0
    assert bq.rows("logs", "app_log") == []
    assert [j.get("dryRun", False) for j in _jobs(bq)] == [True, False]


def test_bigquery_max_bytes_refuses_before_running_and_caps_the_job(bq, capsys):
    assert main(["query", "SELECT * FROM app_log", "--target", URL, "--max-bytes", "10"]) == 1
    err = capsys.readouterr().err
    assert "more than --max-bytes 10" in err and "nothing ran" in err
    assert [j.get("dryRun", False) for j in _jobs(bq)] == [True]
    bq.requests.clear()
    assert main(["query", "SELECT message FROM app_log", "--target", URL, "--max-bytes", "1KB"]) == 0
    real = [j for j in _jobs(bq) if not j.get("dryRun")]
    assert real[0]["query"]["maximumBytesBilled"] == "1000"


def test_fake_enforces_maximum_bytes_billed_itself(bq):
    """BigQuery refuses a job over its cap even when the caller skipped the dry run."""
    from google.cloud import bigquery

    client = bq.client()
    config = bigquery.QueryJobConfig(maximum_bytes_billed=1, default_dataset="test-project.logs")
    with pytest.raises(Exception, match="bytes billed"):
        client.query("SELECT message FROM app_log", job_config=config).result()


def test_read_only_is_documented():
    from support import REPO

    doc = (REPO / "docs" / "local-pipeline.md").read_text()
    assert "read-only" in doc and "--allow-write" in doc and "--max-bytes" in doc
