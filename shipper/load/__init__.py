"""`shipper load`: JSON lines (app stdout, Docker fluentd driver records, fluentd backup chunks
and secondary files, gzip or not) into a warehouse, routed and judged as in production.

    summary = load(["app.log"], "duckdb:///tmp/logs.duckdb")

Every line ends in exactly one place: a table, the reject file (with its reason, source and
line number), the blank count, or - the unfinished last line of a file still being written -
the waiting count, loaded by the next run. Memory stays flat (lines are read in blocks, rows
go to the warehouse's writer in bounded batches), and a re-run of an interrupted load adds no
row twice (per-row keys; see `_records.row_key`).

Stopping: Ctrl-C or SIGTERM finishes the block in hand, commits what is spooled and says where
to resume (a second signal stops at once, still cleaning up); SIGKILL leaves at most a spool
directory that the next load removes, and the warehouse's helper process dies with the loader.
"""

from __future__ import annotations

import gc
import signal
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO

import orjson

from .._memory import peak_rss_kib
from ..registry import DEFAULT_TABLE, ROUTING_KEY, Registry, load_registry
from ..warehouse import DUCKDB, LoadAborted, Warehouse, WarehouseUrl, open_warehouse, parse_url
from ._reader import LineReader, Oversize
from ._records import TRANSIT_FIELDS, content_key, keys_in, now_rfc3339, parse_line, row_key
from ._rejects import RejectSink
from ._sources import STDIN, STDIN_NAME, Opened, Source, resolve
from ._summary import Progress, Summary
from ._validate import Check, checker_for, compile_fits

__all__ = ["MAX_LINE", "STDIN", "LoadAborted", "Summary", "default_rejects_path", "load"]

# One row may not exceed BigQuery's 10 MB insert limit; keep room for the request around it.
MAX_LINE = 9 * 1024 * 1024

# BigQuery: how rows go in. `auto` streams (insertAll, billed per row) below LOAD_THRESHOLD bytes
# of input and uses load jobs (free, seconds to minutes per job) from there on, and for input of
# unknown size (stdin) streams: a pipe may never end, and a load job needs its whole spool.
AUTO, LOAD, STREAM = "auto", "load", "stream"
MODES = (AUTO, LOAD, STREAM)
LOAD_THRESHOLD = 32 * 1024 * 1024


def bigquery_mode(mode: str, sizes: list[int | None]) -> str:
    """The path a BigQuery load takes: `mode` when it is load or stream, else by input size."""
    if mode not in MODES:
        raise ValueError(f"mode {mode!r}: expected one of {', '.join(MODES)}")
    if mode != AUTO:
        return mode
    if None in sizes:
        return STREAM
    return LOAD if sum(s or 0 for s in sizes) >= LOAD_THRESHOLD else STREAM


def default_rejects_path(url: WarehouseUrl) -> Path:
    """Next to the target: `x.duckdb` -> `x.rejects.jsonl`; BigQuery -> `./PROJECT.DATASET.rejects.jsonl`."""
    if url.kind == DUCKDB:
        p = url.file
        return p.with_name(p.stem + ".rejects.jsonl")
    return Path(f"{url.project}.{url.dataset}.rejects.jsonl")


def load(sources: Sequence[str], target: str | WarehouseUrl | Warehouse, *,
         rejects: Path | str | None = None, progress: bool | None = None,
         registry: Registry | None = None, stdin: BinaryIO | None = None,
         stdin_name: str = STDIN_NAME, final: bool = False, max_line: int = MAX_LINE,
         batch_rows: int | None = None, timeout: float | None = None, mode: str = AUTO,
         job_bytes: int | None = None) -> Summary:
    """Load every source (a path, or "-" for stdin) into `target`; return the summary.

    Raises `LoadAborted` (naming the source and line to resume from, with `.summary`) when the
    target fails in a way that rejecting rows cannot fix, or a stop signal came; rows before
    that point are loaded. `timeout`: how long to retry an unreachable BigQuery endpoint.
    `mode` (BigQuery only): "stream" (insertAll), "load" (load jobs of `job_bytes` each) or
    "auto" (load jobs from LOAD_THRESHOLD bytes of input on).
    """
    if [s for s in sources].count(STDIN) > 1:
        raise ValueError("stdin (-) can be read only once")
    resolved = [resolve(s, stdin_name=stdin_name, final=final) for s in sources]
    loader = _Loader(resolved, registry or load_registry(full_check=False), max_line)
    if isinstance(target, (str, WarehouseUrl)):
        url = parse_url(target)
        options: dict[str, Any] = {"notice": loader.notice}
        if timeout is not None:
            options["timeout"] = timeout
        warehouse: Any = open_warehouse(url, **options) if url.kind != DUCKDB else open_warehouse(url)
    else:
        warehouse = target
        url = warehouse.url
    loader.start(url, Path(rejects) if rejects else default_rejects_path(url))
    if url.kind != DUCKDB:
        loader.write_options["mode"] = bigquery_mode(mode, [s.size for s in resolved])
        if job_bytes:
            loader.write_options["job_bytes"] = job_bytes
    elif mode != AUTO:
        raise ValueError(f"mode {mode!r} is for BigQuery targets (a DuckDB file is written one way)")
    if progress is None:
        progress = sys.stderr.isatty()
    with _stop_signals(loader):
        return loader.run(warehouse, stdin, progress, batch_rows)


