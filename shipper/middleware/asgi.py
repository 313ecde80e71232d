"""Pure ASGI access-log middleware (Starlette, FastAPI): no BaseHTTPMiddleware, so streaming
responses stream, background tasks run after the response, and the request's context (the
request id) is the same contextvars context the endpoint runs in.

    app = AccessLogMiddleware(Starlette(routes=...))          # outermost: sees every response
    # or: app.add_middleware(AccessLogMiddleware)

Per request: one `access_log` record when the last body chunk was sent (latency = until then),
the request id (X-Request-ID when sane, else new) bound as context while the app runs and
echoed as a response header. An unhandled exception: an `app_log` ERROR record with the
traceback, the access record with status 500, and the exception re-raised (Starlette's
ServerErrorMiddleware, or the server, turns it into the 500 response). An exception raised
after the response was complete (a failing background task) is logged the same way, but the
access record keeps the status the client received.

Trace: a valid W3C `traceparent` (else AWS `X-Amzn-Trace-Id`) gives `trace_id` (and `span_id`
when the table has that column), on the access record and bound as context (see `_trace`).

Route template: Starlette's router puts the matched route in `scope["route"]` (the scope dict
this middleware handed down); under a `Mount` the mount's matched prefix (from `root_path`) is
put in front. Unmatched requests (404) have no route.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import shipper

from ._common import (
    CLIENT_CLOSED,
    CURRENT,
    Access,
    client_address,
    content_length,
    log_exception,
    request_id_from,
)
from ._trace import trace_from

Scope = dict[str, Any]



@dataclass
class _Body:
    received: int = 0
    complete: bool = False
    ended: float | None = None


def _headers(scope: Scope) -> dict[bytes, bytes]:
    """First value of each header (names are lower case in ASGI)."""
    out: dict[bytes, bytes] = {}
    for name, value in scope.get("headers") or ():
        out.setdefault(name, value)
    return out


def _route(scope: Scope, root_path: str) -> str | None:
    route = scope.get("route")
    template = getattr(route, "path", None)
    if not isinstance(template, str):
        return None
    prefix = scope.get("root_path", "") or ""
    prefix = prefix[len(root_path):] if prefix.startswith(root_path) else ""
    if hasattr(route, "routes"):  # the route is a Mount itself: its path is already in prefix
        return (prefix or template) + "/{path}"
    return prefix + template


class AccessLogMiddleware:
    """ASGI middleware writing one access_log record per HTTP request.

    trust_forwarded_for: take the client address from the first X-Forwarded-For entry (only
      behind a proxy that sets it; a client can send any value).
    echo_request_id: add `x-request-id` to the response headers.
    """

    def __init__(self, app: Any, *, trust_forwarded_for: bool = False,
                 echo_request_id: bool = True) -> None:
        self.app = app
        self.trust_forwarded_for = trust_forwarded_for
        self.echo_request_id = echo_request_id

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope.get("type") != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        headers = _headers(scope)
        request_id = request_id_from(headers.get(b"x-request-id"))
        client = scope.get("client")
        root_path = scope.get("root_path", "") or ""
        access = Access(
            # ASGI's path includes root_path (as uvicorn --root-path sets it)
            method=scope.get("method", ""), path=scope.get("path", ""),
            request_id=request_id,
            user_agent=headers.get(b"user-agent"),
            remote_ip=client_address(headers.get(b"x-forwarded-for"),
                                     client[0] if client else None, self.trust_forwarded_for),
            host=headers.get(b"host"),
            request_bytes=content_length(headers.get(b"content-length"),
                                         chunked=b"transfer-encoding" in headers),
            trace=trace_from(headers.get(b"traceparent"), headers.get(b"x-amzn-trace-id")),
        )
        body = _Body()
        echo = self.echo_request_id
        rid_header = (b"x-request-id", request_id.encode("ascii"))

        async def counting_receive() -> Any:
            message = await receive()
            if message.get("type") == "http.request":
                body.received += len(message.get("body", b""))
                if not message.get("more_body", False):
                    body.complete = True
            return message

        async def watching_send(message: Any) -> None:
            kind = message.get("type")
            if kind == "http.response.start":
                access.status_code = message.get("status", 500)
                if echo:
                    kept = [h for h in message.get("headers", ()) if h[0].lower() != b"x-request-id"]
                    message = {**message, "headers": [*kept, rid_header]}
            elif kind == "http.response.body":
                access.response_bytes += len(message.get("body", b""))
                if not message.get("more_body", False):
                    body.ended = time.perf_counter()
            await send(message)

        # The request is "current" in this context while the app runs (uvicorn logs its access
        # line from inside send()). When the app raised, it stays current after the middleware
        # re-raised: the 500 that Starlette's ServerErrorMiddleware or the server then sends
        # (and logs an access line for) is this request's.
        current = CURRENT.set(access)
        failed = False
        with shipper.context(**access.context()):
            try:
                await self.app(scope, counting_receive, watching_send)
            except Exception as exc:
                failed = True
                if body.ended is None:  # else the client got the whole response (e.g. a
                    access.status_code = 500  # background task failed after it): keep that
                log_exception(access, exc)
                raise
            except BaseException:  # cancelled: the client went away
                if body.ended is None:
                    access.status_code = CLIENT_CLOSED
                raise
            finally:
                if access.request_bytes is None and body.complete:
                    access.request_bytes = body.received
                access.route = _route(scope, root_path)
                end = body.ended if body.ended is not None else time.perf_counter()
                access.write(end - start)
                if not failed:
                    CURRENT.reset(current)
