"""An app using shipper the way people do, through real fluentd: its stdout as Docker's driver
sends it, and shipper's forward sink straight to the forward port.

Every line the app printed is one row: its records in their tables with the logger's envelope
(log_id included: BigQuery's insertId), its stray print and its traceback in raw_log.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

from shipper.testing.fluentd import BigQueryStandIn, ForwardClient, Fluentd, driver_record

APP = r"""
import logging, shipper
shipper.configure(service="billing")
shipper.install_stdlib()
access = shipper.get_logger("access_log")
for i in range(5):
    access.info("request", method="GET", path=f"/v1/items/{i}", status_code=200 + i, latency=0.01 * i)
shipper.get_logger().warning("disk almost full", free_mb=12)
logging.getLogger("myapp.jobs").error("job failed: %s", "timeout")
print("a stray print")
print()
raise SystemExit("bye")
"""


@pytest.fixture(scope="module")
def run(fluentd_cmd, registry, bq_tables, tmp_path_factory):
    with BigQueryStandIn(bq_tables(registry)) as bq, Fluentd(fluentd_cmd, tmp_path_factory.mktemp("library"),
                                                  bq.endpoint) as fd:
        yield bq, fd


def test_an_apps_stdout_through_the_docker_path(run, repo_root):
    bq, fd = run
    proc = subprocess.run([sys.executable, "-c", APP], capture_output=True, text=True, cwd=repo_root,
                          env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(repo_root)}, timeout=60)
    out, err = proc.stdout.split("\n")[:-1], proc.stderr.split("\n")[:-1]
    assert len(out) == 9 and err == ["bye"]
    with ForwardClient(fd.forward_port) as client:  # one message per line, as Docker sends them
        for source, lines in (("stdout", out), ("stderr", err)):
            for text in lines:
                client.send("app.billing", [(time.time(), driver_record(text, source, name="/billing-1"))])
    rows = bq.wait_total(len(out) + len(err))
    access = sorted(rows["access_log"], key=lambda r: r["path"])
    assert [r["status_code"] for r in access] == [200, 201, 202, 203, 204]
    printed = {json.loads(x)["log_id"]: json.loads(x) for x in out if x.startswith("{")}
    for r in access + rows["app_log"]:
        sent = printed[r["log_id"]]  # the logger's id is the row's insertId
        assert r == {**{k: v for k, v in sent.items() if k != "log_table"},
                     "container_name": "/billing-1", "container_id": r["container_id"]}
    assert {r.get("logger") for r in rows["app_log"]} >= {"myapp.jobs"}
    raw = {r["text"]: r for r in rows["raw_log"]}
    assert set(raw) == {"a stray print", "", "bye"}
    assert raw["bye"]["stream"] == "stderr" and all("reason" not in r for r in raw.values())


def test_shippers_forward_sink_to_fluentd(run, clean):
    import shipper
    from shipper.sinks import FluentSink

    bq, fd = run
    sink = FluentSink("127.0.0.1", fd.forward_port, service="billing", error_handler=None)
    shipper.configure(service="billing", sink=sink)
    log = shipper.get_logger("access_log")
    for i in range(3):
        log.info("request", method="POST", path=f"/v1/sink/{i}", status_code=201, latency=0.5)
    sink.close()
    deadline = time.monotonic() + 30
    while True:
        mine = sorted((r for r in bq.rows("access_log") if r["path"].startswith("/v1/sink/")),
                      key=lambda r: r["path"])
        if len(mine) >= 3 or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert [r["path"] for r in mine] == ["/v1/sink/0", "/v1/sink/1", "/v1/sink/2"]
    assert all(r["service"] == "billing" and r["log_id"] and "container_name" not in r for r in mine)
