"""The drain Lambda end to end on moto: each case gives its documented outcome and log line."""

from __future__ import annotations

import json

import pytest
from ed_testsupport import (
    LifecycleActionFake,
    b64,
    lifecycle_message,
    log_lines,
    sns_event,
    sqs_event,
)

TOKEN = "71514b9d-6a40-4b26-8523-05e7eEXAMPLE"
ECS_CONFIG = """#!/bin/bash
# ECS_CLUSTER=old-cluster   (commented out: must not count)
cat <<'EOF' >> /etc/ecs/ecs.config
ECS_CLUSTER=prod
ECS_ENABLE_TASK_IAM_ROLE=true
EOF
"""


def terminate(w, instance_id, asg="ecs-asg", hook="drain", heartbeat=300, **extra):
    """Auto Scaling starts terminating the instance: the hook's action is active, SNS delivers."""
    w.hook(asg, hook, heartbeat)
    token = w.actions.start(asg, hook, instance_id)
    return token, sns_event(lifecycle_message(instance_id, token, asg=asg, hook=hook, **extra))


def only(lines, outcome):
    found = [ln for ln in lines if ln["outcome"] == outcome]
    assert len(found) == 1, lines
    return found[0]


def ci_status(w, cluster, arn):
    return w.ecs.describe_container_instances(cluster=cluster, containerInstances=[arn])["containerInstances"][0]["status"]


def test_happy_path_no_tasks_drains_and_continues(world, capsys):
    w = world
    w.cluster("prod")
    iid = w.instance(ECS_CONFIG)
    arn = w.register("prod", iid)
    token, event = terminate(w, iid)
    assert w.h.handler(event, None)["outcomes"] == ["drained"]
    assert ci_status(w, "prod", arn) == "DRAINING"
    assert w.actions.completed == [{"LifecycleHookName": "drain", "AutoScalingGroupName": "ecs-asg",
                                    "LifecycleActionToken": token, "LifecycleActionResult": "CONTINUE",
                                    "InstanceId": iid}]
    lines = log_lines(capsys.readouterr().out)
    assert only(lines, "located")["source"] == "user_data"
    done = only(lines, "drained")
    assert done["level"] == "info" and done["result"] == "CONTINUE" and done["cluster"] == "prod"
    assert w.rechecks() == []


def test_tasks_left_heartbeat_and_delayed_recheck_then_drained(world, capsys):
    w = world
    w.cluster("prod")
    iid = w.instance(ECS_CONFIG)
    arn = w.register("prod", iid)
    tasks = w.run_tasks("prod", arn, 3)
    token, event = terminate(w, iid)
    assert w.h.handler(event, None)["outcomes"] == ["waiting"]
    assert w.actions.completed == [] and len(w.actions.heartbeats) == 1
    waiting = only(log_lines(capsys.readouterr().out), "waiting")
    assert waiting["running_tasks"] == 3 and waiting["recheck_in_seconds"] == 30
    assert waiting["heartbeat_timeout"] == 300  # read from the hook (DescribeLifecycleHooks, moto)
    [msg] = w.rechecks()
    assert msg["delay"] == 30
    body = json.loads(msg["body"])
    assert body["progress"]["cluster"] == "prod" and body["progress"]["attempt"] == 2
    assert body["progress"]["container_instance_arn"] == arn

    # one task is being stopped by ECS, two are gone: still waiting for the stopping one
    for t in tasks:
        w.ecs.stop_task(cluster="prod", task=t, reason="draining")
    from moto.backends import get_backend
    ecs_backend = get_backend("ecs")["123456789012"]["us-east-1"]
    next(iter(ecs_backend.tasks["prod"].values())).last_status = "DEACTIVATING"
    w.h.reset()
    w.actions.attach(w.h.clients().autoscaling)
    assert w.h.handler(sqs_event([("m1", msg["body"])]), None) == {"outcomes": ["waiting"], "batchItemFailures": []}
    second = only(log_lines(capsys.readouterr().out), "waiting")
    assert second["running_tasks"] == 0 and second["tasks_in_transition"] == 1 and second["attempt"] == 2

    next(iter(ecs_backend.tasks["prod"].values())).last_status = "STOPPED"
    last = json.loads(w.rechecks()[-1]["body"])
    assert last["progress"]["attempt"] == 3
    out = w.h.handler(sqs_event([("m2", json.dumps(last))]), None)
    assert out["outcomes"] == ["drained"]
    assert [c["LifecycleActionToken"] for c in w.actions.completed] == [token]
    assert "located" not in [ln["outcome"] for ln in log_lines(capsys.readouterr().out)]  # carried over


