"""A small Starlette web app, logged by the shipper ASGI middleware, driven by realistic traffic.

Run as a script, it serves a burst of requests in-process (httpx's ASGI transport: no socket,
no server) and exits. Everything it logs goes to its stdout, one JSON line per record, exactly
as in a container whose stdout the Docker fluentd driver reads; `demo/run.py` sends that
stdout through `shipper load`. The traffic: several paths, 2xx/3xx/4xx/5xx, latency from
sub-millisecond to ~80 ms, one unhandled exception (with its traceback) and one stray print.

The access-log middleware is `shipper.middleware.asgi.AccessLogMiddleware`, and the app's own
events go through `shipper.get_logger("app_log")` (fields the table does not declare land in its
`extra` JSON column). A stand-in defined here (records marked `"service": "demo-fallback"`) is
used only if those modules are missing, so that the rest of the pipeline can still be shown.
"""

from __future__ import annotations

import asyncio
import inspect
import os
import random
import sys
import time
import traceback
import uuid
from datetime import datetime, timezone
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

SERVICE = "demo-api"
USERS = {str(i): {"id": i, "name": f"user{i}"} for i in range(1, 21)}


# -- the app ---------------------------------------------------------------------------------

def app_log() -> Any:
    """The shipper logger for app events, or a stand-in with the same calls."""
    try:
        import shipper

        return shipper.get_logger("app_log")
    except (ImportError, AttributeError):
        return _FallbackAppLog()


class _FallbackAppLog:
    def _log(self, severity: str, message: str, **extra: Any) -> None:
        _write({"log_table": "app_log", "timestamp": _now(), "severity": severity, "service": "demo-fallback",
                "log_id": uuid.uuid4().hex, "logger": "demo.app", "message": message, "extra": extra or None})

    def info(self, message: str, **extra: Any) -> None:
        self._log("INFO", message, **extra)

    def warning(self, message: str, **extra: Any) -> None:
        self._log("WARNING", message, **extra)


LOG: Any = None


async def version(request: Request) -> Response:
    await asyncio.sleep(random.uniform(0.0, 0.03))
    if random.random() < 0.15:  # a flaky dependency
        LOG.warning("upstream unavailable", upstream="version-service")
        return JSONResponse({"error": "upstream unavailable"}, status_code=503)
    return JSONResponse({"version": "1.4.2"})


async def list_users(request: Request) -> Response:
    await asyncio.sleep(random.uniform(0.005, 0.08))
    return JSONResponse(list(USERS.values())[:10])


async def get_user(request: Request) -> Response:
    await asyncio.sleep(random.uniform(0.0, 0.01))
    user = USERS.get(request.path_params["user_id"])
    if user is None:
        return JSONResponse({"error": "no such user"}, status_code=404)
    return JSONResponse(user)


async def create_order(request: Request) -> Response:
    body = await request.body()
    await asyncio.sleep(random.uniform(0.01, 0.04))
    try:
        order = orjson.loads(body)
    except orjson.JSONDecodeError:
        return JSONResponse({"error": "body is not JSON"}, status_code=400)
    if not isinstance(order, dict) or "item" not in order:
        return JSONResponse({"error": "missing item"}, status_code=422)
    order_id = str(uuid.uuid4())
    LOG.info("order created", order_id=order_id, item=order["item"], qty=order.get("qty", 1))
    return JSONResponse({"order": order_id, **order}, status_code=201)


async def health(request: Request) -> Response:
    return PlainTextResponse("ok")


async def report(request: Request) -> Response:
    totals: dict[str, int] = {}
    return JSONResponse({"ratio": totals["orders"] / totals["users"]})  # KeyError: a real bug


async def moved(request: Request) -> Response:
    return Response(status_code=304)


ROUTES = [
    Route("/version/endpoint", version),
    Route("/v1/users", list_users),
    Route("/v1/users/{user_id}", get_user),
    Route("/v1/orders", create_order, methods=["POST"]),
    Route("/v1/report", report),
    Route("/static/logo.png", moved),
    Route("/health", health),
]


# -- logging ---------------------------------------------------------------------------------

def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="microseconds").replace("+00:00", "Z")


def _write(record: dict[str, Any]) -> None:
    os.write(1, orjson.dumps(record) + b"\n")  # handed to the OS before the call returns


