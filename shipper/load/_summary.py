"""What a load did (rows per table, rejects by reason, time) and a progress bar for long loads.

The progress bar is a plain `\\r` line on stderr, redrawn at most a few times a second: no
dependency, and nothing at all when stderr is not a terminal (unless asked for).
"""

from __future__ import annotations

import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import TextIO

_LOCK = threading.Lock()


@dataclass
class TableCount:
    inserted: int = 0
    duplicates: int = 0  # already loaded (same key): skipped


@dataclass
class Summary:
    target: str = ""
    lines: int = 0
    blank: int = 0
    # The unfinished last line (no newline yet) of a file still being written: the next run's.
    waiting: int = 0
    waiting_in: list[str] = field(default_factory=list)
    tables: dict[str, TableCount] = field(default_factory=dict)
    rejected: Counter[str] = field(default_factory=Counter)  # reason kind -> count
    rejects_path: str = ""
    seconds: float = 0.0
    requests: int = 0  # BigQuery requests (insertAll, or load-job uploads)
    jobs: int = 0  # BigQuery load jobs made or found done (mode load)
    mode: str = ""  # BigQuery: "stream" (insertAll) or "load" (load jobs)
    stopped_at: str = ""  # "source:line" when the load was interrupted
    peak_mb: float = 0.0  # the loader process's peak RSS
    target_peak_mb: float = 0.0  # the DuckDB process's peak RSS (DuckDB target)

    def reject(self, kind: str, n: int = 1) -> None:
        """Count rejects; the DuckDB worker thread counts the rows the target refused."""
        with _LOCK:
            self.rejected[kind] += n

    def table(self, name: str) -> TableCount:
        t = self.tables.get(name)
        if t is None:
            t = self.tables[name] = TableCount()
        return t

    @property
    def inserted(self) -> int:
        return sum(t.inserted for t in self.tables.values())

    @property
    def rejected_total(self) -> int:
        return sum(self.rejected.values())

    def lines_out(self) -> list[str]:
        out = [f"Loaded into {self.target}: {self.lines:,} lines in {self.seconds:.2f} s"
               + (f" ({self.lines / self.seconds:,.0f} lines/s)" if self.seconds > 0 else "")]
        for name in sorted(self.tables):
            t = self.tables[name]
            dup = f", {t.duplicates:,} already loaded (skipped)" if t.duplicates else ""
            out.append(f"  {name}: {t.inserted:,} rows{dup}")
        if self.blank:
            out.append(f"  blank lines skipped: {self.blank:,}")
        if self.waiting:
            out.append(f"  waiting: {self.waiting:,} last line(s) without a newline yet, in "
                       f"{', '.join(self.waiting_in)}: left for the next run (the file may still "
                       "be written; --final loads it now)")
        if self.mode == "load":
            out.append(f"  load jobs: {self.jobs:,} (NEWLINE_DELIMITED_JSON, one per table and spool)")
        elif self.requests:
            out.append(f"  insertAll requests: {self.requests:,}")
        if self.peak_mb:
            extra = f" + {self.target_peak_mb:,.0f} MB (DuckDB process)" if self.target_peak_mb else ""
            out.append(f"  peak memory: {self.peak_mb:,.0f} MB (loader){extra}")
        if self.rejected:
            out.append(f"Rejected: {self.rejected_total:,} (kept in {self.rejects_path})")
            for reason, n in sorted(self.rejected.items(), key=lambda kv: (-kv[1], kv[0])):
                out.append(f"  {n:,}  {reason}")
        else:
            out.append("Rejected: 0")
        return out


class Progress:
    """`update(done_bytes)` redraws `[#####.....] 42% 1.2 GB 312,000 lines` at most 5x a second."""

    def __init__(self, total_bytes: int | None, stream: TextIO | None = None, width: int = 30) -> None:
        self.total = total_bytes or None
        self.stream = stream or sys.stderr
        self.width = width
        self.start = time.monotonic()
        self._last = 0.0

    def update(self, done: int, lines: int, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last < 0.2:
            return
        self._last = now
        rate = lines / max(now - self.start, 1e-9)
        if self.total:
            frac = min(done / self.total, 1.0)
            bar = "#" * int(frac * self.width)
            text = f"[{bar:<{self.width}}] {frac:4.0%} {done / 1e6:,.1f} MB {lines:,} lines {rate:,.0f}/s"
        else:
            text = f"{done / 1e6:,.1f} MB {lines:,} lines {rate:,.0f}/s"
        self.stream.write("\r" + text)
        self.stream.flush()

    def close(self) -> None:
        self.stream.write("\n")
        self.stream.flush()
