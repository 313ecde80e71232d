"""Load rows into a DuckDB file: columnar batches, and de-duplication so a re-run adds nothing.

Why this path: `executemany` costs a round trip per row. Instead each row is appended to a
per-table spool file as one NDJSON line `{"k": key, "p": ordinal, "r": <the row's JSON>}` (the
app's line goes in as it was read, never re-serialized). A flush reads the batch with
`read_json` (the row typed as a STRUCT of the table's columns, so keys the table lacks, such as
the routing key, are ignored), drops rows whose key is already loaded (anti-join on the side
table `_shipper_loaded`) and inserts the rest with their keys, in one transaction: a batch is
loaded with its keys or not at all, so a re-run after an interruption adds each row once.

Flushes run on one worker thread (DuckDB releases the GIL), so parsing the next batch overlaps
with inserting the last; at most one batch waits, so memory stays flat.

If DuckDB refuses a batch (a value the registry check let through but DuckDB cannot convert),
the batch is split in halves until the refused rows are isolated; they go to the reject file
with DuckDB's message and the rest is loaded.
"""

from __future__ import annotations

import os
import queue
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import orjson

from ..registry import Registry, Table
from ..targets.duckdb import column_type, quote
from ._bigquery import LoadAborted
from ._duckdb_exec import ExecError, Executor
from ._rejects import RejectSink
from ._summary import Summary

KEYS_TABLE = "_shipper_loaded"
BATCH_ROWS = 100_000
BATCH_BYTES = 48 << 20
MAX_OBJECT = 32 << 20
# Few large writes: a write call per row costs more than the row's parse (the GIL is
# handed over on every syscall while the worker thread is busy).
SPOOL_BUFFER = 4 << 20
# DuckDB's own memory cap: the load must fit beside the interpreter in a small container.
MEMORY_LIMIT = "128MB"


# The same row twice in one batch (a file given twice): keep the first.
COUNT_DUPLICATES = "SELECT count(*) - count(DISTINCT k) FROM __shipper_stage"
DEDUPE = ("CREATE OR REPLACE TEMP TABLE __shipper_stage AS SELECT * FROM __shipper_stage "
          "QUALIFY row_number() OVER (PARTITION BY k ORDER BY p) = 1")
# DuckDB errors that a row's value causes: the batch is split to find the row. Anything else
# (out of memory, disk, the process gone) stops the load with its resume point.
DATA_ERRORS = frozenset({"ConversionException", "InvalidInputException", "ConstraintException",
                         "OutOfRangeException", "TypeMismatchException", "SerializationException"})


@dataclass
class _Spool:
    table: Table
    path: Path
    f: BinaryIO
    rows: int = 0
    size: int = 0
    first: int = 0  # ordinal of the first row in the spool


@dataclass
class _Batch:
    table: Table
    path: Path
    rows: int
    first: int


