"""What the ASGI and WSGI middlewares share: header parsing that does not trust the client,
the access record, and the loggers (made once: a Logger compiles its level methods)."""

from __future__ import annotations

import ipaddress
import re
import uuid
from dataclasses import dataclass
from typing import Any

import shipper
from shipper import _stats

# access_log's maxLength per column (schemas/access_log): values are cut here, so a hostile
# header can never make the record break its table (strict mode would raise in the request).
# A test checks these against the registry.
LIMITS = {"method": 16, "path": 2048, "route": 512, "user_agent": 1024, "remote_ip": 64,
          "host": 256}
REQUEST_ID_MAX = 128  # the envelope's request_id maxLength
# A request id is echoed in a response header and joins tables: printable ASCII without
# spaces, quotes, commas, semicolons or backslashes. Anything else is replaced, not cleaned.
_REQUEST_ID_RE = re.compile(r"[A-Za-z0-9._:/+=@~!#$%&*^|-]{1,128}\Z")
MIDDLEWARE_LOGGER = "shipper.middleware"

_loggers: dict[str, Any] = {}


def logger(table: str) -> Any:
    lg = _loggers.get(table)
    if lg is None:
        bound = {"logger": MIDDLEWARE_LOGGER} if table == "app_log" else {}
        lg = _loggers[table] = shipper.get_logger(table, **bound)
    return lg


def new_request_id() -> str:
    return uuid.uuid4().hex


def request_id_from(value: str | bytes | None) -> str:
    """The client's X-Request-ID when it is a sane token, else a fresh one."""
    if isinstance(value, bytes):
        try:
            value = value.decode("ascii")
        except UnicodeDecodeError:
            return new_request_id()
    if value is not None:
        value = value.strip()
        if _REQUEST_ID_RE.match(value):
            return value
    return new_request_id()


def cut(value: Any, limit: int) -> str | None:
    """Text that is valid UTF-8 and at most `limit` characters, or None."""
    if value is None:
        return None
    if isinstance(value, bytes):
        text = value.decode("utf-8", "replace")
    else:
        text = str(value)
        if not text.isascii():
            text = text.encode("utf-8", "replace").decode("utf-8")  # lone surrogates -> '?'
    return text[:limit]


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
    return cut(peer, LIMITS["remote_ip"]) if peer else None


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
    """One request's facts, filled while it runs; `write()` logs the access_log record."""

    method: str
    path: str
    request_id: str
    user_agent: str | None = None
    remote_ip: str | None = None
    host: str | None = None
    request_bytes: int | None = None
    route: str | None = None
    status_code: int = 500
    response_bytes: int = 0
    written: bool = False

    def write(self, latency: float) -> None:
        if self.written:
            return
        self.written = True
        status = self.status_code if 100 <= self.status_code <= 599 else 500
        log = logger("access_log")
        method = log.error if status >= 500 else log.info
        try:
            method("request", method=cut(self.method, LIMITS["method"]),
                   path=cut(self.path, LIMITS["path"]), route=cut(self.route, LIMITS["route"]),
                   status_code=status, latency=max(latency, 0.0),
                   request_bytes=self.request_bytes, response_bytes=self.response_bytes,
                   user_agent=self.user_agent, remote_ip=self.remote_ip, host=self.host,
                   request_id=self.request_id)
        except Exception:  # noqa: BLE001 - strict mode or a sink bug: never break the response
            _stats.add("middleware_error")


def log_exception(access: Access, exc: BaseException) -> None:
    try:
        logger("app_log").error(f"unhandled exception in {cut(access.method, 16)} "
                                f"{cut(access.path, 256)}", exc_info=exc)
    except Exception:  # noqa: BLE001
        _stats.add("middleware_error")
