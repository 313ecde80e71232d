"""fm_serialize: the PutMetricData body it writes equals botocore's own, request for request."""

from __future__ import annotations

import gzip
import json
from datetime import datetime, timedelta, timezone

import boto3
from botocore.config import Config
from hypothesis import given, settings
from hypothesis import strategies as st

from fm_testsupport import load_handler

load_handler()  # puts the Lambda's directory on sys.path
import fm_serialize  # noqa: E402


def _client():
    return boto3.client("cloudwatch", region_name="us-east-1", aws_access_key_id="k",
                        aws_secret_access_key="s", config=Config(parameter_validation=False))


names = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=20)
floats = st.floats(allow_nan=False, allow_infinity=False, min_value=-1e300, max_value=1e300)
datum = st.fixed_dictionaries(
    {"MetricName": names,
     "Dimensions": st.lists(st.fixed_dictionaries({"Name": names, "Value": names}), max_size=3),
     "Timestamp": st.one_of(  # a datetime, or whole epoch seconds as fm_publish.to_api passes them
         st.integers(0, 10**9).map(lambda us: datetime(2026, 11, 28, tzinfo=timezone.utc) + timedelta(microseconds=us)),
         st.integers(1_700_000_000, 1_900_000_000)),
     "Unit": st.sampled_from(["Bytes", "Count", "Percent", "Milliseconds"])},
    optional={"Value": floats, "Values": st.lists(floats, max_size=5),
              "Counts": st.one_of(st.lists(floats, max_size=5), st.lists(st.integers(1, 10**6), max_size=5)),
              "StorageResolution": st.sampled_from([1, 60])})


@settings(max_examples=200, deadline=None)
@given(data=st.lists(datum, max_size=120), namespace=names)
def test_body_equals_botocores(data, namespace):
    client = _client()
    op = client.meta.service_model.operation_model("PutMetricData")
    params = {"Namespace": namespace, "MetricData": data}
    theirs = client._serializer.serialize_to_request(params, op)
    ours = fm_serialize.FastPutMetricData(client._serializer).serialize_to_request(params, op)
    body = ours["body"]
    if ours["headers"].pop("Content-Encoding", None) == "gzip":
        assert len(body) < len(gzip.decompress(body))
        body = gzip.decompress(body)
    else:
        assert len(body) < fm_serialize.GZIP_MIN_BYTES
    assert json.loads(body) == json.loads(theirs["body"])
    assert {k: v for k, v in ours.items() if k != "body"} == {k: v for k, v in theirs.items() if k != "body"}


def test_other_operations_are_left_to_botocore():
    client = fm_serialize.install(_client())
    fm_serialize.install(client)  # idempotent
    assert isinstance(client._serializer, fm_serialize.FastPutMetricData)
    assert not isinstance(client._serializer._inner, fm_serialize.FastPutMetricData)
    op = client.meta.service_model.operation_model("ListMetrics")
    req = client._serializer.serialize_to_request({"Namespace": "fluentd"}, op)
    assert json.loads(req["body"]) == {"Namespace": "fluentd"}


def test_large_body_is_gzipped_and_unchanged():
    client = _client()
    op = client.meta.service_model.operation_model("PutMetricData")
    ts = datetime(2026, 11, 28, 10, tzinfo=timezone.utc)
    params = {"Namespace": "fluentd", "MetricData": [
        {"MetricName": f"m{i}", "Dimensions": [{"Name": "PluginId", "Value": "out_bq_access_log"}],
         "Timestamp": ts, "Unit": "Count", "Values": [1.0, 2.0], "Counts": [3.0, 4.0]} for i in range(1000)]}
    ours = fm_serialize.FastPutMetricData(client._serializer).serialize_to_request(params, op)
    theirs = client._serializer.serialize_to_request(params, op)
    assert ours["headers"]["Content-Encoding"] == "gzip"
    assert len(ours["body"]) * 5 < len(theirs["body"])
    assert json.loads(gzip.decompress(ours["body"])) == json.loads(theirs["body"])