class DuckDBLoadTarget:
    def __init__(self, url: str, registry: Registry, summary: Summary, rejects: RejectSink,
                 locate: Callable[[int], tuple[str, int]], batch_rows: int = BATCH_ROWS) -> None:
        from ..tables import ensure_tables, open_target

        self.url = url
        self.summary = summary
        self.rejects = rejects
        self.locate = locate
        self.batch_rows = batch_rows
        target: Any = open_target(url)
        try:
            ensure_tables(target, registry)
            target.con.execute(f"CREATE TABLE IF NOT EXISTS {KEYS_TABLE} "
                               "(table_name VARCHAR NOT NULL, row_key VARCHAR NOT NULL)")
            path = str(target.path)
        finally:
            target.close()  # the executor (a child process) owns the file from here on
        # One DuckDB thread and a memory cap: the other core parses the next batch, and the
        # load must fit beside the interpreter in a small container.
        self._exec = Executor(path, (f"SET memory_limit = '{MEMORY_LIMIT}'", "SET threads = 1"))
        # Spool files beside the database: same disk, and a load writes nowhere else.
        self._tmp = Path(tempfile.mkdtemp(prefix=".shipper-load-", dir=Path(path).parent))
        self._spools: dict[str, _Spool] = {}
        self._sql: dict[str, tuple[str, ...]] = {}
        self._seq = 0
        self._queue: queue.Queue[_Batch | None] = queue.Queue(maxsize=1)
        self._inflight: dict[int, int] = {}  # batch first ordinal -> rows
        self._lock = threading.Lock()
        self._error: BaseException | None = None
        self._worker = threading.Thread(target=self._work, name="shipper-load-duckdb", daemon=True)
        self._worker.start()

    # -- adding rows ---------------------------------------------------------------------
    def add(self, table: Table, key: str, ordinal: int, raw: bytes | None, row: dict[str, Any]) -> None:
        spool = self._spools.get(table.name)
        if spool is None:
            spool = self._spools[table.name] = self._new_spool(table, ordinal)
        elif not spool.rows:
            spool.first = ordinal
        data = b'{"k":%b,"p":%d,"r":%b}\n' % (orjson.dumps(key), ordinal,
                                              raw if raw is not None else orjson.dumps(row))
        spool.f.write(data)
        spool.rows += 1
        spool.size += len(data)
        if spool.rows >= self.batch_rows or spool.size >= BATCH_BYTES:
            self._hand_off(spool)

    def add_encoded(self, table: Table, first: int, lines: list[bytes]) -> None:
        """Rows already encoded as spool lines by the loader's hot loop (see `add`)."""
        spool = self._spools.get(table.name)
        if spool is None:
            spool = self._spools[table.name] = self._new_spool(table, first)
        elif not spool.rows or first < spool.first:
            spool.first = first if not spool.rows else min(first, spool.first)
        data = b"".join(lines)
        spool.f.write(data)
        spool.rows += len(lines)
        spool.size += len(data)
        if spool.rows >= self.batch_rows or spool.size >= BATCH_BYTES:
            self._hand_off(spool)

    def _new_spool(self, table: Table, first: int) -> _Spool:
        self._seq += 1
        path = self._tmp / f"{table.name}.{self._seq}.ndjson"
        return _Spool(table, path, open(path, "wb", buffering=SPOOL_BUFFER), first=first)

    def _hand_off(self, spool: _Spool) -> None:
        spool.f.close()
        batch = _Batch(spool.table, spool.path, spool.rows, spool.first)
        with self._lock:
            self._inflight[batch.first] = batch.rows
        self._raise_if_failed()
        self._queue.put(batch)
        fresh = self._new_spool(spool.table, 0)
        spool.path, spool.f, spool.rows, spool.size = fresh.path, fresh.f, 0, 0

    def _raise_if_failed(self) -> None:
        if self._error is not None:
            raise LoadAborted(f"DuckDB insert failed: {self._error}")

    def pending(self) -> list[int]:
        """Ordinals of the first row not yet committed, per open batch: where a re-run resumes."""
        with self._lock:
            firsts = list(self._inflight)
        return firsts + [s.first for s in self._spools.values() if s.rows]

    def flush(self) -> None:
        for spool in list(self._spools.values()):
            if spool.rows:
                self._hand_off(spool)
        self._queue.join()
        self._raise_if_failed()

    def close(self) -> None:
        self._queue.put(None)
        self._worker.join()
        for spool in self._spools.values():
            spool.f.close()
            spool.path.unlink(missing_ok=True)
        for p in self._tmp.glob("*"):
            p.unlink(missing_ok=True)
        try:
            os.rmdir(self._tmp)
        except OSError:
            pass
        self._exec.close()
        self.summary.target_peak_mb = self._exec.child_peak_kib / 1024

    # -- the worker ----------------------------------------------------------------------
    def _work(self) -> None:
        while True:
            batch = self._queue.get()
            try:
                if batch is None:
                    return
                if self._error is None:
                    try:
                        self._load_batch(batch)
                    except BaseException as exc:  # noqa: BLE001 - handed to the main thread
                        self._error = exc
                    else:
                        with self._lock:
                            self._inflight.pop(batch.first, None)
                batch.path.unlink(missing_ok=True)
            finally:
                self._queue.task_done()

    def _load_batch(self, batch: _Batch) -> None:
        try:
            self._load_file(batch.table, batch.path, batch.rows)
        except _Refused:
            self._bisect(batch)

    def _statements(self, table: Table) -> tuple[str, ...]:
        sql = self._sql.get(table.name)
        if sql is None:
            inner = ", ".join(f"{quote(f.name)} {column_type(f)}" for f in table.fields)
            spec = "{'k': 'VARCHAR', 'p': 'BIGINT', 'r': '" + f"STRUCT({inner})".replace("'", "''") + "'}"
            names = ", ".join(f"r.{quote(f.name)}" for f in table.fields)
            stage = (f"CREATE OR REPLACE TEMP TABLE __shipper_stage AS "
                     f"SELECT * FROM read_json(?, columns={spec}, format='newline_delimited', "
                     f"maximum_object_size={MAX_OBJECT})")
            # Only the rows whose key is not loaded yet; both inserts see the same set, since
            # the keys are added last.
            new = (f"FROM __shipper_stage s ANTI JOIN "
                   f"(SELECT row_key FROM {KEYS_TABLE} WHERE table_name = $t) k ON s.k = k.row_key")
            insert = f"INSERT INTO {quote(table.name)} SELECT {names} {new}"
            keys = f"INSERT INTO {KEYS_TABLE} SELECT $t, s.k {new}"
            sql = self._sql[table.name] = (stage, insert, keys)
        return sql

    def _load_file(self, table: Table, path: Path, rows: int) -> None:
        stage, insert, keys = self._statements(table)
        params = {"t": table.name}
        try:
            first = self._exec.run([("BEGIN", None, False), (stage, [str(path)], False), (COUNT_DUPLICATES, None, True)])
            dups = first[-1][0]
            done = self._exec.run(([(DEDUPE, None, False)] if dups else [])
                                  + [(insert, params, True), (keys, params, False),
                                     ("DROP TABLE __shipper_stage", None, False), ("COMMIT", None, False)])
        except ExecError as exc:
            if exc.kind not in DATA_ERRORS:
                raise  # not a row's fault (memory, disk, the process): stop and say where to resume
            raise _Refused(str(exc)) from None
        new = done[-4][0]
        with self._lock:
            t = self.summary.table(table.name)
            t.inserted += new
            t.duplicates += rows - new

    def _bisect(self, batch: _Batch) -> None:
        """Isolate the rows DuckDB refuses; load the others. Rare, so simple beats fast."""
        with open(batch.path, "rb") as f:
            lines = f.read().splitlines(keepends=True)
        part = batch.path.with_suffix(".part")

        def attempt(chunk: list[bytes]) -> None:
            with open(part, "wb") as out:
                out.writelines(chunk)
            try:
                self._load_file(batch.table, part, len(chunk))
            except _Refused as exc:
                if len(chunk) > 1:
                    mid = len(chunk) // 2
                    attempt(chunk[:mid])
                    attempt(chunk[mid:])
                    return
                try:
                    obj = orjson.loads(chunk[0])
                    source, line = self.locate(int(obj["p"]))
                    row = obj["r"]
                except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
                    source, line, row = "", 0, chunk[0].decode("utf-8", "replace")
                with self._lock:
                    self.rejects.row(source, line, batch.table.name, f"refused by DuckDB: {exc}", row)
                    self.summary.reject("refused by the target")

        attempt(lines)
        part.unlink(missing_ok=True)


class _Refused(Exception):
    pass