def test_cluster_found_by_tag_only(world, capsys):
    w = world
    w.cluster("by-tag")
    iid = w.instance("#!/bin/bash\nyum -y update\n", tags={"ClusterName": "by-tag"})
    arn = w.register("by-tag", iid)
    _, event = terminate(w, iid)
    assert w.h.handler(event, None)["outcomes"] == ["drained"]
    assert ci_status(w, "by-tag", arn) == "DRAINING"
    assert only(log_lines(capsys.readouterr().out), "located")["source"] == "tag"


def test_tag_key_from_environment(world, monkeypatch, capsys):
    w = world
    monkeypatch.setenv("CLUSTER_TAG_KEY", "ecs:cluster")
    w.cluster("custom")
    iid = w.instance(None, tags={"ClusterName": "wrong", "ecs:cluster": "custom"})
    w.register("custom", iid)
    _, event = terminate(w, iid)
    assert w.h.handler(event, None)["outcomes"] == ["drained"]
    assert only(log_lines(capsys.readouterr().out), "located")["cluster"] == "custom"


def test_unexpanded_template_in_user_data_falls_back_to_tag(world, capsys):
    w = world
    w.cluster("real")
    ud = "#!/bin/bash\n# ECS_CLUSTER=commented\necho ECS_CLUSTER=${cluster_name} >> /etc/ecs/ecs.config\n"
    iid = w.instance(ud, tags={"ClusterName": "real"})
    w.register("real", iid)
    _, event = terminate(w, iid)
    assert w.h.handler(event, None)["outcomes"] == ["drained"]
    assert only(log_lines(capsys.readouterr().out), "located")["source"] == "tag"


def test_user_data_cluster_without_the_instance_tries_the_tag(world, capsys):
    w = world
    w.cluster("prod")  # user data says prod, but the instance registered into "other"
    w.cluster("other")
    iid = w.instance(ECS_CONFIG, tags={"ClusterName": "other"})
    w.register("other", iid)
    _, event = terminate(w, iid)
    assert w.h.handler(event, None)["outcomes"] == ["drained"]
    assert only(log_lines(capsys.readouterr().out), "located")["cluster"] == "other"


def test_instance_in_no_cluster_completes_with_a_clear_warning(world, capsys):
    w = world
    w.cluster("prod")  # exists, but the instance never registered
    iid = w.instance("#!/bin/bash\necho ECS_CLUSTER=${var.cluster} >> /etc/ecs/ecs.config\n",
                     tags={"ClusterName": "missing-cluster"})
    _, event = terminate(w, iid)
    assert w.h.handler(event, None)["outcomes"] == ["not_in_cluster"]
    line = only(log_lines(capsys.readouterr().out), "not_in_cluster")
    assert line["level"] == "warning" and line["result"] == "CONTINUE"
    assert line["user_data"] == "unexpanded" and line["user_data_value"] == "${var.cluster}"
    assert line["tag_value"] == "missing-cluster" and line["clusters_tried"] == ["missing-cluster"]
    assert len(w.actions.completed) == 1


def test_base64_garbage_user_data_is_not_a_cluster(world, capsys):
    w = world
    w.cluster("prod")
    iid = w.instance(b"\xff\xfe\x00garbage\x9c".decode("latin-1"), tags={"ClusterName": "prod"})
    w.register("prod", iid)
    _, event = terminate(w, iid)
    assert w.h.handler(event, None)["outcomes"] == ["drained"]
    assert only(log_lines(capsys.readouterr().out), "located")["source"] == "tag"


def test_already_draining_is_fine(world, capsys):
    w = world
    w.cluster("prod")
    iid = w.instance(ECS_CONFIG)
    arn = w.register("prod", iid)
    w.ecs.update_container_instances_state(cluster="prod", containerInstances=[arn], status="DRAINING")
    _, event = terminate(w, iid)
    assert w.h.handler(event, None)["outcomes"] == ["drained"]
    assert only(log_lines(capsys.readouterr().out), "located")["status"] == "DRAINING"


