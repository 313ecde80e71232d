"""The two envelope values made per record: the timestamp and the log id, both cheap.

Timestamp: formatting a datetime costs about a microsecond; the date-and-second part only
changes once a second, so it is cached and only the microseconds are formatted per record.
UTC always, microseconds always, `Z` suffix: the shape BigQuery parses and sorts correctly.

Log id: a random per-process prefix plus a counter (itertools.count: atomic under the GIL).
It is BigQuery's insertId, so it must be unique across processes and restarts; the prefix is
made again in a forked child, which would otherwise repeat its parent's ids.
"""

from __future__ import annotations

import itertools
import os
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timezone

_time_ns = time.time_ns
_gmtime = time.gmtime
_strftime = time.strftime

# (seconds as decimal text, "YYYY-MM-DDTHH:MM:SS.") replaced as a whole tuple, so threads never
# see half of it. Keyed by text: `str(time_ns())` gives the seconds as s[:-9] and the
# microseconds, zero-padded already, as s[-9:-3] (cheaper than any number formatting).
_cache: tuple[str, str] = ("", "")


def now() -> str:
    """Now, as 'YYYY-MM-DDTHH:MM:SS.ffffffZ' (UTC)."""
    global _cache
    s = str(_time_ns())
    c = _cache
    if c[0] != s[:-9]:
        c = _cache = (s[:-9], _strftime("%Y-%m-%dT%H:%M:%S.", _gmtime(int(s[:-9]))))
    return c[1] + s[-9:-3] + "Z"


# For the generated fast path: (first ns of one second, "YYYY-MM-DDTHH:MM:SS.") and the same
# in microseconds for LogRecord.created. Per record: one subtraction gives the offset in the
# second (a small int), whose microseconds are two 3-digit strings from DIGITS3; no int is
# turned into text (str() of a 19-digit number costs more than the rest together). The
# start values make the first offset fall outside any second, so the first record fills it.
DIGITS3: tuple[str, ...] = tuple(f"{i:03d}" for i in range(1000))
# Each in a one-item list that generated code holds directly (`c = NS_CACHE[0]`: a list
# index, where a module attribute costs a dict lookup per record); the tuple is replaced as a
# whole, so threads never see half of it.
ns_cache: list[tuple[int, str]] = [(-(10**30), "")]
us_cache: list[tuple[int, str]] = [(-(10**30), "")]


def _second_of(t: int, per_second: int) -> tuple[int, str]:
    """(first tick of the second that `t` falls in, its "YYYY-MM-DDTHH:MM:SS." text)."""
    if t < 0:
        raise ValueError(f"a time before 1970: {t} (1/{per_second} s)")
    lo = t - t % per_second
    return lo, _strftime("%Y-%m-%dT%H:%M:%S.", _gmtime(lo // per_second))


def ns_prefix(t: int) -> tuple[int, str]:
    """The `ns_cache` entry for the second that `t` (time.time_ns()) falls in."""
    c = ns_cache[0] = _second_of(t, 1_000_000_000)
    return c


def us_prefix(us: int) -> tuple[int, str]:
    """The `us_cache` entry for the second that `us` (microseconds since 1970) falls in."""
    c = us_cache[0] = _second_of(us, 1_000_000)
    return c


def from_epoch(t: float) -> str:
    """A POSIX time (e.g. LogRecord.created) in the same shape."""
    global _cache
    us = round(t * 1_000_000)
    if us < 1_000_000:  # before 1970-01-01T00:00:01: no cache, plain formatting
        return _strftime("%Y-%m-%dT%H:%M:%S.", _gmtime(us // 1_000_000)) + f"{us % 1_000_000:06d}Z"
    s = str(us)
    c = _cache
    if c[0] != s[:-6]:
        c = _cache = (s[:-6], _strftime("%Y-%m-%dT%H:%M:%S.", _gmtime(int(s[:-6]))))
    return c[1] + s[-6:] + "Z"


def from_datetime(d: datetime) -> str:
    """A datetime in the same shape; a naive one is taken as UTC (what Python's utcnow() made).

    Raises OverflowError when the instant in UTC is outside years 1-9999 (0001-01-01T00:30
    at +01:00). Formatted by hand: strftime's %Y does not pad years below 1000 on glibc."""
    if d.tzinfo is not None and d.utcoffset():
        d = d.astimezone(timezone.utc)
    return (f"{d.year:04d}-{d.month:02d}-{d.day:02d}T{d.hour:02d}:{d.minute:02d}:"
            f"{d.second:02d}.{d.microsecond:06d}Z")


_prefix = ""
_seq = itertools.count()
# next(_ids) -> prefix + decimal counter (the slow path's); the generated fast path makes the
# same string as f"{_prefix}{next(_seq)}" (cheaper than the method-wrapper call in the map).
_ids: Iterator[str] = iter(())
# Called in a forked child after the prefix changed (compiled loggers copy these globals).
fork_hooks: list[Callable[[], None]] = []


def _new_prefix() -> None:
    global _prefix, _seq, _ids
    _prefix = os.urandom(6).hex() + "-"
    _seq = itertools.count()
    _ids = map(_prefix.__add__, map(str, _seq))


def _after_fork() -> None:
    _new_prefix()
    for hook in fork_hooks:
        hook()


_new_prefix()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork)


def new_log_id() -> str:
    """Unique per record: 12 random hex digits per process, then a decimal counter."""
    return next(_ids)


def ids_taken() -> int:
    """How many log ids this process has made (repr(count(7)) == "count(7)")."""
    return int(repr(_seq)[6:-1])
