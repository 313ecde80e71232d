"""Run the real fluentd on the project's generated config, against the BigQuery stand-in.

The judge of `fluentd/fluent.conf` and its plugins is fluentd itself, not a model of it. This
module starts it the way the image does (`fluentd -c fluent.conf -p plugins/`), with
fluent-plugin-bigquery pointed at `FakeBigQueryAPI` (`fluentd_bigquery_endpoint.rb`), free ports,
its own buffer directory, and a service-account key made for the run; and it speaks the forward
protocol the way Docker's `fluentd` log driver does.

    tables = {t.name: table_resource(t, PROJECT, DATASET) for t in registry.tables}  # shipper.warehouse.bigquery
    with BigQueryStandIn(tables) as bq, Fluentd(find_fluentd(), tmp_path, bq.endpoint) as fd:
        with ForwardClient(fd.forward_port) as client:
            client.send_lines("app.api", ["plain text", '{"log_table": "app_log", ...}'])
        bq.wait_rows("raw_log", 1)

Where fluentd comes from: `LOGBRIDGE_FLUENTD` (a path to its launcher), else `fluentd` on PATH
(the official image's, or `gem install fluentd fluent-plugin-bigquery fluent-plugin-concat`).
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent.parent
ENDPOINT_RB = Path(__file__).resolve().parent / "fluentd_bigquery_endpoint.rb"
CONTAINER_ID = "f9811b73ac5d1a8db842634fc0f871e03207ae44105fc9c2b7f1985e70f90d5a"
PROJECT, DATASET = "test-project", "logs"


def find_fluentd() -> list[str] | None:
    """The command that runs fluentd: `LOGBRIDGE_FLUENTD`, else `fluentd` on PATH, else None."""
    configured = os.environ.get("LOGBRIDGE_FLUENTD", "").strip()
    if configured:
        return [configured]
    found = shutil.which("fluentd")
    return [found] if found else None


NO_FLUENTD = ("no fluentd: set LOGBRIDGE_FLUENTD to its launcher or put `fluentd` (with "
              "fluent-plugin-bigquery and fluent-plugin-concat) on PATH; .ci/run does it in CI")


def free_port(count: int = 1) -> int:
    """A port p on 127.0.0.1 with p..p+count-1 free right now (others run tests beside us)."""
    for _ in range(200):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port + count > 65535:
            continue
        if all(_free(port + i) for i in range(1, count)):
            return port
    raise RuntimeError(f"no {count} consecutive free ports")


def _free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def make_service_account_key(directory: Path) -> Path:
    """A service-account JSON key made for the test: fluent-plugin-bigquery wants one to exist."""
    pem = subprocess.run(["openssl", "genrsa", "2048"], check=True, capture_output=True, text=True).stdout
    key = {"type": "service_account", "project_id": PROJECT, "private_key_id": uuid.uuid4().hex,
           "private_key": pem, "client_email": f"fluentd@{PROJECT}.iam.gserviceaccount.com",
           "client_id": "1", "token_uri": "https://oauth2.googleapis.com/token"}
    path = directory / "bq-key.json"
    path.write_text(json.dumps(key))
    path.chmod(0o600)
    return path


# ------------------------------------------------------------------------------ BigQuery stand-in

class BigQueryStandIn:
    """`FakeBigQueryAPI` with the dataset and the given tables created, as `shipper tables apply`
    would: `tables` maps a table name to its `tables.insert` resource (e.g.
    `shipper.warehouse.bigquery.table_resource(registry.table(name), PROJECT, DATASET)`; this
    module stays below the warehouse layer, so the caller builds them)."""

    def __init__(self, tables: Mapping[str, dict[str, Any]]) -> None:
        from .fake_bigquery import FakeBigQueryAPI

        self.fake = FakeBigQueryAPI(PROJECT)
        self.resources = dict(tables)
        self.names = list(self.resources)

    def __enter__(self) -> BigQueryStandIn:  # noqa: PYI034 - final in practice; Self needs 3.11
        self.fake.start()
        self.fake.add_dataset(DATASET)
        for resource in self.resources.values():
            code, answer = self.fake.handle("POST", f"/bigquery/v2/projects/{PROJECT}/datasets/{DATASET}/tables",
                                            json.dumps(resource).encode(), {})
            assert code == 200, answer
        return self

    def __exit__(self, *exc: object) -> None:
        self.fake.stop()

    @property
    def endpoint(self) -> str:
        return self.fake.endpoint

    def rows(self, table: str) -> list[dict[str, Any]]:
        if self.fake.table(DATASET, table) is None:
            return []
        return self.fake.rows(DATASET, table)

    def all_rows(self) -> dict[str, list[dict[str, Any]]]:
        return {name: self.rows(name) for name in self.names}

    def wait_rows(self, table: str, count: int, timeout: float = 30.0) -> list[dict[str, Any]]:
        """The table's rows once it has at least `count` (AssertionError with what is there if not)."""
        deadline = time.monotonic() + timeout
        while True:
            rows = self.rows(table)
            if len(rows) >= count or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        assert len(rows) >= count, f"{table}: {len(rows)} rows after {timeout}s, wanted {count}: {rows[-5:]}"
        return rows

    def wait_total(self, count: int, timeout: float = 30.0) -> dict[str, list[dict[str, Any]]]:
        deadline = time.monotonic() + timeout
        while True:
            rows = self.all_rows()
            total = sum(len(v) for v in rows.values())
            if total >= count or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        assert total >= count, f"{total} rows after {timeout}s, wanted {count}"
        return rows


