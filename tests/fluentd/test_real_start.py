"""The generated config on real fluentd: it starts, it refuses to start without its settings, it scales.

`--dry-run` loads every plugin and checks every parameter (it caught the `<buffer tag>` without a
`${tag}` placeholder that no parser of our own could see).
"""

from __future__ import annotations

import json
import re
import time
import urllib.request
from collections import Counter

import pytest

from shipper.testing.fluentd import (
    BigQueryStandIn,
    ForwardClient,
    Fluentd,
    driver_record,
    make_service_account_key,
    run_dry,
)

SETTINGS = {"LOGBRIDGE_BQ_PROJECT": "my-project"}


def test_dry_run_passes(fluentd_cmd, tmp_path):
    r = run_dry(fluentd_cmd, tmp_path, SETTINGS)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "[error]" not in r.stdout and "finished dry run mode" in r.stdout


def test_dry_run_with_a_key_file_and_two_workers(fluentd_cmd, tmp_path):
    key = make_service_account_key(tmp_path)
    r = run_dry(fluentd_cmd, tmp_path, {**SETTINGS, "LOGBRIDGE_BQ_KEY_PATH": str(key), "LOGBRIDGE_WORKERS": "2"})
    assert r.returncode == 0, r.stdout + r.stderr


@pytest.mark.parametrize("value", [None, "", "  "])
def test_without_the_project_fluentd_stops_with_one_line_naming_it(fluentd_cmd, tmp_path, value):
    r = run_dry(fluentd_cmd, tmp_path, {"LOGBRIDGE_BQ_PROJECT": value})
    assert r.returncode == 1
    out = r.stdout + r.stderr
    (line,) = [x for x in out.splitlines() if "LOGBRIDGE_BQ_PROJECT" in x]
    assert "[error]" in line and "is not set" in line
    assert "Traceback" not in out and ".rb:" not in out, "no Ruby backtrace"


def test_without_the_project_a_real_start_exits_the_same_way(fluentd_cmd, tmp_path):
    fd = Fluentd(fluentd_cmd, tmp_path, env={"LOGBRIDGE_BQ_PROJECT": ""}, ready_timeout=30)
    with pytest.raises(RuntimeError, match="exited with 1"):
        fd.start()
    fd._closed()
    out = fd.output()
    assert re.search(r"\[error\]: config error .*LOGBRIDGE_BQ_PROJECT is not set", out)
    assert ".rb:" not in out


def routed_by(fd: Fluentd, worker: int) -> int:
    """Events the worker's router took, from its own monitor_agent API (port + worker id)."""
    url = f"http://127.0.0.1:{fd.monitor_port + worker}/api/plugins.json?@id=route"
    with urllib.request.urlopen(url, timeout=5) as resp:
        (plugin,) = json.load(resp)["plugins"]
    return plugin["emit_records"]


def test_two_workers_every_line_once_and_a_status_stream_per_worker(fluentd_cmd, registry, bq_tables, tmp_path):
    """`workers 2`: each worker has its own buffers, monitor port and status lines.

    One connection is served by one worker; a new connection goes to a worker that is free to
    accept it (a busy one is not), so connections are opened while others are being processed,
    until both workers have routed some."""
    with BigQueryStandIn(bq_tables(registry)) as bq, Fluentd(fluentd_cmd, tmp_path, bq.endpoint, workers=2) as fd:
        sent, clients = 0, []
        while len(clients) < 40 and not (clients and routed_by(fd, 0) and routed_by(fd, 1)):
            client = ForwardClient(fd.forward_port)
            client.connect()
            client.send("app.api", [(time.time(), driver_record(f"w {len(clients)} {i}")) for i in range(1000)],
                        ack=False)
            clients.append(client)
            sent += 1000
            time.sleep(0.02)
        rows = bq.wait_rows("raw_log", sent, timeout=60)
        for c in clients:
            c.close()
        texts = Counter(r["text"] for r in rows)
        assert len(texts) == sent and set(texts.values()) == {1}, "every line once"
        assert routed_by(fd, 0) > 0 and routed_by(fd, 1) > 0
        assert routed_by(fd, 0) + routed_by(fd, 1) == sent
        fd.wait_status(lambda s: s["plugin_id"] == "route" and s["worker_id"] == "1")
        fd.wait_status(lambda s: s["plugin_id"] == "route" and s["worker_id"] == "0")
        base = fd.buffer_dir / "bigquery" / "raw_log"
        assert sorted(p.name for p in base.iterdir()) == ["worker0", "worker1"]  # a buffer each
