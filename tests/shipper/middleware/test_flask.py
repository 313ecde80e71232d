"""Flask as people use it: the test client (every way it finishes a response), a real
Werkzeug server over TCP, and `shipper.install_stdlib()` beside `instrument_flask`.

Before: the test client wrote the access record only when the response was read or closed (the
`shipper_records` example in docs/testing.md found 0 records), and with install_stdlib every
unhandled exception was two records (the middleware's and Flask's "Exception on ...").
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from flask import Flask, Response, abort, request
from werkzeug.serving import make_server

import shipper
from shipper.middleware.wsgi import instrument_flask


def make_app() -> Flask:
    app = Flask("shop")

    @app.post("/orders")
    def create() -> tuple[dict[str, Any], int]:
        shipper.get_logger().info("order placed", item=request.get_json()["item"])
        return {"ok": True}, 201

    @app.get("/users/<int:user_id>")
    def user(user_id: int) -> dict[str, int]:
        return {"id": user_id}

    @app.get("/gone")
    def gone() -> str:
        abort(410)

    @app.get("/boom")
    def boom() -> str:
        raise ZeroDivisionError("no report today")

    @app.get("/empty")
    def empty() -> tuple[str, int]:
        return "", 204

    @app.get("/stream")
    def stream() -> Response:
        return Response(b"x" * 10 for _ in range(3))

    return instrument_flask(app)


@pytest.fixture
def client() -> Any:
    return make_app().test_client()


def test_checkout(client: Any, shipper_records: Any) -> None:
    """docs/testing.md's example, as written there."""
    client.post("/orders", json={"item": "book"})

    shipper_records.one("access_log", path="/orders", status_code=201)
    shipper_records.assert_logged("app_log", message="order placed")
    shipper_records.assert_not_logged("app_log", severity="ERROR")


# How a test (or a server) may finish with a response; each must give exactly one record.
FINISH: dict[str, Callable[[Any, str], Any]] = {
    "never read": lambda c, p: c.get(p),
    "data": lambda c, p: c.get(p).data,
    "get_data": lambda c, p: c.get(p).get_data(),
    "close": lambda c, p: c.get(p).close(),
    "with": lambda c, p: c.get(p).__enter__().__exit__(None, None, None),
    "iterated": lambda c, p: list(c.get(p).response),
    "buffered": lambda c, p: c.get(p, buffered=True),
    "read then closed": lambda c, p: (lambda r: (r.data, r.close()))(c.get(p)),
}
EXPECTED = {  # path: (status, body bytes)
    "/users/3": (200, len(b'{"id":3}\n')),
    "/gone": (410, None),      # Werkzeug's HTTP error page (abort)
    "/nowhere": (404, None),   # no route
    "/boom": (500, None),      # the 500 after an exception
    "/empty": (204, 0),
}


@pytest.mark.parametrize("how", list(FINISH))
@pytest.mark.parametrize("path", list(EXPECTED))
def test_one_record_however_the_response_is_finished(lines: Any, client: Any, how: str,
                                                     path: str) -> None:
    FINISH[how](client, path)
    (rec,) = lines.records("access_log")
    status, size = EXPECTED[path]
    assert rec["status_code"] == status and rec["path"] == path
    if size is not None:
        assert rec["response_bytes"] == size
    # what the client got is what the record says, read afterwards too
    resp = client.get(path, buffered=True)
    assert lines.records("access_log")[-1]["response_bytes"] == len(resp.data)


def test_head_request_counts_no_body(lines: Any, client: Any) -> None:
    client.head("/users/3")
    assert lines.access()["response_bytes"] == 0


@pytest.mark.parametrize("how", ["data", "get_data", "buffered", "iterated", "read then closed"])
def test_streamed_response_record_when_the_body_is_done(lines: Any, client: Any,
                                                         how: str) -> None:
    FINISH[how](client, "/stream")
    (rec,) = lines.records("access_log")
    assert (rec["status_code"], rec["response_bytes"]) == (200, 30)


