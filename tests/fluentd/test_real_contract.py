"""The line contract (fluentd/README.md, "What becomes of each line"), row by row, on real fluentd.

One fluentd run takes every case at once (the module's `run` fixture): each case's events go in
through the forward port as Docker's log driver (or shipper's forward sink) sends them, out to
the BigQuery stand-in; then each case asserts the one row it became. A case is found by its
container name (`/<case id>`), or for forward records by its log_id.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import pytest
from support import REPO

from shipper.testing.fluentd import BigQueryStandIn, ForwardClient, Fluentd, driver_record

T0 = float(int(time.time())) + 0.123456  # event times: T0 + case index (as Docker stamps lines)


def rfc3339(t: float) -> str:
    return datetime.fromtimestamp(t, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def ts(i: int) -> str:
    return f"2026-11-28T10:00:{i % 60:02d}.{i:06d}Z"


def access(i: int, **over: Any) -> dict[str, Any]:
    rec = {"log_table": "access_log", "timestamp": ts(i), "severity": "INFO", "log_id": f"acc-{i}",
           "method": "GET", "path": f"/v1/items/{i}", "status_code": 200, "latency": 0.012,
           "request_bytes": 0, "response_bytes": 512}
    rec.update(over)
    return rec


def app(i: int, **over: Any) -> dict[str, Any]:
    rec = {"log_table": "app_log", "timestamp": ts(i), "severity": "INFO", "log_id": f"app-{i}",
           "logger": "billing", "message": f"invoice {i} sent"}
    rec.update(over)
    return rec


def line(rec: Any) -> str:
    return json.dumps(rec, separators=(",", ":"))


Row = tuple[str, dict[str, Any]]


@dataclass
class Case:
    id: str
    events: list[tuple[str, dict[str, Any]]]  # (tag, record) as sent
    check: Callable[[Case, list[Row]], None]
    forward_id: str | None = None  # a forward record's log_id (no container name to find it by)
    time: float = 0.0
    sent: list[str] = field(default_factory=list)


def docker(case_id: str, text: str | bytes, source: str = "stdout") -> list[tuple[str, dict[str, Any]]]:
    return [("app.api", driver_record(text, source, name=f"/{case_id}"))]


def only(rows: list[Row], table: str) -> dict[str, Any]:
    assert len(rows) == 1, f"wanted exactly one row, got {rows}"
    got_table, row = rows[0]
    assert got_table == table, f"landed in {got_table}, wanted {table}: {row}"
    return row


def into_table(table: str, record: dict[str, Any], *, container: bool = True) -> Callable[[Case, list[Row]], None]:
    """The record, whole and unchanged, in its table: routing key removed, container fields added."""

    def check(case: Case, rows: list[Row]) -> None:
        row = only(rows, table)
        want = {k: v for k, v in record.items() if k != "log_table"}
        if container:
            want.update({"container_id": row["container_id"], "container_name": f"/{case.id}"})
        assert row == want

    return check


def into_raw(text: str, reason: str | re.Pattern[str] | None = None, stream: str = "stdout",
             container: bool = True) -> Callable[[Case, list[Row]], None]:
    """A raw_log row: the line as text, the time it was received, stream, container, reason."""

    def check(case: Case, rows: list[Row]) -> None:
        row = only(rows, "raw_log")
        assert row["text"] == text
        assert row["timestamp"] == rfc3339(case.time)
        assert row["severity"] == "DEFAULT" and row["stream"] == stream
        assert row["log_id"].startswith("fd-")  # its insertId, made before buffering
        if container:
            assert row["container_name"] == f"/{case.id}"
        if reason is None:
            assert "reason" not in row, row
        elif isinstance(reason, str):
            assert row.get("reason") == reason
        else:
            assert reason.search(row.get("reason") or ""), row.get("reason")

    return check


LONG = app(70, message="m" * 40_000, log_id="long-1")
LONG_LINE = line(LONG)
PIECES = [LONG_LINE[i:i + 16384] for i in range(0, len(LONG_LINE), 16384)]
DEEP = '{"a":' * 600 + "1" + "}" * 600
FOREIGN = '{"level":"info","msg":"user signed in","time":"2026-11-28T10:00:00Z","log":"its own log key"}'
EXTRA = {"cart": [1, {"sku": "x-1", "qty": 2, "note": None}], "ratio": 0.5}


def partial_events(case_id: str, pieces: list[str], last: bool) -> list[tuple[str, dict[str, Any]]]:
    out = []
    for n, piece in enumerate(pieces, start=1):
        out.append(("app.api", driver_record(piece, name=f"/{case_id}",
                                             partial=(f"p-{case_id}", n, last and n == len(pieces)))))
    return out


CASES: list[Case] = [
    # -- records: in their table, whole ------------------------------------------------------
    Case("shipper-record", docker("shipper-record", line(access(1))), into_table("access_log", access(1))),
    Case("no-routing-key", docker("no-routing-key", line({k: v for k, v in app(2).items() if k != "log_table"})),
         into_table("app_log", {k: v for k, v in app(2).items() if k != "log_table"})),
    Case("json-column", docker("json-column", line(app(3, extra=EXTRA))),
         lambda c, rows: _json_column(c, rows)),
    # three 16 KiB pieces, another container's line in between: joined, nothing held back
    Case("long-line", [*partial_events("long-line", PIECES, True)[:1],
                       ("app.web", driver_record("another container in between", name="/long-line-other")),
                       *partial_events("long-line", PIECES, True)[1:]],
         into_table("app_log", LONG)),
    Case("forward-record", [("shipper.billing", app(5, log_id="fwd-5"))],
         into_table("app_log", app(5, log_id="fwd-5"), container=False), forward_id="fwd-5"),
    # -- records that do not fit: raw_log, whole, with the reason; never altered -------------
    Case("foreign-object", docker("foreign-object", FOREIGN),
         into_raw(FOREIGN, "app_log.timestamp: required field is missing [required]")),
    Case("misfit-abc", docker("misfit-abc", line(access(6, status_code="abc"))),
         into_raw(line(access(6, status_code="abc")),
                  "access_log.status_code: expected an integer, got str [type]")),
    Case("misfit-fraction", docker("misfit-fraction", line(access(7, request_bytes=12.7))),
         into_raw(line(access(7, request_bytes=12.7)),
                  "access_log.request_bytes: expected an integer, got 12.7 [type]")),
    Case("misfit-fast", docker("misfit-fast", line(access(8, latency="fast"))),
         into_raw(line(access(8, latency="fast")), "access_log.latency: expected a number, got str [type]")),
    Case("misfit-field", docker("misfit-field", line(app(9, user_id=42))),
         into_raw(line(app(9, user_id=42)), "app_log.user_id: field is not declared [unknown_field]")),
    Case("misfit-range", docker("misfit-range", line(access(10, status_code=1000))),
         into_raw(line(access(10, status_code=1000)),
                  "access_log.status_code: 1000 is above the maximum 599 [maximum]")),
    Case("unknown-table", docker("unknown-table", line(app(11, log_table="billing_log"))),
         into_raw(line(app(11, log_table="billing_log")),
                  'log_table "billing_log" names no table of the registry')),
    Case("forward-misfit", [("shipper.api", access(12, status_code="abc", log_id="fwd-12"))],
         lambda c, rows: _forward_misfit(c, rows), forward_id="fwd-12"),
    Case("status-forgery", [("fluentd.status", {"plugin_id": "forged", "retry_count": 999, "log_id": "forged-1"})],
         lambda c, rows: _forged(c, rows), forward_id="forged-1"),
    # -- lines that are not records: raw_log, the line as text, the time received ------------
    Case("text", docker("text", "plain text line, not JSON"), into_raw("plain text line, not JSON")),
    Case("stderr", docker("stderr", "Traceback (most recent call last):", "stderr"),
         into_raw("Traceback (most recent call last):", stream="stderr")),
    Case("empty", docker("empty", ""), into_raw("")),
    Case("whitespace", docker("whitespace", "  \t "), into_raw("  \t ")),
    Case("empty-array", docker("empty-array", "[]"), into_raw("[]")),
    Case("array", docker("array", "[1, 2, 3]"), into_raw("[1, 2, 3]")),
    Case("array-of-records", docker("array-of-records", f"[{line(app(13))}]"), into_raw(f"[{line(app(13))}]")),
    Case("scalar-number", docker("scalar-number", "42"), into_raw("42")),
    Case("scalar-string", docker("scalar-string", '"a string"'), into_raw('"a string"')),
    Case("scalar-null", docker("scalar-null", "null"), into_raw("null")),
    Case("broken-json", docker("broken-json", '{"log_table": "app_log", "message": '),
         into_raw('{"log_table": "app_log", "message": ')),
    Case("invalid-utf8", docker("invalid-utf8", b"caf\xe9 au lait \xff"),
         into_raw("caf\ufffd au lait \ufffd", re.compile(r"not valid UTF-8"))),
    Case("deep-json", docker("deep-json", DEEP), into_raw(DEEP, re.compile(r"nested deeper than 500"))),
    Case("partial-timeout", partial_events("partial-timeout", ["{\"log_table\": \"app_log\", \"message\": \"cut"], False),
         into_raw("{\"log_table\": \"app_log\", \"message\": \"cut", re.compile(r"partial message .* last piece"))),
]


def _json_column(case: Case, rows: list[Row]) -> None:
    row = only(rows, "app_log")
    assert row["extra"] == EXTRA  # the stand-in keeps JSON text parsed, as BigQuery does
    assert {k: v for k, v in row.items() if k != "extra"} == {
        **{k: v for k, v in app(3).items() if k != "log_table"},
        "container_id": row["container_id"], "container_name": "/json-column"}


def _forward_misfit(case: Case, rows: list[Row]) -> None:
    row = only(rows, "raw_log")
    assert json.loads(row["text"]) == access(12, status_code="abc", log_id="fwd-12")  # whole, as sent
    assert row["reason"] == "access_log.status_code: expected an integer, got str [type]"
    assert row["log_id"] != "fwd-12"  # the row's own insertId; the record's is in text


def _forged(case: Case, rows: list[Row]) -> None:
    row = only(rows, "raw_log")
    assert json.loads(row["text"])["plugin_id"] == "forged"
    assert row["reason"] == "app_log.timestamp: required field is missing [required]"


def rows_of(case: Case, landed: dict[str, list[dict[str, Any]]]) -> list[Row]:
    out = []
    for table, rows in landed.items():
        for row in rows:
            if case.forward_id is not None:
                mine = row.get("log_id") == case.forward_id or f'"log_id":"{case.forward_id}"' in row.get("text", "")
            else:
                mine = row.get("container_name") == f"/{case.id}"
            if mine:
                out.append((table, row))
    return out


MIXED_GOOD = 40


@pytest.fixture(scope="module")
def run(fluentd_cmd, registry, bq_tables, tmp_path_factory):
    """One fluentd, every case sent, all rows landed; then stopped (graceful) for its last status."""
    workdir = tmp_path_factory.mktemp("contract")
    with BigQueryStandIn(bq_tables(registry)) as bq, Fluentd(fluentd_cmd, workdir, bq.endpoint) as fd:
        started = time.monotonic()
        with ForwardClient(fd.forward_port) as client:
            for i, case in enumerate(CASES):
                case.time = T0 + i
                for tag, rec in case.events:
                    client.send(tag, [(case.time, rec)])
            # good rows and one misfit in one forward message: the good rows are not held back
            mixed = [app(100 + i, log_id=f"mixed-{i}") for i in range(MIXED_GOOD)]
            mixed.insert(MIXED_GOOD // 2, access(200, status_code="abc", log_id="mixed-bad"))
            client.send("app.api", [(T0, driver_record(line(r), name="/mixed")) for r in mixed])
        expected = len(CASES) + 1 + MIXED_GOOD + 1  # + the other container's line, the mixed batch
        landed = bq.wait_total(expected, timeout=45)
        seconds = time.monotonic() - started
        fd.wait_status(lambda s: s["plugin_id"] == "route"
                       and s["routed_records"] + s["raw_lines"] + s["refused_records"] == expected)
        yield {"bq": bq, "fd": fd, "landed": landed, "expected": expected, "seconds": seconds}


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_each_line_becomes_its_one_row(run, case):
    case.check(case, rows_of(case, run["landed"]))


def test_a_json_column_travels_as_json_text(run):
    """insertAll takes a JSON column's value as JSON text (the Python client sends it so too)."""
    sent = [r["json"] for req in run["bq"].fake.calls("POST", "/insertAll") for r in req.body["rows"]
            if r["json"].get("container_name") == "/json-column"]
    assert sent and all(isinstance(r["extra"], str) and json.loads(r["extra"]) == EXTRA for r in sent)