class FallbackAccessLog:
    """Stand-in for `shipper.middleware.asgi` while it is being written: one access_log record
    per response, and an app_log record with the traceback for an unhandled exception."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = {"code": 500, "bytes": 0}
        request_id = uuid.uuid4().hex

        async def send_wrapper(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            elif message["type"] == "http.response.body":
                status["bytes"] += len(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        except Exception as exc:
            _write({"log_table": "app_log", "timestamp": _now(), "severity": "ERROR", "service": "demo-fallback",
                    "log_id": uuid.uuid4().hex, "request_id": request_id, "logger": "demo.app",
                    "message": f"unhandled exception in {scope['path']}",
                    "error": {"type": f"{type(exc).__module__}.{type(exc).__qualname__}", "message": str(exc),
                              "stack": "".join(traceback.format_exception(exc))}})
            raise
        finally:
            headers = dict(scope.get("headers") or [])
            route = scope.get("route")
            _write({"log_table": "access_log", "timestamp": _now(), "severity": "ERROR" if status["code"] >= 500 else "INFO",
                    "service": "demo-fallback", "log_id": uuid.uuid4().hex, "request_id": request_id,
                    "method": scope["method"], "path": scope["path"], "route": getattr(route, "path", None),
                    "status_code": status["code"], "latency": round(time.perf_counter() - start, 6),
                    "response_bytes": status["bytes"],
                    "user_agent": headers.get(b"user-agent", b"").decode("latin-1") or None,
                    "remote_ip": (scope.get("client") or ("", 0))[0] or None})


def shipper_middleware() -> tuple[Any, str]:
    """The shipper ASGI middleware class when it exists, else the stand-in; and which it is."""
    try:
        from shipper.middleware import asgi
    except ImportError:
        return FallbackAccessLog, "demo stand-in (shipper.middleware.asgi not in the repo yet)"
    for name, obj in vars(asgi).items():
        if inspect.isclass(obj) and name.endswith("Middleware") and obj.__module__ == asgi.__name__:
            return obj, f"shipper.middleware.asgi.{name}"
    return FallbackAccessLog, "demo stand-in (no middleware class found in shipper.middleware.asgi)"


def build_app() -> tuple[Any, str]:
    middleware, which = shipper_middleware()
    app = Starlette(routes=ROUTES)
    try:
        return middleware(app, service=SERVICE), which
    except TypeError:
        return middleware(app), which


# -- the traffic -----------------------------------------------------------------------------

def plan_requests(n: int, seed: int) -> list[tuple[str, str, bytes | None]]:
    rnd = random.Random(seed)
    out: list[tuple[str, str, bytes | None]] = []
    for _ in range(n):
        r = rnd.random()
        if r < 0.35:
            out.append(("GET", "/version/endpoint", None))
        elif r < 0.55:
            out.append(("GET", "/v1/users", None))
        elif r < 0.72:
            out.append(("GET", f"/v1/users/{rnd.randint(1, 26)}", None))  # 21..26 are 404
        elif r < 0.84:
            body = rnd.choice([b'{"item": "book", "qty": 1}', b'{"qty": 2}', b"not json"])
            out.append(("POST", "/v1/orders", body))
        elif r < 0.90:
            out.append(("GET", "/static/logo.png", None))
        else:
            out.append(("GET", "/health", None))
    out.insert(n // 2, ("GET", "/v1/report", None))  # the one unhandled exception
    return out


async def drive(app: Any, requests: list[tuple[str, str, bytes | None]], concurrency: int = 16) -> dict[int, int]:
    import httpx

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False, client=("10.1.2.3", 51000))
    statuses: dict[int, int] = {}
    sem = asyncio.Semaphore(concurrency)
    async with httpx.AsyncClient(transport=transport, base_url="http://demo.local",
                                 headers={"user-agent": "demo-traffic/1.0"}) as client:
        async def one(method: str, path: str, body: bytes | None) -> None:
            async with sem:
                resp = await client.request(method, path, content=body)
                statuses[resp.status_code] = statuses.get(resp.status_code, 0) + 1

        await asyncio.gather(*(one(*r) for r in requests))
    return statuses


def main(argv: list[str] | None = None) -> int:
    import argparse

    ap = argparse.ArgumentParser(description="serve a burst of requests; logs go to stdout")
    ap.add_argument("--requests", type=int, default=240)
    ap.add_argument("--seed", type=int, default=42)
    args = ap.parse_args(argv)
    random.seed(args.seed)
    global LOG
    LOG = app_log()
    app, which = build_app()
    print(f"sample app starting: middleware = {which}", flush=True)  # the stray non-JSON line
    statuses = asyncio.run(drive(app, plan_requests(args.requests, args.seed)))
    summary = ", ".join(f"{code}: {n}" for code, n in sorted(statuses.items()))
    print(f"{sum(statuses.values())} requests served ({summary}); middleware: {which}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