@pytest.mark.parametrize("how", ["close", "with"])
def test_streamed_response_closed_unread_is_a_client_that_went_away(lines: Any, client: Any,
                                                                    how: str) -> None:
    """The test client reads the first chunk to get the status; closing before the rest is
    what a client going away does: 499 (as for ASGI), with the bytes made so far."""
    FINISH[how](client, "/stream")
    (rec,) = lines.records("access_log")
    assert (rec["status_code"], rec["response_bytes"]) == (499, 10)


def test_streamed_response_never_read_is_logged_when_dropped(lines: Any, client: Any) -> None:
    """A stream runs the app's generator as it is read: the record waits for the end, or for
    the response to be dropped (then it says what was produced by then)."""
    resp = client.get("/stream")
    assert lines.records("access_log") == []
    del resp
    (rec,) = lines.records("access_log")
    assert (rec["status_code"], rec["response_bytes"]) == (499, 10)


@pytest.fixture
def stdlib() -> Iterator[None]:
    root = logging.getLogger()
    before, level = root.handlers[:], root.level
    shipper.install_stdlib()
    yield
    root.handlers[:] = before
    root.setLevel(level)


@pytest.mark.parametrize("propagate", [False, True])
def test_exception_with_install_stdlib_is_one_record(lines: Any, stdlib: None,
                                                     propagate: bool) -> None:
    app = make_app()
    app.config["PROPAGATE_EXCEPTIONS"] = propagate
    if propagate:
        with pytest.raises(ZeroDivisionError):
            app.test_client().get("/boom")
    else:
        assert app.test_client().get("/boom").status_code == 500
    errors = lines.records("app_log")
    assert len(errors) == 1, [e["message"] for e in errors]
    assert errors[0]["logger"] == "shipper.middleware"
    assert "in boom" in errors[0]["error"]["stack"]
    assert lines.access()["status_code"] == 500


def test_flask_s_other_logs_still_pass(lines: Any, stdlib: None) -> None:
    app = make_app()
    app.logger.warning("disk %s full", "/var")
    try:
        raise KeyError("not from a request")
    except KeyError:
        app.logger.exception("job failed")
    warning, error = lines.records("app_log")
    assert warning["message"] == "disk /var full" and warning["logger"] == "shop"
    assert error["message"] == "job failed" and error["error"]["type"].endswith("KeyError")


def test_a_middleware_between_flask_and_ours_is_counted_as_sent(lines: Any) -> None:
    """A WSGI middleware inside instrument_flask may change the body: then the record is
    written as the server reads the body, with what it read."""
    app = Flask("shop")

    @app.get("/")
    def index() -> str:
        return "hello"

    inner = app.wsgi_app

    def doubling(environ: Any, start_response: Any) -> Any:
        return [b"".join(inner(environ, start_response)) * 2]

    app.wsgi_app = doubling
    instrument_flask(app)
    app.test_client().get("/", buffered=True)
    assert lines.access()["response_bytes"] == 10


def test_real_werkzeug_server(lines: Any, stdlib: None) -> None:
    """Flask served by Werkzeug's threaded server over TCP (flask run's server)."""
    server = make_server("127.0.0.1", 0, make_app(), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        base = f"http://127.0.0.1:{server.server_port}"
        with httpx.Client(base_url=base, timeout=10) as http:
            assert http.post("/orders", json={"item": "pen"}).status_code == 201
            assert http.get("/stream").content == b"x" * 30
            assert http.get("/boom").status_code == 500
            assert http.get("/nowhere").status_code == 404
    finally:
        server.shutdown()
        thread.join(5)
    access = lines.records("access_log")
    assert [(r["path"], r["status_code"]) for r in access] == [
        ("/orders", 201), ("/stream", 200), ("/boom", 500), ("/nowhere", 404)]
    assert access[1]["response_bytes"] == 30
    errors = [r for r in lines.records("app_log") if r["severity"] == "ERROR"]
    assert len(errors) == 1 and errors[0]["logger"] == "shipper.middleware"
