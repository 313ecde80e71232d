"""What the ASGI and WSGI middlewares share: header parsing that does not trust the client,
the access record, and the loggers (made once: a Logger compiles its level methods).

Also the two facts the server-log filter (`shipper.integrations`) reads, so that a server does
not log a second time what the middleware logged: which request the middleware is serving in
this context, and which exceptions it has already logged.
"""

from __future__ import annotations

import contextlib
import ipaddress
import re
import threading
import uuid
from collections import OrderedDict
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import shipper
from shipper import _config, _stats
from shipper._constants import DEFAULT_TABLE

from ._trace import Trace

# The WSGI environ key under which the middleware leaves the request id (gunicorn's access
# line filter reads it back from the environ).
REQUEST_ID_KEY = "shipper.request_id"
REQUEST_ID_MAX = 128  # the request id token's own bound (the envelope's request_id: 128 too)
# A request id is echoed in a response header and joins tables: printable ASCII without
# spaces, quotes, commas, semicolons or backslashes. Anything else is replaced, not cleaned.
_REQUEST_ID_RE = re.compile(r"[A-Za-z0-9._:/+=@~!#$%&*^|-]{1,128}\Z")
ACCESS_TABLE = "access_log"
# When the client goes away before the response is done: nginx's code.
CLIENT_CLOSED = 499
# The text columns the middleware fills from the request: values are cut to the table's
# maxLength (read from the column-rule model, never typed here), so a hostile header can never
# make the record break its table (strict mode would raise in the request).
TEXT_COLUMNS = ("method", "path", "route", "user_agent", "remote_ip", "host")
MIDDLEWARE_LOGGER = "shipper.middleware"
# How much of the method and path the exception record's message repeats (the message is the
# record's headline; the access record has them whole).
MESSAGE_PART_CHARS = 256

_loggers: dict[str, Any] = {}


def logger(table: str) -> Any:
    lg = _loggers.get(table)
    if lg is None:
        bound = {"logger": MIDDLEWARE_LOGGER} if table == DEFAULT_TABLE else {}
        lg = _loggers[table] = shipper.get_logger(table, **bound)
    return lg


# The request the middleware is serving in this context. uvicorn writes its access line from
# inside the app's `send()`, so in this context: the server-log filter drops it while set.
CURRENT: ContextVar[Access | None] = ContextVar("shipper_middleware_request", default=None)
# The request ids of the last records written, for a server that logs its access line after the
# app returned, out of the request's context, with the response headers only (gunicorn's ASGI
# worker): the echoed X-Request-ID names a request the middleware logged. Bounded: a server
# logs its line right after the response, so only the most recent ids are ever looked up.
RECENT_IDS_MAX = 4096
_recent_ids: OrderedDict[str, None] = OrderedDict()
_recent_lock = threading.Lock()


def remember_written(request_id: str) -> None:
    with _recent_lock:
        _recent_ids[request_id] = None
        if len(_recent_ids) > RECENT_IDS_MAX:
            _recent_ids.popitem(last=False)


def take_written(request_id: str) -> bool:
    """True (once) when the middleware wrote the access record of this request id."""
    with _recent_lock:
        return _recent_ids.pop(request_id, False) is None


# Set on an exception the middleware logged. An attribute, not a set: the built-in exceptions
# take no weak references, and holding them strongly would keep their tracebacks' frames alive.
_LOGGED_ATTR = "__shipper_logged__"


def mark_logged(exc: BaseException) -> None:
    with contextlib.suppress(Exception):  # a type refusing attributes: not remembered
        setattr(exc, _LOGGED_ATTR, True)


def was_logged(exc: BaseException | None) -> bool:
    """True when the middleware logged this very exception (the server's copy is a duplicate)."""
    try:
        return exc is not None and getattr(exc, _LOGGED_ATTR, False) is True
    except Exception:  # noqa: BLE001 - a hostile __getattr__
        return False


@dataclass(frozen=True)
class Columns:
    """What the middleware takes from the access_log table model: each text column's maxLength
    (None: no bound), the request_id and trace_id columns', and whether the table has a span_id
    column."""

    limits: dict[str, int | None]
    request_id: int | None
    trace_id: int | None
    span_id: bool


_columns: tuple[Any, Columns] | None = None


def _has_span_id() -> bool:
    try:
        return columns().span_id
    except Exception:  # noqa: BLE001 - a registry without access_log: write() counts it
        return False


def columns() -> Columns:
    """The access_log table's bounds, from the column-rule model of the registry the logger
    uses (`shipper.rules.rules_for`: what the logger's own check applies), once per registry."""
    global _columns
    registry = _config.registry()
    cached = _columns
    if cached is not None and cached[0] is registry:
        return cached[1]
    from shipper.rules import rules_for

    rules = rules_for(registry.table(ACCESS_TABLE))

    def max_length(name: str) -> int | None:
        rule = rules.column(name)
        return rule.max_length if rule is not None else None

    cols = Columns(limits={name: max_length(name) for name in TEXT_COLUMNS},
                   request_id=max_length("request_id"),
                   trace_id=max_length("trace_id"),
                   span_id=rules.column("span_id") is not None)
    _columns = (registry, cols)
    return cols


def new_request_id() -> str:
    return uuid.uuid4().hex


def request_id_from(value: str | bytes | None, max_length: int | None = None) -> str:
    """The client's X-Request-ID when it is a sane token that fits the request_id column
    (`max_length`, default: `request_id_max()`), else a fresh one. Never cut: a cut id would
    join nothing."""
    if isinstance(value, bytes):
        try:
            value = value.decode("ascii")
        except UnicodeDecodeError:
            return new_request_id()
    if value is not None:
        value = value.strip()
        if _REQUEST_ID_RE.match(value) and len(value) <= (
                request_id_max() if max_length is None else max_length):
            return value
    return new_request_id()


