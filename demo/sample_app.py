"""A small Starlette web app, logged by the shipper ASGI middleware, driven by realistic traffic.

Run as a script, it serves a burst of requests in-process (httpx's ASGI transport: no socket,
no server) and exits. Everything it logs goes to its stdout, one JSON line per record, exactly
as in a container whose stdout the Docker fluentd driver reads; `demo/run.py` sends that
stdout through `shipper load`. The traffic: several paths, 2xx/3xx/4xx/5xx, latency from
sub-millisecond to ~80 ms, one unhandled exception (with its traceback) and one stray print.

The access-log middleware is `shipper.middleware.asgi.AccessLogMiddleware`, and the app's own
events go through `shipper.get_logger("app_log")` (fields the table does not declare land in its
`extra` JSON column).

The traffic is the same on every run: the requests are planned from a fixed seed, and each
handler draws its delay and its flakiness from a generator seeded by the request's own
X-Request-ID (never from a shared one, whose draws would follow the event loop's scheduling).
Only the measured latencies and the clock differ between runs.
"""

from __future__ import annotations

import asyncio
import random
import sys
import uuid
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

SERVICE = "demo-api"
USERS = {str(i): {"id": i, "name": f"user{i}"} for i in range(1, 21)}


# -- the app ---------------------------------------------------------------------------------

LOG: Any = None


def rnd(request: Request) -> random.Random:
    """This request's own random draws: the same for the same request on every run."""
    return random.Random(request.headers.get("x-request-id", ""))


async def version(request: Request) -> Response:
    r = rnd(request)
    await asyncio.sleep(r.uniform(0.0, 0.03))
    if r.random() < 0.15:  # a flaky dependency
        LOG.warning("upstream unavailable", upstream="version-service")
        return JSONResponse({"error": "upstream unavailable"}, status_code=503)
    return JSONResponse({"version": "1.4.2"})


async def list_users(request: Request) -> Response:
    await asyncio.sleep(rnd(request).uniform(0.005, 0.08))
    return JSONResponse(list(USERS.values())[:10])


async def get_user(request: Request) -> Response:
    await asyncio.sleep(rnd(request).uniform(0.0, 0.01))
    user = USERS.get(request.path_params["user_id"])
    if user is None:
        return JSONResponse({"error": "no such user"}, status_code=404)
    return JSONResponse(user)


async def create_order(request: Request) -> Response:
    body = await request.body()
    r = rnd(request)
    await asyncio.sleep(r.uniform(0.01, 0.04))
    try:
        order = orjson.loads(body)
    except orjson.JSONDecodeError:
        return JSONResponse({"error": "body is not JSON"}, status_code=400)
    if not isinstance(order, dict) or "item" not in order:
        return JSONResponse({"error": "missing item"}, status_code=422)
    order_id = str(uuid.UUID(int=r.getrandbits(128), version=4))
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


def build_app() -> Any:
    from shipper.middleware.asgi import AccessLogMiddleware

    return AccessLogMiddleware(Starlette(routes=ROUTES))


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
        async def one(i: int, method: str, path: str, body: bytes | None) -> None:
            async with sem:
                resp = await client.request(method, path, content=body,
                                            headers={"x-request-id": f"demo-{i:04d}"})
                statuses[resp.status_code] = statuses.get(resp.status_code, 0) + 1

        await asyncio.gather(*(one(i, *r) for i, r in enumerate(requests)))
    return statuses


def main(argv: list[str] | None = None) -> int:
    import argparse

    ap = argparse.ArgumentParser(description="serve a burst of requests; logs go to stdout")
    ap.add_argument("--requests", type=int, default=240)
    ap.add_argument("--seed", type=int, default=42)
    args = ap.parse_args(argv)
    global LOG
    import shipper

    LOG = shipper.get_logger("app_log")
    app = build_app()
    print("sample app starting on demo.local", flush=True)  # the stray non-JSON line
    statuses = asyncio.run(drive(app, plan_requests(args.requests, args.seed)))
    summary = ", ".join(f"{code}: {n}" for code, n in sorted(statuses.items()))
    print(f"{sum(statuses.values())} requests served ({summary}) through "
          "shipper.middleware.asgi.AccessLogMiddleware", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
