"""The line parser: every real fixture line classified, hostile input never raises."""

from __future__ import annotations

import json
import math

import pytest
from fm_testsupport import all_lines, load_handler, real_lines
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

load_handler()  # puts the Lambda's directory on sys.path, as the runtime does
import fm_lines
from fm_lines import LogEvent, Skip, Status, number, parse_line

STATUS = real_lines("monitor_agent_stdout.log")
WARN = real_lines("fluentd_warn_lines.log")


def test_every_status_line_of_the_capture_is_a_status():
    parsed = [parse_line(line) for line in STATUS]
    assert parsed and all(isinstance(p, Status) for p in parsed)
    assert {p.plugin_id for p in parsed} == {"in_forward", "in_monitor_agent", "out_file_app",
                                             "out_stdout_status", "filter_parser_json"}
    first = parsed[0]
    # 2026-11-28 09:37:52.371979608 +0000: nanoseconds kept to float precision
    assert first.ts == pytest.approx(1795858672.371979608, abs=1e-6)
    assert first.tag == "fluentd.status"


def test_warn_lines_of_the_capture():
    kinds = [parse_line(line) for line in WARN]
    events = [p for p in kinds if isinstance(p, LogEvent)]
    # the parser failure without an @ERROR label: the record is only in fluentd's log
    assert [e.event for e in events] == ["error_event"] + ["flush_failed"] * 13 + ["retry_succeeded"]
    assert {e.plugin_id for e in events[1:]} == {"out_file_app"} and events[0].plugin_id == ""
    skips = [p.reason for p in kinds if isinstance(p, Skip)]
    assert skips.count("backtrace") == 12 and len(skips) == 12
    assert len(kinds) == len(events) + len(skips) == len(WARN) == 27
    # second resolution, zone +0000: 09:38:35
    assert events[1].ts == 1795858715.0


def test_annotations_and_blank_lines_are_skipped_with_a_reason():
    for name in ("monitor_agent_stdout.log", "fluentd_warn_lines.log"):
        for line in all_lines(name):
            p = parse_line(line)
            if line.startswith("#"):
                assert p == Skip("comment")
            elif not line.strip():
                assert p == Skip("empty")


@pytest.mark.parametrize("line,event,plugin", [
    ('2026-11-28 10:00:00 +0000 [error]: #0 [out_bq] Hit limit for retries. dropping all chunks in the buffer queue. '
     'retry_times=17 records=50 error_class=Google::Apis::ServerError error="Server error"', "retry_limit_hit", "out_bq"),
    ('2026-11-28 10:00:00 +0000 [warn]: #0 [out_bq] failed to write data into buffer by buffer overflow '
     'action=:throw_exception', "buffer_overflow", "out_bq"),
    ('2026-11-28 10:00:00 +0000 [warn]: #0 buffer flush took longer time than slow_flush_log_threshold: '
     'elapsed_time=21.3 slow_flush_log_threshold=20.0 plugin_id="out_bq"', "slow_flush", "out_bq"),
    ('2026-11-28 10:00:00 +0000 [warn]: #0 [out_bq] retry succeeded by secondary. chunk_id="5f0"', "to_secondary", "out_bq"),
    ('2026-11-28 10:00:00 +0000 [warn]: #0 [out_bq] got unrecoverable error in primary. Skip retry and flush chunk '
     'to secondary error_class=Fluent::UnrecoverableError error="x"', "to_secondary", "out_bq"),
    ('2026-11-28 10:00:00 +0000 [warn]: #0 [out_bq] failed to flush the buffer chunk, timeout to commit. '
     'chunk_id="5f0" flushed_at=2026-11-28 09:59:00 +0000', "flush_failed", "out_bq"),
])
def test_other_counted_fluentd_lines(line, event, plugin):
    assert parse_line(line) == LogEvent(1795860000.0, plugin, event)


