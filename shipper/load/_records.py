"""One input line -> (table, row) or a reject reason, routed exactly as the fluentd config does.

Three shapes arrive on the same path:
- an app's stdout line: the JSON record itself;
- a record as the Docker fluentd driver sends it: {container_id, container_name, source, log};
- fluentd's `secondary_file` output and backup chunks: the driver record plus an injected `time`
  (and, after `filter_parser` with `reserve_data`, the record's fields lifted beside `log`).
The driver's `log` string is the source of truth for the record; the container fields are added
to the row as fluentd adds them. Anything that is not a JSON object becomes a `raw_log` row with
the container, stream, text and time received, so nothing an app prints is dropped.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import orjson

from ..registry import RAW_TABLE, ROUTING_KEY
from ._routing import route_table, strip_routing_key

# Keys the Docker fluentd log driver sets on every record.
DRIVER_KEYS = ("container_id", "container_name", "source")
# Columns filled in transit (by the driver, not the app): not part of a record's identity, so the
# same record read from the app's stdout and from a fluentd backup chunk is one record.
TRANSIT_FIELDS = frozenset({"container_id", "container_name"})
# orjson turns an integer literal outside [-2^63, 2^64) into a float without a word; a float this
# large may be such an integer, and the line is decoded again exactly to know.
BIG = 9.2e18

DUPLICATE_KEY_KIND = "duplicate key in the record"


@dataclass
class Parsed:
    """A routed row, or a reason why the line cannot become one."""

    table: str = ""
    row: dict[str, Any] | None = None
    reason: str = ""  # the detail, for the reject file
    kind: str = ""  # the reason's kind, for the summary
    # A raw row's timestamp is the time received: not part of its identity on a replay.
    synthetic_time: bool = False
    content: bytes = b""  # what the row's key hashes when it has no log_id (see row_key)


def now_rfc3339() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="microseconds").replace("+00:00", "Z")


def _is_driver_record(obj: dict[str, Any]) -> bool:
    return type(obj.get("log")) is str and ("source" in obj or "container_id" in obj)


class DuplicateKey(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(items)
    if len(out) != len(items):
        seen: set[str] = set()
        for k, _ in items:
            if k in seen:
                raise DuplicateKey(k)
            seen.add(k)
    return out


def decode_exact(data: bytes | str) -> Any:
    """The JSON value, integers exact, or DuplicateKey; ValueError when it is not JSON.

    Slower than orjson (stdlib json), for the lines orjson cannot judge: a key named twice
    (orjson keeps the last value silently), or an integer beyond 64 bits (orjson makes it a
    float). NaN and Infinity tokens (not JSON, but what Python's json writes) are read as the
    floats they mean, so that the record is judged (and refused: not finite) rather than taken
    for a line of text."""
    return json.loads(data, object_pairs_hook=_pairs)


def keys_in(v: Any) -> int:
    """How many keys the objects in `v` hold, nested ones included."""
    t = type(v)
    if t is dict:
        return len(v) + sum(keys_in(x) for x in v.values() if type(x) is dict or type(x) is list)
    if t is list:
        return sum(keys_in(x) for x in v if type(x) is dict or type(x) is list)
    return 0


def has_big_float(v: Any) -> bool:
    t = type(v)
    if t is float:
        return not -BIG < v < BIG
    if t is dict:
        v = v.values()
    elif t is not list:
        return False
    return any(has_big_float(x) for x in v if type(x) in (float, dict, list))


def keys_once(data: bytes, obj: Any) -> bool:
    """True when no object in the line names a key twice (orjson keeps the last value silently).

    Cheap (a few byte scans): every key in a JSON line is followed by `":` unless whitespace
    stands between a quote and a colon (`"a" : 1`, which orjson and json.dumps never write:
    such lines take the exact path). So `":` counted once per key means no key is there twice;
    a string holding `":` only makes the count larger, which takes the exact path too."""
    if b'" ' in data or b'"\t' in data or b'"\r' in data:
        return False
    n = data.count(b'":')
    return n == len(obj) or n == keys_in(obj)


def surely_exact(data: bytes, obj: Any) -> bool:
    """True when orjson's `obj` is what the line says: no key twice, no integer made a float."""
    return keys_once(data, obj) and not has_big_float(obj)


def decode_record(data: bytes | str) -> tuple[Any, str]:
    """(the JSON value or None, the reason it cannot be a record, if it is an object that is wrong)."""
    try:
        obj = orjson.loads(data)
    except orjson.JSONDecodeError:
        obj = None
    if obj is not None and (type(obj) is not dict or surely_exact(
            data if type(data) is bytes else data.encode(), obj)):
        return obj, ""
    try:
        return decode_exact(data), ""
    except DuplicateKey as exc:
        return None, duplicate_key_reason(exc.key)
    except (ValueError, RecursionError):
        return obj, ""


def duplicate_key_reason(key: str) -> str:
    return (f"duplicate key {key!r} in the record (which value counts is not defined: fluentd "
            "would keep the last one and lose the other)")


def parse_line(data: bytes, complete: bool, received: Callable[[], str]) -> Parsed:
    """Route one line (bytes, without its newline). `received()` stamps raw rows without a time."""
    obj, problem = decode_record(data)
    if problem:
        return Parsed(reason=problem, kind=DUPLICATE_KEY_KIND)
    if obj is None:
        if not complete and data[:1] in (b"{", b"["):
            return Parsed(reason="truncated last line (no newline at the end of the input, "
                                 "not valid JSON)", kind="truncated last line")
        if b"\t" in data:  # out_file's default format: time<TAB>tag<TAB>json
            obj = _tab_separated(data)
    if type(obj) is dict:
        if _is_driver_record(obj):
            return _from_driver(obj, received)
        return _route(obj, data)
    return _raw_line(data, None, received, stream="stdout", time=None)


def _tab_separated(data: bytes) -> dict[str, Any] | None:
    parts = data.split(b"\t", 2)
    if len(parts) != 3 or parts[2][:1] != b"{":
        return None
    try:
        obj = orjson.loads(parts[2])
    except orjson.JSONDecodeError:
        return None
    if type(obj) is dict and _is_driver_record(obj) and "time" not in obj:
        obj["time"] = parts[0].decode("utf-8", "replace")
    return obj if type(obj) is dict else None


def _route(record: dict[str, Any], content: bytes) -> Parsed:
    name = record.get(ROUTING_KEY)
    if name is not None and type(name) is not str:
        return Parsed(reason=f"{ROUTING_KEY} must be a table name (a string), not {type(name).__name__} "
                             f"{orjson.dumps(name).decode()[:80]} (fluentd would send the record to "
                             f"{RAW_TABLE} whole)", kind=f"{ROUTING_KEY} is not a table name")
    table = route_table(record)
    strip_routing_key(record)
    return Parsed(table=table, row=record, content=content)


def _from_driver(env: dict[str, Any], received: Callable[[], str]) -> Parsed:
    log: str = env["log"]
    inner: Any = None
    if log[:1] == "{":
        inner, problem = decode_record(log)
        if problem:
            return Parsed(reason=problem, kind=DUPLICATE_KEY_KIND)
    if type(inner) is dict:
        for key in ("container_id", "container_name"):
            if key in env and key not in inner:
                inner[key] = env[key]
        return _route(inner, log.encode())
    stream = env.get("source") if env.get("source") in ("stdout", "stderr") else "stdout"
    text = log.removesuffix("\n")
    return _raw_text(text, env, received, stream, env.get("time"))


def _raw_line(data: bytes, env: dict[str, Any] | None, received: Callable[[], str], stream: str,
              time: Any) -> Parsed:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return Parsed(reason=f"not UTF-8 text (invalid byte at offset {exc.start})",
                      kind="not UTF-8 text")
    return _raw_text(text, env, received, stream, time)


def _raw_text(text: str, env: dict[str, Any] | None, received: Callable[[], str], stream: str,
              time: Any) -> Parsed:
    if "\x00" in text:
        return Parsed(reason=f"binary data (NUL byte at offset {text.index(chr(0))})",
                      kind="binary data")
    time = _rfc3339(time)
    has_time = time is not None
    row: dict[str, Any] = {
        "timestamp": time if has_time else received(),
        "severity": "DEFAULT",
        "stream": stream,
        "text": text,
    }
    if env:
        for key in ("container_id", "container_name"):
            if env.get(key) is not None:
                row[key] = env[key]
    identity = {k: v for k, v in row.items() if k != "timestamp" or has_time}
    return Parsed(table=RAW_TABLE, row=row, synthetic_time=not has_time,
                  content=orjson.dumps(identity, option=orjson.OPT_SORT_KEYS))


_FRACTION = re.compile(r"(\.\d{6})\d+")


def _rfc3339(time: Any) -> str | None:
    """fluentd's `time` as a timestamp BigQuery and the record check take: at most microseconds
    (fluentd writes nanoseconds), or an epoch number converted; None when there is none."""
    if isinstance(time, str) and time:
        return _FRACTION.sub(r"\1", time, count=1)
    if isinstance(time, (int, float)) and not isinstance(time, bool) and 0 <= time < 253402300800:
        return datetime.fromtimestamp(time, timezone.utc).isoformat(timespec="microseconds").replace("+00:00", "Z")
    return None


def row_key(row: dict[str, Any], table: str, content: bytes) -> str:
    """The per-row identity a replay is de-duplicated on (BigQuery insertId, DuckDB key).

    The record's `log_id` when it has one (the logger makes it unique, <= 128 characters: the
    insertId limit); else a hash of the content: the app's line as printed (the same bytes
    whether read from stdout or from the driver's `log` field), or for a raw line whose only time
    is the time received, its text and position, so re-reading the same file gives the same key.
    """
    log_id = row.get("log_id")
    if type(log_id) is str and 0 < len(log_id) <= 128:
        return log_id
    return content_key(table, content)


def content_key(table: str, content: bytes) -> str:
    return "h:" + hashlib.blake2b(content, digest_size=16, person=table.encode()[:16]).hexdigest()
