"""Turn one fluentd output line into a status record, a counted event, or a reason to skip it.

fluentd writes two kinds of lines that matter here (fixtures/fluentd/ shows both, verbatim):

* ``<YYYY-MM-DD HH:MM:SS.nnnnnnnnn +0000> <tag>: <JSON>``: an ``in_monitor_agent`` event as
  ``out_stdout`` prints it. Any tag and any plugin kind: the keys differ per plugin.
* ``<YYYY-MM-DD HH:MM:SS +0000> [warn]: #0 [plugin_id] <message>``: fluentd's own log.

Nothing here raises on input: hostile bytes, truncated JSON or a 1 MB line become a ``Skip``
with a short reason, so that one bad line can never fail the batch it came in.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from itertools import accumulate
from typing import Any, NamedTuple

# date, time, optional fraction, optional zone; then either "<tag>: {" or "[level]: ".
_HEAD = (
    r"(\d{4})-(\d\d)-(\d\d)[ T](\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?"
    r"(?: ?(Z|[+-]\d\d:?\d\d))? "
)
_STATUS_RE = re.compile(_HEAD + r"([^\s\[\]]+): (\{.*)\Z", re.DOTALL)
_LOG_RE = re.compile(_HEAD + r"\[(trace|debug|info|warn|error|fatal)\]: (?:#\d+ )?(?:\[([^\]\s]{1,255})\] )?(.*)\Z", re.DOTALL)

# fluentd's own messages that are counted, as (the message's start, event name). The message is
# what follows "[level]: #N [plugin_id] ", verbatim from fluentd 1.19.3 and fluent-plugin-bigquery
# 3.3.2 (tests/fixtures/fluentd/). Matched at the start only: an error text quoted inside another
# line ("error=\"...insert errors...\"") is not that event. First match wins, so "retry succeeded
# by secondary" comes before "retry succeeded".
LOG_EVENTS: tuple[tuple[str, str], ...] = (
    ("failed to flush the buffer", "flush_failed"),  # also "... buffer chunk, timeout to commit." and "... with secondary output."
    ("retry succeeded by secondary", "to_secondary"),
    ("retry succeeded", "retry_succeeded"),
    ("got unrecoverable error in primary. Skip retry and flush chunk to secondary", "to_secondary"),
    ("Hit limit for retries", "retry_limit_hit"),
    ("failed to write data into buffer by buffer overflow", "buffer_overflow"),
    ("buffer flush took longer time than", "slow_flush"),
    ("insert errors ", "insert_errors"),
    ("send an error event stream to @ERROR", "error_event"),
    ("send an error event to @ERROR", "error_event"),
    ("dump an error event", "error_event"),
)
_EVENT_RE = re.compile("|".join(f"({re.escape(needle)})" for needle, _ in LOG_EVENTS))
_EVENT_OF_GROUP = {i + 1: name for i, (_, name) in enumerate(LOG_EVENTS)}
# Events that fluentd logs without a plugin id (its router's lines): counted without PluginId.
GLOBAL_EVENTS = frozenset({"error_event"})
_PLUGIN_ID_IN_MSG = re.compile(r'plugin_id="([^"\s]{1,255})"')
# One per row in fluent-plugin-bigquery's insert_errors dump (InsertError ... @index=N>).
_INSERT_ERROR_ROW = "@index="

# JSON nesting allowed in a status line's body. monitor_agent's records are two levels deep
# (buffer_timekeys, retry); anything deeper is not fluentd's, and is rejected before decoding
# (Python's decoder would raise RecursionError around a thousand levels).
MAX_JSON_DEPTH = 32

MAX_LINE_CHARS = 256 * 1024  # CloudWatch Logs events are at most 256 KB; anything longer is not fluentd's
_PLUGIN_ID_RE = re.compile(r"[\x21-\x7e]{1,255}\Z")  # printable ASCII: a valid dimension value


class Status(NamedTuple):
    """One monitor_agent event: which plugin, when, and its raw key/values. A NamedTuple, made
    by one C call per line (`_new_status`): a dataclass __init__ is a Python frame, 10,000 a batch."""

    ts: float  # epoch seconds, from the line itself
    tag: str
    plugin_id: str
    record: dict[str, Any]


_new_status = tuple.__new__


@dataclass(slots=True)
class LogEvent:
    """One counted fluentd log line (e.g. a failed flush) for one plugin."""

    ts: float
    plugin_id: str  # "" for GLOBAL_EVENTS
    event: str  # one of LOG_EVENTS' names
    rows: int = 0  # insert_errors: the rows the line names


@dataclass(frozen=True, slots=True)
class Skip:
    """A line that produced nothing, and why (the summary counts reasons)."""

    reason: str


_SCAN = json.JSONDecoder().scan_once
_TS_RE = re.compile(_HEAD[:-1] + r"\Z")  # the time part of a status line, alone
_ts_cache: dict[str, float] = {}
_tz_cache: dict[str, timezone] = {}
_sec_cache: dict[tuple[str, ...], float] = {}


def _zone(text: str | None) -> timezone | None:
    if not text or text == "Z" or text in ("+0000", "+00:00", "-0000"):
        return timezone.utc
    tz = _tz_cache.get(text)
    if tz is None:
        digits = text.replace(":", "")
        hours, minutes = int(digits[1:3]), int(digits[3:5])
        if hours > 23 or minutes > 59:
            return None
        offset = timedelta(hours=hours, minutes=minutes)
        tz = timezone(-offset if digits[0] == "-" else offset)
        _tz_cache[text] = tz
    return tz


def _epoch(groups: tuple[str | None, ...]) -> float | None:
    """Seconds since the epoch for the line's own date/time/fraction/zone, or None if invalid.

    All events of one monitor_agent tick share one timestamp, so the whole-second part is cached:
    this is the hot path of a 10,000-line batch.
    """
    key = groups[:6] + (groups[7],)
    base = _sec_cache.get(key)  # type: ignore[arg-type]
    if base is None:
        tz = _zone(groups[7])
        if tz is None:
            return None
        try:
            base = datetime(int(groups[0]), int(groups[1]), int(groups[2]), int(groups[3]),
                            int(groups[4]), int(groups[5]), tzinfo=tz).timestamp()
        except ValueError:
            return None
        if len(_sec_cache) > 4096:
            _sec_cache.clear()
        _sec_cache[key] = base  # type: ignore[index]
    frac = groups[6]
    return base + int(frac) / 10 ** len(frac) if frac else base


def parse_line(line: str) -> Status | LogEvent | Skip:
    """Classify one line. Never raises."""
    if not isinstance(line, str):
        return Skip("not_text")
    if len(line) > MAX_LINE_CHARS:
        return Skip("too_long")
    # The common case first: a status line whose time text was seen before (all lines of one
    # monitor_agent tick share it; it was checked when cached, so the line is no blank, comment
    # or backtrace line). A line end after the JSON is allowed by _record.
    colon = line.find(": {")
    if colon >= 20:
        sp = line.rfind(" ", 0, colon)
        ts = _ts_cache.get(line[:sp]) if sp >= 19 else None
        if ts is not None:
            tag = line[sp + 1:colon]
            if "[" not in tag and "]" not in tag:
                return _record(ts, tag, line[colon + 2:])
    if line[-1:] in ("\n", "\r"):  # (no copy of the usual line without a line end)
        line = line.rstrip("\r\n")
    if not line or line.isspace():
        return Skip("empty")
    if line[0] in " \t":
        # fluentd prints a backtrace as indented continuation lines after the first failure.
        return Skip("backtrace")
    if line[0] == "#":
        return Skip("comment")
    fast = _status_fast(line)
    if fast is not None:
        return fast
    m = _STATUS_RE.match(line)
    if m is not None:
        return _status(m)
    m = _LOG_RE.match(line)
    if m is not None:
        return _log_event(m)
    return Skip("unrecognized")


def _status_fast(line: str) -> Status | Skip | None:
    """The common case, ``<time> <tag>: {json}``, without the full regex: all lines of one
    monitor_agent tick share one time text, so its epoch is a dict lookup. None: not this shape
    (the general path decides)."""
    colon = line.find(": {")
    if colon < 20:
        return None
    sp = line.rfind(" ", 0, colon)
    if sp < 19:
        return None
    tag = line[sp + 1:colon]
    if "[" in tag or "]" in tag:
        return None
    ts_text = line[:sp]
    ts = _ts_cache.get(ts_text)
    if ts is None:
        m = _TS_RE.match(ts_text)
        if m is None:
            return None
        ts = _epoch(m.groups())
        if ts is None:
            return Skip("bad_time")
        if len(_ts_cache) > 4096:
            _ts_cache.clear()
        _ts_cache[ts_text] = ts
    return _record(ts, tag, line[colon + 2:])


def _record(ts: float, tag: str, body: str) -> Status | Skip:
    # Depth is at most 1 + the brackets after the first: a body with no other "{" and at most one
    # "[" (fluentd's: buffer_timekeys) is 2 deep at most, which two `in` tests decide at memchr
    # speed (str.find and str.count parse their arguments: several times the cost). Only other
    # bodies are counted, and only those with many brackets are scanned.
    if ("[" in body.partition("[")[2] or "{" in body[1:]) and \
            body.count("{") + body.count("[") > MAX_JSON_DEPTH and too_deep(body, MAX_JSON_DEPTH):
        return Skip("too_deep")
    try:
        # the decoder's C scanner itself: json.loads without its two Python wrappers (10,000
        # calls a batch). It raises StopIteration when no JSON value starts at 0.
        record, end = _SCAN(body, 0)
    except (ValueError, StopIteration, RecursionError):
        return Skip("bad_json")
    if end != len(body) and body[end:].strip():
        return Skip("bad_json")
    if type(record) is not dict:
        return Skip("not_an_object")
    plugin_id = record.get("plugin_id")
    if type(plugin_id) is not str:
        return Skip("no_plugin_id")
    if plugin_id not in _good_plugin_ids:  # a handful of plugins: the pattern runs once for each
        if not _PLUGIN_ID_RE.match(plugin_id):
            return Skip("bad_plugin_id")
        if len(_good_plugin_ids) > 4096:
            _good_plugin_ids.clear()
        _good_plugin_ids.add(plugin_id)
    return _new_status(Status, (ts, tag, plugin_id, record))


_good_plugin_ids: set[str] = set()


def _status(m: re.Match[str]) -> Status | Skip:
    ts = _epoch(m.groups())
    if ts is None:
        return Skip("bad_time")
    return _record(ts, m.group(9), m.group(10))


def _log_event(m: re.Match[str]) -> LogEvent | Skip:
    message = m.group(11)
    found = _EVENT_RE.match(message)
    if found is None:
        return Skip("other_log_line")
    name = _EVENT_OF_GROUP[found.lastindex]  # type: ignore[index]
    if name in GLOBAL_EVENTS:
        plugin_id = ""
    else:
        plugin_id = m.group(10)
        if plugin_id is None:
            in_msg = _PLUGIN_ID_IN_MSG.search(message)
            plugin_id = in_msg.group(1) if in_msg else None
        if plugin_id is None or not _PLUGIN_ID_RE.match(plugin_id):
            return Skip("log_line_without_plugin_id")
    ts = _epoch(m.groups())
    if ts is None:
        return Skip("bad_time")
    if name == "insert_errors":
        return LogEvent(ts, plugin_id, name, message.count(_INSERT_ERROR_ROW))
    return LogEvent(ts, plugin_id, name)


# A JSON string, or an unterminated one up to the end: `"?` always matches, so the engine never
# backtracks and never rescans (a pattern that fails on an unterminated string would restart at
# every quote: quadratic on hostile input).
_STRING = re.compile(r'"(?:[^"\\]+|\\.)*"?')
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_DEPTH_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}


def too_deep(text: str, limit: int) -> bool:
    """True if JSON `text` nests arrays/objects deeper than `limit` (brackets inside strings do
    not count). Linear, in C-level steps (regex, map, accumulate): no recursion, whatever the
    input."""
    brackets = _NOT_BRACKET.sub("", _STRING.sub("", text))
    return bool(brackets) and max(accumulate(map(_DEPTH_STEP.__getitem__, brackets))) > limit


def number(value: Any) -> float | None | bool:
    """A metric value from a JSON value: float, None (not a number at all), or False (a number
    CloudWatch would reject: NaN, ±Inf, or beyond ±2^360)."""
    t = type(value)
    if t is int:
        if -_LIMIT_INT <= value <= _LIMIT_INT:
            return float(value)
        return False
    if t is float:
        if math.isfinite(value) and -_LIMIT <= value <= _LIMIT:
            return value
        return False
    return None


_LIMIT = 2.0 ** 360
_LIMIT_INT = 2 ** 360
