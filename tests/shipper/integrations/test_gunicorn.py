"""A real gunicorn with real worker processes (forked from the master after the log config is
applied), logging through `shipper.integrations.gunicorn`:

- sync workers serving a Flask app (instrument_flask, install_stdlib) and a plain WSGI app
  behind the middleware whose exception reaches gunicorn;
- uvicorn's workers (`-k uvicorn.workers.UvicornWorker`) and gunicorn's own ASGI worker
  (`-k asgi`) serving a FastAPI app.

Before: gunicorn wrote plain text on stderr (its start-up lines, "Error handling request" with
the traceback), and once any log config was given, a plain access line per request.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from support import SCHEMAS
from web_servers import Server, bin_path, python

from shipper._fit import check_record
from shipper.registry import load_registry

REGISTRY = load_registry(SCHEMAS, full_check=False)
GUNICORN = [bin_path("gunicorn"), "-b", "127.0.0.1:0", "-w", "2", "--graceful-timeout", "2"]
CONFIG_MODULE = ["-c", "python:shipper.integrations.gunicorn"]


# Records from two workers at once on the one stdout pipe. Lines up to PIPE_BUF (4096 bytes) are
# written whole by the kernel; these 12 KB lines rely on the logger's cross-process guard (a
# record lock on the shared pipe): without it this test tore lines in 1 of 4 runs.
BIG = 200
PAD = 12_000


def _by(recs: list[dict[str, Any]], **fields: Any) -> list[dict[str, Any]]:
    return [r for r in recs if all(r.get(k) == v for k, v in fields.items())]


def _pids(server: Server, path: str, n: int = 24) -> set[int]:
    """Concurrent requests: both workers answer some (each sync worker serves one at a time)."""
    with ThreadPoolExecutor(8) as pool:
        resps = list(pool.map(lambda _: server.get(path), range(n)))
    assert {r.status_code for r in resps} == {200}
    return {r.json()["pid"] for r in resps}


@pytest.fixture(scope="module")
def sync_server() -> Iterator[Server]:
    srv = Server([*GUNICORN, *CONFIG_MODULE, "wsgi_app:app"])
    yield srv
    srv.stop()


@pytest.fixture(scope="module", params=["uvicorn.workers.UvicornWorker", "asgi"])
def asgi_server(request: pytest.FixtureRequest,
                tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """uvicorn's worker with `--log-config-json` (the JSON `python -m
    shipper.integrations.gunicorn` prints), gunicorn's own ASGI worker with the config module."""
    if request.param == "asgi":
        config = CONFIG_MODULE
    else:
        path = tmp_path_factory.mktemp("gunicorn") / "log.json"
        path.write_bytes(subprocess.run(python("-m", "shipper.integrations.gunicorn"),
                                        capture_output=True, check=True).stdout)
        config = ["--log-config-json", str(path)]
    srv = Server([*GUNICORN, *config, "-k", request.param, "asgi_app:app"])
    yield srv
    srv.stop()


def test_master_and_worker_lines_are_app_log_records(sync_server: Server) -> None:
    def booted(recs: list[dict[str, Any]]) -> list[str]:
        return [r["message"] for r in _by(recs, log_table="app_log", logger="gunicorn.error")
                if r["message"].startswith("Booting worker with pid")]

    recs = sync_server.wait_for(lambda rs: len(booted(rs)) == 2)  # every line a JSON record
    messages = [r["message"] for r in _by(recs, log_table="app_log", logger="gunicorn.error")]
    assert any(m.startswith("Starting gunicorn") for m in messages)
    assert len([m for m in messages if m.startswith("Booting worker with pid")]) == 2
    assert sync_server.stderr() == b""


def test_two_workers_one_access_record_per_request_no_gunicorn_access_line(
        sync_server: Server) -> None:
    pids = _pids(sync_server, "/slow")
    assert len(pids) == 2, "both worker processes served requests"
    recs = sync_server.wait_for(lambda rs: len(_by(rs, log_table="access_log", path="/slow")) == 24)
    for rec in _by(recs, log_table="access_log", path="/slow"):
        assert rec["status_code"] == 200 and rec["route"] == "/slow"
        assert check_record(REGISTRY.table("access_log"), rec) == []
    assert _by(sync_server.settle(), logger="gunicorn.access") == []


def test_flask_exception_is_one_record(sync_server: Server) -> None:
    resp = sync_server.get("/boom")
    assert resp.status_code == 500
    rid = resp.headers["x-request-id"]
    sync_server.wait_for(lambda rs: _by(rs, log_table="access_log", request_id=rid) != [])
    recs = _by(sync_server.settle(), request_id=rid)
    (err,) = [r for r in recs if r["log_table"] == "app_log"]  # not Flask's "Exception on"
    assert err["logger"] == "shipper.middleware" and "in boom" in err["error"]["stack"]
    (access,) = [r for r in recs if r["log_table"] == "access_log"]
    assert access["status_code"] == 500 and access["route"] == "/boom"


def test_exception_reaching_gunicorn_is_one_record(sync_server: Server) -> None:
    resp = sync_server.get("/bare/x")
    assert resp.status_code == 500
    sync_server.wait_for(lambda rs: _by(rs, log_table="access_log", path="/bare/x") != [])
    recs = sync_server.settle()
    errors = [r for r in recs if r.get("error") and "bare app failed" in r["error"]["message"]]
    assert len(errors) == 1 and errors[0]["logger"] == "shipper.middleware"
    assert not [r for r in recs if "Error handling request" in (r.get("message") or "")]
    assert sync_server.stderr() == b""


def test_records_from_two_workers_are_whole_lines(sync_server: Server) -> None:
    """Records written by both workers at once to the one stdout pipe are whole lines."""
    pids = _pids(sync_server, f"/big?n={PAD}", n=BIG)
    assert len(pids) == 2
    recs = sync_server.wait_for(
        lambda rs: len(_by(rs, log_table="app_log", message="big record")) == BIG)
    big = _by(recs, message="big record")
    assert {r["extra"]["pid"] for r in big} == pids
    assert {len(r["extra"]["pad"]) for r in big} == {PAD}


def test_asgi_workers_one_access_record_no_server_line_one_exception(
        asgi_server: Server) -> None:
    pids = _pids(asgi_server, "/slow", n=16)
    assert len(pids) >= 1
    assert asgi_server.get("/boom").status_code == 500
    asgi_server.wait_for(lambda rs: len(_by(rs, log_table="access_log", path="/slow")) == 16
                         and _by(rs, log_table="access_log", path="/boom") != [])
    recs = asgi_server.settle()
    server_lines = [r for r in recs if r.get("logger") in ("gunicorn.access", "uvicorn.access")]
    assert server_lines == []
    errors = [r for r in recs if r.get("error") and "no report today" in r["error"]["message"]]
    assert len(errors) == 1 and errors[0]["logger"] == "shipper.middleware"
    assert asgi_server.stderr() == b""