def request_id_max() -> int:
    """The longest client request id kept: the token's own bound, or the request_id column's
    maxLength in the registry the logger uses when that is shorter."""
    try:
        bound = columns().request_id
    except Exception:  # noqa: BLE001 - a registry without access_log: write() counts it
        return REQUEST_ID_MAX
    return REQUEST_ID_MAX if bound is None else min(bound, REQUEST_ID_MAX)


def cut(value: Any, limit: int | None) -> str | None:
    """Text that is valid UTF-8 and at most `limit` characters (None: any length), or None."""
    if value is None:
        return None
    if isinstance(value, bytes):
        text = value.decode("utf-8", "replace")
    else:
        text = str(value)
        if not text.isascii():
            text = text.encode("utf-8", "replace").decode("utf-8")  # lone surrogates -> '?'
    return text if limit is None else text[:limit]


def _ip(text: str) -> str | None:
    text = text.strip()
    if text.startswith("[") and "]" in text:  # "[2001:db8::1]:443"
        text = text[1:text.index("]")]
    elif text.count(":") == 1:  # "203.0.113.7:51000"
        text = text.split(":", 1)[0]
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return None


def client_address(forwarded_for: str | bytes | None, peer: str | None,
                   trust_forwarded_for: bool) -> str | None:
    """The first X-Forwarded-For hop when the app sits behind a proxy it trusts (the proxy
    appends the peer it saw, so the first entry is the original client as the first proxy was
    told), else the peer address. A first hop that is not an IP address falls back to the peer."""
    if trust_forwarded_for and forwarded_for:
        if isinstance(forwarded_for, bytes):
            forwarded_for = forwarded_for.decode("latin-1")
        first = _ip(forwarded_for.split(",", 1)[0][:100])
        if first is not None:
            return first
    return peer or None


def content_length(value: str | bytes | None, chunked: bool = False) -> int | None:
    """The declared body size; 0 when neither Content-Length nor Transfer-Encoding is sent
    (HTTP/1.1: no body); None when unknown (chunked, or a malformed value)."""
    if value is None or value == "" or value == b"":
        return None if chunked else 0
    if isinstance(value, bytes):
        value = value.decode("latin-1")
    value = value.strip()
    if value.isdigit() and value.isascii() and len(value) < 19:
        return int(value)
    return None


@dataclass
class Access:
    """One request's facts, filled while it runs; `write()` logs the access_log record.

    Text fields hold what the request said (str, or bytes from ASGI headers); `write()` turns
    them into valid UTF-8 cut to the table's maxLength."""

    method: str | bytes
    path: str | bytes
    request_id: str
    user_agent: str | bytes | None = None
    remote_ip: str | None = None
    host: str | bytes | None = None
    request_bytes: int | None = None
    route: str | None = None
    trace: Trace | None = None
    status_code: int = 500
    response_bytes: int = 0
    written: bool = False

    def context(self) -> dict[str, Any]:
        """The fields bound for the request: every record logged while it runs carries them."""
        fields: dict[str, Any] = {"request_id": self.request_id}
        trace = self.trace
        if trace is not None:
            fields["trace_id"] = trace.trace_id
            if trace.span_id is not None and _has_span_id():
                fields["span_id"] = trace.span_id
        return fields

    def fields(self, status: int, latency: float) -> dict[str, Any]:
        cols = columns()
        limits = cols.limits
        fields: dict[str, Any] = {
            "method": cut(self.method, limits["method"]),
            "path": cut(self.path, limits["path"]),
            "route": cut(self.route, limits["route"]),
            "status_code": status, "latency": max(latency, 0.0),
            "request_bytes": self.request_bytes, "response_bytes": self.response_bytes,
            "user_agent": cut(self.user_agent, limits["user_agent"]),
            "remote_ip": cut(self.remote_ip, limits["remote_ip"]),
            "host": cut(self.host, limits["host"]),
            "request_id": self.request_id,
        }
        trace = self.trace
        if trace is not None:
            if cols.trace_id is None or len(trace.trace_id) <= cols.trace_id:
                fields["trace_id"] = trace.trace_id
            if trace.span_id is not None and cols.span_id:
                fields["span_id"] = trace.span_id
        return fields

    def write(self, latency: float) -> None:
        if self.written:
            return
        self.written = True
        status = self.status_code if 100 <= self.status_code <= 599 else 500
        try:
            fields = self.fields(status, latency)
            log = logger(ACCESS_TABLE)
            (log.error if status >= 500 else log.info)("request", **fields)
            remember_written(self.request_id)
        except Exception:  # noqa: BLE001 - strict mode or a sink bug: never break the response
            _stats.add("middleware_error")


def log_exception(access: Access, exc: BaseException) -> None:
    """One app_log ERROR record with the traceback; remembered so that the server's own log
    of the same exception (uvicorn's "Exception in ASGI application", gunicorn's "Error handling
    request", Flask's "Exception on ...") can be dropped by the server-log filter."""
    mark_logged(exc)
    try:
        logger(DEFAULT_TABLE).error(
            f"unhandled exception in {cut(access.method, MESSAGE_PART_CHARS)} "
            f"{cut(access.path, MESSAGE_PART_CHARS)}", exc_info=exc)
    except Exception:  # noqa: BLE001
        _stats.add("middleware_error")
