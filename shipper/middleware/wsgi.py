"""WSGI access-log middleware (Flask, Django, any WSGI app).

    app.wsgi_app = AccessLogMiddleware(app.wsgi_app)     # Flask (or instrument_flask(app))
    application = AccessLogMiddleware(get_wsgi_application())   # Django, wsgi.py

Per request: one `access_log` record. When the body is complete as the app returns it (a list;
a Flask response that is not streamed, which `instrument_flask` reports), the record is written
then; otherwise when the body has been iterated to its end or closed by the server, so latency
covers a streaming response (closed or dropped before its end: 499, the client went away). The
request id (X-Request-ID when sane, else new) and the trace id (W3C `traceparent`, else AWS
`X-Amzn-Trace-Id`, see `_trace`) are bound as context while the app runs *and* while each body
chunk is produced (a streaming generator logs with them); the request id is echoed as a
response header.

What is known where:
- route template: WSGI does not carry it. `instrument_flask` connects Flask's
  `request_started` signal (URL matching is done by then) to put `request.url_rule.rule`
  (e.g. "/users/<int:user_id>") in `environ["shipper.route"]`; any framework can set that key
  (Django: `request.resolver_match.route` from a Django middleware, see docs/middleware.md).
  A plain Werkzeug app's request in `environ["werkzeug.request"]` is read as a fallback (Flask
  clears that key when its request context ends, hence the signal). Unmatched: no route.
- request_bytes: the CONTENT_LENGTH the client declared (a chunked upload has none).
- an exception that reaches this middleware is logged (app_log ERROR with the traceback), the
  access record says 500, and the exception is re-raised. Flask and Django turn a view's
  exception into a 500 response themselves (Flask re-raises only with PROPAGATE_EXCEPTIONS), so
  the middleware sees the 500 but not the exception: `instrument_flask` connects Flask's
  `got_request_exception` signal to log it (once, even when it propagates too).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import shipper

from ._common import (
    CLIENT_CLOSED,
    CURRENT,
    REQUEST_ID_KEY,
    Access,
    client_address,
    content_length,
    log_exception,
    request_id_from,
    was_logged,
)
from ._trace import trace_from

ROUTE_KEY = "shipper.route"
# Set by instrument_flask when the response body is complete when the app returns (Flask's
# usual responses): its size in bytes, so the record is written right then.
BODY_BYTES_KEY = "shipper.body_bytes"
# Responses without a body whatever the app returned (Werkzeug sends none for them either).
_NO_BODY_STATUS = frozenset({204, 304})


def _wsgi_text(value: str | None) -> str | None:
    """A WSGI environ string is the raw bytes as latin-1 (PEP 3333): back to UTF-8 text."""
    if value is None:
        return None
    try:
        return value.encode("latin-1").decode("utf-8", "replace")
    except UnicodeEncodeError:
        return value


def _route(environ: dict[str, Any]) -> str | None:
    route = environ.get(ROUTE_KEY)
    if isinstance(route, str):
        return route
    request = environ.get("werkzeug.request")
    rule = getattr(getattr(request, "url_rule", None), "rule", None)
    return rule if isinstance(rule, str) else None


class AccessLogMiddleware:
    """WSGI middleware writing one access_log record per request (see the module docstring)."""

    def __init__(self, app: Callable[..., Iterable[bytes]], *, trust_forwarded_for: bool = False,
                 echo_request_id: bool = True) -> None:
        self.app = app
        self.trust_forwarded_for = trust_forwarded_for
        self.echo_request_id = echo_request_id

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        start = time.perf_counter()
        request_id = request_id_from(environ.get("HTTP_X_REQUEST_ID"))
        environ[REQUEST_ID_KEY] = request_id
        access = Access(
            method=environ.get("REQUEST_METHOD", ""),
            path=_wsgi_text(environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")) or "",
            request_id=request_id,
            user_agent=_wsgi_text(environ.get("HTTP_USER_AGENT")),
            remote_ip=client_address(environ.get("HTTP_X_FORWARDED_FOR"),
                                     environ.get("REMOTE_ADDR"), self.trust_forwarded_for),
            host=_wsgi_text(environ.get("HTTP_HOST") or environ.get("SERVER_NAME")),
            request_bytes=content_length(environ.get("CONTENT_LENGTH"),
                                         chunked="HTTP_TRANSFER_ENCODING" in environ),
            trace=trace_from(environ.get("HTTP_TRACEPARENT"), environ.get("HTTP_X_AMZN_TRACE_ID")),
        )
        echo = self.echo_request_id
        started = False

        def watching_start_response(status: str, headers: list[tuple[str, str]],
                                    exc_info: Any = None) -> Callable[[bytes], Any]:
            nonlocal started
            started = True
            try:
                access.status_code = int(str(status).split(" ", 1)[0])
            except ValueError:
                access.status_code = 500
            if echo:
                headers = [h for h in headers if h[0].lower() != "x-request-id"]
                headers.append(("X-Request-ID", request_id))
            write = start_response(status, headers, exc_info) if exc_info is not None \
                else start_response(status, headers)

            def counting_write(data: bytes) -> Any:  # the legacy write() callable
                access.response_bytes += len(data)
                return write(data)

            return counting_write

        bound = access.context()
        # A sync server serves the request in one thread from here to the body's end: the
        # request stays "current" until then (the server-log filter reads it), see _Body.
        CURRENT.set(access)
        with shipper.context(**bound):
            try:
                result = self.app(environ, watching_start_response)
            except Exception as exc:
                access.status_code = 500
                if not was_logged(exc):
                    log_exception(access, exc)
                access.route = _route(environ)
                access.write(time.perf_counter() - start)
                _done(access)
                raise
            size = _complete_size(result, environ) if started else None
            if size is not None:
                # The whole body is known now (a list, or a Flask response that is not
                # streamed): the record is written when the app returns, whoever iterates
                # the body afterwards and whether or not it is ever closed (Flask's test
                # client reads it only when asked).
                access.response_bytes += size
                access.route = _route(environ)
                access.write(time.perf_counter() - start)
        return _Body(result, access, environ, start, bound)


def _complete_size(result: Any, environ: dict[str, Any]) -> int | None:
    """The body's size when it is complete at return, else None (a stream: counted as sent)."""
    size = environ.get(BODY_BYTES_KEY)
    if isinstance(size, int):
        return size
    if isinstance(result, (list, tuple)):
        try:
            return sum(len(chunk) for chunk in result)
        except TypeError:  # not bytes: the server refuses it; counted as it is sent instead
            return None
    return None


