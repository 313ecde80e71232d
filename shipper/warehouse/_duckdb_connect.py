"""Opening a DuckDB file: in UTC, with one line saying why not when it cannot be opened.

Its own module because both sides of a load open the file: the backend in the command's process
and the child that inserts the spooled batches (`_duckdb_exec`), which must not import the
backend that starts it.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from ._errors import WarehouseError, require

_LOCKED = re.compile(r"Conflicting lock is held in (.*?) \(PID (\d+)\)")


def connect(path: str | Path, *, read_only: bool = False, config: dict[str, Any] | None = None) -> Any:
    """A DuckDB connection in UTC, or one line saying why not (another process holds the file...)."""
    duckdb = require("duckdb")
    config = dict(config or {})
    lock = config.pop("lock_configuration", False)
    try:
        con = duckdb.connect(str(path), read_only=read_only, config=config)
    except duckdb.Error as exc:
        raise WarehouseError(open_error(str(path), str(exc))) from None
    con.execute("SET TimeZone = 'UTC'")
    if lock:  # after the time zone: from here on the query cannot change any setting
        con.execute("SET lock_configuration = true")
    return con


def open_error(path: str, message: str) -> str:
    m = _LOCKED.search(message)
    if m:
        return (f"{path} is in use by another process (PID {m[2]}: {m[1]}); wait for it to finish "
                "(a load still running) or stop it")
    return f"cannot open {path}: {message.splitlines()[0]}"
