"""`shipper query`: the analysts' BigQuery SQL on a real DuckDB warehouse, parameters bound safely."""

from __future__ import annotations

import json
from datetime import date, datetime, timezone

import orjson
import pytest

from shipper.load import load
from shipper.query import QueryError, parse_param, run_query
from shipper.warehouse._bigquery_sql import transpile

LATENCIES = {"/version/endpoint": [0.01 * i for i in range(1, 101)], "/health": [0.001] * 10}


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    d = tmp_path_factory.mktemp("q")
    lines = []
    n = 0
    for path, lats in LATENCIES.items():
        for lat in lats:
            n += 1
            lines.append(orjson.dumps({
                "log_table": "access_log", "timestamp": f"2026-11-28T{n % 24:02d}:00:00Z", "severity": "INFO",
                "log_id": f"q{n}", "method": "GET", "path": path, "status_code": 500 if n % 10 == 0 else 200,
                "latency": lat}))
    lines.append(orjson.dumps({"timestamp": "2026-11-28T01:00:00Z", "severity": "ERROR", "message": "boom",
                               "extra": {"user": "u1"}, "error": {"type": "builtins.ValueError", "stack": "..."}}))
    src = d / "a.log"
    src.write_bytes(b"\n".join(lines) + b"\n")
    url = f"duckdb://{d / 'wh.duckdb'}"
    load([str(src)], url, rejects=d / "r.jsonl")
    return url


PARAMS = [parse_param("from:TIMESTAMP=2026-11-28T00:00:00Z"), parse_param("to=2026-11-28T23:59:59Z")]


def test_analyst_query_with_double_quoted_literal_and_params(warehouse):
    sql = ('SELECT * FROM access_log WHERE status_code != 200 AND path = "/version/endpoint" '
           "AND timestamp BETWEEN @from AND @to")
    r = run_query(sql, warehouse, PARAMS)
    assert len(r.rows) == 10 and "status_code" in r.columns
    assert "$from" in r.sql and "'/version/endpoint'" in r.sql


def test_average_latency_per_path(warehouse):
    r = run_query("SELECT path, AVG(latency) AS latency_avg FROM access_log GROUP BY path ORDER BY path", warehouse)
    assert r.columns == ["path", "latency_avg"]
    assert r.rows[0] == ("/health", pytest.approx(0.001))
    assert r.rows[1] == ("/version/endpoint", pytest.approx(0.505))


def test_p95_with_approx_quantiles_offset(warehouse):
    r = run_query("SELECT path, APPROX_QUANTILES(latency, 100)[OFFSET(95)] AS p95 FROM `proj.logs.access_log` "
                  "GROUP BY path ORDER BY path", warehouse)
    p95 = dict(r.rows)
    assert p95["/version/endpoint"] == pytest.approx(0.95, abs=0.02)
    assert p95["/health"] == pytest.approx(0.001)


def test_json_and_struct_columns(warehouse):
    r = run_query("SELECT JSON_VALUE(extra, '$.user') AS u, error.type AS t FROM app_log", warehouse)
    assert r.rows == [("u1", "builtins.ValueError")]


def test_parameter_values_are_bound_never_interpolated(warehouse):
    evil = parse_param("""p=/health' OR '1'='1""")
    r = run_query("SELECT count(*) AS n FROM access_log WHERE path = @p", warehouse, [evil])
    assert r.rows == [(0,)]
    r = run_query("SELECT count(*) AS n FROM access_log WHERE path = @p", warehouse, [parse_param("p=/health")])
    assert r.rows == [(10,)]


@pytest.mark.parametrize("text,typ,value", [
    ("n=10", "INT64", 10), ("x=1.5", "FLOAT64", 1.5), ("b=true", "BOOL", True), ("d=2026-11-28", "DATE", date(2026, 11, 28)),
    ("t=2026-11-28T10:00:00Z", "TIMESTAMP", datetime(2026, 11, 28, 10, tzinfo=timezone.utc)),
    ("s=hello", "STRING", "hello"), ("s:STRING=10", "STRING", "10"), ("i:INTEGER=7", "INT64", 7),
    ("@at:TIMESTAMP=2026-11-28 10:00:00", "TIMESTAMP", datetime(2026, 11, 28, 10, tzinfo=timezone.utc)),
])
def test_param_types(text, typ, value):
    p = parse_param(text)
    assert (p.type, p.value) == (typ, value)


@pytest.mark.parametrize("text", ["novalue", "n:INT64=abc", "x:GEOGRAPHY=1", "1bad=2", "b:BOOL=yes"])
def test_bad_params(text):
    with pytest.raises(QueryError):
        parse_param(text)


@pytest.mark.parametrize("sql,expected", [
    ("SELECT nope FROM access_log", "Unrecognized name: nope"),
    ("SELECT * FROM missing_table", "Not found: Table missing_table"),
    ("SELECT FROM WHERE (", "Syntax error: "),
    ("SELECT * FROM access_log WHERE timestamp > @since", "Query parameter 'since' not found"),
])
def test_errors_in_bigquery_words(warehouse, sql, expected):
    with pytest.raises(QueryError) as info:
        run_query(sql, warehouse)
    assert str(info.value).startswith(expected)


def test_syntax_error_has_position():
    with pytest.raises(QueryError, match=r"at \[1:\d+\]"):
        transpile("SELECT FROM WHERE (")


def test_cli_formats(warehouse, capsys):
    from shipper.cli import main

    sql = "SELECT path, count(*) AS n FROM access_log GROUP BY path ORDER BY path"
    assert main(["query", sql, "--target", warehouse]) == 0
    out = capsys.readouterr().out
    assert "| /health " in out and "(2 rows)" in out
    assert main(["query", sql, "--target", warehouse, "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out) == [{"path": "/health", "n": 10}, {"path": "/version/endpoint", "n": 100}]
    assert main(["query", sql, "--target", warehouse, "--format", "csv"]) == 0
    assert capsys.readouterr().out == "path,n\n/health,10\n/version/endpoint,100\n"
    assert main(["query", "SELECT nope FROM access_log", "--target", warehouse]) == 1
    assert "Unrecognized name: nope" in capsys.readouterr().err
    assert main(["query", "SELECT 1", "--target", warehouse, "--param", "bad"]) == 1
