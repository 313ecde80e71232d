"""Batch tables on real fluentd (issue 17): access_log reaches BigQuery by load jobs.

fluentd runs the shipped config with one change (`Fluentd.batch_flush`): batch tables flush
every second instead of every 5 minutes. What is checked, against the stand-in's load jobs:
rows arrive by load job (no insertAll), a flush retried after a lost answer makes no second job
(the plugin's job id is the same: 409, the job read back), a job BigQuery refuses leaves its
chunk whole in the secondary file, and a kill -9 with a chunk buffered (its job made, the answer
lost) loads it exactly once after the restart.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from typing import Any

from shipper.testing.fluentd import BigQueryStandIn, ForwardClient, Fluentd


def access(tag: str, i: int, **over: Any) -> str:
    rec = {"log_table": "access_log", "timestamp": "2026-11-30T10:00:00Z", "severity": "INFO",
           "log_id": f"{tag}-{i}", "method": "GET", "path": f"/{tag}/{i}", "status_code": 200, "latency": 0.01}
    rec.update(over)
    return json.dumps(rec)


def send(fd: Fluentd, lines: list[str]) -> None:
    with ForwardClient(fd.forward_port) as client:
        client.send_lines("app.api", lines, batch=len(lines))


def load_jobs(bq: BigQueryStandIn) -> list[dict[str, Any]]:
    return [j for j in bq.fake.jobs.values() if j["configuration"].get("jobType") == "LOAD"]


def paths(bq: BigQueryStandIn, tag: str) -> Counter[str]:
    return Counter(r["path"] for r in bq.rows("access_log") if r["path"].startswith(f"/{tag}/"))


def wait_for(predicate: Any, timeout: float = 40.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"not after {timeout}s: {what}")
        time.sleep(0.1)


def exactly_once(bq: BigQueryStandIn, tag: str, n: int) -> None:
    wait_for(lambda: len(paths(bq, tag)) >= n, what=f"{n} rows of {tag}")
    time.sleep(1.0)  # a second job would land right behind
    seen = paths(bq, tag)
    assert len(seen) == n and set(seen.values()) == {1}, seen


def test_load_jobs_a_retried_flush_and_a_refused_job(fluentd_cmd, registry, bq_tables, tmp_path):
    with BigQueryStandIn(bq_tables(registry)) as bq, Fluentd(fluentd_cmd, tmp_path, bq.endpoint) as fd:
        # rows arrive by load job, never by insertAll
        send(fd, [access("a", i) for i in range(30)])
        exactly_once(bq, "a", 30)
        jobs = load_jobs(bq)
        assert len(jobs) == 1 and jobs[0]["jobReference"]["jobId"].startswith("fluentd_job_")
        cfg = jobs[0]["configuration"]["load"]
        assert cfg["sourceFormat"] == "NEWLINE_DELIMITED_JSON" and cfg["destinationTable"]["tableId"] == "access_log"
        assert not [r for r in bq.fake.requests if r.path.endswith("/access_log/insertAll")]
        row = next(r for r in bq.rows("access_log") if r["path"] == "/a/0")
        assert row["log_id"] == "a-0" and "log_table" not in row and row["status_code"] == 200

        # the job is made, then BigQuery answers 503: the flush is retried (retry_wait) with the
        # same job id, answered 409, and the plugin takes the job that exists
        bq.fake.load.fail_after_run = [503]
        send(fd, [access("b", i) for i in range(30)])
        exactly_once(bq, "b", 30)
        wait_for(lambda: "Already Exists: Job" in fd.output(), timeout=20, what="the retried flush's 409")
        assert bq.fake.load.fail_after_run == [] and len(load_jobs(bq)) == 2

        # the job's answer is lost on the way back: the client asks the upload session again and
        # gets the job (no second job either)
        bq.fake.load.lose_responses = 1
        send(fd, [access("l", i) for i in range(5)])
        exactly_once(bq, "l", 5)
        assert bq.fake.lost_responses == 1 and len(load_jobs(bq)) == 3

        # the live table lags the registry (no `route` yet): BigQuery refuses one row, the job
        # fails whole (max_bad_records 0) and the chunk goes to the secondary file as it was
        live = bq.fake.table("logs", "access_log")
        live["schema"]["fields"] = [f for f in live["schema"]["fields"] if f["name"] != "route"]
        send(fd, [access("c", i, **({"route": "/c/{n}"} if i == 3 else {})) for i in range(10)])
        wait_for(lambda: fd.files("failed"), what="a secondary file")
        (failed,) = fd.files("failed")
        assert failed.parent.name == "access_log"
        wait_for(lambda: len(failed.read_text().splitlines()) == 10, timeout=10, what="the whole chunk")
        kept = [json.loads(x) for x in failed.read_text().splitlines()]
        assert sorted(r["path"] for r in kept) == sorted(f"/c/{i}" for i in range(10))
        assert paths(bq, "c") == Counter()  # atomic: none of the chunk's rows is in the table
        assert "no such field: route" in fd.output()


def test_kill_9_with_a_chunk_buffered_loads_it_once_after_restart(fluentd_cmd, registry, bq_tables, tmp_path):
    """The job is made, BigQuery's answer is an error, fluentd is killed before it retries: the
    chunk is still in the file buffer; after the restart its flush asks for the same job id, and
    the job that exists is taken as the chunk's (exactly once)."""
    with BigQueryStandIn(bq_tables(registry)) as bq:
        fd = Fluentd(fluentd_cmd, tmp_path, bq.endpoint)
        fd.start()
        bq.fake.load.fail_after_run = [503]
        send(fd, [access("k", i) for i in range(25)])
        wait_for(lambda: not bq.fake.load.fail_after_run, what="the load job run")
        fd.kill()
        assert [p for p in fd.files("bigquery") if p.parent.name == "access_log" and ".log" in p.name]
        assert len(paths(bq, "k")) == 25 and len(load_jobs(bq)) == 1  # loaded, but fluentd never knew
        with fd:
            wait_for(lambda: "Already Exists: Job" in fd.output(), what="the restart's duplicate job answer")
            time.sleep(2.5)  # the poll that commits the chunk (wait_job_interval 2)
            exactly_once(bq, "k", 25)
            assert len(load_jobs(bq)) == 1
            wait_for(lambda: not [p for p in fd.files("bigquery") if p.parent.name == "access_log"
                                  and ".log" in p.name], timeout=15, what="the chunk committed")
