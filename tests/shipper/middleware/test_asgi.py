"""The ASGI middleware with a real Starlette app through httpx's ASGI transport."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, StreamingResponse
from starlette.routing import Mount, Route

import shipper
from shipper.middleware.asgi import AccessLogMiddleware

TS = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z\Z")


async def user(request: Request) -> JSONResponse:
    shipper.get_logger().info("looking up user", user_id=request.path_params["user_id"])
    return JSONResponse({"id": request.path_params["user_id"]})


async def create(request: Request) -> PlainTextResponse:
    body = await request.body()
    return PlainTextResponse(f"got {len(body)}", status_code=201)


async def boom(request: Request) -> None:
    raise ZeroDivisionError("no report today")


async def stream(request: Request) -> StreamingResponse:
    async def chunks() -> Any:
        for i in range(3):
            await asyncio.sleep(0.05)
            shipper.get_logger().info("chunk", n=i)
            yield b"x" * 10

    return StreamingResponse(chunks())


async def item(request: Request) -> PlainTextResponse:
    return PlainTextResponse("item")


def make_app(**options: Any) -> Any:
    app = Starlette(routes=[
        Route("/users/{user_id:int}", user),
        Route("/orders", create, methods=["POST"]),
        Route("/boom", boom),
        Route("/stream", stream),
        Mount("/api", routes=[Route("/items/{item_id}", item)]),
    ])
    return AccessLogMiddleware(app, **options)


def request(app: Any, method: str, path: str, raise_app_exceptions: bool = True,
            **kw: Any) -> httpx.Response:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app, client=("10.1.2.3", 51000),
                                        raise_app_exceptions=raise_app_exceptions)
        async with httpx.AsyncClient(transport=transport, base_url="http://shop.test") as c:
            return await c.request(method, path, **kw)

    return asyncio.run(go())


def test_one_access_record_with_route_and_request_id_in_app_records(lines: Any) -> None:
    resp = request(make_app(), "GET", "/users/42", headers={"user-agent": "pytest/1"})
    assert resp.status_code == 200
    rid = resp.headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", rid)
    app_rec, access = lines.records()
    assert app_rec["log_table"] == "app_log" and app_rec["request_id"] == rid
    assert app_rec["message"] == "looking up user"
    latency = access.pop("latency")
    assert 0 < latency < 5
    assert TS.match(access.pop("timestamp")) and access.pop("log_id")
    assert access == {
        "log_table": "access_log", "severity": "INFO", "service": "web", "request_id": rid,
        "method": "GET", "path": "/users/42", "route": "/users/{user_id:int}",
        "status_code": 200, "request_bytes": 0, "response_bytes": len(resp.content),
        "user_agent": "pytest/1",
        "remote_ip": "10.1.2.3", "host": "shop.test",
    }


def test_client_request_id_is_kept_and_echoed(lines: Any) -> None:
    resp = request(make_app(), "GET", "/users/1", headers={"x-request-id": "abc-123.x"})
    assert resp.headers["x-request-id"] == "abc-123.x"
    assert {r["request_id"] for r in lines.records()} == {"abc-123.x"}


@pytest.mark.parametrize("hostile", ["a" * 129, "has space", "quote\"", "ünïcode", "a,b", ""])
def test_hostile_request_id_is_replaced(lines: Any, hostile: str) -> None:
    resp = request(make_app(), "GET", "/users/1",
                   headers=[(b"x-request-id", hostile.encode("utf-8"))])
    rid = resp.headers["x-request-id"]
    assert rid != hostile and re.fullmatch(r"[0-9a-f]{32}", rid)
    assert lines.access()["request_id"] == rid


def test_post_body_bytes_and_status(lines: Any) -> None:
    resp = request(make_app(), "POST", "/orders", content=b"y" * 300)
    assert resp.status_code == 201
    rec = lines.access()
    assert (rec["request_bytes"], rec["status_code"], rec["route"]) == (300, 201, "/orders")
    assert rec["response_bytes"] == len(b"got 300")


def test_chunked_upload_without_content_length_is_counted(lines: Any) -> None:
    async def body() -> Any:
        yield b"a" * 100
        yield b"b" * 50

    request(make_app(), "POST", "/orders", content=body())
    assert lines.access()["request_bytes"] == 150


def test_not_found_has_no_route(lines: Any) -> None:
    resp = request(make_app(), "GET", "/nowhere")
    rec = lines.access()
    assert resp.status_code == 404 and rec["status_code"] == 404 and rec.get("route") is None
    assert rec["severity"] == "INFO"


def test_mounted_route_template_includes_the_mount(lines: Any) -> None:
    request(make_app(), "GET", "/api/items/7")
    assert lines.access()["route"] == "/api/items/{item_id}"


def test_unhandled_exception_logged_with_traceback_500_and_reraised(lines: Any) -> None:
    with pytest.raises(ZeroDivisionError):
        request(make_app(), "GET", "/boom")
    err, access = lines.records()
    assert err["log_table"] == "app_log" and err["severity"] == "ERROR"
    assert err["logger"] == "shipper.middleware"
    assert err["message"] == "unhandled exception in GET /boom"
    assert err["error"]["type"].endswith("ZeroDivisionError")
    assert "no report today" in err["error"]["message"]
    assert "Traceback" in err["error"]["stack"] and "def boom" not in err["error"]["stack"]
    assert "in boom" in err["error"]["stack"]
    assert access["status_code"] == 500 and access["severity"] == "ERROR"
    assert access["route"] == "/boom" and err["request_id"] == access["request_id"]


def test_exception_response_from_starlette_carries_the_request_id(lines: Any) -> None:
    resp = request(make_app(), "GET", "/boom", raise_app_exceptions=False)
    assert resp.status_code == 500
    assert resp.headers["x-request-id"] == lines.access()["request_id"]


def test_streaming_latency_until_the_last_chunk(lines: Any) -> None:
    resp = request(make_app(), "GET", "/stream")
    assert resp.content == b"x" * 30
    *chunks, access = lines.records()
    assert [c["extra"]["n"] for c in chunks] == [0, 1, 2]
    assert {c["request_id"] for c in chunks} == {access["request_id"]}
    assert access["latency"] >= 0.15 and access["response_bytes"] == 30


def test_forwarded_for_only_when_trusted(lines: Any) -> None:
    hdrs = {"x-forwarded-for": "203.0.113.7, 10.0.0.1"}
    request(make_app(), "GET", "/users/1", headers=hdrs)
    request(make_app(trust_forwarded_for=True), "GET", "/users/1", headers=hdrs)
    request(make_app(trust_forwarded_for=True), "GET", "/users/1",
            headers={"x-forwarded-for": "garbage, 10.0.0.1"})
    assert [r["remote_ip"] for r in lines.records("access_log")] == [
        "10.1.2.3", "203.0.113.7", "10.1.2.3"]


def test_hostile_headers_in_strict_mode_still_fit(lines: Any) -> None:
    shipper.configure(mode="strict")
    request(make_app(), "GET", "/users/1",
            headers=[(b"user-agent", b"\xff\x00\x1b[31m" + b"u" * 5000),
                     (b"host", b"h" * 1000)])
    rec = lines.access()
    assert len(rec["user_agent"]) == 1024 and len(rec["host"]) == 256
    assert shipper.stats().get("middleware_error") is None


def test_other_scope_types_pass_through(lines: Any) -> None:
    seen = []

    async def inner(scope: Any, receive: Any, send: Any) -> None:
        seen.append(scope["type"])

    asyncio.run(AccessLogMiddleware(inner)({"type": "lifespan"}, None, None))
    assert seen == ["lifespan"] and lines.records() == []


def test_context_is_restored_after_the_request(lines: Any) -> None:
    shipper.bind_context(request_id="outer")
    request(make_app(), "GET", "/users/1")
    shipper.get_logger().info("after")
    assert lines.records()[-1]["request_id"] == "outer"


def test_background_task_failure_keeps_the_status_the_client_got(lines: Any) -> None:
    from starlette.background import BackgroundTask

    def fail() -> None:
        raise RuntimeError("after the response")

    async def endpoint(request: Request) -> PlainTextResponse:
        return PlainTextResponse("done", background=BackgroundTask(fail))

    app = AccessLogMiddleware(Starlette(routes=[Route("/bg", endpoint)]))
    with pytest.raises(RuntimeError):
        request(app, "GET", "/bg")
    err, access = lines.records()
    assert "after the response" in err["error"]["message"]
    assert access["status_code"] == 200 and access["response_bytes"] == 4


def test_cancelled_request_is_logged_as_client_closed(lines: Any) -> None:
    async def hangs(scope: Any, receive: Any, send: Any) -> None:
        raise asyncio.CancelledError

    async def go() -> None:
        async def receive() -> Any:
            return {"type": "http.disconnect"}

        async def send(message: Any) -> None:
            pass

        await AccessLogMiddleware(hangs)({"type": "http", "method": "GET", "path": "/slow",
                                          "headers": []}, receive, send)

    with pytest.raises(asyncio.CancelledError):
        asyncio.run(go())
    rec = lines.access()
    assert rec["status_code"] == 499 and rec["path"] == "/slow"
    assert lines.records("app_log") == []
