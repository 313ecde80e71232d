"""tests/support_awslogs.build_subscription_event: the exact shape CloudWatch Logs hands a Lambda."""

from __future__ import annotations

import base64
import gzip
import json

import pytest

from support_awslogs import build_subscription_event, decode_subscription_event


def test_data_message_shape():
    ev = build_subscription_event(["a", "b"], log_group="/ecs/fluentd", log_stream="fluentd/x",
                                  timestamp_ms=1795858800123)
    assert list(ev) == ["awslogs"] and list(ev["awslogs"]) == ["data"]
    payload = json.loads(gzip.decompress(base64.b64decode(ev["awslogs"]["data"], validate=True)))
    assert payload == decode_subscription_event(ev)
    assert set(payload) == {"messageType", "owner", "logGroup", "logStream", "subscriptionFilters", "logEvents"}
    assert payload["messageType"] == "DATA_MESSAGE" and payload["logGroup"] == "/ecs/fluentd"
    assert payload["logStream"] == "fluentd/x" and payload["owner"].isdigit()
    assert [e["message"] for e in payload["logEvents"]] == ["a", "b"]
    ids = [e["id"] for e in payload["logEvents"]]
    assert len(set(ids)) == 2 and all(len(i) == 56 and i.isdigit() for i in ids)
    assert all(e["timestamp"] == 1795858800123 for e in payload["logEvents"])


def test_same_input_same_bytes():
    a = build_subscription_event(["x"], log_group="g", log_stream="s", timestamp_ms=1)
    b = build_subscription_event(["x"], log_group="g", log_stream="s", timestamp_ms=1)
    assert a == b


def test_control_message():
    payload = decode_subscription_event(build_subscription_event([], log_group="", log_stream="",
                                                                 message_type="CONTROL_MESSAGE"))
    assert payload["messageType"] == "CONTROL_MESSAGE" and payload["owner"] == "CloudwatchLogs"
    assert payload["logEvents"][0]["message"].startswith("CWL CONTROL MESSAGE")


def test_unknown_message_type_is_refused():
    with pytest.raises(ValueError):
        build_subscription_event([], log_group="g", log_stream="s", message_type="DATA")
