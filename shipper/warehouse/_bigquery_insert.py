"""Write rows into BigQuery with `insertAll` (google-cloud-bigquery `insert_rows_json`).

Per request: at most 500 rows (BigQuery's recommendation) and under 10 MB as the client encodes
it (stdlib `json.dumps`, which escapes non-ASCII: the size is measured that way when it matters).
Each row carries an `insertId` (its `log_id`, else a hash of its content), so a replay of the
same input is de-duplicated by BigQuery (best effort, about a minute) rather than doubled.

Rows are sent as fluent-plugin-bigquery sends them, so that a replay stores what production
would have stored: the routing key removed, and a JSON column's value as JSON text (the plugin's
`MultiJson.dump(value)`; BigQuery parses a string given for a JSON column as JSON text, so a
plain string such as `"not json {"` would otherwise be refused by BigQuery, and `"5"` stored
as the number 5).

Within one run the writer also remembers each insertId with a digest of its row's content (less
the fields added in transit; on disk, `_seen_ids.py`, so memory stays flat): the same id again
with the same content is a duplicate (skipped, counted), with other content a conflict
(refused, reason given) - as the DuckDB writer does against its key table. Across runs
BigQuery itself only de-duplicates for about a minute.

Per-row `insertErrors` come back with HTTP 200. Without `skipInvalidRows` one bad row stops
the whole request: its rows are marked `stopped`. The invalid rows are refused with BigQuery's
message and the stopped ones are sent again without them, so a bad row never takes good ones
down with it (which is what fluent-plugin-bigquery does to a whole chunk).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import orjson

from ..registry import JSON, RECORD, REPEATED, ROUTING_KEY, Field, Table
from ._duckdb_load import CONFLICT_KIND, DUPLICATE_KEY_KIND, REFUSED_KIND, duplicate_key_reason
from ._errors import LoadAborted
from ._protocol import Encoder, WriteReport
from ._seen_ids import SeenIds

if TYPE_CHECKING:  # pragma: no cover
    from .bigquery import BigQueryWarehouse

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
class _Refusal:
    ordinal: int
    kind: str
    reason: str
    row: Any


_DUPLICATE = object()  # the same insertId and content again in this run: counted, not sent


@dataclass
class _Batch:
    rows: list[_Pending] = field(default_factory=list)
    size: int = 0


def encoded_size(row: dict[str, Any]) -> int:
    data = orjson.dumps(row)
    return len(data) if data.isascii() else len(json.dumps(row))


def duplicate_key(data: bytes) -> str | None:
    """The first key an object in `data` names twice, or None (an exact, slower parse)."""
    found: list[str] = []

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        keys = [k for k, _ in items]
        if len(set(keys)) != len(keys) and not found:
            seen: set[str] = set()
            found.extend(k for k in keys if k in seen or seen.add(k))  # type: ignore[func-returns-value]
        return dict(items)

    try:
        json.loads(data, object_pairs_hook=pairs)
    except ValueError:
        return None
    return found[0] if found else None


def _json_as_text(fields: tuple[Field, ...]) -> Any:
    """A function that rewrites a row's JSON values as JSON text, nested ones included, or None."""
    plan: list[tuple[str, Any, bool]] = []
    for f in fields:
        if f.type == JSON:
            plan.append((f.name, None, f.mode == REPEATED))
        elif f.type == RECORD:
            inner = _json_as_text(f.fields)
            if inner is not None:
                plan.append((f.name, inner, f.mode == REPEATED))
    if not plan:
        return None

    def text(v: Any) -> str:
        return json.dumps(v, ensure_ascii=False, separators=(",", ":"))

    def rewrite(row: dict[str, Any]) -> None:
        for name, inner, repeated in plan:
            v = row.get(name)
            if v is None:
                continue
            items = v if repeated and type(v) is list else [v]
            if inner is None:
                if repeated and type(v) is list:
                    row[name] = [None if x is None else text(x) for x in v]
                else:
                    row[name] = text(v)
            else:
                for x in items:
                    if type(x) is dict:
                        inner(x)

    return rewrite