def test_pagination_past_100_tasks_describes_in_batches_of_100(world, capsys):
    w = world
    w.cluster("prod")
    iid = w.instance(ECS_CONFIG)
    arn = w.register("prod", iid)
    other = w.register("prod", w.instance(ECS_CONFIG))
    w.run_tasks("prod", arn, 250)
    w.run_tasks("prod", other, 5)  # on another instance: not counted
    batches = []
    w.h.clients().ecs.meta.events.register(
        "before-call.ecs.DescribeTasks", lambda model, params, **_: batches.append(len(json.loads(params["body"])["tasks"])))
    _, event = terminate(w, iid)
    assert w.h.handler(event, None)["outcomes"] == ["waiting"]
    assert only(log_lines(capsys.readouterr().out), "waiting")["running_tasks"] == 250
    assert batches == [100, 100, 50] and max(batches) <= 100


def test_pagination_past_100_container_instances(world, capsys):
    w = world
    w.cluster("big")
    for _ in range(130):
        w.register("big", w.instance())
    iid = w.instance(ECS_CONFIG.replace("prod", "big"))
    w.register("big", iid)  # the 131st, in the last describe batch
    _, event = terminate(w, iid)
    assert w.h.handler(event, None)["outcomes"] == ["drained"]
    assert only(log_lines(capsys.readouterr().out), "located")["cluster"] == "big"


def test_test_notification_is_answered_without_error(world, capsys):
    event = sns_event({"AccountId": "123456789012", "RequestId": "r", "AutoScalingGroupName": "ecs-asg",
                       "AutoScalingGroupARN": "arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:x:autoScalingGroupName/ecs-asg",
                       "Service": "AWS Auto Scaling", "Event": "autoscaling:TEST_NOTIFICATION",
                       "Time": "2026-11-28T17:00:00.000Z"})
    assert world.h.handler(event, None)["outcomes"] == ["test_notification"]
    assert only(log_lines(capsys.readouterr().out), "test_notification")["asg"] == "ecs-asg"
    assert world.actions.completed == []


@pytest.mark.parametrize(("message", "reason"), [
    ("not json at all", "not_json"),
    ('["a list"]', "not_object"),
    (json.dumps({"Service": "AWS Auto Scaling"}), "missing_keys"),
    (json.dumps(lifecycle_message("i-0123456789abcdef0", TOKEN, service="Someone Else")), "wrong_service"),
    (json.dumps(lifecycle_message("i-0123456789abcdef0", TOKEN,
                                  transition="autoscaling:EC2_INSTANCE_LAUNCHING")), "wrong_transition"),
    (json.dumps(lifecycle_message("../etc/passwd", TOKEN)), "bad_value"),
    (json.dumps(lifecycle_message("i-0123456789abcdef0", "short")), "bad_value"),
])
def test_malformed_or_foreign_messages_are_rejected_with_a_reason(world, capsys, message, reason):
    assert world.h.handler(sns_event(message), None)["outcomes"] == ["rejected"]
    line = only(log_lines(capsys.readouterr().out), "rejected")
    assert line["level"] == "error" and line["reason"] == reason
    assert world.actions.completed == [] and world.rechecks() == []


@pytest.mark.parametrize("event", [{}, {"Records": "x"}, {"Records": []}, [], None,
                                   {"Records": [{"EventSource": "aws:sns"}]},
                                   {"Records": [{"EventSource": "aws:sns", "Sns": {"Message": 42}}]},
                                   {"Records": [{"eventSource": "aws:sqs", "messageId": "m", "body": "{}"}]},
                                   {"Records": [{"EventSource": "aws:s3"}]}, {"Records": [7]}])
def test_malformed_envelopes_are_rejected_not_raised(world, capsys, event):
    out = world.h.handler(event, None)
    assert out["outcomes"] == ["rejected"] and out["batchItemFailures"] == []
    assert only(log_lines(capsys.readouterr().out), "rejected")["reason"] in {"bad_envelope", "not_json"}


def test_redelivered_notification_after_completion_is_already_completed(world, capsys):
    w = world
    w.cluster("prod")
    iid = w.instance(ECS_CONFIG)
    w.register("prod", iid)
    _, event = terminate(w, iid)
    assert w.h.handler(event, None)["outcomes"] == ["drained"]
    assert w.h.handler(event, None)["outcomes"] == ["already_completed"]  # SNS delivers at least once
    assert only(log_lines(capsys.readouterr().out), "already_completed")["intended"] == "drained"