class _Stop(KeyboardInterrupt):
    """A stop signal: handled like Ctrl-C (commit what is spooled, say where to resume)."""


@contextmanager
def _stop_signals(loader: _Loader) -> Iterator[None]:
    """SIGINT/SIGTERM set a flag the loader checks between blocks (nothing is left half done);
    a read that waits for input is interrupted at once; a second signal stops at once."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: Any) -> None:
        name = signal.Signals(signum).name
        if loader.stop_requested or loader.reading:
            loader.stop_requested = loader.stop_requested or name
            raise _Stop(name)
        loader.stop_requested = name

    before = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, h in before.items():
            signal.signal(s, h)


class _Loader:
    """One load: the per-line loop, with a fast path for the common case (an app's JSON line
    that fits its table) and the careful path for everything else. It is also the writer's
    `WriteReport`: the books (summary, reject file) are kept here."""

    def __init__(self, sources: list[Source], registry: Registry, max_line: int) -> None:
        self.sources = sources
        self.registry = registry
        self.max_line = max_line
        self.tables = {t.name: t for t in registry.tables}
        self.fits = {t.name: compile_fits(t, frozenset({ROUTING_KEY})) for t in registry.tables}
        self.checks: dict[str, Check] = {}
        self.starts: list[tuple[int, Source]] = []  # (ordinal of line 1, source)
        self.ordinal = 0
        self.writer: Any = None
        self.encoders: dict[str, Any] = {}
        self.stop_requested = ""
        self.reader: LineReader | None = None
        self._bar: Progress | None = None
        self._lock = threading.Lock()
        self.write_options: dict[str, Any] = {}

    @property
    def reading(self) -> bool:
        return self.reader is not None and self.reader.in_read

    def start(self, url: WarehouseUrl, reject_path: Path) -> None:
        self.summary = Summary(target=str(url), rejects_path=str(reject_path))
        self.rejects = RejectSink(reject_path)

    # -- WriteReport -----------------------------------------------------------------------
    def locate(self, ordinal: int) -> tuple[str, int]:
        """Global line ordinal -> (source, line number)."""
        for start, src in reversed(self.starts):
            if ordinal >= start:
                return src.name, ordinal - start + 1
        return "", ordinal

    def loaded(self, table: str, inserted: int, duplicates: int) -> None:
        with self._lock:
            t = self.summary.table(table)
            t.inserted += inserted
            t.duplicates += duplicates

    def refused(self, ordinal: int, table: str, kind: str, reason: str, row: Any) -> None:
        source, line = self.locate(ordinal)
        if type(row) is bytes:
            self.rejects.line(source, line, table, reason, row, kind)
        else:
            self.rejects.row(source, line, table, reason, row, kind)
        self.summary.reject(kind)

    def notice(self, text: str) -> None:
        if self._bar is not None:
            self._bar.stream.write("\n")
        print(f"shipper: {text}", file=sys.stderr, flush=True)

    # -- the run ---------------------------------------------------------------------------
    def run(self, warehouse: Any, stdin: BinaryIO | None, progress: bool, batch_rows: int | None) -> Summary:
        started = time.monotonic()
        sized = [s.size for s in self.sources]
        total = None if None in sized else sum(s or 0 for s in sized)
        bar = self._bar = Progress(total) if progress else None
        options: dict[str, Any] = {"identity_ignores": TRANSIT_FIELDS, **self.write_options}
        self.summary.mode = options.get("mode", "")
        if batch_rows:
            options["batch_rows"] = batch_rows
        self.writer = warehouse.writer(self.registry, self, **options)
        done_before = 0
        # The loop allocates a dict per line and never makes a cycle: the cyclic collector
        # would only walk millions of live objects for nothing (~10% of the time).
        gc_was_enabled = gc.isenabled()
        gc.disable()
        try:
            for src in self.sources:
                opened = Opened(src, stdin)
                try:
                    self.reader = reader = LineReader(opened.stream, self.max_line)
                    self.starts.append((self.ordinal + 1, src))
                    try:
                        for lines, last_complete in reader.blocks():
                            self._block(lines, last_complete, src)
                            if bar:
                                bar.update(done_before + opened.position(reader.bytes_read), self.ordinal)
                            if self.stop_requested:
                                raise _Stop(self.stop_requested)
                    except (EOFError, OSError) as exc:  # a gzip stream cut short or corrupt
                        if not opened.gzip:
                            raise
                        self.ordinal += 1
                        self.refused(self.ordinal, "", "unreadable gzip data",
                                     f"the rest of {src.name} cannot be read: {exc}", b"")
                    done_before += opened.position(reader.bytes_read)
                finally:
                    self.reader = None
                    opened.close()
            self.writer.flush()
        except KeyboardInterrupt as exc:
            why = f"stopped by {exc.args[0]}" if isinstance(exc, _Stop) else "interrupted"
            self._abort(why, flush=True)
        except LoadAborted as exc:
            self._abort(str(exc), flush=False)
        finally:
            if gc_was_enabled:
                gc.enable()
            if bar:
                bar.update(done_before, self.ordinal, force=True)
                bar.close()
                self._bar = None
            self.summary.lines = self.ordinal + self.summary.waiting
            try:
                self.writer.close()
            finally:
                self.rejects.close()
                self.summary.seconds = time.monotonic() - started
                self.summary.peak_mb = peak_rss_kib() / 1024
                self.summary.target_peak_mb = self.writer.process_peak_mb
                self.summary.requests = self.writer.requests
                self.summary.jobs = getattr(self.writer, "jobs", 0)
        return self.summary

    def _block(self, lines: list[Any], last_complete: bool, src: Source) -> None:
        """The hot loop: keep it flat (no call per line but the parse, the check and the encoding).

        Rows are handed to the writer once per block and table: a method call and a file write
        per row would cost more than parsing the row.
        """
        if not last_complete and src.may_grow:
            # A file still being written: its last line has no newline yet. Left for next time.
            lines = lines[:-1]
            self.summary.waiting += 1
            self.summary.waiting_in.append(src.name)
            last_complete = True
        loads, JSONDecodeError = orjson.loads, orjson.JSONDecodeError
        fits, tables, encoders = self.fits, self.tables, self.encoders
        out: dict[str, list[Any]] = {}
        firsts: dict[str, int] = {}
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
                        name = obj.get(ROUTING_KEY)
                        if name is None or name == "":
                            name = DEFAULT_TABLE
                        check = fits.get(name) if type(name) is str else None
                        # `":` once per key: no key named twice (orjson keeps the last silently;
                        # see `_records.keys_once`, which this inlines)
                        n = data.count(b'":')
                        if (check is not None and check(obj) and (n == len(obj) or n == keys_in(obj))
                                and b'" ' not in data and b'"\t' not in data and b'"\r' not in data):
                            log_id = obj.get("log_id")
                            key = (log_id if type(log_id) is str and 0 < len(log_id) <= 128
                                   else content_key(name, data))
                            rows = out.get(name)
                            if rows is None:
                                rows = out[name] = []
                                firsts[name] = ordinal
                            enc = encoders.get(name)
                            if enc is None:
                                enc = encoders[name] = self.writer.encoder(tables[name])
                            rows.append(enc(key, ordinal, data, obj))
                            continue
                self.ordinal = ordinal
                self._careful(data, last_complete or i < last, src)
            self.ordinal = ordinal
        finally:
            # Also on the way out of an interruption: rows parsed so far count as pending, and
            # the lines before the one being read when it came are done.
            self.ordinal = max(self.ordinal, ordinal - 1)
            for name, rows in out.items():
                self.writer.write(tables[name], firsts[name], rows)

    def _reject(self, table: str, kind: str, reason: str, data: bytes) -> None:
        source, line = self.locate(self.ordinal)
        self.rejects.line(source, line, table, reason, data, kind)
        self.summary.reject(kind)

    def _careful(self, data: Any, complete: bool, src: Source) -> None:
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
            line = self.ordinal - self.starts[-1][0] + 1
            content += f"@{src.identity}:{line}".encode()
        enc = self.encoders.get(table.name)
        if enc is None:
            enc = self.encoders[table.name] = self.writer.encoder(table)
        self.writer.write(table, self.ordinal, [enc(row_key(row, table.name, content), self.ordinal, None, row)])

    def _abort(self, why: str, flush: bool) -> None:
        position = self.ordinal + 1
        interrupt = getattr(self.writer, "interrupt", None)
        if flush and interrupt is not None:
            interrupt()  # load jobs: spooled rows wait for the re-run, which cuts the same jobs
        elif flush:
            try:
                self.writer.flush()
            except Exception:  # noqa: BLE001, S110 - the resume point below still holds
                pass
        pending = [p for p in self.writer.pending() if p]
        src, line = self.locate(min([*pending, position]))
        self.summary.stopped_at = f"{src}:{line}"
        exc = LoadAborted(f"{why}; stopped at {src} line {line}: every row before it is loaded. "
                          "Re-run the same command to finish: rows already loaded are skipped by their key")
        exc.summary = self.summary
        raise exc