@pytest.mark.parametrize("line,reason", [
    ("", "empty"),
    ("   ", "empty"),
    ("hello world", "unrecognized"),
    ('2026-11-28 09:37:52.371979608 +0000 fluentd.status: {"plugin_id":"out_x","retry_count":1', "bad_json"),
    ('2026-11-28 09:37:52.371979608 +0000 fluentd.status: {"retry_count":1}', "no_plugin_id"),
    ('2026-11-28 09:37:52.371979608 +0000 fluentd.status: {"plugin_id":""}', "bad_plugin_id"),
    ('2026-11-28 09:37:52.371979608 +0000 fluentd.status: {"plugin_id":"a b"}', "bad_plugin_id"),
    ('2026-11-28 09:37:52.371979608 +0000 fluentd.status: {"plugin_id":7}', "no_plugin_id"),
    ('2026-11-28 09:37:52.371979608 +0000 fluentd.status: {"plugin_id":["out_x"]}', "no_plugin_id"),
    ('2026-11-28 09:37:52.371979608 +0000 fluentd.status: {"plugin_id":{"a":1}}', "no_plugin_id"),
    ('2026-13-28 09:37:52.371979608 +0000 fluentd.status: {"plugin_id":"x"}', "bad_time"),
    ('2026-11-28 09:37:52.371979608 +9900 fluentd.status: {"plugin_id":"x"}', "bad_time"),
    ('2026-11-28 09:38:35 +0000 [warn]: #0 [out_file_app] failed to flush the buffer. retry_times=0', None),
    ('2026-11-28 09:38:35 +0000 [warn]: #0 failed to flush the buffer. retry_times=0', "log_line_without_plugin_id"),
    ('2026-11-28 09:38:35 +0000 [info]: #0 [out_x] flushing all buffer forcedly', "other_log_line"),
    # the counted messages only where fluentd puts them: at the start of the message
    ('2026-11-28 09:38:35 +0000 [warn]: #0 [out_x] something else error="retry succeeded"', "other_log_line"),
    ('2026-11-28 09:38:35 +0000 [info]: #0 shutting down output plugin type=:file plugin_id="out_file_app"',
     "other_log_line"),
    ("x" * (300 * 1024), "too_long"),
])
def test_malformed_and_other_lines(line, reason):
    p = parse_line(line)
    if reason is None:
        assert isinstance(p, LogEvent)
    else:
        assert p == Skip(reason)


def test_time_zone_offsets_are_applied():
    a = parse_line('2026-11-28 10:37:52 +0100 fluentd.status: {"plugin_id":"x"}')
    b = parse_line('2026-11-28 09:37:52Z fluentd.status: {"plugin_id":"x"}')
    c = parse_line('2026-11-28 09:37:52 fluentd.status: {"plugin_id":"x"}')  # no zone: UTC
    assert isinstance(a, Status) and a.ts == b.ts == c.ts  # type: ignore[union-attr]


def test_numbers_cloudwatch_would_reject():
    assert number(5) == 5.0 and number(2.5) == 2.5
    assert number(None) is None and number(True) is None and number("5") is None
    assert number(float("nan")) is False and number(float("inf")) is False
    assert number(2 ** 400) is False and number(-1e300 * 1e100) is False
    assert number(2 ** 360) == float(2 ** 360)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2000))
def test_random_bytes_never_raise(data):
    p = parse_line(data.decode("utf-8", errors="surrogateescape"))
    assert isinstance(p, (Status, LogEvent, Skip))


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(STATUS + WARN), st.data())
def test_truncated_real_lines_never_raise(line, data):
    cut = data.draw(st.integers(min_value=0, max_value=len(line)))
    p = parse_line(line[:cut])
    assert isinstance(p, (Status, LogEvent, Skip))
    if isinstance(p, Status) and cut < len(line):
        # a status line is only accepted when its JSON is whole
        assert json.dumps(p.record)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=20)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.text(max_size=40), json_values, max_size=30), st.text(min_size=1, max_size=30))
def test_hostile_status_records_fold_without_raising(record, plugin_id):
    """Any JSON object after a valid head (NaN, huge ints, nested junk) parses or skips, and
    the folder never publishes a non-finite value."""
    from fm_config import Config
    from fm_fold import Folder

    record = dict(record, plugin_id=plugin_id)
    line = "2026-11-28 09:37:52.1 +0000 fluentd.status: " + json.dumps(record, allow_nan=True)
    p = parse_line(line)
    assert isinstance(p, (Status, Skip))
    folder = Folder(Config(), 1795867200.0, {}, "g", "s")
    if isinstance(p, Status):
        folder.add_status(p)
        folder.add_status(Status(p.ts + 5, p.tag, p.plugin_id, p.record))
    for d in folder.datums():
        assert all(math.isfinite(v) and abs(v) <= 2.0 ** 360 for v in d.values)
        assert d.name and len(d.values) <= 150


def test_huge_line_of_valid_json_is_parsed_not_crashed():
    record = {"plugin_id": "out_x", "buffer_queue_length": 1, "junk": "y" * 200_000}
    p = parse_line("2026-11-28 09:37:52 +0000 t: " + json.dumps(record))
    assert isinstance(p, Status) and p.record["buffer_queue_length"] == 1


def test_log_events_table_is_what_design_lists():
    """DESIGN.md's five lines, plus issue 16's: BigQuery insert errors, chunks to <secondary>
    (before "retry succeeded", which it starts with), events handed to @ERROR or dumped."""
    assert [n for n, _ in fm_lines.LOG_EVENTS] == [
        "failed to flush the buffer", "retry succeeded by secondary", "retry succeeded",
        "got unrecoverable error in primary. Skip retry and flush chunk to secondary", "Hit limit for retries",
        "failed to write data into buffer by buffer overflow", "buffer flush took longer time than",
        "insert errors ", "send an error event stream to @ERROR", "send an error event to @ERROR",
        "dump an error event"]