def test_deadline_reached_completes_deliberately(world, monkeypatch, capsys):
    w = world
    monkeypatch.setenv("DRAIN_MAX_SECONDS", "600")
    monkeypatch.setenv("DRAIN_DEADLINE_RESULT", "ABANDON")
    w.cluster("prod")
    iid = w.instance(ECS_CONFIG)
    w.run_tasks("prod", w.register("prod", iid), 2)
    _, event = terminate(w, iid)
    monkeypatch.setattr(w.h, "CLOCK", lambda: 1795885200.0 + 601)  # 10 min after the action's Time
    assert w.h.handler(event, None)["outcomes"] == ["deadline_reached"]
    line = only(log_lines(capsys.readouterr().out), "deadline_reached")
    assert line["level"] == "warning" and line["result"] == "ABANDON" and line["running_tasks"] == 2
    assert w.actions.completed[0]["LifecycleActionResult"] == "ABANDON" and w.rechecks() == []


def test_last_recheck_lands_on_the_deadline_and_heartbeat_keeps_the_hook_alive(world, monkeypatch, capsys):
    w = world
    monkeypatch.setenv("DRAIN_MAX_SECONDS", "600")
    monkeypatch.setenv("RECHECK_DELAY_SECONDS", "900")
    w.cluster("prod")
    iid = w.instance(ECS_CONFIG)
    w.run_tasks("prod", w.register("prod", iid), 1)
    _, event = terminate(w, iid, heartbeat=120)
    monkeypatch.setattr(w.h, "CLOCK", lambda: 1795885200.0 + 580)
    assert w.h.handler(event, None)["outcomes"] == ["waiting"]
    line = only(log_lines(capsys.readouterr().out), "waiting")
    # at most half the heartbeat timeout (60), and not past the deadline (20 s away)
    assert line["recheck_in_seconds"] == 20 and len(w.actions.heartbeats) == 1


def test_ecs_api_error_is_logged_and_retried_later_not_completed(world, capsys):
    w = world
    w.cluster("prod")
    iid = w.instance(ECS_CONFIG)
    w.register("prod", iid)
    _, event = terminate(w, iid)
    w.h.clients().ecs.meta.events.register(
        "before-call.ecs.UpdateContainerInstancesState",
        lambda **_: __import__("ed_testsupport").client_error("AccessDeniedException", "not allowed"))
    assert w.h.handler(event, None)["outcomes"] == ["retry_scheduled"]
    lines = log_lines(capsys.readouterr().out)
    err = only(lines, "api_error")
    assert err["level"] == "error" and err["error"] == "AccessDeniedException"
    assert w.actions.completed == [] and len(w.rechecks()) == 1 and len(w.actions.heartbeats) == 1


def test_hook_gone_stops_the_loop(world, capsys):
    w = world
    w.cluster("prod")
    iid = w.instance(ECS_CONFIG)
    w.run_tasks("prod", w.register("prod", iid), 1)
    token, event = terminate(w, iid)
    del w.actions.active[token]  # timed out, or completed by someone else
    assert w.h.handler(event, None)["outcomes"] == ["lifecycle_action_gone"]
    assert w.rechecks() == []


def test_sqs_send_failure_reports_the_record_for_redelivery(world, capsys):
    w = world
    w.cluster("prod")
    iid = w.instance(ECS_CONFIG)
    w.run_tasks("prod", w.register("prod", iid), 1)
    token, _ = terminate(w, iid)
    body = json.dumps({"kind": "logbridge.ecs_drain.recheck", "version": 1,
                       "lifecycle": json.dumps(lifecycle_message(iid, token)),
                       "progress": {"started_at": 1795885200.0, "attempt": 2}})
    w.h.clients().sqs.meta.events.register(
        "before-call.sqs.SendMessage",
        lambda **_: __import__("ed_testsupport").client_error("ServiceUnavailable", "try later", 503))
    out = w.h.handler(sqs_event([("ok-1", json.dumps({"nonsense": 1})), ("m-9", body)]), None)
    assert out == {"outcomes": ["rejected", "failed"], "batchItemFailures": [{"itemIdentifier": "m-9"}]}
    assert only(log_lines(capsys.readouterr().out), "failed")["error"] == "ServiceUnavailable"


