"""Publishing: PutMetricData within its limits, throttling retried, failures that lose nothing,
and EMF lines that follow the Embedded Metric Format specification."""

from __future__ import annotations

import gzip
import hashlib
import json
import math
from collections import Counter
from datetime import datetime, timezone
from urllib.parse import urlencode

import jsonschema
import fm_oracle as oracle
import pytest
from fm_testsupport import FIXTURE_NOW, emf_lines, real_lines, summary_of

from support_awslogs import build_subscription_event

STATUS = real_lines("monitor_agent_stdout.log")
WARN = real_lines("fluentd_warn_lines.log")
T0 = datetime(2026, 11, 28, 9, 0, tzinfo=timezone.utc)
T1 = datetime(2026, 11, 28, 11, 0, tzinfo=timezone.utc)


def event(lines):
    return build_subscription_event(lines, log_group="/ecs/fluentd", log_stream="fluentd/a", timestamp_ms=0)


def synthetic(n: int, plugins: int) -> list[str]:
    """n status lines: `plugins` outputs per 5 s tick, counters growing, from 09:40 on."""
    out = []
    base = 1795858800  # 2026-11-28 09:40:00 UTC
    for i in range(n):
        tick, p = divmod(i, plugins)
        t = datetime.fromtimestamp(base + 5 * tick, tz=timezone.utc)
        rec = {"plugin_id": f"out_{p:03d}", "plugin_category": "output", "type": "stdout", "output_plugin": True,
               "retry_count": tick // 3, "emit_records": 7 * tick, "emit_size": 0, "emit_count": tick,
               "write_count": tick, "write_secondary_count": 0, "rollback_count": tick // 3,
               "slow_flush_count": 0, "flush_time_count": 2 * tick, "drop_oldest_chunk_count": 0}
        out.append(t.strftime("%Y-%m-%d %H:%M:%S") + f".{i:09d} +0000 fluentd.status: " + json.dumps(rec))
    return out


class _Raw:
    def __init__(self, body: bytes):
        self.body = body

    def stream(self, **_):
        yield self.body


def _cbor_text(s: str) -> bytes:
    b = s.encode()
    assert len(b) < 24
    return bytes([0x60 + len(b)]) + b


def throttling_response(content_type: str):
    """What CloudWatch answers when it throttles, in the protocol the request was made in."""
    from botocore.awsrequest import AWSResponse

    headers = {"x-amzn-query-error": "Throttling;Sender", "x-amzn-requestid": "throttled"}
    if "cbor" in content_type:
        body = bytes([0xa2]) + _cbor_text("__type") + _cbor_text("Throttling") + _cbor_text("message") + \
            _cbor_text("Rate exceeded")
        headers.update({"smithy-protocol": "rpc-v2-cbor", "Content-Type": "application/cbor"})
    elif "json" in content_type:
        body = b'{"__type":"Throttling","message":"Rate exceeded"}'
        headers["Content-Type"] = "application/x-amz-json-1.0"
    else:
        body = (b"<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded"
                b"</Message></Error><RequestId>throttled</RequestId></ErrorResponse>")
        headers["Content-Type"] = "text/xml"
    return AWSResponse("https://monitoring", 400, headers, _Raw(body))


class Throttler:
    """A botocore event hook, installed on the handler's own client, that answers selected
    PutMetricData attempts with a Throttling error instead of sending them to moto. The other
    attempts go to moto untouched. The handler makes one client call per attempt (it retries
    itself, within its deadline); the attempts of one batch pass the same MetricData list."""

    def __init__(self, client, fail_attempts: int = 0, fail_call: int | None = None):
        self.fail_attempts, self.fail_call = fail_attempts, fail_call
        self.call = -1
        self.attempts: Counter[int] = Counter()
        self.throttled = 0
        self.bodies: list[bytes] = []
        self.datums: list[int] = []
        self._seen: dict[int, int] = {}
        self._keep: list = []  # the lists themselves, so that their ids stay unique
        client.meta.events.register("provide-client-params.cloudwatch.PutMetricData", self._new_call)
        client.meta.events.register("before-send.cloudwatch.PutMetricData", self._send)

    def _new_call(self, params, **_):
        data = params["MetricData"]
        if id(data) not in self._seen:
            self._seen[id(data)] = len(self._seen)
            self._keep.append(data)
            self.datums.append(len(data))
        self.call = self._seen[id(data)]

    def _send(self, request, **_):
        self.attempts[self.call] += 1
        body = request.body if isinstance(request.body, bytes) else bytes(request.body or b"")
        if request.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        if self.attempts[self.call] == 1:
            self.bodies.append(body)
        throttle = (self.fail_call == self.call) if self.fail_call is not None \
            else self.attempts[self.call] <= self.fail_attempts
        if throttle:
            self.throttled += 1
            return throttling_response(str(request.headers.get("Content-Type", "")))
        return None


