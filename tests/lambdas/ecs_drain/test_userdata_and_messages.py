"""The user-data parser and the message parser on their own, including hostile input."""

from __future__ import annotations

import gzip
import json
import string
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText

import pytest
from ed_testsupport import b64, lifecycle_message, load_handler
from hypothesis import given, settings
from hypothesis import strategies as st

load_handler()
import ed_message
from ed_message import Lifecycle, Rejected, Work, parse_lifecycle, parse_record
from ed_userdata import cluster_from_user_data, decode_user_data

TOKEN = "71514b9d-6a40-4b26-8523-05e7eEXAMPLE"


@pytest.mark.parametrize(("text", "cluster", "reason"), [
    ("#!/bin/bash\necho ECS_CLUSTER=prod >> /etc/ecs/ecs.config\n", "prod", "found"),
    ('#!/bin/bash\necho "ECS_CLUSTER=prod-2" >> /etc/ecs/ecs.config\n', "prod-2", "found"),
    ("#!/bin/bash\necho 'ECS_CLUSTER=a_b' >> /etc/ecs/ecs.config\n", "a_b", "found"),
    ("cat <<EOF > /etc/ecs/ecs.config\nECS_CLUSTER=heredoc\nEOF\n", "heredoc", "found"),
    ("#cloud-config\nwrite_files:\n  - path: /etc/ecs/ecs.config\n    content: |\n      ECS_CLUSTER=yaml\n", "yaml", "found"),
    ("# ECS_CLUSTER=commented\necho hi\n", None, "no_ecs_cluster"),
    ("echo ECS_CLUSTER=live # ECS_CLUSTER=trailing-comment\n", "live", "found"),
    ("   # ECS_CLUSTER=indented-comment\n", None, "no_ecs_cluster"),
    ("echo ECS_CLUSTER=${cluster_name} >> /etc/ecs/ecs.config\n", None, "unexpanded"),
    ("echo ECS_CLUSTER=$CLUSTER >> /etc/ecs/ecs.config\n", None, "unexpanded"),
    ("echo ECS_CLUSTER=first >> f\necho ECS_CLUSTER=second >> f\n", "second", "found"),
    ("echo ECS_CLUSTER=first >> f\necho ECS_CLUSTER=${x} >> f\n", None, "unexpanded"),
    ("echo MY_ECS_CLUSTER=nope\n", None, "no_ecs_cluster"),
    ("echo ECS_CLUSTER= >> f\n", None, "invalid_name"),
    ("echo ECS_CLUSTER=bad.name >> f\n", None, "invalid_name"),
    ("", None, "no_user_data"),
])
def test_cluster_from_user_data(text, cluster, reason):
    got = cluster_from_user_data(b64(text) if text else text)
    assert (got.cluster, got.reason) == (cluster, reason)


def test_gzip_and_mime_multipart_user_data():
    assert cluster_from_user_data(b64(gzip.compress(b"echo ECS_CLUSTER=zipped >> f\n"))).cluster == "zipped"
    mime = MIMEMultipart()
    mime.attach(MIMEText("#cloud-config\npackages: [jq]\n", "cloud-config"))
    mime.attach(MIMEText("#!/bin/bash\necho ECS_CLUSTER=multi >> /etc/ecs/ecs.config\n", "x-shellscript"))
    assert cluster_from_user_data(b64(mime.as_string())).cluster == "multi"


@pytest.mark.parametrize(("value", "reason"), [
    ("not base64 !!!", "not_base64"), ("%%%%", "not_base64"), (b64(b"\xff\xfe\xfa"), "not_text"),
    (b64(b"\x1f\x8b broken gzip"), "not_text"), (b64(b"a\x00b"), "not_text"), (None, "no_user_data"),
])
def test_garbage_user_data(value, reason):
    assert decode_user_data(value)[1] == reason
    assert cluster_from_user_data(value).cluster is None


