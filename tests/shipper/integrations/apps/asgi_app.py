"""A FastAPI app as people write one, served by a real uvicorn (or gunicorn) in the tests.

`app`: with shipper's access-log middleware. `bare`: the same routes without it.
"""

from __future__ import annotations

import asyncio
import os

from fastapi import FastAPI

import shipper
from shipper.middleware.asgi import AccessLogMiddleware

log = shipper.get_logger()


def make() -> FastAPI:
    api = FastAPI()

    @api.get("/users/{user_id}")
    async def user(user_id: int) -> dict[str, int]:
        log.info("looking up user", user_id=user_id)
        return {"id": user_id, "pid": os.getpid()}

    @api.get("/boom")
    async def boom() -> None:
        raise ZeroDivisionError("no report today")

    @api.get("/slow")
    async def slow() -> dict[str, int]:
        await asyncio.sleep(0.05)
        return {"pid": os.getpid()}

    @api.get("/big")
    async def big(n: int = 12_000) -> dict[str, int]:
        log.info("big record", pad="x" * n, pid=os.getpid())
        return {"pid": os.getpid()}

    return api


app = make()
app.add_middleware(AccessLogMiddleware)
bare = make()
