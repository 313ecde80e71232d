"""A Flask app as people write one (instrument_flask, install_stdlib), served by a real gunicorn
with worker processes (or Werkzeug's server) in the tests. `/bare/...` is a plain WSGI app
behind the same middleware, whose exceptions reach the server (gunicorn logs them)."""

from __future__ import annotations

import os
import time

from flask import Flask
from werkzeug.middleware.dispatcher import DispatcherMiddleware

import shipper
from shipper.middleware.wsgi import AccessLogMiddleware, instrument_flask

shipper.install_stdlib()
log = shipper.get_logger()

flask_app = Flask("shop")


@flask_app.get("/users/<int:user_id>")
def user(user_id: int) -> dict[str, int]:
    log.info("looking up user", user_id=user_id)
    return {"id": user_id, "pid": os.getpid()}


@flask_app.get("/boom")
def boom() -> str:
    raise ZeroDivisionError("no report today")


@flask_app.get("/slow")
def slow() -> dict[str, int]:
    time.sleep(0.05)
    return {"pid": os.getpid()}


@flask_app.get("/big")
def big() -> dict[str, int]:
    from flask import request

    log.info("big record", pad="x" * request.args.get("n", 3000, type=int), pid=os.getpid())
    return {"pid": os.getpid()}


instrument_flask(flask_app)


def _bare(environ: dict, start_response: object) -> list[bytes]:
    raise KeyError("bare app failed")


app = DispatcherMiddleware(flask_app, {"/bare": AccessLogMiddleware(_bare)})
