"""Load rows into BigQuery with `insertAll` (google-cloud-bigquery `insert_rows_json`).

Per request: at most 500 rows (BigQuery's recommendation) and under 10 MB as the client encodes
it (stdlib `json.dumps`, which escapes non-ASCII: the size is measured that way when it matters).
Each row carries an `insertId` (its `log_id`, else a hash of its content), so a replay of the
same input is de-duplicated by BigQuery (best effort, about a minute) rather than doubled.

Per-row `insertErrors` come back with HTTP 200. Without `skipInvalidRows` one bad row stops
the whole request: its rows are marked `stopped`. The invalid rows go to the reject file with
BigQuery's message and the stopped ones are sent again without them, so a bad row never takes
good ones down with it (which is what fluent-plugin-bigquery does to a whole chunk).

`SHIPPER_BIGQUERY_ENDPOINT` points the client at a local stand-in with anonymous credentials.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson

from ..registry import ROUTING_KEY, Table
from ._rejects import RejectSink
from ._summary import Summary

MAX_ROWS = 500
MAX_REQUEST = 10 * 1024 * 1024
REQUEST_BUDGET = 9 * 1024 * 1024  # leave room for the envelope and insertIds
ROW_OVERHEAD = 64  # {"insertId": "...", "json": ...}, plus separators


@dataclass
class _Pending:
    row: dict[str, Any]
    key: str
    ordinal: int
    size: int


@dataclass
class _Batch:
    rows: list[_Pending] = field(default_factory=list)
    size: int = 0


class LoadAborted(Exception):
    """The target failed in a way a retry of the same rows will not fix (reported, not rejected).

    `summary` is set on the way out: what was loaded before the stop, and where to resume."""

    summary: Any = None


def encoded_size(row: dict[str, Any]) -> int:
    data = orjson.dumps(row)
    return len(data) if data.isascii() else len(json.dumps(row))


class BigQueryLoadTarget:
    def __init__(self, url: str, summary: Summary, rejects: RejectSink,
                 locate: Callable[[int], tuple[str, int]], client: Any = None) -> None:
        from ..tables import parse_target
        from ..tables._targets import make_bigquery_client

        t = parse_target(url)
        self.url, self.project, self.dataset = url, t.project, t.dataset
        self.summary = summary
        self.rejects = rejects
        self.locate = locate
        self.client = client or make_bigquery_client(t.project)
        self._batches: dict[str, _Batch] = {}
        self._missing: set[str] = set()

    def add(self, table: Table, key: str, ordinal: int, raw: bytes | None, row: dict[str, Any]) -> None:
        row.pop(ROUTING_KEY, None)  # fluentd removes it before the insert
        size = encoded_size(row) + len(key) + ROW_OVERHEAD
        if size > REQUEST_BUDGET:
            self.rejects.row(*self.locate(ordinal), table.name,
                             f"row is {size:,} bytes as JSON, over BigQuery's 10 MB insert limit", row)
            self.summary.reject("row over the 10 MB insert limit")
            return
        batch = self._batches.setdefault(table.name, _Batch())
        if batch.rows and batch.size + size > REQUEST_BUDGET:
            self._send(table.name, batch.rows)
            batch.rows, batch.size = [], 0
        batch.rows.append(_Pending(row, key, ordinal, size))
        batch.size += size
        if len(batch.rows) >= MAX_ROWS:
            self._send(table.name, batch.rows)
            batch.rows, batch.size = [], 0

    def pending(self) -> list[int]:
        return [b.rows[0].ordinal for b in self._batches.values() if b.rows]

    def flush(self) -> None:
        for name, batch in self._batches.items():
            if batch.rows:
                self._send(name, batch.rows)
                batch.rows, batch.size = [], 0

    def close(self) -> None:
        self.client.close()

    def _send(self, table: str, rows: list[_Pending]) -> None:
        from google.api_core import exceptions as gexc

        ref = f"{self.project}.{self.dataset}.{table}"
        while rows:
            if table in self._missing:
                self._reject_all(table, rows, "table does not exist in the dataset "
                                              "(create it: shipper tables apply)")
                return
            self.summary.requests += 1
            try:
                errors = self.client.insert_rows_json(
                    ref, [p.row for p in rows], row_ids=[p.key for p in rows],
                    skip_invalid_rows=False)
            except gexc.NotFound:
                self._missing.add(table)
                continue
            except gexc.BadRequest as exc:
                if len(rows) == 1:
                    self._reject_all(table, rows, f"refused by BigQuery: {exc.message}")
                    return
                mid = len(rows) // 2  # a request-level refusal (e.g. size): split and retry
                self._send(table, rows[:mid])
                rows = rows[mid:]
                continue
            except gexc.GoogleAPIError as exc:
                raise LoadAborted(f"BigQuery insertAll into {table} failed: {exc}") from None
            if not errors:
                self.summary.table(table).inserted += len(rows)
                return
            invalid = {}
            for e in errors:
                reasons = [x for x in e.get("errors", []) if x.get("reason") != "stopped"]
                if reasons:
                    invalid[int(e["index"])] = "; ".join(
                        x.get("message") or x.get("reason", "invalid") for x in reasons)
            if not invalid:  # every row stopped and none invalid: do not loop forever
                raise LoadAborted(f"BigQuery stopped every row of a request into {table} "
                                  f"without naming an invalid one: {errors[:1]}")
            for i, msg in sorted(invalid.items()):
                p = rows[i]
                self.rejects.row(*self.locate(p.ordinal), table, f"refused by BigQuery: {msg}", p.row)
                self.summary.reject("refused by the target")
            rows = [p for i, p in enumerate(rows) if i not in invalid]

    def _reject_all(self, table: str, rows: list[_Pending], reason: str) -> None:
        for p in rows:
            self.rejects.row(*self.locate(p.ordinal), table, reason, p.row)
        self.summary.reject(reason.split(" (")[0], len(rows))