def test_sns_failure_is_raised_for_lambda_retries(world):
    w = world
    w.cluster("prod")
    iid = w.instance(ECS_CONFIG)
    w.register("prod", iid)
    _, event = terminate(w, iid)
    w.actions.fail_with["CompleteLifecycleAction"] = ("Throttling", "Rate exceeded")
    from botocore.exceptions import ClientError

    with pytest.raises(ClientError):
        w.h.handler(event, None)


def test_describe_hooks_failure_falls_back_to_configured_heartbeat(world, monkeypatch, capsys):
    w = world
    monkeypatch.setenv("HOOK_HEARTBEAT_SECONDS", "40")
    w.cluster("prod")
    iid = w.instance(ECS_CONFIG)
    w.run_tasks("prod", w.register("prod", iid), 1)
    _, event = terminate(w, iid)
    w.h.clients().autoscaling.meta.events.register(
        "before-call.auto-scaling.DescribeLifecycleHooks",
        lambda **_: __import__("ed_testsupport").client_error("AccessDenied", "no"))
    assert w.h.handler(event, None)["outcomes"] == ["waiting"]
    lines = log_lines(capsys.readouterr().out)
    assert only(lines, "hook_timeouts_unknown")["assumed_heartbeat_timeout"] == 40
    assert only(lines, "waiting")["recheck_in_seconds"] == 20


def test_unknown_instance_completes(world, capsys):
    w = world
    _, event = terminate(w, "i-0000000000000dead")
    assert w.h.handler(event, None)["outcomes"] == ["instance_not_found"]


@pytest.mark.parametrize(("key", "value"), [("RECHECK_QUEUE_URL", ""), ("RECHECK_DELAY_SECONDS", "0"),
                                            ("DRAIN_DEADLINE_RESULT", "MAYBE"), ("DRAIN_MAX_SECONDS", "x")])
def test_bad_settings_fail_loudly(world, monkeypatch, key, value):
    monkeypatch.setenv(key, value)
    with pytest.raises(ValueError, match=key):
        world.h.handler(sns_event("{}"), None)


def test_fake_refuses_unknown_tokens_like_auto_scaling():
    """The stand-in for the two missing moto operations is itself checked."""
    import boto3
    from moto import mock_aws

    with mock_aws():
        c = boto3.client("autoscaling", region_name="us-east-1")
        fake = LifecycleActionFake()
        fake.attach(c)
        from botocore.exceptions import ClientError

        with pytest.raises(ClientError, match="No active Lifecycle Action"):
            c.complete_lifecycle_action(LifecycleHookName="h", AutoScalingGroupName="a",
                                        LifecycleActionToken="00000000-0000-0000-0000-000000000000", LifecycleActionResult="CONTINUE",
                                        InstanceId="i-0123456789abcdef0")
        token = fake.start("a", "h", "i-0123456789abcdef0")
        c.record_lifecycle_action_heartbeat(LifecycleHookName="h", AutoScalingGroupName="a",
                                            LifecycleActionToken=token, InstanceId="i-0123456789abcdef0")
        c.complete_lifecycle_action(LifecycleHookName="h", AutoScalingGroupName="a", LifecycleActionToken=token,
                                    LifecycleActionResult="CONTINUE", InstanceId="i-0123456789abcdef0")
        assert len(fake.completed) == 1 and len(fake.heartbeats) == 1
        # moto itself still answers the rest of the client
        assert c.describe_lifecycle_hooks(AutoScalingGroupName="a")["LifecycleHooks"] == []
    assert b64("x") == "eA=="


def test_list_pages_are_followed(world, capsys):
    from ed_testsupport import cut_into_pages

    w = world
    w.cluster("prod")
    for _ in range(4):
        w.register("prod", w.instance())
    iid = w.instance(ECS_CONFIG)
    arn = w.register("prod", iid)  # the 5th: on the last page
    w.run_tasks("prod", arn, 5)
    ecs = w.h.clients().ecs
    ci_tokens = cut_into_pages(ecs, "ListContainerInstances", "containerInstanceArns", 2)
    task_tokens = cut_into_pages(ecs, "ListTasks", "taskArns", 2)
    _, event = terminate(w, iid)
    assert w.h.handler(event, None)["outcomes"] == ["waiting"]
    assert only(log_lines(capsys.readouterr().out), "waiting")["running_tasks"] == 5
    assert ci_tokens == [None, "2", "4"]
    assert task_tokens == [None, "2", "4", None]  # desiredStatus RUNNING in 3 pages, then STOPPED (none)


