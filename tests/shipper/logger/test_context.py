"""Context fields: per scope, per asyncio task, across threads with copy_context."""

from __future__ import annotations

import asyncio
import contextvars
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import shipper

ACCESS = dict(path="/p", method="GET", status_code=200, latency=0.1)


def test_context_manager_binds_and_restores(capture: Any) -> None:
    log = shipper.get_logger()
    with shipper.context(request_id="r1", user_id=7):
        log.info("inside")
        with shipper.context(user_id=8):
            log.info("nested")
    log.info("outside")
    a, b, c = capture.records()
    assert a["request_id"] == "r1" and a["extra"] == {"user_id": 7}
    assert b["request_id"] == "r1" and b["extra"] == {"user_id": 8}
    assert "request_id" not in c and "extra" not in c


def test_bind_unbind_clear(capture: Any) -> None:
    log = shipper.get_logger()
    shipper.bind_context(trace_id="t", a=1)
    log.info("1")
    shipper.unbind_context("a")
    log.info("2")
    shipper.clear_context()
    log.info("3")
    r1, r2, r3 = capture.records()
    assert r1["trace_id"] == "t" and r1["extra"] == {"a": 1}
    assert r2["trace_id"] == "t" and "extra" not in r2
    assert "trace_id" not in r3


def test_context_fields_a_table_cannot_hold_are_left_out(capture: Any, check: Any) -> None:
    with shipper.context(request_id="r", user_id=7):
        shipper.get_logger("access_log").info("request", **ACCESS)
    rec = capture.one()
    assert rec["request_id"] == "r" and "user_id" not in rec and check(rec) == []
    assert shipper.stats() == {"emitted": 1}


def test_asyncio_tasks_do_not_see_each_others_context(capture: Any) -> None:
    log = shipper.get_logger()

    async def handler(n: int) -> None:
        shipper.bind_context(request_id=f"req-{n}")
        await asyncio.sleep(0.01 * (3 - n))
        log.info("done", n=n)

    async def main() -> None:
        await asyncio.gather(*(handler(n) for n in range(3)))

    asyncio.run(main())
    recs = capture.records()
    assert sorted((r["request_id"], r["extra"]["n"]) for r in recs) == [
        ("req-0", 0), ("req-1", 1), ("req-2", 2)]


def test_threads_with_copy_context(capture: Any) -> None:
    log = shipper.get_logger()
    barrier = threading.Barrier(4, timeout=30)

    def work(n: int) -> None:
        barrier.wait()
        log.info("in thread", n=n)

    with shipper.context(request_id="parent"), ThreadPoolExecutor(4) as pool:
        futures = [pool.submit(contextvars.copy_context().run, work, n) for n in range(4)]
        for f in futures:
            f.result(timeout=30)
    plain = threading.Thread(target=log.info, args=("no context",))
    plain.start()
    plain.join()
    recs = capture.records()
    assert len(recs) == 5
    assert sorted(r["extra"]["n"] for r in recs if r.get("request_id") == "parent") == [0, 1, 2, 3]
    assert [r for r in recs if r["message"] == "no context"][0].get("request_id") is None


def test_many_threads_write_whole_lines(capture: Any) -> None:
    log = shipper.get_logger()
    big = "y" * 9000  # over PIPE_BUF: the sink's lock keeps lines whole

    def work(n: int) -> None:
        for i in range(50):
            log.info("t", n=n, i=i, blob=big)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    recs = capture.records()  # every line parses as JSON
    assert len(recs) == 200
    assert len({r["log_id"] for r in recs}) == 200


def test_context_and_bound_cannot_replace_the_log_id(capture: Any, check: Any) -> None:
    """The log id is BigQuery's insertId: a context or bound field of that name is kept in
    extra (counted), like a call field's, whichever path (fast or repair) the record takes."""
    with shipper.context(log_id=None):
        shipper.get_logger().info("a")
    with shipper.context(log_id="mine", severity="LOUD"):
        shipper.get_logger().info("b")
    shipper.get_logger(log_id=None).info("c")
    shipper.get_logger("access_log", log_id="x").info("d", **ACCESS)
    recs = capture.records()
    ids = [r["log_id"] for r in recs]
    assert all(isinstance(i, str) and i not in ("mine", "x") for i in ids) and len(set(ids)) == 4
    assert recs[0]["extra"] == {"log_id": None}
    assert recs[1]["extra"] == {"log_id": "mine", "severity": "LOUD"}
    assert recs[1]["severity"] == "INFO"
    assert recs[2]["extra"] == {"log_id": None}
    assert "extra" not in recs[3]  # access_log has no extra column: dropped, counted
    assert shipper.stats()["moved_to_extra"] == 4 and shipper.stats()["dropped_field"] == 1
    assert all(check(r) == [] for r in recs)