def test_nothing_more_landed_and_nothing_was_lost(run):
    landed = run["landed"]
    assert sum(len(v) for v in landed.values()) == run["expected"]
    ids = [r["log_id"] for rows in landed.values() for r in rows]
    assert len(ids) == len(set(ids)), "every row has its own insertId"
    fd = run["fd"]
    assert fd.files("failed") == [] and fd.files("error") == [], "nothing refused by BigQuery"
    assert "[error]" not in fd.output()


def test_good_rows_around_a_misfit_reach_their_table_and_the_misfit_is_counted(run):
    landed = run["landed"]
    good = [r for r in landed["app_log"] if r.get("container_name") == "/mixed"]
    assert sorted(r["log_id"] for r in good) == sorted(f"mixed-{i}" for i in range(MIXED_GOOD))
    (bad,) = [r for r in landed["raw_log"] if r.get("container_name") == "/mixed"]
    assert '"log_id":"mixed-bad"' in bad["text"] and bad["reason"].startswith("access_log.status_code")
    refused = sum(1 for c in CASES if any(t == "raw_log" and "reason" in r for t, r in rows_of(c, landed)))
    status = run["fd"].wait_status(lambda s: s["plugin_id"] == "route")
    assert status["refused_records"] == refused + 1  # the metric the Lambda publishes
    out = run["fd"].wait_status(lambda s: s["plugin_id"] == "out_bq_app_log")
    assert out["write_secondary_count"] == 0 and out["retry_count"] == 0


def test_status_lines_come_only_from_monitor_agent(run):
    lines = run["fd"].status_lines()
    assert lines, "monitor_agent prints status lines"
    assert all(s["plugin_id"] != "forged" for s in lines)
    assert {s["worker_id"] for s in lines} == {"0"}
    ids = {s["plugin_id"] for s in lines}
    assert {"in_forward", "route", "out_bq_app_log", "out_bq_access_log", "out_bq_raw_log"} <= ids


def test_readme_contract_table_lists_exactly_these_cases():
    readme = (REPO / "fluentd" / "README.md").read_text(encoding="utf-8")
    section = readme.split("## What becomes of each line", 1)[1].split("\n## ", 1)[0]
    ids = re.findall(r"^\| `([a-z0-9-]+)` \|", section, flags=re.MULTILINE)
    assert ids == [c.id for c in CASES]
