"""Issue 16, item 4: the counts that say data is waiting for a replay or is lost. Fed with what a
real fluentd + fluent-plugin-bigquery printed (tests/fixtures/fluentd/bigquery_error_lines.log),
compared with a plain count of the same lines."""

from __future__ import annotations

import re
from datetime import datetime, timezone

import pytest
from fm_testsupport import all_lines, emf_lines
from support_awslogs import build_subscription_event

LINES = all_lines("bigquery_error_lines.log")  # everything fluentd printed, info lines and config included
NOW = datetime(2026, 11, 30, 6, 0, tzinfo=timezone.utc).timestamp()  # a while after the capture


@pytest.fixture
def emf(h, monkeypatch):
    monkeypatch.setenv("METRICS_MODE", "emf")
    monkeypatch.setattr(h, "CLOCK", lambda: NOW)
    h.reset()
    return h


def totals(out: str) -> dict[tuple[str, str], float]:
    got: dict[tuple[str, str], float] = {}
    for doc in emf_lines(out):
        for m in doc["_aws"]["CloudWatchMetrics"][0]["Metrics"]:
            v = doc[m["Name"]]
            key = (m["Name"], doc.get("PluginId", ""))
            got[key] = got.get(key, 0) + sum(v if isinstance(v, list) else [v])
    return got


def plain(pattern: str) -> dict[str, int]:
    """Lines per plugin id whose message (after "[warn]: #0 [id] ") starts with `pattern`."""
    out: dict[str, int] = {}
    for line in LINES:
        m = re.match(r"\S+ \S+ \+0000 \[\w+\]: #0 (?:\[(\S+)\] )?" + pattern, line)
        if m:
            out[m.group(1) or ""] = out.get(m.group(1) or "", 0) + 1
    return out


def test_real_bigquery_and_error_stream_lines_are_counted(emf, capsys):
    summary = emf.handler(build_subscription_event(LINES, log_group="/ecs/fluentd", log_stream="fluentd/bq"), None)
    got = totals(capsys.readouterr().out)
    inserts = plain(r"insert errors ")
    assert inserts == {"out_bq_insert_errors": 1, "out_bq_secondary": 1}
    for pid, n in inserts.items():
        assert got[("log_insert_errors", pid)] == n
    # rows refused per request: the invalid one and the `stopped` others, as BigQuery answered
    assert got[("log_insert_error_rows", "out_bq_insert_errors")] + got[("log_insert_error_rows", "out_bq_secondary")] == 7
    # the chunk in the secondary file is its own count, not a retry success
    assert got[("log_secondary_written", "out_bq_secondary")] == plain(r"retry succeeded by secondary\.")["out_bq_secondary"] == 1
    assert ("log_retry_succeeded", "out_bq_secondary") not in got
    # events handed to @ERROR (one record from the parser, streams from the overflowing output)
    assert got[("log_error_events", "")] == sum(plain(r"send an error event").values()) >= 2
    assert got[("log_buffer_overflow", "out_file_overflow")] == plain(r"failed to write data into buffer by buffer overflow")[
        "out_file_overflow"]
    assert got[("log_retry_limit_hit", "out_file_overflow")] == plain(r"Hit limit for retries")["out_file_overflow"]
    # the status lines say the same: one chunk written to the secondary
    assert got[("write_secondary_count_increase", "out_bq_secondary")] == 1
    # and every other line (startup, config dump, shutdown) is skipped with a reason, none raised
    assert summary["lines"] == len(LINES)
    assert summary["status_lines"] + summary["log_event_lines"] + summary["skipped"] == len(LINES)
    assert set(summary["skipped_by_reason"]) <= {"empty", "backtrace", "other_log_line", "unrecognized",
                                                 "log_line_without_plugin_id"}


def test_a_forged_retry_success_by_secondary_is_not_a_retry_success(emf, capsys):
    lines = ['2026-11-30 04:25:20 +0000 [warn]: #0 [out_bq] retry succeeded by secondary. chunk_id="66176cc2"',
             '2026-11-30 04:25:21 +0000 [warn]: #0 [out_bq] retry succeeded. chunk_id="66176cc3"']
    emf.handler(build_subscription_event(lines, log_group="g", log_stream="s"), None)
    got = totals(capsys.readouterr().out)
    assert got[("log_secondary_written", "out_bq")] == 1 and got[("log_retry_succeeded", "out_bq")] == 1