@settings(max_examples=300, deadline=None)
@given(st.text() | st.binary().map(lambda b: b.decode("latin-1")))
def test_user_data_parser_never_raises_on_anything(value):
    got = cluster_from_user_data(value)
    assert got.cluster is None or got.reason == "found"
    got = cluster_from_user_data(b64(value.encode("utf-8", "surrogatepass")))
    if got.cluster is not None:
        assert "$" not in got.cluster and 1 <= len(got.cluster) <= 255


NAME = st.text(string.ascii_letters + string.digits + "-_", min_size=1, max_size=40)


@settings(max_examples=200, deadline=None)
@given(NAME, st.lists(st.sampled_from(["# ECS_CLUSTER=old", "echo hi", "ECS_ENABLE_X=true", "", "  "]), max_size=5),
       st.sampled_from(["{}", "echo {} >> /etc/ecs/ecs.config", 'echo "{}" >> f', "  {}"]))
def test_the_last_real_assignment_is_found_among_noise(name, noise, form):
    line = form.format(f"ECS_CLUSTER={name}")
    text = "\n".join([*noise, line, *noise]) + "\n"
    assert cluster_from_user_data(b64(text)).cluster == name


@settings(max_examples=200, deadline=None)
@given(NAME, NAME)
def test_unexpanded_placeholders_are_never_a_cluster(a, b):
    text = f"echo ECS_CLUSTER={a}${{{b}}} >> f\n"
    got = cluster_from_user_data(b64(text))
    assert got.cluster is None and got.reason == "unexpanded"


def test_lifecycle_message_parsed():
    got = parse_lifecycle(json.dumps(lifecycle_message("i-0123456789abcdef0", TOKEN)))
    assert isinstance(got, Lifecycle)
    assert (got.instance_id, got.token, got.asg_name, got.hook_name) == ("i-0123456789abcdef0", TOKEN, "ecs-asg", "drain")
    assert got.metadata == "logbridge" and got.time == 1795885200.0


@pytest.mark.parametrize("drop", ["LifecycleHookName", "AutoScalingGroupName", "EC2InstanceId",
                                  "LifecycleActionToken", "LifecycleTransition"])
def test_each_missing_key_is_named(drop):
    doc = lifecycle_message("i-0123456789abcdef0", TOKEN)
    del doc[drop]
    got = parse_lifecycle(json.dumps(doc))
    assert got == Rejected("missing_keys", drop)


def test_test_notification_from_someone_else_is_rejected():
    doc = {"Event": "autoscaling:TEST_NOTIFICATION", "Service": "Not Auto Scaling"}
    assert parse_lifecycle(json.dumps(doc)).reason == "wrong_service"
    doc["Service"] = "AWS Auto Scaling"
    assert isinstance(parse_lifecycle(json.dumps(doc)), ed_message.TestNotification)


def test_sqs_forms():
    msg = json.dumps(lifecycle_message("i-0123456789abcdef0", TOKEN))
    raw = parse_record({"eventSource": "aws:sqs", "messageId": "m", "body": msg})
    wrapped = parse_record({"eventSource": "aws:sqs", "messageId": "m",
                            "body": json.dumps({"Type": "Notification", "Message": msg})})
    assert isinstance(raw, Work) and isinstance(wrapped, Work) and raw.lifecycle == wrapped.lifecycle
    bad_progress = json.dumps({"kind": "logbridge.ecs_drain.recheck", "lifecycle": msg,
                               "progress": {"started_at": "NaN"}})
    assert parse_record({"eventSource": "aws:sqs", "body": bad_progress}).reason == "bad_envelope"


@settings(max_examples=300, deadline=None)
@given(st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=20),
                    lambda kids: st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=12), kids, max_size=5),
                    max_leaves=20))
def test_record_parser_never_raises(doc):
    for record in (doc, {"EventSource": "aws:sns", "Sns": {"Message": json.dumps(doc)}},
                   {"eventSource": "aws:sqs", "body": json.dumps(doc)},
                   {"eventSource": "aws:sqs", "body": json.dumps({"kind": "logbridge.ecs_drain.recheck",
                                                                  "lifecycle": json.dumps(doc), "progress": doc})}):
        assert isinstance(parse_record(record), (Work, Rejected, ed_message.TestNotification))