def status_lines_sum(cw) -> float:
    r = cw.get_metric_data(MetricDataQueries=[{"Id": "s", "MetricStat": {"Metric": {
        "Namespace": "fluentd", "MetricName": "status_lines", "Dimensions": []}, "Period": 7200, "Stat": "Sum"}}],
        StartTime=T0, EndTime=T1)
    return sum(r["MetricDataResults"][0]["Values"])


def test_throttling_is_retried_with_backoff_and_delivered(h, aws, monkeypatch):
    import fm_publish

    slept: list[float] = []
    monkeypatch.setattr(fm_publish.time, "sleep", slept.append)
    t = Throttler(h.client(h.config()), fail_attempts=2)
    summary = h.handler(event(STATUS + WARN), None)
    assert t.throttled == 2 and t.attempts[0] == 3
    # full jitter: a random delay up to 0.5 s, then up to 1 s
    assert len(slept) == 2 and 0 <= slept[0] <= 0.5 and 0 <= slept[1] <= 1.0
    assert summary["api_calls"] == 1 and summary["api_retries"] == 2 and summary["failed_calls"] == 0
    assert status_lines_sum(aws) == len(STATUS)


def big_fleet(monkeypatch, h):
    """100 outputs: more distinct metrics than the default budget allows (1,000 per invocation)."""
    monkeypatch.setenv("METRICS_MAX_METRICS_PER_INVOCATION", "100000")
    monkeypatch.setenv("METRICS_MAX_METRICS_PER_HOUR", "100000")
    h.reset()


def test_ten_thousand_lines_split_into_calls_within_the_limits(h, aws, monkeypatch):
    from botocore.serialize import create_serializer

    big_fleet(monkeypatch, h)
    cli = h.client(h.config())
    t = Throttler(cli)
    lines = synthetic(10_000, plugins=100)
    summary = h.handler(event(lines), None)
    assert summary["status_lines"] == 10_000 and summary["failed_calls"] == 0
    assert summary["api_calls"] == len(t.datums) >= 2
    assert all(n <= 1000 for n in t.datums) and sum(t.datums) == summary["metrics"]
    assert all(len(b) <= 1_000_000 for b in t.bodies)
    assert status_lines_sum(aws) == 10_000
    # the 1 MB limit holds even in the most verbose protocol botocore can use (query, form-encoded)
    fm_publish = __import__("fm_publish")
    fm_fold = __import__("fm_fold")
    from fm_config import Config

    folder = fm_fold.Folder(Config(max_metrics_per_invocation=10**5, max_metrics_per_hour=10**5), FIXTURE_NOW,
                            {}, "g", "s")
    from fm_lines import parse_line
    for line in lines:
        folder.add_status(parse_line(line))
    op = cli.meta.service_model.operation_model("PutMetricData")
    ser = create_serializer("query")
    from botocore.validate import ParamValidator

    for batch in fm_publish.batches(folder.datums()):
        params = {"Namespace": "fluentd", "MetricData": [fm_publish.to_api(d, 60) for d in batch]}
        req = ser.serialize_to_request(params, op)
        assert len(urlencode(req["body"])) <= 1_000_000
        assert len(batch) <= 1000
        # the client turns botocore's validation off for speed; the items would pass it anyway
        # (ints for Double values, tuples for lists, epoch seconds for the timestamp)
        report = ParamValidator().validate(params, op.input_shape)
        assert not report.has_errors(), report.generate_report()


def test_size_limit_splits_before_the_count_limit(h):
    """Long dimension values and 150 values per datum: the 1 MB bound, not the 1,000 bound, cuts."""
    import fm_publish
    from botocore.serialize import create_serializer
    from fm_fold import Datum

    long = "x" * 500
    datums = [Datum(f"m{i}", "Count", (("PluginId", long), ("LogStream", long)), FIXTURE_NOW,
                    tuple(float(v) + 0.123456789 for v in range(150)), tuple([3] * 150)) for i in range(1000)]
    batches = fm_publish.batches(datums)
    assert len(batches) > 1 and sum(map(len, batches)) == 1000
    import botocore.session
    op = botocore.session.get_session().get_service_model("cloudwatch").operation_model("PutMetricData")
    for batch in batches:
        body = create_serializer("query").serialize_to_request(
            {"Namespace": "fluentd", "MetricData": [fm_publish.to_api(d, 60) for d in batch]}, op)["body"]
        assert len(urlencode(body)) <= 1_000_000


