"""Write rows into a DuckDB file: columnar batches, and de-duplication so a re-run adds nothing.

Why this path: `executemany` costs a round trip per row. Instead each row is appended to a
per-table spool file as one NDJSON line `{"k": key, "p": ordinal, "r": <the row's JSON>}` (the
app's line goes in as it was read, never re-serialized). A flush reads the batch with
`read_json` (the row typed as a STRUCT of the table's columns, so keys the table lacks, such as
the routing key, are ignored), drops rows whose key is already loaded (anti-join on the side
table `_shipper_loaded`) and inserts the rest with their keys, in one transaction: a batch is
loaded with its keys or not at all, so a re-run after an interruption adds each row once.

A key already loaded, or seen twice in one batch, with other content (the row's values, less
the fields added in transit such as the container name) is not a duplicate: it is refused
("log_id ... already loaded with different content") and goes to the reject file.

Flushes run on one worker thread, their statements in a child process (`_duckdb_exec`), so
parsing the next batch overlaps with inserting the last; at most one batch waits.

If DuckDB refuses a batch (a value the registry check let through but DuckDB cannot convert, a
line with a key twice), the batch is split in halves until the refused rows are isolated; they
are reported with DuckDB's reason and the rest is loaded.

Spool files live in `.shipper-load-*` beside the database, each directory holding a `lock`
file locked (flock) for the writer's life. A directory whose lock nobody holds belongs to a
load that was killed (SIGKILL leaves no chance to clean up): the next writer removes it.
"""

from __future__ import annotations

import fcntl
import os
import queue
import re
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import orjson

from ..registry import Table
from ._duckdb_ddl import column_type, quote, stored_value
from ._duckdb_exec import ExecError, Executor
from ._errors import LoadAborted
from ._protocol import Encoder, WriteReport

KEYS_TABLE = "_shipper_loaded"
SPOOL_PREFIX = ".shipper-load-"
BATCH_ROWS = 100_000
BATCH_BYTES = 48 << 20
# read_json's buffer holds two objects of this size: a row is at most 9 MiB (the loader's line cap).
MAX_OBJECT = 16 << 20
# Few large writes: a write call per row costs more than the row's parse (the GIL is
# handed over on every syscall while the worker thread is busy).
SPOOL_BUFFER = 4 << 20
# DuckDB's own memory cap: the load must fit beside the interpreter in a small container. DuckDB
# works on chunks of 2,048 rows, every column a vector: a chunk of a wide table costs ~2,048 x 24
# bytes per column, so the cap grows with the widest table (see MAX_LOCAL_COLUMNS in the registry
# rules for where that stops fitting).
MEMORY_LIMIT_MB = 128
CHUNK_BYTES_PER_COLUMN = 2048 * 24


def memory_limit_mb(columns: int) -> int:
    return MEMORY_LIMIT_MB + (columns * CHUNK_BYTES_PER_COLUMN * 2 >> 20)
# A spool directory without a lock file is someone's being made, or an older version's.
UNLOCKED_GRACE_S = 60.0

# DuckDB errors that a row's value causes: the batch is split to find the row. Anything else
# (out of memory, disk, the process gone) stops the load with its resume point.
DATA_ERRORS = frozenset({"ConversionException", "InvalidInputException", "ConstraintException",
                         "OutOfRangeException", "TypeMismatchException", "SerializationException"})
_DUPLICATE_KEY = re.compile(r'has duplicate key "((?:[^"\\]|\\.)*)"')

DUPLICATE_KEY_KIND = "duplicate key in the record"
CONFLICT_KIND = "log_id already loaded with different content"
REFUSED_KIND = "refused by the target"


def duplicate_key_reason(key: str) -> str:
    return (f"duplicate key {key!r} in the record (which value counts is not defined: fluentd "
            "would keep the last one and lose the other)")


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


def _encode(key: str, ordinal: int, raw: bytes | None, row: dict[str, Any],
            dumps: Any = orjson.dumps) -> bytes:
    return b'{"k":%b,"p":%d,"r":%b}\n' % (dumps(key), ordinal, raw if raw is not None else dumps(row))


def remove_stale_spools(directory: Path) -> list[Path]:
    """Remove the spool directories of loads that are gone (their lock is free)."""
    removed = []
    for d in directory.glob(SPOOL_PREFIX + "*"):
        if not d.is_dir():
            continue
        lock = d / "lock"
        try:
            fd = os.open(lock, os.O_RDWR)
        except FileNotFoundError:
            try:
                if time.time() - d.stat().st_mtime < UNLOCKED_GRACE_S:
                    continue
            except OSError:
                continue
        except OSError:
            continue
        else:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)
                continue  # a load still running
            os.close(fd)
        shutil.rmtree(d, ignore_errors=True)
        removed.append(d)
    return removed


