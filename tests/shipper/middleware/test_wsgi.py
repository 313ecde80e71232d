"""The WSGI middleware with a real Flask app (test client) and a bare WSGI app.

Requests are `buffered=True`: the client then iterates and closes the body at once, as a real
WSGI server does; the access record is written when the body is done.
"""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
from flask import Flask, Response
from werkzeug.test import Client

import shipper
from shipper.middleware.wsgi import AccessLogMiddleware, instrument_flask


def make_flask(propagate: bool = False, **options: Any) -> Flask:
    app = Flask("shop")
    app.config["PROPAGATE_EXCEPTIONS"] = propagate

    @app.get("/users/<int:user_id>")
    def user(user_id: int) -> dict[str, int]:
        shipper.get_logger().info("looking up user", user_id=user_id)
        return {"id": user_id}

    @app.post("/orders")
    def create() -> tuple[str, int]:
        from flask import request

        return f"got {len(request.get_data())}", 201

    @app.get("/boom")
    def boom() -> str:
        raise ZeroDivisionError("no report today")

    @app.get("/stream")
    def stream() -> Response:
        def chunks() -> Any:
            for i in range(3):
                time.sleep(0.05)
                shipper.get_logger().info("chunk", n=i)
                yield b"x" * 10

        return Response(chunks())

    return instrument_flask(app, **options)


def test_flask_record_route_template_and_request_id(lines: Any) -> None:
    resp = make_flask().test_client().get("/users/42", headers={"User-Agent": "pytest/1"}, buffered=True,
                                           environ_base={"REMOTE_ADDR": "10.1.2.3"})
    assert resp.status_code == 200
    rid = resp.headers["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", rid)
    app_rec, access = lines.records()
    assert app_rec["request_id"] == rid and app_rec["message"] == "looking up user"
    latency = access.pop("latency")
    assert 0 < latency < 5
    access.pop("timestamp"), access.pop("log_id")
    assert access == {
        "log_table": "access_log", "severity": "INFO", "service": "web", "request_id": rid,
        "method": "GET", "path": "/users/42", "route": "/users/<int:user_id>",
        "status_code": 200, "request_bytes": 0, "response_bytes": len(resp.data),
        "user_agent": "pytest/1", "remote_ip": "10.1.2.3", "host": "localhost",
    }


def test_flask_post_bytes_and_client_request_id(lines: Any) -> None:
    resp = make_flask().test_client().post("/orders", data=b"y" * 300, buffered=True,
                                           headers={"X-Request-ID": "req-7"})
    assert resp.status_code == 201 and resp.headers["X-Request-ID"] == "req-7"
    rec = lines.access()
    assert (rec["request_bytes"], rec["status_code"], rec["request_id"]) == (300, 201, "req-7")


def test_flask_view_exception_handled_by_flask_is_logged_once(lines: Any) -> None:
    resp = make_flask().test_client().get("/boom", buffered=True)
    assert resp.status_code == 500
    err, access = lines.records()
    assert err["log_table"] == "app_log" and err["severity"] == "ERROR"
    assert err["error"]["type"].endswith("ZeroDivisionError")
    assert "Traceback" in err["error"]["stack"] and "in boom" in err["error"]["stack"]
    assert access["status_code"] == 500 and access["route"] == "/boom"
    assert err["request_id"] == access["request_id"] == resp.headers["X-Request-ID"]


def test_flask_propagated_exception_logged_once_500_and_reraised(lines: Any) -> None:
    with pytest.raises(ZeroDivisionError):
        make_flask(propagate=True).test_client().get("/boom", buffered=True)
    err, access = lines.records()
    assert err["error"]["type"].endswith("ZeroDivisionError")
    assert access["status_code"] == 500 and access["severity"] == "ERROR"


def test_flask_streaming_latency_and_context_per_chunk(lines: Any) -> None:
    resp = make_flask().test_client().get("/stream", buffered=True)
    assert resp.data == b"x" * 30
    *chunks, access = lines.records()
    assert [c["extra"]["n"] for c in chunks] == [0, 1, 2]
    assert {c["request_id"] for c in chunks} == {access["request_id"]}
    assert access["latency"] >= 0.15 and access["response_bytes"] == 30


def test_flask_not_found_and_forwarded_for(lines: Any) -> None:
    client = make_flask(trust_forwarded_for=True).test_client()
    resp = client.get("/nope", buffered=True, headers={"X-Forwarded-For": "[2001:db8::1]:443, 10.0.0.1"})
    rec = lines.access()
    assert resp.status_code == 404 and rec.get("route") is None
    assert rec["remote_ip"] == "2001:db8::1"


def _bare_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    environ["shipper.route"] = "/things/{id}"
    start_response("202 Accepted", [("Content-Type", "text/plain"),
                                     ("X-Request-ID", "app-set")])
    return [b"ok", b"!"]


def test_bare_wsgi_app_route_from_environ_and_header_replaced(lines: Any) -> None:
    resp = Client(AccessLogMiddleware(_bare_app)).get(
        "/things/%C3%A9", headers={"X-Request-ID": "given"}, buffered=True)
    assert resp.status_code == 202
    assert resp.headers.getlist("X-Request-ID") == ["given"]
    rec = lines.access()
    assert rec["route"] == "/things/{id}" and rec["path"] == "/things/é"
    assert rec["response_bytes"] == 3 and rec["status_code"] == 202


def test_exception_from_a_bare_app_is_logged_and_reraised(lines: Any) -> None:
    def broken(environ: Any, start_response: Any) -> Any:
        raise KeyError("gone")

    with pytest.raises(KeyError):
        Client(AccessLogMiddleware(broken)).get("/x", buffered=True)
    err, access = lines.records()
    assert err["error"]["type"].endswith("KeyError") and access["status_code"] == 500


def test_exception_while_streaming_is_logged_and_reraised(lines: Any) -> None:
    def half(environ: Any, start_response: Any) -> Any:
        start_response("200 OK", [])
        yield b"first"
        raise ValueError("mid-stream")

    with pytest.raises(ValueError):
        Client(AccessLogMiddleware(half)).get("/half", buffered=True)
    err, access = lines.records()
    assert "mid-stream" in err["error"]["message"]
    assert access["status_code"] == 500 and access["response_bytes"] == 5


def test_record_written_once_when_server_iterates_and_closes(lines: Any) -> None:
    closed = []

    class Body:
        def __iter__(self) -> Any:
            return iter([b"a", b"b"])

        def close(self) -> None:
            closed.append(True)

    def app(environ: Any, start_response: Any) -> Any:
        start_response("200 OK", [])
        return Body()

    result = AccessLogMiddleware(app)({"REQUEST_METHOD": "GET", "PATH_INFO": "/c"},
                                      lambda s, h, e=None: None)
    assert b"".join(result) == b"ab"
    result.close()
    assert closed == [True] and len(lines.records("access_log")) == 1