def test_unknown_hook_uses_the_configured_heartbeat_and_says_so(world, capsys):
    w = world
    w.cluster("prod")
    iid = w.instance(ECS_CONFIG)
    w.run_tasks("prod", w.register("prod", iid), 1)
    w.hook()  # the ASG has "drain"; the message names a hook Auto Scaling does not describe
    token = w.actions.start("ecs-asg", "renamed", iid)
    assert w.h.handler(sns_event(lifecycle_message(iid, token, hook="renamed")), None)["outcomes"] == ["waiting"]
    lines = log_lines(capsys.readouterr().out)
    unknown = only(lines, "hook_timeouts_unknown")
    assert unknown["error"] == "hook_not_found" and unknown["assumed_heartbeat_timeout"] == 300
    assert only(lines, "waiting")["heartbeat_timeout"] == 300


def test_through_moto_sns_as_auto_scaling_publishes_it(world, capsys):
    """The lifecycle message goes through a real (moto) SNS topic; what the topic delivers to
    an SQS subscription is fed to the handler both as a Lambda SNS record and as an SQS body."""
    w = world
    import boto3

    w.cluster("prod")
    iid = w.instance(ECS_CONFIG)
    w.register("prod", iid)
    w.hook()
    sns = boto3.client("sns", region_name="us-east-1")
    topic = sns.create_topic(Name="ecs-drain-lifecycle")["TopicArn"]
    inbox = w.sqs.create_queue(QueueName="inbox")["QueueUrl"]
    inbox_arn = w.sqs.get_queue_attributes(QueueUrl=inbox, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=inbox_arn)
    token = w.actions.start("ecs-asg", "drain", iid)
    sns.publish(TopicArn=topic, Message=json.dumps(lifecycle_message(iid, token)))
    [delivered] = w.sqs.receive_message(QueueUrl=inbox)["Messages"]
    envelope = json.loads(delivered["Body"])
    assert envelope["Type"] == "Notification"
    assert w.h.handler({"Records": [{"EventSource": "aws:sns", "EventVersion": "1.0", "Sns": envelope}]},
                       None)["outcomes"] == ["drained"]
    assert w.h.handler(sqs_event([("m", delivered["Body"])]), None)["outcomes"] == ["already_completed"]


# -- issue 16: JSON nested 100,000 deep is rejected and counted, never raised ------------------------

DEEP = "[" * 100_000 + "]" * 100_000  # 200,000 characters: within SNS's and SQS's 256 KB


@pytest.mark.parametrize("message", [DEEP, "[" * 100_000, '{"a":' * 17 + "1" + "}" * 17])
def test_an_sns_message_nested_too_deep_is_rejected_not_raised(world, capsys, message):
    """Before: RecursionError out of json.loads, through the handler (the whole batch failed)."""
    out = world.h.handler(sns_event(message), None)
    assert out["outcomes"] == ["rejected"] and out["batchItemFailures"] == []
    line = only(log_lines(capsys.readouterr().out), "rejected")
    assert line["reason"] == "too_deep" and line["level"] == "error"
    assert world.actions.completed == [] and world.rechecks() == []


def test_sqs_bodies_nested_too_deep_are_rejected_and_the_others_processed(world, capsys):
    recheck = json.dumps({"kind": "logbridge.ecs_drain.recheck", "version": 1, "lifecycle": DEEP,
                          "progress": {"started_at": 1.0}})
    out = world.h.handler(sqs_event([("m1", DEEP), ("m2", recheck), ("m3", "{}")]), None)
    assert out["outcomes"] == ["rejected", "rejected", "rejected"] and out["batchItemFailures"] == []
    reasons = [x["reason"] for x in log_lines(capsys.readouterr().out) if x["outcome"] == "rejected"]
    assert reasons == ["too_deep", "too_deep", "bad_envelope"]


def test_sixteen_levels_are_still_parsed(world):
    import ed_message

    assert ed_message.loads('{"a":' * 16 + "1" + "}" * 16) == ed_message.loads(json.dumps(_nest(16)))
    assert isinstance(ed_message.loads('{"a":' * 17 + "1" + "}" * 17), ed_message.Rejected)
    assert ed_message.loads(json.dumps({"s": "[" * 10_000})) == {"s": "[" * 10_000}  # brackets in strings


def _nest(depth):
    value = 1
    for _ in range(depth):
        value = {"a": value}
    return value
