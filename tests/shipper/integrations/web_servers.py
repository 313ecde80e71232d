"""Real servers in subprocesses for the integration tests: stdout and stderr are pipes read by
threads (Docker's case), the port is the one the server bound (port 0) as its own log says."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import orjson
from support import REPO, SCHEMAS

HERE = Path(__file__).resolve().parent
APPS = HERE / "apps"
_PORT = re.compile(r"https?://127\.0\.0\.1:(\d+)")


class Server:
    """One server process; `lines` are its stdout lines as they arrive, `errors` its stderr."""

    def __init__(self, argv: list[str], *, env: dict[str, str] | None = None,
                 ready: str = "running on|Listening at", cwd: Path = APPS) -> None:
        self.argv = argv
        self.ready = re.compile(ready, re.IGNORECASE)
        environ = {k: v for k, v in os.environ.items() if not k.startswith("SHIPPER_")}
        environ.update({"SHIPPER_SERVICE": "web-it", "SHIPPER_REGISTRY": str(SCHEMAS),
                        "PYTHONPATH": os.pathsep.join([str(APPS), str(REPO)]),
                        "PYTHONUNBUFFERED": "1", **(env or {})})
        self.proc = subprocess.Popen(argv, cwd=cwd, env=environ, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     start_new_session=True)
        self.out: list[bytes] = []
        self.err: list[bytes] = []
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._read, args=(s, b), daemon=True)
                         for s, b in ((self.proc.stdout, self.out), (self.proc.stderr, self.err))]
        for t in self._threads:
            t.start()
        self.port = self._wait_port()
        self.url = f"http://127.0.0.1:{self.port}"

    def _read(self, stream: Any, into: list[bytes]) -> None:
        for line in stream:
            with self._lock:
                into.append(line)

    def _wait_port(self, timeout: float = 60.0) -> int:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for rec in self.records(strict=False):
                msg = rec.get("message") or ""
                m = _PORT.search(msg)
                if m and self.ready.search(msg):
                    return int(m.group(1))
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        self.stop()
        raise AssertionError(f"server did not start: {self.argv}\nstdout:\n"
                             f"{b''.join(self.out).decode(errors='replace')[-3000:]}\nstderr:\n"
                             f"{b''.join(self.err).decode(errors='replace')[-3000:]}")

    def stdout(self) -> list[bytes]:
        with self._lock:
            return list(self.out)

    def stderr(self) -> bytes:
        with self._lock:
            return b"".join(self.err)

    def records(self, table: str | None = None, strict: bool = True) -> list[dict[str, Any]]:
        out = []
        for line in self.stdout():
            try:
                rec = orjson.loads(line)
            except orjson.JSONDecodeError:
                if strict:
                    raise AssertionError(f"not a JSON line on stdout: {line[:300]!r}") from None
                continue
            if table is None or rec.get("log_table") == table:
                out.append(rec)
        return out

    def wait_for(self, predicate: Callable[[list[dict[str, Any]]], bool],
                 timeout: float = 15.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while True:
            recs = self.records()
            if predicate(recs):
                return recs
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out; records so far: {recs[-10:]}")
            time.sleep(0.02)

    def settle(self, quiet: float = 0.3, timeout: float = 10.0) -> list[dict[str, Any]]:
        """The records once no line has arrived for `quiet` seconds: what a server writes after
        the response (uvicorn's traceback, gunicorn's access line) is in by then, so a test can
        assert that something was *not* written."""
        deadline = time.monotonic() + timeout
        count, since = -1, time.monotonic()
        while time.monotonic() < deadline:
            n = len(self.stdout())
            if n != count:
                count, since = n, time.monotonic()
            elif time.monotonic() - since >= quiet:
                break
            time.sleep(0.02)
        return self.records()

    def get(self, path: str, **kw: Any) -> httpx.Response:
        return httpx.get(self.url + path, timeout=10, **kw)

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        for t in self._threads:
            t.join(5)


def python(*args: str) -> list[str]:
    return [sys.executable, *args]


def bin_path(name: str) -> str:
    return str(Path(sys.executable).parent / name)
