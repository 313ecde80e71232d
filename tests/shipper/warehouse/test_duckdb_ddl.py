"""Registry model -> DuckDB DDL, and a live DuckDB table read back into the model."""

from __future__ import annotations

import duckdb
import pytest

from shipper.registry import compare_fields, load_registry
from shipper.warehouse._duckdb_ddl import comment_sql, create_table_sql, live_fields, quote
from support import SCHEMAS


@pytest.fixture()
def con():
    c = duckdb.connect()
    yield c
    c.close()


def test_every_table_creates_and_reads_back_identically(con):
    for table in load_registry(SCHEMAS).tables:
        con.execute(create_table_sql(table))
        for stmt in comment_sql(table):
            con.execute(stmt)
        assert compare_fields(live_fields(con, table.name), table.fields, nested_modes=False,
                              descriptions=False) == []


def test_required_columns_are_not_null(con):
    table = load_registry(SCHEMAS).table("access_log")
    con.execute(create_table_sql(table))
    with pytest.raises(duckdb.ConstraintException):
        con.execute("INSERT INTO access_log (timestamp, severity, method, path, latency) "
                    "VALUES (now(), 'INFO', 'GET', '/', 0.1)")  # status_code missing


def test_record_and_json_columns_hold_nested_values(con):
    table = load_registry(SCHEMAS).table("app_log")
    con.execute(create_table_sql(table))
    con.execute("INSERT INTO app_log (timestamp, severity, message, error, extra) VALUES "
                "(now(), 'ERROR', 'boom', {'type': 'builtins.ValueError', 'message': 'x', 'stack': 's'}, "
                "'{\"user\": 7}')")
    row = con.execute("SELECT error.type, extra->>'$.user' FROM app_log").fetchone()
    assert row == ("builtins.ValueError", "7")


def test_missing_table_reads_as_none(con):
    assert live_fields(con, "nope") is None


def test_quote_escapes_double_quotes():
    assert quote('a"b') == '"a""b"'