class DuckDBWriter:
    def __init__(self, path: Path, report: WriteReport, *, batch_rows: int = BATCH_ROWS,
                 identity_ignores: frozenset[str] = frozenset(), columns: int = 0) -> None:
        self.report = report
        self.batch_rows = batch_rows
        self.identity_ignores = identity_ignores
        self.requests = 0
        self.process_peak_mb = 0.0
        self._exec = Executor(str(path), (f"SET memory_limit = '{memory_limit_mb(columns)}MB'",
                                          "SET threads = 1"))
        try:
            self._exec.run([((f"CREATE TABLE IF NOT EXISTS {KEYS_TABLE} "
                             "(table_name VARCHAR NOT NULL, row_key VARCHAR NOT NULL)"), None, False)])
            # Spool files beside the database: same disk, and a load writes nowhere else. Made
            # after the child process is forked, so that it does not inherit the lock.
            remove_stale_spools(path.resolve().parent)
            self._tmp = Path(tempfile.mkdtemp(prefix=SPOOL_PREFIX, dir=path.resolve().parent))
            self._lock_fd = os.open(self._tmp / "lock", os.O_RDWR | os.O_CREAT, 0o600)
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX)
        except BaseException:
            self._exec.close()
            raise
        self._spools: dict[str, _Spool] = {}
        self._sql: dict[str, dict[str, str]] = {}
        self._seq = 0
        self._queue: queue.Queue[_Batch | None] = queue.Queue(maxsize=1)
        self._inflight: dict[int, int] = {}  # batch first ordinal -> rows
        self._lock = threading.Lock()
        self._error: BaseException | None = None
        self._closed = False
        self._worker = threading.Thread(target=self._work, name="shipper-load-duckdb", daemon=True)
        self._worker.start()

    # -- adding rows ---------------------------------------------------------------------
    def encoder(self, table: Table) -> Encoder:
        return _encode

    def write(self, table: Table, first: int, rows: list[Any]) -> None:
        spool = self._spools.get(table.name)
        if spool is None:
            spool = self._spools[table.name] = self._new_spool(table, first)
        elif not spool.rows:
            spool.first = first
        data = b"".join(rows)
        spool.f.write(data)
        spool.rows += len(rows)
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
        if self._closed:
            return
        self._closed = True
        try:
            self._queue.put(None)
            self._worker.join()
        finally:
            for spool in self._spools.values():
                spool.f.close()
            shutil.rmtree(self._tmp, ignore_errors=True)
            os.close(self._lock_fd)
            self._exec.close()
            self.process_peak_mb = self._exec.child_peak_kib / 1024

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

    def _statements(self, table: Table) -> dict[str, str]:
        """The SQL of a batch. The staged row's columns are unnested at once into top-level
        columns: every `r.col` on a STRUCT of N fields would carry the N-field type, and a
        statement naming all N columns would cost N^2 (1,000 columns: 370 MB, 5,000: 6.7 GB)."""
        sql = self._sql.get(table.name)
        if sql is not None:
            return sql
        inner = ", ".join(f"{quote(f.name)} {column_type(f)}" for f in table.fields)
        spec = "{'k': 'VARCHAR', 'p': 'BIGINT', 'r': '" + f"STRUCT({inner})".replace("'", "''") + "'}"
        values = ", ".join(stored_value(f, f"s.{quote(f.name)}") for f in table.fields)
        ident = [f for f in table.fields if f.name not in self.identity_ignores]

        def pack(fields: list, value: Any) -> str:
            return "struct_pack(" + ", ".join(f"{quote(f.name)} := {value(f)}" for f in fields) + ")"

        staged = lambda f: stored_value(f, f"s.{quote(f.name)}")
        content = pack(ident, staged)
        row_json = f"to_json({pack(list(table.fields), lambda f: f's.{quote(f.name)}')})::VARCHAR"
        loaded = f"(SELECT row_key FROM {KEYS_TABLE} WHERE table_name = $t)"
        new = f"FROM __shipper_stage s ANTI JOIN {loaded} k ON s.__shipper_k = k.row_key"
        sql = {
            "stage": (f"CREATE OR REPLACE TEMP TABLE __shipper_stage AS "
                      f"SELECT k AS __shipper_k, p AS __shipper_p, unnest(r) FROM read_json(?, columns={spec}, "
                      f"format='newline_delimited', maximum_object_size={MAX_OBJECT})"),
            "counts": (f"SELECT count(*) - count(DISTINCT __shipper_k), "
                       f"(SELECT count(*) FROM __shipper_stage s SEMI JOIN {loaded} k ON s.__shipper_k = k.row_key) "
                       "FROM __shipper_stage"),
            # The same key twice in one batch: the first (by line) stays; a later one with the
            # same content is a duplicate, with other content a conflict.
            "rank": (f"CREATE OR REPLACE TEMP TABLE __shipper_ranked AS SELECT s.*, "
                     f"row_number() OVER w AS __shipper_n, {content} AS __shipper_c, "
                     f"first_value({content}) OVER w AS __shipper_c0 "
                     f"FROM __shipper_stage s WINDOW w AS (PARTITION BY __shipper_k ORDER BY __shipper_p)"),
            "batch_conflicts": (f"SELECT __shipper_p, {row_json} FROM __shipper_ranked s "
                                "WHERE __shipper_n > 1 AND __shipper_c IS DISTINCT FROM __shipper_c0 "
                                "ORDER BY __shipper_p"),
            "keep_first": ("CREATE OR REPLACE TEMP TABLE __shipper_stage AS SELECT * EXCLUDE "
                           "(__shipper_n, __shipper_c, __shipper_c0) FROM __shipper_ranked WHERE __shipper_n = 1"),
            "insert": f"INSERT INTO {quote(table.name)} SELECT {values} {new}",
            "keys": f"INSERT INTO {KEYS_TABLE} SELECT $t, s.__shipper_k {new}",
            "drop": "DROP TABLE IF EXISTS __shipper_ranked; DROP TABLE __shipper_stage",
        }
        id_field = table.insert_id_field
        if id_field and table.field(id_field) is not None:
            # A key already loaded: the row under it must hold the same content.
            sql["loaded_conflicts"] = (
                f"SELECT s.__shipper_p, {row_json} FROM __shipper_stage s "
                f"JOIN {quote(table.name)} t ON t.{quote(id_field)} = s.__shipper_k "
                f"WHERE s.__shipper_k IN {loaded} AND {content} IS DISTINCT FROM "
                f"{pack(ident, lambda f: f't.{quote(f.name)}')} ORDER BY s.__shipper_p")
        self._sql[table.name] = sql
        return sql

    def _load_file(self, table: Table, path: Path, rows: int) -> None:
        sql = self._statements(table)
        params = {"t": table.name}
        conflicts: list[tuple[int, str]] = []
        try:
            dups, known = self._exec.run([("BEGIN", None, False), (sql["stage"], [str(path)], False),
                                          (sql["counts"], params, True)])[-1]
            steps = []
            if dups:
                steps += [(sql["rank"], None, False), (sql["batch_conflicts"], None, "all"),
                          (sql["keep_first"], None, False)]
            if known and "loaded_conflicts" in sql:
                steps.append((sql["loaded_conflicts"], params, "all"))
            found = self._exec.run(steps) if steps else []
            for (_, _, fetch), got in zip(steps, found):
                if fetch == "all":
                    conflicts += got
            done = self._exec.run([(sql["insert"], params, True), (sql["keys"], params, False),
                                   (sql["drop"], None, False), ("COMMIT", None, False)])
        except ExecError as exc:
            if exc.kind not in DATA_ERRORS:
                raise  # not a row's fault (memory, disk, the process): stop and say where to resume
            raise _Refused(str(exc)) from None
        new = done[0][0]
        with self._lock:
            for p, row in conflicts:
                self.report.refused(int(p), table.name, CONFLICT_KIND, _conflict_reason(table, row),
                                    orjson.loads(row))
            self.report.loaded(table.name, new, rows - new - len(conflicts))

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
                self._refuse_line(batch.table, chunk[0], str(exc))

        attempt(lines)
        part.unlink(missing_ok=True)

    def _refuse_line(self, table: Table, line: bytes, message: str) -> None:
        m = _DUPLICATE_KEY.search(message)
        ordinal, row = _spool_line_parts(line)
        with self._lock:
            if m:
                self.report.refused(ordinal, table.name, DUPLICATE_KEY_KIND,
                                    duplicate_key_reason(m[1]), row)
            else:
                self.report.refused(ordinal, table.name, REFUSED_KIND, f"refused by DuckDB: {message}", row)


def _spool_line_parts(line: bytes) -> tuple[int, Any]:
    """(ordinal, row) of a spool line; the row as its bytes when they do not parse as a record."""
    m = re.match(rb'\{"k":"(?:[^"\\]|\\.)*","p":(\d+),"r":', line)
    if m is None:
        return 0, line.rstrip(b"\n")
    raw = line[m.end():].rstrip(b"\n")[:-1]
    try:
        return int(m[1]), orjson.loads(raw)
    except orjson.JSONDecodeError:
        return int(m[1]), raw


def _conflict_reason(table: Table, row_json: str) -> str:
    key = table.insert_id_field or "log_id"
    try:
        value = orjson.loads(row_json).get(key)
    except (orjson.JSONDecodeError, AttributeError):
        value = None
    return (f"{key} {value!r} was already loaded with different content (a log_id names one "
            "record; this line is kept here instead of replacing or hiding the first)")


class _Refused(Exception):
    pass
