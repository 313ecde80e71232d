"""`shipper load`: JSON lines (app stdout, Docker fluentd driver records, fluentd backup chunks
and secondary files) into BigQuery or a local DuckDB file, routed and judged as in production.

    summary = load(["app.log"], "duckdb:///tmp/logs.duckdb")

Every line ends in exactly one place: a table, or the reject file with its reason, source and
line number. Memory stays flat (lines are read in blocks, rows are spooled in bounded batches),
and a re-run of an interrupted load adds no row twice (per-row keys; see `_records.row_key`).
"""

from __future__ import annotations

import gc
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, BinaryIO

import orjson

from ..registry import ROUTING_KEY, Registry, load_registry
from ._bigquery import LoadAborted
from ._reader import LineReader, Oversize
from ._records import content_key, now_rfc3339, parse_line, row_key
from ._rejects import RejectSink
from ._routing import route_table
from ._summary import Progress, Summary
from ._validate import Check, checker_for, compile_fits

__all__ = ["MAX_LINE", "LoadAborted", "Summary", "default_rejects_path", "load"]

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
               locate: Callable[[int], tuple[str, int]], bigquery_client: Any,
               batch_rows: int | None) -> Any:
    from ..tables import parse_target

    if parse_target(target).kind == "duckdb":
        from ._duckdb import DuckDBLoadTarget

        kw = {"batch_rows": batch_rows} if batch_rows else {}
        return DuckDBLoadTarget(target, registry, summary, rejects, locate, **kw)
    from ._bigquery import BigQueryLoadTarget

    return BigQueryLoadTarget(target, summary, rejects, locate, client=bigquery_client)


def load(sources: Sequence[str], target: str, *, rejects: Path | str | None = None,
         progress: bool | None = None, registry: Registry | None = None,
         stdin: BinaryIO | None = None, max_line: int = MAX_LINE,
         bigquery_client: Any = None, batch_rows: int | None = None) -> Summary:
    """Load every source (a path, or "-" for stdin) into `target`; return the summary.

    Raises `LoadAborted` (naming the source and line to resume from, with `.summary`) when the
    target fails in a way that rejecting rows cannot fix; rows before that point are loaded.
    """
    for src in sources:
        if src != STDIN and not Path(src).is_file():
            raise FileNotFoundError(f"no such file: {src}")
    loader = _Loader(sources, target, registry or load_registry(full_check=False),
                     Path(rejects) if rejects else default_rejects_path(target), max_line)
    if progress is None:
        progress = sys.stderr.isatty()
    return loader.run(stdin, progress, bigquery_client, batch_rows)


def _peak_rss_mb() -> float:
    try:
        import resource
    except ImportError:  # pragma: no cover - not on Windows
        return 0.0
    kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kib / 1024 if sys.platform != "darwin" else kib / 1024 / 1024


def _display(src: str) -> str:
    return "<stdin>" if src == STDIN else src


