"""Exactly once on real fluentd: BigQuery down, answers lost, fluentd stopped or killed with data buffered.

Every row carries an insertId made before it is buffered (raw lines and records without a
log_id included), so a chunk sent again stores nothing twice. The stand-in de-duplicates on
insertId as BigQuery does (best effort there, within about a minute: these tests stay inside it).
"""

from __future__ import annotations

import json
import time
from collections import Counter

import pytest

from shipper.warehouse.bigquery import table_resource
from shipper.testing.fluentd import BigQueryStandIn, ForwardClient, Fluentd, driver_record

N = 60  # lines per test: records with and without a log_id, and raw lines


def lines(tag: str) -> list[str]:
    """A third shipper records (log_id), a third JSON records of another app (no log_id, fits
    app_log), a third plain text lines: the last two get their insertId from fluentd."""
    out = []
    for i in range(N):
        if i % 3 == 0:
            out.append(json.dumps({"log_table": "app_log", "timestamp": "2026-11-28T10:00:00Z",
                                   "severity": "INFO", "message": f"{tag} {i}", "log_id": f"{tag}-{i}"}))
        elif i % 3 == 1:
            out.append(json.dumps({"timestamp": "2026-11-28T10:00:00Z", "severity": "INFO",
                                   "message": f"{tag} {i}"}))
        else:
            out.append(f"{tag} {i} plain text")
    return out


def send(fd: Fluentd, tag: str, batch: int = 20) -> None:
    with ForwardClient(fd.forward_port) as client:
        client.send_lines("app.api", lines(tag), batch=batch)


def landed(bq: BigQueryStandIn, tag: str) -> Counter[str]:
    """Each line of `tag` -> how many rows hold it."""
    seen: Counter[str] = Counter()
    for row in bq.rows("app_log"):
        if row["message"].startswith(f"{tag} "):
            seen[row["message"]] += 1
    for row in bq.rows("raw_log"):
        if row["text"].startswith(f"{tag} "):
            seen[row["text"].removesuffix(" plain text")] += 1
    return seen


def assert_exactly_once(bq: BigQueryStandIn, tag: str, timeout: float = 40.0) -> None:
    deadline = time.monotonic() + timeout
    while len(landed(bq, tag)) < N and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(0.5)  # a duplicate would arrive right behind
    seen = landed(bq, tag)
    assert len(seen) == N, f"{N - len(seen)} of {N} lines missing"
    doubled = {k: v for k, v in seen.items() if v != 1}
    assert not doubled, f"stored more than once: {doubled}"


def buffered_chunks(fd: Fluentd) -> list[str]:
    return [p.name for p in fd.files("bigquery") if ".log" in p.name and not p.name.endswith(".meta")]


@pytest.fixture
def bq(registry, bq_tables):
    with BigQueryStandIn(bq_tables(registry)) as stand_in:
        yield stand_in


def test_bigquery_down_then_back_every_line_once(fluentd_cmd, bq, tmp_path):
    port = int(bq.endpoint.rsplit(":", 1)[1])
    with Fluentd(fluentd_cmd, tmp_path, bq.endpoint) as fd:
        bq.fake.stop()  # connection refused, as when BigQuery or the network is down
        send(fd, "outage")
        fd.wait_status(lambda s: s["plugin_id"] == "out_bq_raw_log" and s["retry_count"] >= 1)
        assert landed(bq, "outage") == Counter()
        bq.fake.start(port=port)
        assert_exactly_once(bq, "outage")
        assert fd.files("failed") == []


def test_lost_responses_store_nothing_twice(fluentd_cmd, bq, tmp_path):
    """BigQuery stored the rows but the answer never came: fluentd sends the chunk again."""
    bq.fake.lose_responses = 3
    with Fluentd(fluentd_cmd, tmp_path, bq.endpoint) as fd:
        send(fd, "lost")
        assert_exactly_once(bq, "lost")
        assert bq.fake.lost_responses == 3
        inserts = bq.fake.calls("POST", "/insertAll")
        sent_ids = Counter(r["insertId"] for req in inserts for r in req.body["rows"])
        assert max(sent_ids.values()) >= 2, "some rows were sent twice (their answer was lost)"
        assert all(i for i in sent_ids), "every row had an insertId"