# -- issue 16: the lines of fluent-plugin-bigquery and of fluentd's error stream, verbatim -----------

BQ = real_lines("bigquery_error_lines.log")


def test_bigquery_capture_lines_are_counted_as_what_they_are():
    """Every line of the real capture (tests/fixtures/fluentd/bigquery_error_lines.log) gets
    the event its message says; nothing else in it becomes an event."""
    events = [(p.event, p.plugin_id, p.rows) for p in map(parse_line, BQ) if isinstance(p, LogEvent)]
    kinds = {(e, pid) for e, pid, _ in events}
    assert ("insert_errors", "out_bq_insert_errors") in kinds and ("insert_errors", "out_bq_secondary") in kinds
    assert ("to_secondary", "out_bq_secondary") in kinds
    assert ("error_event", "") in kinds
    assert ("retry_succeeded", "out_bq_secondary") not in kinds  # by secondary is not a retry success
    # every row of each insertAll request: the one with an unknown field (`invalid`) and the others
    # (`stopped`); out_bq_insert_errors also got the non-JSON line, passed on unparsed by
    # filter_parser's reserve_data after it went to @ERROR
    assert [rows for e, _, rows in events if e == "insert_errors"] == [4, 3]
    # one line per kind, counted line by line against the raw text
    for needle, name in (("] insert errors ", "insert_errors"), ("retry succeeded by secondary.", "to_secondary"),
                         ("send an error event", "error_event"), ("Hit limit for retries", "retry_limit_hit"),
                         ("by buffer overflow", "buffer_overflow")):
        assert sum(needle in line for line in BQ) == sum(e == name for e, _, _ in events) > 0, name


def test_bigquery_capture_status_lines_and_nothing_else_are_status():
    parsed = [parse_line(line) for line in BQ]
    status = [p for p in parsed if isinstance(p, Status)]
    assert len(status) == sum(" fluentd.status: {" in line for line in BQ) > 20
    assert {"out_bq_insert_errors", "out_bq_secondary", "out_file_overflow"} <= {p.plugin_id for p in status}
    secondary = [p.record["write_secondary_count"] for p in status if p.plugin_id == "out_bq_secondary"]
    assert secondary[0] == 0 and secondary[-1] == 1  # the chunk that went to <secondary>


@pytest.mark.parametrize("depth", [33, 1000, 100_000])
def test_json_nested_too_deep_is_rejected_before_decoding(depth):
    body = '{"plugin_id":"out_x","a":' + "[" * depth + "]" * depth + "}"
    line = "2026-11-28 09:37:52 +0000 fluentd.status: " + body
    assert parse_line(line) == (Skip("too_deep") if len(line) <= fm_lines.MAX_LINE_CHARS else Skip("too_long"))
    # 100,000 levels of one byte each fit the 256 KB line limit when unbalanced: still too deep
    assert parse_line("2026-11-28 09:37:52 +0000 t: {" + '"a":' + "[" * min(depth, 200_000)) == Skip("too_deep")


def test_json_nesting_within_the_limit_and_brackets_in_strings_are_fine():
    deep_ok = '{"plugin_id":"out_x","buffer_queue_length":1,"a":' + "[" * 30 + "]" * 30 + "}"
    assert isinstance(parse_line("2026-11-28 09:37:52 +0000 t: " + deep_ok), Status)
    in_string = json.dumps({"plugin_id": "out_x", "buffer_queue_length": 1, "s": "[" * 5000 + '\\"{' * 100})
    assert isinstance(parse_line("2026-11-28 09:37:52 +0000 t: " + in_string), Status)


@settings(max_examples=200, deadline=None)
@given(json_values_depth=st.integers(min_value=0, max_value=60), noise=st.text(alphabet='[]{}"\\ab', max_size=200))
def test_too_deep_agrees_with_a_plain_depth_count(json_values_depth, noise):
    """fm_lines.too_deep against a recursive count on the decoded value (an oracle that only
    works on valid JSON), and never raises on noise."""
    doc = json.dumps(_nest(json_values_depth))
    assert fm_lines.too_deep(doc, 32) == (json_values_depth > 32)
    fm_lines.too_deep(noise, 32)


def _nest(depth):
    value = "x]}[{"  # brackets inside a string do not count
    for i in range(depth):
        value = [value] if i % 2 else {"k": value}
    return value


def test_a_plugin_id_seen_before_is_not_taken_for_another():
    """Plugin ids are checked once and remembered: a good one stays good, a bad one stays bad."""
    head = "2026-11-28 09:37:52.1 +0000 fluentd.status: "
    for _ in range(2):
        assert isinstance(parse_line(head + '{"plugin_id":"out_x"}'), Status)
        assert parse_line(head + '{"plugin_id":"out x"}') == Skip("bad_plugin_id")
        assert parse_line(head + '{"plugin_id":"' + "y" * 256 + '"}') == Skip("bad_plugin_id")
