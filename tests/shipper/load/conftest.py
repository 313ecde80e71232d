"""Helpers for the loader tests: records as the shipper logger writes them."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from support import bigquery_with_tables


def access(i: int, **over: Any) -> dict[str, Any]:
    rec = {"log_table": "access_log", "timestamp": f"2026-11-28T10:00:{i % 60:02d}.{i % 1000:03d}Z",
           "severity": "INFO", "log_id": f"id-{i:06d}", "method": "GET", "path": f"/p/{i % 3}",
           "status_code": 200 if i % 4 else 500, "latency": 0.001 * (i % 50)}
    rec.update(over)
    return {k: v for k, v in rec.items() if v is not None}


def app(i: int, **over: Any) -> dict[str, Any]:
    rec = {"timestamp": "2026-11-28T10:00:00Z", "severity": "INFO", "message": f"event {i}"}
    rec.update(over)
    return rec


def jsonl(records: list[Any]) -> bytes:
    return b"".join((r if isinstance(r, bytes) else orjson.dumps(r)) + b"\n" for r in records)


@pytest.fixture
def lb():
    """The helpers above, as a fixture (test modules are imported by path, not as a package)."""
    from types import SimpleNamespace

    return SimpleNamespace(access=access, app=app, jsonl=jsonl, rows=rows, rejects=rejects)


@pytest.fixture
def fake(monkeypatch):
    """The BigQuery stand-in with the registry's tables, no request counted yet, and
    SHIPPER_BIGQUERY_ENDPOINT pointing at it (so that `load(..., BIGQUERY_URL)` reaches it)."""
    with bigquery_with_tables() as (fake, target):
        target.close()
        fake.requests.clear()
        monkeypatch.setenv("SHIPPER_BIGQUERY_ENDPOINT", fake.endpoint)
        yield fake


@pytest.fixture
def warehouse(tmp_path):
    return f"duckdb://{tmp_path / 'wh.duckdb'}"


def rows(url: str, sql: str) -> list[tuple[Any, ...]]:
    import duckdb

    con = duckdb.connect(url[len("duckdb://"):], read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def rejects(path) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in open(path, "rb")]
