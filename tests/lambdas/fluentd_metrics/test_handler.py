"""The handler end to end: real fixture lines in an awslogs event, real boto3, a real moto server;
assertions on what was sent and on what moto stored."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import datetime, timezone

import fm_oracle as oracle
import pytest
from fm_testsupport import FIXTURE_NOW, all_lines, real_lines, summary_of

from support_awslogs import build_subscription_event, decode_subscription_event

STATUS = real_lines("monitor_agent_stdout.log")
WARN = real_lines("fluentd_warn_lines.log")
GROUP, STREAM = "/ecs/fluentd", "fluentd/fluentd/0a1b2c"
T0 = datetime(2026, 11, 28, 9, 30, tzinfo=timezone.utc)
T1 = datetime(2026, 11, 28, 9, 45, tzinfo=timezone.utc)


def event(lines, **kw):
    return build_subscription_event(lines, log_group=GROUP, log_stream=STREAM, timestamp_ms=1795858800000, **kw)


def capture(h):
    """Record the MetricData of every PutMetricData the handler's client makes (params as passed
    to botocore, before serialization)."""
    calls: list[list[dict]] = []
    cli = h.client(h.config())
    cli.meta.events.register("provide-client-params.cloudwatch.PutMetricData",
                             lambda params, **_: calls.append(params["MetricData"]))
    return calls


def when(ts) -> datetime:
    """A sent Timestamp (epoch seconds, as the handler passes it to botocore) as a datetime."""
    assert isinstance(ts, (int, float)) and not isinstance(ts, bool)
    return datetime.fromtimestamp(ts, tz=timezone.utc)


def sent_values(calls) -> dict:
    got: dict = defaultdict(list)
    for call in calls:
        for d in call:
            dims = {x["Name"]: x["Value"] for x in d["Dimensions"]}
            key = (d["MetricName"], d["Unit"], dims.get("PluginId", ""), when(d["Timestamp"]))
            if "Value" in d:
                got[key].append(d["Value"])
            else:
                for v, c in zip(d["Values"], d["Counts"]):
                    got[key].extend([v] * int(c))
    return {k: sorted(v) for k, v in got.items()}


def stored(cw, keys) -> dict:
    """Sum and SampleCount per (name, unit, plugin, minute) as moto returns them."""
    queries, index = [], {}
    for i, (name, unit, pid, _t) in enumerate(sorted({k[:3] + (None,) for k in keys})):
        dims = [{"Name": "PluginId", "Value": pid}] if pid else []
        for stat in ("Sum", "SampleCount"):
            qid = f"q{i}_{stat.lower()}"
            index[qid] = (name, unit, pid, stat)
            queries.append({"Id": qid, "MetricStat": {"Metric": {"Namespace": "fluentd", "MetricName": name,
                            "Dimensions": dims}, "Period": 60, "Stat": stat, "Unit": unit}})
    out: dict = {}
    for start in range(0, len(queries), 500):
        resp = cw.get_metric_data(MetricDataQueries=queries[start:start + 500], StartTime=T0, EndTime=T1)
        for r in resp["MetricDataResults"]:
            name, unit, pid, stat = index[r["Id"]]
            for ts, v in zip(r["Timestamps"], r["Values"]):
                out.setdefault((name, unit, pid, ts.astimezone(timezone.utc)), {})[stat] = v
    return out


def test_fixture_lines_give_exactly_the_expected_metrics(h, aws, capsys):
    calls = capture(h)
    summary = h.handler(event(STATUS + WARN), None)
    want = oracle.expected(STATUS, WARN)
    got = sent_values(calls)
    assert got == want  # names, units, PluginId, minute timestamps, every value
    assert summary["api_calls"] == len(calls) == 1
    # what CloudWatch (moto) stored: per minute Sum and SampleCount of every metric
    assert stored(aws, want) == {k: {"Sum": pytest.approx(sum(v)), "SampleCount": float(len(v))}
                                 for k, v in want.items()}
    # anchors read off the capture by hand: 13 failed flushes, retry_count 0 -> 13, one recovery
    flat = defaultdict(float)
    for (name, _u, pid, _t), v in want.items():
        flat[(name, pid)] += sum(v)
    assert flat[("retry_count_increase", "out_file_app")] == 13
    assert flat[("log_flush_failed", "out_file_app")] == 13
    assert flat[("log_retry_succeeded", "out_file_app")] == 1
    assert flat[("log_error_events", "")] == 1  # the parser failure dumped to fluentd's log
    assert flat[("status_lines", "")] == len(STATUS) == 125
    assert {t.minute for (_n, _u, _p, t) in want} == {37, 38, 39}
    assert max(max(v) for k, v in want.items() if k[0] == "buffer_total_queued_size") == 32400


def test_units_are_stored_with_the_metric(h, aws):
    h.handler(event(STATUS), None)
    q = lambda unit: aws.get_metric_data(
        MetricDataQueries=[{"Id": "a", "MetricStat": {"Metric": {"Namespace": "fluentd", "MetricName": name,
                            "Dimensions": [{"Name": "PluginId", "Value": "out_file_app"}]},
                            "Period": 60, "Stat": "Maximum", "Unit": unit}}],
        StartTime=T0, EndTime=T1)["MetricDataResults"][0]["Values"]
    for name, unit in (("buffer_total_queued_size", "Bytes"), ("buffer_available_buffer_space_ratios", "Percent"),
                       ("retry_count", "Count"), ("flush_time_count", "Milliseconds")):
        assert q(unit), (name, unit)
        assert not q("Seconds"), name


def test_summary_accounts_for_every_line_of_the_fixture_files(h, aws, capsys):
    lines = all_lines("monitor_agent_stdout.log") + all_lines("fluentd_warn_lines.log")
    summary = h.handler(event(lines), None)
    assert summary["lines"] == len(lines)
    assert summary["status_lines"] + summary["log_event_lines"] + summary["skipped"] == len(lines)
    assert summary["status_lines"] == 125 and summary["log_event_lines"] == 15
    reasons = summary["skipped_by_reason"]
    assert set(reasons) == {"comment", "empty", "backtrace"}
    assert reasons["backtrace"] == 12
    logged = summary_of(capsys.readouterr().out)
    assert logged["skipped_by_reason"] == reasons and logged["api_calls"] == 1
    for key in ("lines", "metrics", "skipped", "api_calls", "duration_ms"):
        assert key in logged


def test_control_message_is_ignored(h, aws, capsys):
    calls = capture(h)
    ev = build_subscription_event([], log_group="", log_stream="", message_type="CONTROL_MESSAGE")
    assert decode_subscription_event(ev)["messageType"] == "CONTROL_MESSAGE"
    summary = h.handler(ev, None)
    assert summary["message_type"] == "CONTROL_MESSAGE" and summary["lines"] == 0
    assert calls == [] and aws.list_metrics()["Metrics"] == []


def test_garbage_and_truncated_lines_do_not_fail_the_batch(h, aws, capsys):
    calls = capture(h)
    nan_line = '2026-11-28 09:37:52 +0000 x: {"plugin_id":"p","retry_count":NaN,"buffer_queue_length":2}'
    junk = ["", "\x00\xff garbage", STATUS[2][:80], STATUS[2][:-1], "{}", "2026-11-28 09:37:52 +0000 x: []",
            '2026-11-28 09:37:52 +0000 x: {"plugin_id":["a"]}', nan_line] * 5
    summary = h.handler(event(junk[:20] + STATUS + junk[20:]), None)
    got = sent_values(calls)
    want = oracle.expected(STATUS, [])
    # the real lines' metrics are all there, exactly
    assert {k: v for k, v in got.items() if k[2] != "p" and k[0] != "status_lines"} == \
        {k: v for k, v in want.items() if k[0] != "status_lines"}
    # the NaN line: its finite value kept, the NaN dropped and counted
    assert {k[0]: v for k, v in got.items() if k[2] == "p"} == {"buffer_queue_length": [2.0] * 5}
    assert summary["dropped_values"] == {"non_finite_or_out_of_range": 5}
    assert summary["skipped"] == 35 and summary["status_lines"] == 125 + 5
    assert summary["skipped_by_reason"] == {"empty": 5, "unrecognized": 15, "bad_json": 10, "no_plugin_id": 5}
    out = capsys.readouterr().out.splitlines()
    skipped_logs = [json.loads(x) for x in out if '"skipped line"' in x]
    assert len(skipped_logs) == h.MAX_LOGGED_SKIPS  # logged, but bounded
    assert {x["reason"] for x in skipped_logs} >= {"unrecognized", "bad_json", "no_plugin_id"}


@pytest.mark.parametrize("bad", [{}, {"awslogs": {}}, {"awslogs": {"data": "!!not base64"}},
                                 {"awslogs": {"data": "aGVsbG8="}}, None, "text"])
def test_undecodable_event_is_logged_not_raised(h, bad, capsys):
    summary = h.handler(bad, None)
    assert summary["level"] == "error" and summary["error"].startswith("undecodable event")
    assert summary_of(capsys.readouterr().out)["error"] == summary["error"]


@pytest.mark.parametrize("now,reason", [(FIXTURE_NOW + 15 * 86400, "more than two weeks old"),
                                        (FIXTURE_NOW - 5 * 3600, "more than two hours ahead")])
def test_lines_outside_cloudwatch_window_are_dropped_and_counted(h, aws, monkeypatch, now, reason):
    monkeypatch.setattr(h, "CLOCK", lambda: now)
    calls = capture(h)
    summary = h.handler(event(STATUS + WARN), None)
    assert calls == [], reason
    assert summary["skipped_by_reason"]["out_of_window"] == len(STATUS) + 15


def test_restart_is_not_a_negative_increase(h, aws):
    calls = capture(h)
    head = "2026-11-28 09:40:0{} +0000 fluentd.status: "
    recs = [{"plugin_id": "out_bq", "retry_count": 40, "write_count": 100},
            {"plugin_id": "out_bq", "retry_count": 42, "write_count": 101},
            {"plugin_id": "out_bq", "retry_count": 3, "write_count": 7},  # fluentd restarted
            {"plugin_id": "out_bq", "retry_count": 5, "write_count": 7}]
    summary = h.handler(event([head.format(i) + json.dumps(r) for i, r in enumerate(recs)]), None)
    got = sent_values(calls)
    t = datetime(2026, 11, 28, 9, 40, tzinfo=timezone.utc)
    assert got[("retry_count_increase", "Count", "out_bq", t)] == [2.0, 2.0, 3.0]
    assert got[("write_count_increase", "Count", "out_bq", t)] == [0.0, 1.0, 7.0]
    assert summary["counter_resets"] == 1


def _two_batches(h):
    calls = capture(h)
    head = "2026-11-28 09:40:{:02d} +0000 fluentd.status: "
    h.handler(event([head.format(0) + '{"plugin_id":"out_bq","retry_count":1}']), None)
    h.handler(event([head.format(5) + '{"plugin_id":"out_bq","retry_count":4}',
                     head.format(2) + '{"plugin_id":"out_bq","retry_count":2}']), None)  # late, older line
    return {k[0]: v for k, v in sent_values(calls).items() if k[0] == "retry_count_increase"}


def test_increase_carries_across_invocations_of_a_warm_container(h, aws):
    # second batch: 4 - 1 = 3 from the first batch's value; the older line adds nothing (no overlap)
    assert _two_batches(h) == {"retry_count_increase": [3.0]}


def test_increase_only_within_a_batch_when_carry_is_off(h, aws, monkeypatch):
    monkeypatch.setenv("METRICS_CARRY_STATE", "0")
    h.reset()
    assert _two_batches(h) == {}  # each batch's first line has no previous value: no increase


def test_carried_value_too_old_gives_no_increase(h, aws, monkeypatch):
    monkeypatch.setenv("METRICS_CARRY_MAX_AGE_SECONDS", "3")
    h.reset()
    assert _two_batches(h) == {}


def test_extra_dimension_set_with_the_log_stream(h, aws, monkeypatch):
    monkeypatch.setenv("METRICS_DIMENSIONS", "PluginId;PluginId,LogStream")
    h.reset()
    calls = capture(h)
    h.handler(event(STATUS[:5]), None)
    dimsets = defaultdict(set)
    for d in calls[0]:
        dimsets[d["MetricName"]].add(tuple((x["Name"], x["Value"]) for x in d["Dimensions"]))
    assert dimsets["status_lines"] == {(), (("LogStream", STREAM),)}
    assert dimsets["buffer_queue_length"] == {(("PluginId", "out_file_app"),),
                                              (("PluginId", "out_file_app"), ("LogStream", STREAM))}
    names = {m["MetricName"] for m in aws.list_metrics(Dimensions=[{"Name": "LogStream", "Value": STREAM}])["Metrics"]}
    assert "buffer_available_buffer_space_ratios" in names


@pytest.mark.parametrize("env", [{"METRICS_MODE": "kinesis"}, {"METRICS_DIMENSIONS": "LogStream"},
                                 {"METRICS_DIMENSIONS": "PluginId,Host"}, {"METRICS_STORAGE_RESOLUTION": "5"},
                                 {"METRICS_NAMESPACE": "AWS/Logs"}, {"METRICS_ON_API_FAILURE": "ignore"}])
def test_bad_settings_fail_the_cold_start(h, monkeypatch, env):
    from fm_config import ConfigError

    for k, v in env.items():
        monkeypatch.setenv(k, v)
    with pytest.raises(ConfigError):
        h.handler(event(STATUS[:1]), None)


def test_namespace_from_environment_and_high_resolution(h, aws, monkeypatch):
    monkeypatch.setenv("METRICS_NAMESPACE", "logbridge/fluentd")
    monkeypatch.setenv("METRICS_STORAGE_RESOLUTION", "1")
    h.reset()
    calls = capture(h)
    h.handler(event(STATUS[:10]), None)  # two ticks, 5 s apart: two timestamps at 1 s resolution
    assert {when(d["Timestamp"]).second for d in calls[0]} == {52, 57}
    assert all(d["StorageResolution"] == 1 for d in calls[0])
    assert aws.list_metrics(Namespace="logbridge/fluentd")["Metrics"]
    assert not aws.list_metrics(Namespace="fluentd")["Metrics"]


def test_an_unexpected_error_on_one_line_costs_that_line_only(h, aws, monkeypatch, capsys):
    import fm_fold

    real = fm_fold.Folder.add_status

    def flaky(self, st):
        if st.plugin_id == "in_forward":
            raise KeyError("simulated bug")
        return real(self, st)

    monkeypatch.setattr(fm_fold.Folder, "add_status", flaky)
    calls = capture(h)
    summary = h.handler(event(STATUS), None)
    assert summary["skipped_by_reason"] == {"internal_error": 25}
    assert summary["status_lines"] == 100 and summary["api_calls"] == 1
    assert not any(k[2] == "in_forward" for k in sent_values(calls))
    assert '"line failed"' in capsys.readouterr().out


def test_a_bug_while_folding_one_plugin_costs_that_plugins_lines_only(h, aws, monkeypatch, capsys):
    import fm_fold

    real = fm_fold.Folder._fold_run
    failed = []

    def flaky(self, run, prev, out, counts):
        if "buffer_queue_length" in run.plan.keys and not failed:
            failed.append(1)
            raise ZeroDivisionError("simulated bug")
        return real(self, run, prev, out, counts)

    monkeypatch.setattr(fm_fold.Folder, "_fold_run", flaky)
    calls = capture(h)
    summary = h.handler(event(STATUS), None)
    lost = summary["skipped_by_reason"]["internal_error"]
    assert 0 < lost < len(STATUS) and summary["status_lines"] == len(STATUS) - lost
    assert summary["api_calls"] == 1 and sent_values(calls)  # the other plugins' metrics went out
    out = capsys.readouterr().out
    assert '"plugin lines failed"' in out and "simulated bug" in out


# -- issue 16, item 5: JSON nested 100,000 deep is rejected and counted, never raised ------------------

def _raw_event(payload: bytes) -> dict:
    import base64
    import gzip

    return {"awslogs": {"data": base64.b64encode(gzip.compress(payload, mtime=0)).decode()}}


@pytest.mark.parametrize("payload", [b"[" * 100_000 + b"]" * 100_000, b"[" * 100_000,
                                     b'{"messageType":"DATA_MESSAGE","logEvents":' + b"[" * 100_000 + b"]" * 100_000 + b"}"])
def test_a_payload_nested_100000_deep_is_rejected_not_raised(h, payload, capsys):
    """Before: RecursionError out of handler() (the README promises "logged, not raised")."""
    summary = h.handler(_raw_event(payload), None)
    assert summary["rejected"] == "too_deep" and summary["level"] == "error"
    assert summary_of(capsys.readouterr().out)["rejected"] == "too_deep"


def test_payload_fields_of_the_wrong_type_are_not_recursed_into(h, aws, capsys):
    """Nested values where text is expected (depth the decoder accepts): never str()-ed."""
    deep = "[" * 500 + "]" * 500
    payload = ('{"messageType":"DATA_MESSAGE","logGroup":' + deep + ',"logStream":' + deep
               + ',"owner":' + deep + ',"logEvents":[{"id":"1","timestamp":0,"message":' + deep + "},"
               + json.dumps({"id": "2", "timestamp": 0, "message": STATUS[0]}) + "]}").encode()
    summary = h.handler(_raw_event(payload), None)
    assert summary["log_group"] == "" and summary["status_lines"] == 1
    assert summary["skipped_by_reason"] == {"not_text": 1}


def test_a_status_line_nested_too_deep_is_skipped_and_counted(h, aws, capsys):
    deep = '2026-11-28 09:37:52 +0000 fluentd.status: {"plugin_id":"out_x","a":' + "[" * 100_000
    summary = h.handler(event([deep] + STATUS[:5]), None)
    assert summary["skipped_by_reason"] == {"too_deep": 1} and summary["status_lines"] == 5