def test_more_than_150_distinct_values_in_a_minute_become_several_datums(h, aws):
    calls: list = []
    h.client(h.config()).meta.events.register("provide-client-params.cloudwatch.PutMetricData",
                                              lambda params, **_: calls.append(params["MetricData"]))
    lines = [f"2026-11-28 09:41:{i // 10:02d}.{i % 10} +0000 fluentd.status: "
             f'{{"plugin_id":"out_x","buffer_total_queued_size":{i}}}' for i in range(400)]
    h.handler(event(lines), None)
    mine = [d for d in calls[0] if d["MetricName"] == "buffer_total_queued_size"]
    assert [len(d["Values"]) for d in mine] == [150, 150, 100]
    assert sorted(v for d in mine for v in d["Values"]) == [float(i) for i in range(400)]
    r = aws.get_metric_data(MetricDataQueries=[{"Id": "s", "MetricStat": {"Metric": {
        "Namespace": "fluentd", "MetricName": "buffer_total_queued_size",
        "Dimensions": [{"Name": "PluginId", "Value": "out_x"}]}, "Period": 60, "Stat": "Sum"}}],
        StartTime=T0, EndTime=T1)["MetricDataResults"][0]
    assert r["Values"] == [sum(range(400))]


def test_a_call_that_fails_for_good_goes_out_as_emf_and_the_rest_still_go(h, aws, monkeypatch, capsys):
    monkeypatch.setenv("METRICS_MAX_ATTEMPTS", "2")
    big_fleet(monkeypatch, h)
    t = Throttler(h.client(h.config()), fail_call=1)
    summary = h.handler(event(synthetic(6000, plugins=100)), None)
    assert summary["api_calls"] >= 3 and summary["failed_calls"] == 1 and t.attempts[1] == 2
    out = capsys.readouterr().out
    docs = emf_lines(out)
    assert summary["emf_fallback_lines"] == len(docs) > 0
    emf_points = sum(len(v) if isinstance(v, list) else 1
                     for d in docs for m in d["_aws"]["CloudWatchMetrics"][0]["Metrics"] for v in [d[m["Name"]]])
    failed_values = t.datums[1]
    assert summary["failed_metrics"] == failed_values
    # nothing lost, nothing doubled: moto (API) + EMF lines hold every status line exactly once
    emf_status = sum(sum(d["status_lines"]) if isinstance(d["status_lines"], list) else d["status_lines"]
                     for d in docs if "status_lines" in d)
    assert status_lines_sum(aws) + emf_status == 6000
    assert emf_points >= failed_values


def test_raise_mode_fails_the_invocation_after_sending_the_rest(h, aws, monkeypatch):
    monkeypatch.setenv("METRICS_MAX_ATTEMPTS", "1")
    monkeypatch.setenv("METRICS_ON_API_FAILURE", "raise")
    big_fleet(monkeypatch, h)
    Throttler(h.client(h.config()), fail_call=0)
    with pytest.raises(h.MetricsPublishError, match="1 of"):
        h.handler(event(synthetic(6000, plugins=100)), None)
    assert 0 < status_lines_sum(aws) < 6000  # the other calls were delivered before raising


# -- Embedded Metric Format ---------------------------------------------------------------------

UNITS = ["Seconds", "Microseconds", "Milliseconds", "Bytes", "Kilobytes", "Megabytes", "Gigabytes", "Terabytes",
         "Bits", "Kilobits", "Megabits", "Gigabits", "Terabits", "Percent", "Count", "Bytes/Second",
         "Kilobytes/Second", "Megabytes/Second", "Gigabytes/Second", "Terabytes/Second", "Bits/Second",
         "Kilobits/Second", "Megabits/Second", "Gigabits/Second", "Terabits/Second", "Count/Second", "None"]
# The structure the EMF specification defines for the root node and its metadata
# (docs: CloudWatch "Specification: Embedded metric format").
EMF_SCHEMA = {
    "type": "object",
    "required": ["_aws"],
    "properties": {"_aws": {
        "type": "object",
        "required": ["Timestamp", "CloudWatchMetrics"],
        "properties": {
            "Timestamp": {"type": "integer", "minimum": 0},
            "CloudWatchMetrics": {"type": "array", "minItems": 1, "items": {
                "type": "object",
                "required": ["Namespace", "Dimensions", "Metrics"],
                "properties": {
                    "Namespace": {"type": "string", "minLength": 1, "maxLength": 1024},
                    "Dimensions": {"type": "array", "items": {
                        "type": "array", "maxItems": 30, "uniqueItems": True,
                        "items": {"type": "string", "minLength": 1, "maxLength": 250}}},
                    "Metrics": {"type": "array", "maxItems": 100, "items": {
                        "type": "object", "required": ["Name"],
                        "properties": {"Name": {"type": "string", "minLength": 1, "maxLength": 1024},
                                       "Unit": {"enum": UNITS}, "StorageResolution": {"enum": [1, 60]}},
                        "additionalProperties": False}},
                }}},
        }}},
}