def test_graceful_restart_with_data_in_the_buffer(fluentd_cmd, bq, tmp_path):
    port = int(bq.endpoint.rsplit(":", 1)[1])
    fd = Fluentd(fluentd_cmd, tmp_path, bq.endpoint)
    fd.start()
    bq.fake.stop()
    send(fd, "graceful")  # acked: in the file buffer
    assert fd.stop() == 0  # SIGTERM, as `docker stop`: the flush at shutdown fails, chunks stay on disk
    assert buffered_chunks(fd), "the lines wait in the file buffer"
    assert landed(bq, "graceful") == Counter()
    bq.fake.start(port=port)
    with fd:  # the same buffer directory
        assert_exactly_once(bq, "graceful")


def test_kill_9_with_data_in_the_buffer(fluentd_cmd, bq, tmp_path):
    fd = Fluentd(fluentd_cmd, tmp_path, bq.endpoint, env={"LOGBRIDGE_FLUSH_INTERVAL": "60s"})
    fd.start()
    send(fd, "killed")
    fd.kill()  # SIGKILL of the supervisor and its worker: no flush, no shutdown
    assert buffered_chunks(fd)
    assert landed(bq, "killed") == Counter()
    fd.env["LOGBRIDGE_FLUSH_INTERVAL"] = "0.2s"
    with fd:
        assert_exactly_once(bq, "killed")


def test_kill_9_after_bigquery_stored_a_chunk_whose_answer_was_lost(fluentd_cmd, bq, tmp_path):
    """The worst case: rows stored, answer lost, fluentd killed before its retry; the chunk is
    sent again after the restart with the same insertIds."""
    bq.fake.lose_responses = 100
    fd = Fluentd(fluentd_cmd, tmp_path, bq.endpoint)
    fd.start()
    send(fd, "lostkill", batch=N)
    deadline = time.monotonic() + 20
    while bq.fake.lost_responses < 1 and time.monotonic() < deadline:
        time.sleep(0.02)
    fd.kill()
    stored = landed(bq, "lostkill")
    assert sum(stored.values()) > 0, "BigQuery stored rows whose answer fluentd never got"
    bq.fake.lose_responses = 0
    with fd:
        assert_exactly_once(bq, "lostkill")


def test_a_chunk_bigquery_refuses_goes_whole_to_the_secondary_file(fluentd_cmd, registry, bq_tables, tmp_path):
    """What the check cannot know: the live table is older than the registry (raw_log without
    `reason`). BigQuery refuses those rows; the chunk is kept as JSON lines, nothing is lost, and
    the other tables are not held back."""
    older = table_resource(registry.table("raw_log", 1), "test-project", "logs")  # without `reason`
    with BigQueryStandIn({**bq_tables(registry, ["access_log", "app_log"]), "raw_log": older}) as bq:
        with Fluentd(fluentd_cmd, tmp_path, bq.endpoint) as fd:
            with ForwardClient(fd.forward_port) as client:
                client.send("app.api", [(time.time(), driver_record("plain line")),
                                        (time.time(), driver_record('{"log_table": "nope"}')),
                                        (time.time(), driver_record(json.dumps({
                                            "log_table": "app_log", "timestamp": "2026-11-28T10:00:00Z",
                                            "severity": "INFO", "message": "good", "log_id": "g1"})))])
            bq.wait_rows("app_log", 1)
            deadline = time.monotonic() + 20
            while not fd.files("failed") and time.monotonic() < deadline:
                time.sleep(0.1)
            (failed,) = fd.files("failed")
            assert failed.parent.name == "raw_log"
            rows = [json.loads(x) for x in failed.read_text().splitlines()]
            assert sorted(r["text"] for r in rows) == ["plain line", '{"log_table": "nope"}']
            assert bq.rows("raw_log") == []
            assert "no such field" in fd.output()


def test_a_graceful_stop_keeps_a_half_received_long_line(fluentd_cmd, bq, tmp_path):
    """Docker sent the first 16 KiB piece of a line, then fluentd is stopped: the piece is not
    dropped with fluent-plugin-concat's memory; it lands in raw_log, saying it is partial."""
    fd = Fluentd(fluentd_cmd, tmp_path, bq.endpoint, env={"LOGBRIDGE_PARTIAL_TIMEOUT": "300"})
    fd.start()
    with ForwardClient(fd.forward_port) as client:
        client.send("app.api", [(time.time(), driver_record("x" * 16384, partial=("p1", 1, False)))])
    assert fd.stop() == 0
    (row,) = bq.rows("raw_log")
    assert row["text"] == "x" * 16384 and "partial message" in row["reason"]