class InsertAllWriter:
    # insertAll reads a string in a JSON column as JSON text: JSON values are sent as text (as
    # fluent-plugin-bigquery's stream path does); a load job takes the raw JSON value.
    json_as_text = True

    def __init__(self, warehouse: BigQueryWarehouse, report: WriteReport, *,
                 identity_ignores: frozenset[str] = frozenset(), **_: Any) -> None:
        self.wh = warehouse
        self.report = report
        self.identity_ignores = identity_ignores
        self.requests = 0
        self.process_peak_mb = 0.0
        self._batches: dict[str, _Batch] = {}
        self._missing: set[str] = set()
        self._seen = SeenIds()  # insertId -> content digest, this run

    def encoder(self, table: Table) -> Encoder:
        rewrite = _json_as_text(table.fields) if self.json_as_text else None
        id_field = table.insert_id_field
        ignores = self.identity_ignores | {ROUTING_KEY}
        seen = self._seen

        def encode(key: str, ordinal: int, raw: bytes | None, row: dict[str, Any]) -> Any:
            if raw is not None and orjson.dumps(row) != raw:
                dup = duplicate_key(raw)
                if dup is not None:
                    return _Refusal(ordinal, DUPLICATE_KEY_KIND, duplicate_key_reason(dup), row)
            if id_field is not None and row.get(id_field) == key:
                content = {k: v for k, v in row.items() if k not in ignores}
                digest = hashlib.blake2b(orjson.dumps(content, option=orjson.OPT_SORT_KEYS),
                                         digest_size=12).digest()
                before = seen.first(key, digest)
                if before is not digest:
                    if before == digest:
                        return _DUPLICATE
                    return _Refusal(ordinal, CONFLICT_KIND,
                                    f"{id_field} {key!r} was already loaded with different content (a "
                                    "log_id names one record; this line is kept here instead of "
                                    "replacing or hiding the first)", row)
            row.pop(ROUTING_KEY, None)  # fluentd removes it before the insert
            if rewrite is not None:
                rewrite(row)
            return self.pending_row(row, key, ordinal)

        return encode

    def pending_row(self, row: dict[str, Any], key: str, ordinal: int) -> Any:
        return _Pending(row, key, ordinal, encoded_size(row) + len(key) + ROW_OVERHEAD)

    def settled(self, name: str, p: Any) -> bool:
        """True when `p` needs no sending: a row already loaded (counted) or one refused before
        it could be sent (reported with its reason). Both writers settle rows this way."""
        if p is _DUPLICATE:
            self.report.loaded(name, 0, 1)
            return True
        if type(p) is _Refusal:
            self.report.refused(p.ordinal, name, p.kind, p.reason, p.row)
            return True
        return False

    def write(self, table: Table, first: int, rows: list[Any]) -> None:
        name = table.name
        for p in rows:
            if self.settled(name, p):
                continue
            if p.size > REQUEST_BUDGET:
                self.report.refused(p.ordinal, name, "row over the 10 MB insert limit",
                                    f"row is {p.size:,} bytes as JSON, over BigQuery's 10 MB insert limit", p.row)
                continue
            batch = self._batches.setdefault(name, _Batch())
            if batch.rows and batch.size + p.size > REQUEST_BUDGET:
                self._send(name, batch.rows)
                batch.rows, batch.size = [], 0
            batch.rows.append(p)
            batch.size += p.size
            if len(batch.rows) >= MAX_ROWS:
                self._send(name, batch.rows)
                batch.rows, batch.size = [], 0

    def pending(self) -> list[int]:
        return [b.rows[0].ordinal for b in self._batches.values() if b.rows]

    def flush(self) -> None:
        for name, batch in self._batches.items():
            if batch.rows:
                self._send(name, batch.rows)
                batch.rows, batch.size = [], 0

    def close(self) -> None:
        self._seen.close()
        self.wh.close()

    def _send(self, table: str, rows: list[_Pending]) -> None:
        from google.api_core import exceptions as gexc

        ref = f"{self.wh.project}.{self.wh.dataset}.{table}"
        while rows:
            if table in self._missing:
                self._refuse_all(table, rows, "table does not exist in the dataset",
                                 "table does not exist in the dataset (create it: shipper tables apply)")
                return
            self.requests += 1
            try:
                errors = self.wh.client.insert_rows_json(
                    ref, [p.row for p in rows], row_ids=[p.key for p in rows],
                    skip_invalid_rows=False, retry=self.wh.retry())
            except gexc.NotFound:
                self._missing.add(table)
                continue
            except gexc.BadRequest as exc:
                if len(rows) == 1:
                    self._refuse_all(table, rows, REFUSED_KIND, f"refused by BigQuery: {exc.message}")
                    return
                mid = len(rows) // 2  # a request-level refusal (e.g. size): split and retry
                self._send(table, rows[:mid])
                rows = rows[mid:]
                continue
            except gexc.GoogleAPIError as exc:
                raise LoadAborted(f"BigQuery insertAll into {table} failed: {exc}") from None
            except Exception as exc:  # the client's retries gave up (connection refused, timeout)
                if type(exc).__module__.startswith(("requests", "urllib3", "google")):
                    raise LoadAborted(f"BigQuery insertAll into {table} failed: "
                                      f"{str(exc).splitlines()[0][:300]}") from None
                raise
            if not errors:
                self.report.loaded(table, len(rows), 0)
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
                self.report.refused(p.ordinal, table, REFUSED_KIND, f"refused by BigQuery: {msg}", p.row)
            rows = [p for i, p in enumerate(rows) if i not in invalid]

    def _refuse_all(self, table: str, rows: list[_Pending], kind: str, reason: str) -> None:
        for p in rows:
            self.report.refused(p.ordinal, table, kind, reason, p.row)