def validate_emf(doc: dict) -> None:
    jsonschema.validate(doc, EMF_SCHEMA)
    for directive in doc["_aws"]["CloudWatchMetrics"]:
        for dimset in directive["Dimensions"]:
            for key in dimset:  # every dimension key is a member of the root holding a string
                assert isinstance(doc[key], str) and 0 < len(doc[key]) <= 1024
        for m in directive["Metrics"]:  # every metric name is a member holding numbers (≤ 100)
            v = doc[m["Name"]]
            values = v if isinstance(v, list) else [v]
            assert 1 <= len(values) <= 100
            assert all(isinstance(x, (int, float)) and math.isfinite(x) for x in values)


def test_emf_mode_prints_valid_emf_and_makes_no_api_call(h, monkeypatch, capsys):
    monkeypatch.setenv("METRICS_MODE", "emf")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)  # no moto: a call would fail loudly
    h.reset()
    summary = h.handler(event(STATUS + WARN), None)
    assert summary["api_calls"] == 0 and h._client is None
    out = capsys.readouterr().out
    docs = emf_lines(out)
    assert summary["emf_lines"] == len(docs) > 0
    for doc in docs:
        validate_emf(doc)
        json.dumps(doc, allow_nan=False)
    # the same data points as the API path, recovered from the EMF lines
    got: dict = {}
    for doc in docs:
        t = datetime.fromtimestamp(doc["_aws"]["Timestamp"] / 1000, tz=timezone.utc)
        for m in doc["_aws"]["CloudWatchMetrics"][0]["Metrics"]:
            v = doc[m["Name"]]
            got.setdefault((m["Name"], m["Unit"], doc.get("PluginId", ""), t), []).extend(v if isinstance(v, list) else [v])
    assert {k: sorted(v) for k, v in got.items()} == oracle.expected(STATUS, WARN)
    assert summary_of(out)["emf_lines"] == len(docs)


def test_emf_splits_at_100_metrics_and_100_values(h):
    import fm_publish
    from fm_fold import Datum

    dims = (("PluginId", "out_x"), ("LogStream", "s"))
    datums = [Datum(f"m{i:03d}", "Count", dims, FIXTURE_NOW, (1.0,), (1,)) for i in range(250)]
    datums.append(Datum("big", "Bytes", dims, FIXTURE_NOW, (1.0, 2.0), (150, 100)))
    docs = fm_publish.emf_documents("fluentd", datums, 1)
    for doc in docs:
        validate_emf(doc)
        assert doc["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["StorageResolution"] == 1
    assert sorted(len(d["_aws"]["CloudWatchMetrics"][0]["Metrics"]) for d in docs) == [1, 1, 51, 100, 100]
    big = [v for d in docs if "big" in d for v in (d["big"] if isinstance(d["big"], list) else [d["big"]])]
    assert sorted(big) == [1.0] * 150 + [2.0] * 100
    digest = hashlib.sha256(json.dumps(docs, sort_keys=True).encode()).hexdigest()
    assert digest == hashlib.sha256(json.dumps(fm_publish.emf_documents("fluentd", datums, 1),
                                               sort_keys=True).encode()).hexdigest()


def test_emf_one_document_case_matches_the_splitting_case(h):
    """Up to 100 metrics of up to 100 values: one document, built without the search for room;
    the same content as the general path gives (checked through the spec and the values)."""
    import fm_publish

    dims = (("PluginId", "out_x"),)
    metrics = [(f"m{i}", "Bytes" if i % 2 else "Count", [float(i)] * (1 + i % 3)) for i in range(100)]
    for resolution in (1, 60):
        docs = fm_publish.emf_from_series("fluentd", [(FIXTURE_NOW, dims, metrics)], resolution)
        assert len(docs) == 1
        validate_emf(docs[0])
        defs = docs[0]["_aws"]["CloudWatchMetrics"][0]["Metrics"]
        assert [(d["Name"], d["Unit"]) for d in defs] == [(n, u) for n, u, _ in metrics]
        assert all(d.get("StorageResolution") == (1 if resolution == 1 else None) for d in defs)
        assert all(docs[0][n] == (v[0] if len(v) == 1 else v) for n, _, v in metrics)
        # one more metric: the general path, split into two documents holding the same
        split = fm_publish.emf_from_series("fluentd", [(FIXTURE_NOW, dims, metrics + [("z", "Count", [1.0])])],
                                           resolution)
        assert len(split) == 2 and {**split[0], **split[1]}.keys() >= set(docs[0]) - {"_aws"}