# ------------------------------------------------------------------------------------ fluentd

@dataclass
class Fluentd:
    """A real fluentd running the generated config. Start with `with`; stop(), kill(), start() again.

    `env` adds settings (LOGBRIDGE_*); the buffer directory, ports, key and stand-in endpoint
    are set here. Its stdout (status lines, its own log) is kept in `workdir/fluentd.<n>.log`.
    """

    command: list[str]
    workdir: Path
    bigquery_url: str | None = None
    env: dict[str, str] = field(default_factory=dict)
    workers: int = 1
    config: Path = REPO / "fluentd" / "fluent.conf"  # its plugins/ beside it (no -p: it loads them)
    ready_timeout: float = 60.0
    # Batch tables flush every registry flush_interval (minutes); a test cannot wait that long.
    # With this set, fluentd runs a copy of the config whose batch flush_interval lines (and only
    # those) say this instead; None runs the config as it is.
    batch_flush: str | None = "1s"
    forward_port: int = 0
    monitor_port: int = 0
    proc: subprocess.Popen[bytes] | None = None
    runs: int = 0

    def __post_init__(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.buffer_dir = self.workdir / "buffer"
        self.key = make_service_account_key(self.workdir)

    # -- lifecycle ---------------------------------------------------------------------------
    def environment(self) -> dict[str, str]:
        e = {k: v for k, v in os.environ.items() if not k.startswith(("LOGBRIDGE_", "FLUENTD_"))}
        e.update({
            "LOGBRIDGE_BQ_PROJECT": PROJECT, "LOGBRIDGE_BQ_DATASET": DATASET,
            "LOGBRIDGE_BQ_KEY_PATH": str(self.key), "LOGBRIDGE_BUFFER_DIR": str(self.buffer_dir),
            "LOGBRIDGE_FORWARD_PORT": str(self.forward_port),
            "LOGBRIDGE_MONITOR_PORT": str(self.monitor_port),
            "LOGBRIDGE_WORKERS": str(self.workers),
            "LOGBRIDGE_FLUSH_INTERVAL": "0.2s", "LOGBRIDGE_EMIT_INTERVAL": "1",
            "LOGBRIDGE_PARTIAL_TIMEOUT": "2",
        })
        if self.bigquery_url:
            e.update({"FLUENTD_BIGQUERY_URL": self.bigquery_url, "FLUENTD_BIGQUERY_AUTH": "none"})
        e.update(self.env)
        return {k: v for k, v in e.items() if v is not None}

    def config_path(self) -> Path:
        """The config fluentd runs: `config`, or its copy with batch tables flushing every
        `batch_flush` (the line after the renderer's x-bigquery.ingestion.flush_interval comment)."""
        if self.batch_flush is None:
            return self.config
        import re

        text, n = re.subn(r"(# the table's x-bigquery\.ingestion\.flush_interval[^\n]*\n\s*flush_interval )\S+",
                          lambda m: m.group(1) + str(self.batch_flush), self.config.read_text(encoding="utf-8"))
        if not n:
            return self.config
        copy = self.workdir / "fluent.batch-flush.conf"
        copy.write_text(text, encoding="utf-8")
        plugins = self.workdir / "plugins"  # the config loads its plugins from beside itself
        if not plugins.exists():
            plugins.symlink_to(self.config.resolve().parent / "plugins", target_is_directory=True)
        return copy

    def args(self) -> list[str]:
        out = [*self.command, "-c", str(self.config_path())]
        if self.bigquery_url:
            out += ["-r", str(ENDPOINT_RB)]
        return out

    @property
    def log_path(self) -> Path:
        return self.workdir / f"fluentd.{self.runs}.log"

    def start(self, wait: bool = True) -> Fluentd:
        assert self.proc is None, "already running"
        if not self.forward_port:
            self.forward_port = free_port()
            self.monitor_port = free_port(self.workers)
        self.runs += 1
        out = open(self.log_path, "wb")  # noqa: SIM115 - closed by stop()/kill()
        self._out = out
        self.proc = subprocess.Popen(self.args(), env=self.environment(), stdout=out,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        if wait:
            self.wait_ready()
        return self

    def wait_ready(self) -> None:
        deadline = time.monotonic() + self.ready_timeout
        while time.monotonic() < deadline:
            text = self.output()
            running = text.count("fluentd worker is now running")
            if running >= self.workers and _accepts(self.forward_port):
                return
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"fluentd exited with {self.proc.returncode}:\n{text[-4000:]}")
            time.sleep(0.05)
        raise RuntimeError(f"fluentd not ready after {self.ready_timeout}s:\n{self.output()[-4000:]}")

    def stop(self, timeout: float = 60.0) -> int:
        """Graceful: SIGTERM, as `docker stop` does; fluentd flushes its buffers and exits."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise
        self._wait_group_gone()
        self._closed()
        return code

    def kill(self) -> None:
        """kill -9 of the supervisor and its workers (the process group started here)."""
        assert self.proc is not None
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait(30)
        self._wait_group_gone()
        self._closed()

    def _wait_group_gone(self) -> None:
        assert self.proc is not None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                os.killpg(self.proc.pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.05)
        os.killpg(self.proc.pid, signal.SIGKILL)

    def _closed(self) -> None:
        self._out.close()
        self.proc = None

    def __enter__(self) -> Fluentd:  # noqa: PYI034 - final in practice; Self needs 3.11
        return self.start()

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None:
            if self.proc.poll() is None:
                try:
                    self.stop()
                except subprocess.TimeoutExpired:
                    pass
            else:
                self._closed()

    # -- what it printed ---------------------------------------------------------------------
    def output(self, all_runs: bool = False) -> str:
        runs = range(1, self.runs + 1) if all_runs else [self.runs]
        parts = []
        for n in runs:
            p = self.workdir / f"fluentd.{n}.log"
            if p.exists():
                parts.append(p.read_bytes().decode("utf-8", "replace"))
        return "".join(parts)

    def status_lines(self, all_runs: bool = False) -> list[dict[str, Any]]:
        """The monitor_agent status lines on stdout: `<time> fluentd.status: {json}` -> the JSON."""
        out = []
        for line in self.output(all_runs).splitlines():
            head, sep, body = line.partition(" fluentd.status: ")
            if sep and head[:4].isdigit():
                out.append(json.loads(body))
        return out

    def wait_status(self, predicate: Any, timeout: float = 30.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for s in reversed(self.status_lines()):
                if predicate(s):
                    return s
            time.sleep(0.1)
        raise AssertionError(f"no status line matched after {timeout}s; last: {self.status_lines()[-3:]}")

    def files(self, sub: str) -> list[Path]:
        base = self.buffer_dir / sub
        return sorted(p for p in base.rglob("*") if p.is_file()) if base.exists() else []


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def run_dry(command: list[str], workdir: Path, env: dict[str, str | None],
            config: Path = REPO / "fluentd" / "fluent.conf") -> subprocess.CompletedProcess[str]:
    """`fluentd --dry-run` on the config, as a person runs it (no -p: the config loads its own
    plugins from beside it): loads every plugin and checks every parameter."""
    e = {k: v for k, v in os.environ.items() if not k.startswith(("LOGBRIDGE_", "FLUENTD_"))}
    e["LOGBRIDGE_BUFFER_DIR"] = str(workdir / "buffer")
    for k, v in env.items():
        if v is None:
            e.pop(k, None)
        else:
            e[k] = v
    return subprocess.run([*command, "-c", str(config), "--dry-run"],
                          env=e, capture_output=True, text=True, timeout=120, check=False)


# ------------------------------------------------------------------------- forward protocol

def event_time(t: float) -> Any:
    """The forward protocol's EventTime (msgpack ext 0: seconds, nanoseconds), as Docker sends it
    with `fluentd-sub-second-precision`."""
    import msgpack

    sec = int(t)
    return msgpack.ExtType(0, struct.pack(">II", sec, round((t - sec) * 1e9) % 1_000_000_000))


def driver_record(line: str | bytes, source: str = "stdout", name: str = "/api-1",
                  partial: tuple[str, int, bool] | None = None) -> dict[str, Any]:
    """A record as Docker's fluentd log driver makes it (moby daemon/logger/fluentd): every value a
    string; `partial` = (id, ordinal, last) for a piece of a line over 16 KiB."""
    rec: dict[str, Any] = {"container_id": CONTAINER_ID, "container_name": name, "source": source,
                           "log": line}
    if partial is not None:
        pid, ordinal, last = partial
        rec.update({"partial_message": "true", "partial_id": pid, "partial_ordinal": str(ordinal),
                    "partial_last": "true" if last else "false"})
    return rec


class ForwardClient:
    """A forward-protocol sender. `send` waits for fluentd's ack (`fluentd-request-ack`): once it
    returns, fluentd has the events in its buffers."""

    def __init__(self, port: int, host: str = "127.0.0.1", timeout: float = 30.0) -> None:
        self.addr = (host, port)
        self.timeout = timeout
        self.sock: socket.socket | None = None

    def __enter__(self) -> ForwardClient:  # noqa: PYI034 - final in practice; Self needs 3.11
        self.connect()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def connect(self) -> None:
        self.sock = socket.create_connection(self.addr, timeout=self.timeout)

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None

    def _ack(self, chunk: str) -> None:
        import msgpack

        assert self.sock is not None
        unpacker = msgpack.Unpacker(raw=False)
        while True:
            data = self.sock.recv(4096)
            if not data:
                raise ConnectionError("fluentd closed the connection before its ack")
            unpacker.feed(data)
            for msg in unpacker:
                if msg.get("ack") == chunk:
                    return

    def send(self, tag: str, events: list[tuple[float, dict[str, Any]]], ack: bool = True) -> None:
        """Forward mode: [tag, [[time, record], ...], {"chunk": id}]."""
        import msgpack

        assert self.sock is not None
        option: dict[str, Any] = {"size": len(events)}
        chunk = base64.b64encode(uuid.uuid4().bytes).decode()
        if ack:
            option["chunk"] = chunk
        entries = [[event_time(t), rec] for t, rec in events]
        # bytes go as msgpack str, as Go's driver sends a line: invalid UTF-8 stays as it was
        self.sock.sendall(msgpack.packb([tag, entries, option], use_bin_type=False))
        if ack:
            self._ack(chunk)

    def send_message(self, tag: str, record: dict[str, Any], t: float | None = None, ack: bool = True) -> None:
        """Message mode, one record: [tag, time, record, {"chunk": id}] (what Docker's driver sends)."""
        import msgpack

        assert self.sock is not None
        option: dict[str, Any] = {}
        chunk = base64.b64encode(uuid.uuid4().bytes).decode()
        if ack:
            option["chunk"] = chunk
        msg = [tag, event_time(time.time() if t is None else t), record, option]
        self.sock.sendall(msgpack.packb(msg, use_bin_type=False))
        if ack:
            self._ack(chunk)

    def send_lines(self, tag: str, lines: Iterable[str | bytes], source: str = "stdout",
                   batch: int = 500) -> int:
        """App output lines as Docker's driver sends them, `batch` records per message."""
        n = 0
        pending: list[tuple[float, dict[str, Any]]] = []
        for line in lines:
            pending.append((time.time(), driver_record(line, source)))
            if len(pending) >= batch:
                self.send(tag, pending)
                n += len(pending)
                pending = []
        if pending:
            self.send(tag, pending)
            n += len(pending)
        return n


def chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    for i in range(0, len(items), size):
        yield items[i:i + size]
