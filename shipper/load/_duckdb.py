"""Load rows into a DuckDB file: columnar batches, and de-duplication so a re-run adds nothing.

Why this path: `executemany` costs a round trip per row. Instead validated rows are appended as
NDJSON to a per-table spool file; a flush reads the whole batch with `read_json` (columns typed
from the registry) into a staging table, drops rows whose key is already loaded (an anti-join on
the side table `_shipper_loaded`) and inserts the rest, all in one transaction: a batch is
either loaded with its keys or not at all, so an interrupted load re-run adds each row once.

If DuckDB refuses a batch (a value the registry check let through but DuckDB cannot convert),
the batch is split in halves until the refused rows are isolated; they go to the reject file
with DuckDB's message and the rest is loaded.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import orjson

from ..registry import Registry, Table
from ..targets.duckdb import column_type, quote
from ._rejects import RejectSink
from ._summary import Summary

KEYS_TABLE = "_shipper_loaded"
BATCH_ROWS = 200_000
BATCH_BYTES = 128 << 20
MAX_OBJECT = 32 << 20


@dataclass
class _Spool:
    table: Table
    path: Path
    f: BinaryIO
    rows: int = 0
    size: int = 0
    positions: list[tuple[str, int]] = field(default_factory=list)


class DuckDBLoadTarget:
    def __init__(self, url: str, registry: Registry, summary: Summary, rejects: RejectSink,
                 batch_rows: int = BATCH_ROWS) -> None:
        from ..tables import ensure_tables, open_target

        self.url = url
        self.summary = summary
        self.rejects = rejects
        self.batch_rows = batch_rows
        self._target: Any = open_target(url)
        ensure_tables(self._target, registry)
        self.con = self._target.con
        self.con.execute("SET TimeZone = 'UTC'")
        self.con.execute(f"CREATE TABLE IF NOT EXISTS {KEYS_TABLE} "
                         "(table_name VARCHAR NOT NULL, row_key VARCHAR NOT NULL)")
        self.registry = registry
        self._tmp = tempfile.mkdtemp(prefix="shipper-load-")
        self._spools: dict[str, _Spool] = {}
        self._sql: dict[str, tuple[str, str]] = {}

    # -- adding rows ---------------------------------------------------------------------
    def add(self, table: Table, row: dict[str, Any], key: str, source: str, line: int) -> None:
        spool = self._spools.get(table.name)
        if spool is None:
            path = Path(self._tmp) / f"{table.name}.ndjson"
            spool = self._spools[table.name] = _Spool(table, path, open(path, "wb"))
        pos = len(spool.positions)
        data = orjson.dumps(row)
        data = data[:-1] + b',"__key":' + orjson.dumps(key) + b',"__pos":' + str(pos).encode() + b"}\n"
        if len(data) <= 2 or data[1:2] == b",":  # an empty row: no leading comma allowed
            data = b"{" + data[2:]
        spool.f.write(data)
        spool.positions.append((source, line))
        spool.rows += 1
        spool.size += len(data)
        if spool.rows >= self.batch_rows or spool.size >= BATCH_BYTES:
            self._flush(spool)

    def pending(self) -> list[tuple[str, int]]:
        """The first not yet loaded (source, line) of each table: where a re-run must start."""
        return [s.positions[0] for s in self._spools.values() if s.positions]

    def flush(self) -> None:
        for spool in list(self._spools.values()):
            if spool.rows:
                self._flush(spool)

    def close(self) -> None:
        for spool in self._spools.values():
            spool.f.close()
            try:
                os.unlink(spool.path)
            except OSError:
                pass
        try:
            os.rmdir(self._tmp)
        except OSError:
            pass
        self._target.close()

    # -- flushing ------------------------------------------------------------------------
    def _statements(self, table: Table) -> tuple[str, ...]:
        sql = self._sql.get(table.name)
        if sql is None:
            cols = {f.name: column_type(f) for f in table.fields}
            cols["__key"] = "VARCHAR"
            cols["__pos"] = "BIGINT"
            spec = "{" + ", ".join(f"'{k}': '{v}'" for k, v in cols.items()) + "}"
            names = ", ".join(quote(f.name) for f in table.fields)
            stage = (f"CREATE OR REPLACE TEMP TABLE __shipper_stage AS "
                     f"SELECT * FROM read_json(?, columns={spec}, format='newline_delimited', "
                     f"maximum_object_size={MAX_OBJECT})")
            new = (f"CREATE OR REPLACE TEMP TABLE __shipper_new AS "
                   f"SELECT s.* FROM __shipper_stage s ANTI JOIN "
                   f"(SELECT row_key FROM {KEYS_TABLE} WHERE table_name = ?) k ON s.__key = k.row_key "
                   f"QUALIFY row_number() OVER (PARTITION BY s.__key ORDER BY s.__pos) = 1")
            insert = f"INSERT INTO {quote(table.name)} SELECT {names} FROM __shipper_new ORDER BY __pos"
            keys = f"INSERT INTO {KEYS_TABLE} SELECT ?, __key FROM __shipper_new"
            sql = self._sql[table.name] = (stage, new, insert, keys)
        return sql

    def _flush(self, spool: _Spool) -> None:
        spool.f.close()
        try:
            self._load_file(spool.table, spool.path, spool.rows)
        except _Refused:
            self._bisect(spool)
        spool.f = open(spool.path, "wb")
        spool.rows = spool.size = 0
        spool.positions = []

    def _load_file(self, table: Table, path: Path, rows: int) -> None:
        import duckdb

        stage, new_rows, insert, keys = self._statements(table)
        con = self.con
        con.execute("BEGIN")
        try:
            con.execute(stage, [str(path)])
            con.execute(new_rows, [table.name])
            con.execute(insert)
            con.execute(keys, [table.name])
            (new,) = con.execute("SELECT count(*) FROM __shipper_new").fetchone()
            con.execute("COMMIT")
        except duckdb.Error as exc:
            con.execute("ROLLBACK")
            raise _Refused(str(exc).splitlines()[0]) from None
        t = self.summary.table(table.name)
        t.inserted += new
        t.duplicates += rows - new

    def _bisect(self, spool: _Spool) -> None:
        """Isolate the rows DuckDB refuses; load the others. Rare, so simple beats fast."""
        with open(spool.path, "rb") as f:
            lines = f.read().splitlines(keepends=True)
        part = spool.path.with_suffix(".part")

        def attempt(chunk: list[bytes]) -> None:
            with open(part, "wb") as out:
                out.writelines(chunk)
            try:
                self._load_file(spool.table, part, len(chunk))
            except _Refused as exc:
                if len(chunk) == 1:
                    obj = orjson.loads(chunk[0])
                    source, line = spool.positions[obj.pop("__pos")]
                    obj.pop("__key", None)
                    self.rejects.row(source, line, spool.table.name, f"refused by DuckDB: {exc}", obj)
                    self.summary.rejected["refused by the target"] += 1
                    return
                mid = len(chunk) // 2
                attempt(chunk[:mid])
                attempt(chunk[mid:])

        attempt(lines)
        part.unlink(missing_ok=True)


class _Refused(Exception):
    pass
