"""A real uvicorn serving a real FastAPI app over TCP, logging through shipper's log config.

Before `shipper.integrations` uvicorn printed a plain-text access line per request (stdout, a
duplicate of the access_log record, raw_log once shipped) and its tracebacks on stderr.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from web_servers import APPS, Server, python
from support import SCHEMAS

from shipper._fit import check_record
from shipper.integrations import uvicorn as shipper_uvicorn
from shipper.registry import load_registry

REGISTRY = load_registry(SCHEMAS, full_check=False)
TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

RUN = f"""
import uvicorn
from shipper.integrations import uvicorn as shipper_uvicorn
uvicorn.run("asgi_app:app", host="127.0.0.1", port=0, app_dir={str(APPS)!r},
            log_config=shipper_uvicorn.log_config(), use_colors=False)
"""


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    """uvicorn.run(log_config=...) with the middleware on (one server for the module)."""
    srv = Server(python("-c", RUN))
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def cli_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """`uvicorn --log-config log.json --workers 2` (the JSON `python -m
    shipper.integrations.uvicorn` prints; each worker process applies it), serving the app
    without the middleware."""
    import subprocess

    conf = tmp_path_factory.mktemp("uvicorn") / "log.json"
    out = subprocess.run(python("-m", "shipper.integrations.uvicorn"), capture_output=True,
                         check=True, cwd=str(APPS))
    conf.write_bytes(out.stdout)
    srv = Server(python("-m", "uvicorn", "asgi_app:bare", "--host", "127.0.0.1", "--port", "0",
                        "--workers", "2", "--log-config", str(conf)), ready="Uvicorn running on")
    # the socket listens once a worker process has started
    srv.wait_for(lambda rs: len([r for r in rs if "Application startup complete"
                                 in (r.get("message") or "")]) == 2, timeout=60)
    yield srv
    srv.stop()


def _by(recs: list[dict[str, Any]], **fields: Any) -> list[dict[str, Any]]:
    return [r for r in recs if all(r.get(k) == v for k, v in fields.items())]


def test_start_up_lines_are_app_log_records(server: Server) -> None:
    recs = server.records()  # strict: every stdout line is a JSON record
    started = [r for r in _by(recs, log_table="app_log", logger="uvicorn.error")
               if "Application startup complete" in r["message"]]
    assert len(started) == 1 and started[0]["severity"] == "INFO"
    assert started[0]["service"] == "web-it"
    # uvicorn's copy of a message with terminal colour codes is not shipped
    assert not [r for r in recs if "color_message" in (r.get("extra") or {})]


def test_one_access_record_per_request_and_no_uvicorn_access_line(server: Server) -> None:
    rids = [server.get(f"/users/{i}").headers["x-request-id"] for i in range(5)]
    recs = server.wait_for(lambda rs: len({r.get("request_id") for r in
                                            _by(rs, log_table="access_log")} & set(rids)) == 5)
    for rid in rids:
        (access,) = _by(recs, log_table="access_log", request_id=rid)
        assert access["route"] == "/users/{user_id}" and access["status_code"] == 200
        assert check_record(REGISTRY.table("access_log"), access) == []
        (app_rec,) = _by(recs, log_table="app_log", request_id=rid)
        assert app_rec["message"] == "looking up user"
    assert _by(server.settle(), logger="uvicorn.access") == []
    assert server.stderr() == b""


def test_unhandled_exception_is_one_record_with_its_traceback(server: Server) -> None:
    # added with add_middleware, the middleware sits inside Starlette's ServerErrorMiddleware,
    # whose 500 has no X-Request-ID header: the records are found by path
    assert server.get("/boom").status_code == 500
    server.wait_for(lambda rs: _by(rs, log_table="access_log", path="/boom") != [])
    recs = server.settle()
    (access,) = _by(recs, log_table="access_log", path="/boom")
    rid = access["request_id"]
    (err,) = [r for r in _by(recs, log_table="app_log", severity="ERROR") if r.get("error")
              and "no report today" in r["error"]["message"]]
    assert err["request_id"] == rid and err["logger"] == "shipper.middleware"
    assert "Traceback" in err["error"]["stack"] and "in boom" in err["error"]["stack"]
    assert not [r for r in recs if "Exception in ASGI application" in (r.get("message") or "")]
    # nor uvicorn's access line for the 500 Starlette sent after the middleware re-raised
    assert _by(recs, logger="uvicorn.access") == []
    assert access["status_code"] == 500 and access["severity"] == "ERROR"
    assert server.stderr() == b""


def test_trace_id_from_traceparent_on_access_and_app_records(server: Server) -> None:
    resp = server.get("/users/7", headers={"traceparent": TRACEPARENT})
    rid = resp.headers["x-request-id"]
    recs = server.wait_for(lambda rs: _by(rs, log_table="access_log", request_id=rid) != [])
    for rec in _by(recs, request_id=rid):
        assert rec["trace_id"] == "4bf92f3577b34da6a3ce929d0e0e4736"


def test_hostile_trace_headers_over_tcp_give_no_trace_id_and_a_record_that_fits(
        server: Server) -> None:
    hostile = [("traceparent", "00-" + "A" * 32 + "-" + "b" * 16 + "-01"),
               ("traceparent", "00-" + "0" * 32 + "-" + "b" * 16 + "-01"),
               ("traceparent", "zz" * 300),
               ("x-amzn-trace-id", "Root=1-5759e988-bd862e3fe1be46a99427279;Parent=x"),
               ("x-amzn-trace-id", "Root=" + "1-" * 400),
               ("x-amzn-trace-id", "Root=1-5759e988-bd862e3fe1be46a994272793\\u0000")]
    rids = []
    for name, value in hostile:
        rids.append(httpx.get(server.url + "/users/1", headers=[(name, value)], timeout=10)
                    .headers["x-request-id"])
    recs = server.wait_for(lambda rs: len([r for r in _by(rs, log_table="access_log")
                                           if r["request_id"] in rids]) == len(rids))
    for rid in rids:
        (access,) = _by(recs, log_table="access_log", request_id=rid)
        assert "trace_id" not in access
        assert check_record(REGISTRY.table("access_log"), access) == []


def test_cli_log_config_without_middleware_keeps_uvicorn_lines_as_app_log(
        cli_server: Server) -> None:
    assert cli_server.get("/users/3").status_code == 200
    assert cli_server.get("/boom").status_code == 500
    recs = cli_server.wait_for(
        lambda rs: any("Exception in ASGI application" in (r.get("message") or "") for r in rs)
        and len(_by(rs, logger="uvicorn.access")) >= 2)
    assert _by(recs, log_table="access_log") == []  # no middleware, no access records
    lines = [r["message"] for r in _by(recs, log_table="app_log", logger="uvicorn.access")]
    assert any('"GET /users/3 HTTP/1.1" 200' in m for m in lines)
    assert any('"GET /boom HTTP/1.1" 500' in m for m in lines)
    (err,) = [r for r in recs if "Exception in ASGI application" in (r.get("message") or "")]
    assert err["severity"] == "ERROR" and err["logger"] == "uvicorn.error"
    assert err["error"]["type"].endswith("ZeroDivisionError")
    assert cli_server.stderr() == b""


def test_printed_json_is_the_dict_and_uvicorn_can_set_colors_on_it() -> None:
    import logging.config
    import subprocess

    out = subprocess.run(python("-m", "shipper.integrations.uvicorn", "--level", "warning"),
                         capture_output=True, check=True)
    assert json.loads(out.stdout) == shipper_uvicorn.log_config(level="WARNING")
    from uvicorn.config import Config

    before = logging.getLogger("uvicorn.access").handlers[:]
    try:
        Config("asgi_app:app", log_config=shipper_uvicorn.log_config(), use_colors=True)
        import shipper

        handlers = logging.getLogger("uvicorn.access").handlers
        assert [type(h) for h in handlers] == [shipper.StdlibHandler]
    finally:
        logging.getLogger("uvicorn.access").handlers = before
        logging.config.dictConfig({"version": 1, "disable_existing_loggers": False,
                                   "root": {"handlers": [], "level": "WARNING"}})


def test_module_is_light() -> None:
    import subprocess

    code = ("import sys, shipper.integrations.uvicorn, shipper.integrations.gunicorn;"
            "print(sorted(m for m in ('uvicorn', 'gunicorn', 'fastapi', 'flask') "
            "if m in sys.modules))")
    out = subprocess.run(python("-c", code), capture_output=True, check=True, text=True,
                         cwd=str(Path(__file__).parent))
    assert out.stdout.strip() == "[]"
