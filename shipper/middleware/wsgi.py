"""WSGI access-log middleware (Flask, Django, any WSGI app).

    app.wsgi_app = AccessLogMiddleware(app.wsgi_app)     # Flask (or instrument_flask(app))
    application = AccessLogMiddleware(get_wsgi_application())   # Django, wsgi.py

Per request: one `access_log` record when the response body has been iterated to its end (or
closed by the server), so latency covers a streaming response; the request id (X-Request-ID when
sane, else new) is bound as context while the app runs *and* while each body chunk is produced
(a streaming generator logs with it), and echoed as a response header.

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
    LIMITS,
    Access,
    client_address,
    content_length,
    cut,
    log_exception,
    request_id_from,
)

LOGGED_KEY = "shipper.exception_logged"
ROUTE_KEY = "shipper.route"
REQUEST_ID_KEY = "shipper.request_id"


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
            user_agent=cut(_wsgi_text(environ.get("HTTP_USER_AGENT")), LIMITS["user_agent"]),
            remote_ip=client_address(environ.get("HTTP_X_FORWARDED_FOR"),
                                     environ.get("REMOTE_ADDR"), self.trust_forwarded_for),
            host=cut(_wsgi_text(environ.get("HTTP_HOST") or environ.get("SERVER_NAME")),
                     LIMITS["host"]),
            request_bytes=content_length(environ.get("CONTENT_LENGTH"),
                                         chunked="HTTP_TRANSFER_ENCODING" in environ),
        )
        echo = self.echo_request_id

        def watching_start_response(status: str, headers: list[tuple[str, str]],
                                    exc_info: Any = None) -> Callable[[bytes], Any]:
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

        with shipper.context(request_id=request_id):
            try:
                result = self.app(environ, watching_start_response)
            except Exception as exc:
                access.status_code = 500
                if not environ.get(LOGGED_KEY):
                    log_exception(access, exc)
                access.route = _route(environ)
                access.write(time.perf_counter() - start)
                raise
        return _Body(result, access, environ, start)


class _Body:
    """The app's response iterable, counted and timed, each chunk made in the request context."""

    def __init__(self, result: Iterable[bytes], access: Access, environ: dict[str, Any],
                 start: float) -> None:
        self._result = result
        self._access = access
        self._environ = environ
        self._start = start

    def __iter__(self) -> Iterator[bytes]:
        access = self._access
        it = iter(self._result)
        while True:
            with shipper.context(request_id=access.request_id):
                try:
                    chunk = next(it)
                except StopIteration:
                    break
                except Exception as exc:
                    access.status_code = 500
                    if not self._environ.get(LOGGED_KEY):
                        log_exception(access, exc)
                    self._finish()
                    raise
            access.response_bytes += len(chunk)
            yield chunk
        self._finish()

    def close(self) -> None:
        try:
            close = getattr(self._result, "close", None)
            if close is not None:
                with shipper.context(request_id=self._access.request_id):
                    close()
        finally:
            self._finish()

    def _finish(self) -> None:
        access = self._access
        if not access.written:
            access.route = _route(self._environ)
            with shipper.context(request_id=access.request_id):
                access.write(time.perf_counter() - self._start)


def instrument_flask(app: Any, **options: Any) -> Any:
    """Wrap a Flask app's `wsgi_app` in the middleware and log its view exceptions."""
    from flask import got_request_exception, request, request_started

    app.wsgi_app = AccessLogMiddleware(app.wsgi_app, **options)

    def on_started(sender: Any, **extra: Any) -> None:
        rule = request.url_rule
        if rule is not None:
            request.environ[ROUTE_KEY] = rule.rule

    def on_exception(sender: Any, exception: BaseException, **extra: Any) -> None:
        environ = request.environ
        if environ.get(LOGGED_KEY):
            return
        environ[LOGGED_KEY] = True
        access = Access(method=environ.get("REQUEST_METHOD", ""),
                        path=environ.get("PATH_INFO", ""),
                        request_id=environ.get(REQUEST_ID_KEY, ""))
        log_exception(access, exception)

    request_started.connect(on_started, app, weak=False)
    got_request_exception.connect(on_exception, app, weak=False)
    return app
