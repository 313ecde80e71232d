"""`shipper load`: JSON lines (app stdout, Docker fluentd driver records, fluentd backup chunks
and secondary files) into BigQuery or a local DuckDB file, routed and judged as in production.

    summary = load(["app.log"], "duckdb:///tmp/logs.duckdb")

Every line ends in exactly one place: a table, or the reject file with its reason, source and
line number. Memory stays flat (lines are read in blocks, rows are spooled in bounded batches),
and a re-run of an interrupted load adds no row twice (per-row keys; see `_records.row_key`).
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, BinaryIO

from ..registry import Registry, Table, load_registry
from ._bigquery import LoadAborted
from ._records import now_rfc3339, parse_line, row_key
from ._reader import LineReader, Oversize
from ._rejects import RejectSink
from ._summary import Progress, Summary
from ._validate import Check, checker_for

__all__ = ["LoadAborted", "MAX_LINE", "Summary", "default_rejects_path", "load"]

# One row may not exceed BigQuery's 10 MB insert limit; keep room for the request around it.
MAX_LINE = 9 * 1024 * 1024
STDIN = "-"


def default_rejects_path(target: str) -> Path:
    """Next to the target: `x.duckdb` -> `x.rejects.jsonl`; BigQuery -> `./PROJECT.DATASET.rejects.jsonl`."""
    from ..tables import parse_target

    t = parse_target(target)
    if t.kind == "duckdb":
        p = Path(t.path)
        return p.with_name(p.stem + ".rejects.jsonl")
    return Path(f"{t.project}.{t.dataset}.rejects.jsonl")


def _open_sink(target: str, registry: Registry, summary: Summary, rejects: RejectSink,
               bigquery_client: Any, batch_rows: int | None) -> Any:
    from ..tables import parse_target

    if parse_target(target).kind == "duckdb":
        from ._duckdb import DuckDBLoadTarget

        kw = {"batch_rows": batch_rows} if batch_rows else {}
        return DuckDBLoadTarget(target, registry, summary, rejects, **kw)
    from ._bigquery import BigQueryLoadTarget

    return BigQueryLoadTarget(target, summary, rejects, client=bigquery_client)


def load(sources: Sequence[str], target: str, *, rejects: Path | str | None = None,
         progress: bool | None = None, registry: Registry | None = None,
         stdin: BinaryIO | None = None, max_line: int = MAX_LINE,
         bigquery_client: Any = None, batch_rows: int | None = None) -> Summary:
    """Load every source (a path, or "-" for stdin) into `target`; return the summary.

    Raises `LoadAborted` (naming the source and line to resume from) when the target fails in
    a way that rejecting rows cannot fix; rows before that point are loaded.
    """
    started = time.monotonic()
    registry = registry or load_registry(full_check=False)
    reject_path = Path(rejects) if rejects else default_rejects_path(target)
    summary = Summary(target=target, rejects_path=str(reject_path))
    sink_rejects = RejectSink(reject_path)
    for src in sources:
        if src != STDIN and not Path(src).is_file():
            raise FileNotFoundError(f"no such file: {src}")
    if progress is None:
        progress = sys.stderr.isatty()
    total = sum(os.path.getsize(s) for s in sources if s != STDIN) if STDIN not in sources else None
    bar = Progress(total) if progress else None
    sink = _open_sink(target, registry, summary, sink_rejects, bigquery_client, batch_rows)
    tables = {t.name: t for t in registry.tables}
    checks: dict[str, Check] = {}
    order = {name: i for i, name in enumerate(_display(s) for s in sources)}
    position = ("", 0)
    done_before = 0
    try:
        for src in sources:
            name = _display(src)
            stream = (stdin or sys.stdin.buffer) if src == STDIN else open(src, "rb")
            try:
                reader = LineReader(stream, max_line)
                tick = (lambda: bar.update(done_before + reader.bytes_read, summary.lines)) if bar else None
                for line in reader:
                    position = (name, line.number)
                    _one(line, name, summary, sink, sink_rejects, tables, checks)
                    if tick is not None and not line.number & 1023:
                        tick()
                done_before += reader.bytes_read
            finally:
                if src != STDIN:
                    stream.close()
        sink.flush()
    except KeyboardInterrupt:
        _abort(sink, summary, order, position, "interrupted", flush=True)
    except LoadAborted as exc:
        _abort(sink, summary, order, position, str(exc), flush=False)
    finally:
        if bar:
            bar.update(done_before, summary.lines, force=True)
            bar.close()
        sink_rejects.close()
        summary.seconds = time.monotonic() - started
        sink.close()
    return summary


def _display(src: str) -> str:
    return "<stdin>" if src == STDIN else src


def _reject_line(rejects: RejectSink, summary: Summary, source: str, number: int, table: str,
                 kind: str, reason: str, data: bytes) -> None:
    rejects.line(source, number, table, reason, data)
    summary.rejected[kind] += 1


def _one(line: Any, source: str, summary: Summary, sink: Any, rejects: RejectSink,
         tables: dict[str, Table], checks: dict[str, Check]) -> None:
    """Route, judge and hand one line to the sink, or reject it with its reason."""
    summary.lines += 1
    data = line.data
    if type(data) is Oversize:
        rejects.oversize(source, line.number, f"line longer than the {MAX_LINE // (1024 * 1024)} MiB "
                         "row limit (BigQuery: 10 MB per row and per request)", data)
        summary.rejected["line over the row size limit"] += 1
        return
    if not data.strip():
        summary.blank += 1
        return
    parsed = parse_line(data, line.complete, _received)
    if parsed.reason:
        _reject_line(rejects, summary, source, line.number, "", parsed.kind, parsed.reason, data)
        return
    table = tables.get(parsed.table)
    if table is None:
        _reject_line(rejects, summary, source, line.number, parsed.table, "unknown table",
                     f"unknown table {parsed.table!r} (registry has: {', '.join(sorted(tables))})", data)
        return
    check = checks.get(table.name)
    if check is None:
        check = checks[table.name] = checker_for(table)
    err = check(parsed.row)
    if err:
        _reject_line(rejects, summary, source, line.number, table.name,
                     f"does not fit {table.name}", f"does not fit {table.name}: {err}", data)
        return
    key = row_key(table.name, parsed.row, parsed.synthetic_time, f"{source}:{line.number}")
    sink.add(table, parsed.row, key, source, line.number)


_received: Callable[[], str] = now_rfc3339


def _abort(sink: Any, summary: Summary, order: dict[str, int], position: tuple[str, int],
           why: str, flush: bool) -> None:
    if flush:
        try:
            sink.flush()
            position = (position[0], position[1] + 1)
        except Exception:  # noqa: BLE001 - the resume point below still holds
            pass
    points = [*sink.pending(), position]
    src, line = min(points, key=lambda p: (order.get(p[0], 0), p[1]))
    summary.stopped_at = f"{src}:{line}"
    exc = LoadAborted(f"{why}; stopped at {src} line {line}: every row before it is loaded. "
                      "Re-run the same command to finish: rows already loaded are skipped by their key")
    exc.summary = summary
    raise exc