class _Loader:
    """One load: the per-line loop, with a fast path for the common case (an app's JSON line
    that fits its table) and the careful path for everything else."""

    def __init__(self, sources: Sequence[str], target: str, registry: Registry,
                 reject_path: Path, max_line: int) -> None:
        self.sources = list(sources)
        self.target = target
        self.registry = registry
        self.max_line = max_line
        self.summary = Summary(target=target, rejects_path=str(reject_path))
        self.rejects = RejectSink(reject_path)
        self.tables = {t.name: t for t in registry.tables}
        self.fits = {t.name: compile_fits(t, frozenset({ROUTING_KEY})) for t in registry.tables}
        self.checks: dict[str, Check] = {}
        self.starts: list[tuple[int, str]] = []  # (ordinal of line 1, source name)
        self.ordinal = 0
        self.sink: Any = None
        self.encoded = False

    def locate(self, ordinal: int) -> tuple[str, int]:
        """Global line ordinal -> (source, line number)."""
        for start, name in reversed(self.starts):
            if ordinal >= start:
                return name, ordinal - start + 1
        return "", ordinal

    def run(self, stdin: BinaryIO | None, progress: bool, bigquery_client: Any,
            batch_rows: int | None) -> Summary:
        started = time.monotonic()
        total = None if STDIN in self.sources else sum(os.path.getsize(s) for s in self.sources)
        bar = Progress(total) if progress else None
        self.sink = _open_sink(self.target, self.registry, self.summary, self.rejects, self.locate,
                               bigquery_client, batch_rows)
        self.encoded = hasattr(self.sink, "add_encoded")
        done_before = 0
        # The loop allocates a dict per line and never makes a cycle: the cyclic collector
        # would only walk millions of live objects for nothing (~10% of the time).
        gc_was_enabled = gc.isenabled()
        gc.disable()
        try:
            for src in self.sources:
                stream = (stdin or sys.stdin.buffer) if src == STDIN else open(src, "rb")  # noqa: SIM115 - closed below
                try:
                    reader = LineReader(stream, self.max_line)
                    self.starts.append((self.ordinal + 1, _display(src)))
                    for lines, last_complete in reader.blocks():
                        self._block(lines, last_complete, self.starts[-1])
                        if bar:
                            bar.update(done_before + reader.bytes_read, self.ordinal)
                    done_before += reader.bytes_read
                finally:
                    if src != STDIN:
                        stream.close()
            self.sink.flush()
        except KeyboardInterrupt:
            self._abort("interrupted", flush=True)
        except LoadAborted as exc:
            self._abort(str(exc), flush=False)
        finally:
            if gc_was_enabled:
                gc.enable()
            if bar:
                bar.update(done_before, self.ordinal, force=True)
                bar.close()
            self.summary.lines = self.ordinal
            try:
                self.sink.close()
            finally:
                self.rejects.close()
                self.summary.seconds = time.monotonic() - started
                self.summary.peak_mb = _peak_rss_mb()
        return self.summary

    def _block(self, lines: list[Any], last_complete: bool, start: tuple[int, str]) -> None:
        """The hot loop: keep it flat (no call per line but the parse and the check).

        For a sink that takes encoded rows (DuckDB), a fitting app line is encoded here and
        handed over once per block and table: a method call and a file write per row would
        cost more than parsing the row.
        """
        loads, JSONDecodeError, dumps = orjson.loads, orjson.JSONDecodeError, orjson.dumps
        fits, tables, add = self.fits, self.tables, self.sink.add
        encoded: dict[str, list[Any]] | None = {} if self.encoded else None
        ordinal = self.ordinal
        last = len(lines) - 1
        try:
            for i, data in enumerate(lines):
                ordinal += 1
                if type(data) is bytes and data[:1] == b"{":
                    try:
                        obj = loads(data)
                    except JSONDecodeError:
                        obj = None
                    if type(obj) is dict and "log" not in obj:
                        name = route_table(obj)
                        check = fits.get(name)
                        if check is not None and check(obj):
                            log_id = obj.get("log_id")
                            key = (log_id if type(log_id) is str and 0 < len(log_id) <= 128
                                   else content_key(name, data))
                            if encoded is None:
                                add(tables[name], key, ordinal, data, obj)
                                continue
                            out = encoded.get(name)
                            if out is None:
                                out = encoded[name] = [ordinal]
                            out.append(b'{"k":%b,"p":%d,"r":%b}\n' % (dumps(key), ordinal, data))
                            continue
                self.ordinal = ordinal
                self._careful(data, last_complete or i < last, start)
            self.ordinal = ordinal
        finally:
            # Also on the way out of an interruption: rows parsed so far count as pending, and
            # the lines before the one being read when it came are done.
            self.ordinal = max(self.ordinal, ordinal - 1)
            for name, out in (encoded or {}).items():
                self.sink.add_encoded(tables[name], out[0], out[1:])

    def _reject(self, table: str, kind: str, reason: str, data: bytes) -> None:
        source, line = self.locate(self.ordinal)
        self.rejects.line(source, line, table, reason, data)
        self.summary.reject(kind)

    def _careful(self, data: Any, complete: bool, start: tuple[int, str]) -> None:
        """Everything that is not a fitting app line: route, judge, or reject with the reason."""
        if type(data) is Oversize:
            source, line = self.locate(self.ordinal)
            self.rejects.oversize(source, line, f"line longer than the {self.max_line:,}-byte row "
                                  "limit (BigQuery: 10 MB per row and per request)", data)
            self.summary.reject("line over the row size limit")
            return
        if not data.strip():
            self.summary.blank += 1
            return
        parsed = parse_line(data, complete, now_rfc3339)
        if parsed.reason:
            self._reject("", parsed.kind, parsed.reason, data)
            return
        table = self.tables.get(parsed.table)
        if table is None:
            self._reject(parsed.table, "unknown table",
                         f"unknown table {parsed.table!r} (registry has: {', '.join(sorted(self.tables))})",
                         data)
            return
        row = parsed.row
        if not self.fits[table.name](row):
            check = self.checks.get(table.name)
            if check is None:
                check = self.checks[table.name] = checker_for(table)
            err = check(row)  # the judge: the fast check only ever says "fits" for sure
            if err:
                self._reject(table.name, f"does not fit {table.name}", f"does not fit {table.name}: {err}",
                             data)
                return
        content = parsed.content
        if parsed.synthetic_time:
            source, line = self.locate(self.ordinal)
            content += f"@{source}:{line}".encode()
        self.sink.add(table, row_key(row, table.name, content), self.ordinal, None, row)

    def _abort(self, why: str, flush: bool) -> None:
        position = self.ordinal + 1
        if flush:
            try:
                self.sink.flush()
            except Exception:  # noqa: BLE001, S110 - the resume point below still holds
                pass
        pending = [p for p in self.sink.pending() if p]
        src, line = self.locate(min([*pending, position]))
        self.summary.stopped_at = f"{src}:{line}"
        exc = LoadAborted(f"{why}; stopped at {src} line {line}: every row before it is loaded. "
                          "Re-run the same command to finish: rows already loaded are skipped by their key")
        exc.summary = self.summary
        raise exc