def _done(access: Access) -> None:
    """The request is no longer the thread's current one (unless another took its place)."""
    if CURRENT.get() is access:
        CURRENT.set(None)


class _Body:
    """The app's response iterable, counted and timed, each chunk made in the request context.

    The record is written (if it was not at return) when the iteration ends, when the server
    calls close(), or, as a last resort, when the iteration is abandoned and its generator
    closed (a client that never reads nor closes the response, then drops it). Closed or
    abandoned before the end (the client went away, a test client closed it unread): status
    499, as the ASGI middleware says for a client that went away, with the bytes made so far.
    """

    def __init__(self, result: Iterable[bytes], access: Access, environ: dict[str, Any],
                 start: float, bound: dict[str, Any]) -> None:
        self._result = result
        self._access = access
        self._environ = environ
        self._start = start
        self._bound = bound
        self._ended = False

    def __iter__(self) -> Iterator[bytes]:
        access = self._access
        bound = self._bound
        it = iter(self._result)
        try:
            while True:
                with shipper.context(**bound):
                    try:
                        chunk = next(it)
                    except StopIteration:
                        self._ended = True
                        break
                    except Exception as exc:
                        self._ended = True
                        if not access.written:
                            access.status_code = 500
                        if not was_logged(exc):
                            log_exception(access, exc)
                        raise
                access.response_bytes += len(chunk)
                yield chunk
        finally:  # the end, an exception, or GeneratorExit (abandoned)
            self._finish()

    def close(self) -> None:
        try:
            close = getattr(self._result, "close", None)
            if close is not None:
                with shipper.context(**self._bound):
                    close()
        finally:
            self._finish()

    def _finish(self) -> None:
        access = self._access
        if not access.written:
            if not self._ended and self._environ.get("REQUEST_METHOD") != "HEAD":
                access.status_code = CLIENT_CLOSED  # (a server may skip a HEAD's body)
            access.route = _route(self._environ)
            with shipper.context(**self._bound):
                access.write(time.perf_counter() - self._start)
        _done(access)


