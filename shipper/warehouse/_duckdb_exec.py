"""Where the DuckDB statements of a load run: in a child process, or in this one.

Why a child process: measured here, DuckDB's Python client and the loader's parsing thread do
not overlap well in one process (the load used ~105% of a CPU with DuckDB on a worker thread).
In a child process DuckDB gets its own core and its own interpreter, and the parent only waits
on a pipe. The parent sends a list of statements; the child runs them in order and answers
with the rows asked for, or with DuckDB's error (after a ROLLBACK). Only plain data crosses the
pipe (SQL text, parameters, numbers, strings).

The child never outlives its parent, however the parent ends (issue 15: a `kill -9`ed load left
its child holding the database lock for good, waiting on a pipe whose both ends it held):
- it asks the kernel for SIGKILL when the parent dies (`prctl(PR_SET_PDEATHSIG)`), and checks
  that the parent did not die before it asked;
- it closes its copy of the parent's end of the pipe, so a parent gone means EOF, not a wait;
- it ignores SIGINT and SIGTERM: Ctrl-C or a stop reaches the whole process group, and the
  parent decides (it commits what it has and says where to resume); a child killed mid-batch
  would only lose that batch's work. A killed child's open transaction is rolled back by DuckDB
  when the file is next opened, so the database stays consistent.

`fork` is used (Linux): the child starts with the parent's imports and no DuckDB connection
(the parent closes its own before forking). Where fork is not available, or for `:memory:`,
the statements run in-process on the same interface.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
from typing import Any

from .._memory import peak_rss_kib

# (sql, parameters or None, fetch: False | True (one row) | "all")
Statement = tuple[str, Any, Any]

PR_SET_PDEATHSIG = 1


class ExecError(Exception):
    """DuckDB refused the statements; `kind` is the exception class name."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


def _run(con: Any, statements: list[Statement]) -> list[Any]:
    import duckdb

    out: list[Any] = []
    try:
        for sql, params, fetch in statements:
            cur = con.execute(sql, params) if params is not None else con.execute(sql)
            out.append(cur.fetchall() if fetch == "all" else cur.fetchone() if fetch else None)
    except duckdb.Error as exc:
        try:
            con.execute("ROLLBACK")
        except duckdb.Error:
            pass
        raise ExecError(type(exc).__name__, str(exc).splitlines()[0]) from None
    return out


def _connect(path: str, settings: tuple[str, ...]) -> Any:
    from ._duckdb_connect import connect

    con = connect(path)  # in UTC
    for s in settings:
        con.execute(s)
    return con


def die_with_parent(parent_pid: int) -> None:
    """SIGKILL this process when its parent dies (Linux); exit now if it already has."""
    if sys.platform.startswith("linux"):
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent_pid:  # the parent died before the request above
        os._exit(1)


def _serve(conn: Any, other_end: Any, parent_pid: int, path: str,
           settings: tuple[str, ...]) -> None:  # pragma: no cover - runs in the child
    die_with_parent(parent_pid)
    other_end.close()  # else the parent's death would never show as EOF here
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    try:
        con = _connect(path, settings)
    except Exception as exc:  # noqa: BLE001 - reported to the parent
        conn.send(("error", type(exc).__name__, str(exc)))
        return
    conn.send(("ready",))
    while True:
        try:
            msg = conn.recv()
        except (EOFError, OSError):
            break
        if msg is None:
            break
        try:
            conn.send(("ok", _run(con, msg)))
        except ExecError as exc:
            conn.send(("error", exc.kind, str(exc)))
    con.close()
    try:
        conn.send(("bye", peak_rss_kib()))
        conn.close()
    except OSError:
        pass


class Executor:
    """`run(statements) -> [row, rows or None, ...]`; raises ExecError; `close()`."""

    def __init__(self, path: str, settings: tuple[str, ...] = ()) -> None:
        self._proc: Any = None
        self._con: Any = None
        self.child_peak_kib = 0  # the DuckDB process's peak RSS, known after close()
        if path != ":memory:" and sys.platform.startswith("linux"):
            ctx = multiprocessing.get_context("fork")
            parent, child = ctx.Pipe()
            self._proc = ctx.Process(target=_serve, args=(child, parent, os.getpid(), path, settings),
                                     name="shipper-load-duckdb", daemon=True)
            self._proc.start()
            child.close()
            self._conn = parent
            reply = parent.recv()
            if reply[0] != "ready":
                self._proc.join()
                self._proc = None
                from ._errors import WarehouseError

                raise WarehouseError(reply[2])
        else:
            self._con = _connect(path, settings)

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def run(self, statements: list[Statement]) -> list[Any]:
        if self._con is not None:
            return _run(self._con, statements)
        try:
            self._conn.send(statements)
            reply = self._conn.recv()
        except (EOFError, OSError) as exc:
            raise ExecError("ProcessError", f"the DuckDB process stopped: {exc}") from None
        if reply[0] == "ok":
            return reply[1]
        raise ExecError(reply[1], reply[2])

    def close(self) -> None:
        if self._con is not None:
            self._con.close()
            self._con = None
        if self._proc is not None:
            try:
                self._conn.send(None)
                reply = self._conn.recv()
                if reply[0] == "bye":
                    self.child_peak_kib = int(reply[1])
            except (OSError, EOFError):
                pass
            self._proc.join(timeout=60)
            if self._proc.is_alive():  # pragma: no cover
                self._proc.kill()
                self._proc.join()
            self._conn.close()
            self._proc = None