def instrument_flask(app: Any, **options: Any) -> Any:
    """Wrap a Flask app's `wsgi_app` in the middleware and log its view exceptions.

    Connects three Flask signals for this app: `request_started` (the route template),
    `got_request_exception` (the view's exception, logged once with its traceback) and
    `request_finished` (a response that is not streamed is complete: the record is written when
    the app returns, so Flask's test client has it without reading the response). Flask's own
    log of the same exception ("Exception on /path [GET]", on `app.logger`) is dropped by a
    filter, so that with `shipper.install_stdlib()` the exception is one record, not two.
    """
    import logging

    from flask import got_request_exception, request, request_finished, request_started

    from shipper.integrations import DuplicateExceptionFilter

    inner = app.wsgi_app
    # Only when Flask's own wsgi_app is what the middleware wraps is Flask's response what the
    # server gets; a WSGI middleware in between may change the body (then: counted as sent).
    direct = getattr(inner, "__self__", None) is app
    app.wsgi_app = AccessLogMiddleware(inner, **options)

    def on_started(sender: Any, **extra: Any) -> None:
        rule = request.url_rule
        if rule is not None:
            request.environ[ROUTE_KEY] = rule.rule

    def on_exception(sender: Any, exception: BaseException, **extra: Any) -> None:
        if was_logged(exception):
            return
        environ = request.environ
        access = Access(method=environ.get("REQUEST_METHOD", ""),
                        path=environ.get("PATH_INFO", ""),
                        request_id=environ.get(REQUEST_ID_KEY, ""))
        log_exception(access, exception)

    def on_finished(sender: Any, response: Any, **extra: Any) -> None:
        size = flask_body_size(request.environ, response)
        if size is not None:
            request.environ[BODY_BYTES_KEY] = size

    request_started.connect(on_started, app, weak=False)
    got_request_exception.connect(on_exception, app, weak=False)
    if direct:
        request_finished.connect(on_finished, app, weak=False)
    # app.logger is not touched (Flask decides on its default handler when it is first used)
    flask_logger = logging.getLogger(app.name)
    if not any(isinstance(f, DuplicateExceptionFilter) for f in flask_logger.filters):
        flask_logger.addFilter(DuplicateExceptionFilter())
    return app


def flask_body_size(environ: dict[str, Any], response: Any) -> int | None:
    """What Werkzeug will send for this response, when that is fixed already: None for a
    streamed body or a file passed through (counted as the server reads it)."""
    status = response.status_code
    if environ.get("REQUEST_METHOD") == "HEAD" or 100 <= status < 200 or status in _NO_BODY_STATUS:
        return 0  # Werkzeug's Response sends no body for these
    if response.direct_passthrough:
        return None
    if not response.is_sequence:
        # An HTTP error (abort(404), no route, the 500 after an exception) is a Werkzeug
        # exception, which Flask runs as a WSGI app and wraps: its output is a ClosingIterator
        # over a body already made, with its Content-Length. A generator is a real stream.
        from werkzeug.wsgi import ClosingIterator

        if isinstance(response.response, ClosingIterator):
            length = response.content_length
            return length if isinstance(length, int) and length >= 0 else None
        return None
    try:
        return sum(len(chunk) for chunk in response.iter_encoded())
    except Exception:  # noqa: BLE001 - a body Werkzeug will refuse: counted as it is sent
        return None
