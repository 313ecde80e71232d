"""The agent watch Lambda on moto: disconnected ACTIVE agents become one SNS message per run and
a per-cluster metric; unreadable clusters and failed publishes are reported clearly."""

from __future__ import annotations

import json

import pytest


def logs(out: str) -> list[dict]:
    return [json.loads(x) for x in out.splitlines() if x.startswith("{") and '"ecs_agent_watch"' in x]


def one(lines, outcome, **match):
    found = [ln for ln in lines if ln["outcome"] == outcome and all(ln.get(k) == v for k, v in match.items())]
    assert len(found) == 1, lines
    return found[0]


def message_of(notification: dict) -> dict:
    text = notification["Message"]
    return json.loads(text[text.index("{"):])


def test_disconnected_active_agents_are_published_once_and_counted(world, monkeypatch, capsys):
    w = world
    a = w.cluster("prod", 3)
    b = w.cluster("batch", 2)
    w.cluster("quiet", 1)
    w.disconnect("prod", a[0])
    w.disconnect("prod", a[2])
    w.disconnect("batch", b[1])
    w.disconnect("batch", b[0])
    w.ecs.update_container_instances_state(cluster="batch", containerInstances=[b[0]], status="DRAINING")
    monkeypatch.setenv("CLUSTERS", "prod, batch quiet")
    summary = w.h.handler({"source": "aws.events"}, None)
    assert summary["disconnected"] == 3 and summary["problems"] == []
    [note] = w.published()
    assert note["Subject"] == "ECS agent disconnected on 3 instance(s) in batch, prod"
    body = message_of(note)
    assert body["clusters"] == {"prod": 2, "batch": 1}
    ids = w.instance_ids
    assert sorted(i["ec2_instance_id"] for i in body["instances"]) == sorted(
        [ids["prod"][0], ids["prod"][2], ids["batch"][1]])
    assert w.metric("DisconnectedAgents", "prod") == [(2.0, 1.0)]
    assert w.metric("DisconnectedAgents", "batch") == [(1.0, 1.0)]  # the DRAINING one is not counted
    assert w.metric("DisconnectedAgents", "quiet") == [(0.0, 1.0)]  # a zero, so the alarm has data
    lines = logs(capsys.readouterr().out)
    assert one(lines, "cluster_checked", cluster="batch")["by_status"] == {"ACTIVE": 1, "DRAINING": 1}
    assert one(lines, "run_summary")["level"] == "warning"


def test_all_connected_publishes_nothing(world, monkeypatch, capsys):
    w = world
    w.cluster("prod", 2)
    monkeypatch.setenv("CLUSTERS", "prod")
    assert w.h.handler({}, None)["disconnected"] == 0
    assert w.published() == []
    assert w.metric("DisconnectedAgents", "prod") == [(0.0, 1.0)]
    assert one(logs(capsys.readouterr().out), "run_summary")["level"] == "info"


def test_pagination_past_100_container_instances(world, monkeypatch, capsys):
    w = world
    arns = w.cluster("big", 230)
    for arn in (arns[5], arns[150], arns[229]):
        w.disconnect("big", arn)
    monkeypatch.setenv("CLUSTERS", "arn:aws:ecs:us-east-1:123456789012:cluster/big")
    sizes = []
    w.h.clients().ecs.meta.events.register(
        "before-call.ecs.DescribeContainerInstances",
        lambda params, **_: sizes.append(len(json.loads(params["body"])["containerInstances"])))
    assert w.h.handler({}, None)["disconnected"] == 3
    assert sizes == [100, 100, 30]
    assert one(logs(capsys.readouterr().out), "cluster_checked")["instances"] == 230
    assert w.metric("DisconnectedAgents", "big") == [(3.0, 1.0)]


def test_list_pages_are_followed(world, monkeypatch):
    """moto returns every container instance in one ListContainerInstances page, so the
    nextToken loop is shown here by cutting moto's answer in pages on the client side."""
    w = world
    arns = w.cluster("paged", 5)
    w.disconnect("paged", arns[4])
    monkeypatch.setenv("CLUSTERS", "paged")
    calls = []

    def paginate(parsed, **_):
        if "containerInstanceArns" not in parsed:
            return
        token = calls[-1] if calls else None
        start = int(token or 0)
        parsed["containerInstanceArns"] = parsed["containerInstanceArns"][start:start + 2]
        if start + 2 < 5:
            parsed["nextToken"] = str(start + 2)

    def remember(params, **_):
        calls.append(json.loads(params["body"]).get("nextToken"))

    ev = w.h.clients().ecs.meta.events
    ev.register("before-call.ecs.ListContainerInstances", remember)
    ev.register("after-call.ecs.ListContainerInstances", paginate)
    assert w.h.handler({}, None)["disconnected"] == 1
    assert calls == [None, "2", "4"]


def test_unreadable_cluster_is_reported_and_others_still_watched(world, monkeypatch, capsys):
    w = world
    arns = w.cluster("prod", 1)
    w.disconnect("prod", arns[0])
    monkeypatch.setenv("CLUSTERS", "prod,gone")
    w.h.clients().ecs.meta.events.register(
        "before-call.ecs.ListContainerInstances",
        lambda params, **_: _error("ClusterNotFoundException", "Cluster not found.")
        if json.loads(params["body"]).get("cluster") == "gone" else None)
    summary = w.h.handler({}, None)
    assert summary["unreadable"] == ["gone"] and summary["disconnected"] == 1
    assert message_of(w.published()[0])["unreadable_clusters"] == {"gone": "ClusterNotFoundException"}
    assert w.metric("WatchErrors", "gone") == [(1.0, 1.0)]
    assert w.metric("DisconnectedAgents", "gone") == []  # missing: the alarm treats it as breaching
    line = one(logs(capsys.readouterr().out), "cluster_unreadable")
    assert line["level"] == "error" and line["error"] == "ClusterNotFoundException"


def _error(code, message, status=400):
    from botocore.awsrequest import AWSResponse

    return AWSResponse(None, status, {}, None), {"Error": {"Code": code, "Message": message},
                                                 "ResponseMetadata": {"HTTPStatusCode": status}}


def test_publish_failure_raises_after_metrics(world, monkeypatch, capsys):
    w = world
    arns = w.cluster("prod", 1)
    w.disconnect("prod", arns[0])
    monkeypatch.setenv("CLUSTERS", "prod")
    w.h.clients().sns.meta.events.register("before-call.sns.Publish",
                                           lambda **_: _error("AuthorizationError", "not allowed", 403))
    with pytest.raises(RuntimeError, match="Publish: AuthorizationError"):
        w.h.handler({}, None)
    assert w.metric("DisconnectedAgents", "prod") == [(1.0, 1.0)]  # the page path still worked
    assert one(logs(capsys.readouterr().out), "publish_failed")["error"] == "AuthorizationError"


def test_metrics_failure_still_publishes_then_raises(world, monkeypatch, capsys):
    w = world
    arns = w.cluster("prod", 1)
    w.disconnect("prod", arns[0])
    monkeypatch.setenv("CLUSTERS", "prod")
    w.h.clients().cloudwatch.meta.events.register("before-call.cloudwatch.PutMetricData",
                                                  lambda **_: _error("Throttling", "slow down"))
    with pytest.raises(RuntimeError, match="PutMetricData: Throttling"):
        w.h.handler({}, None)
    assert len(w.published()) == 1


@pytest.mark.parametrize(("env", "match"), [({"CLUSTERS": " , "}, "CLUSTERS"), ({"CLUSTERS": "a", "TOPIC_ARN": ""}, "TOPIC_ARN")])
def test_bad_settings_fail_loudly(world, monkeypatch, env, match):
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    with pytest.raises(ValueError, match=match):
        world.h.handler({}, None)


def test_subject_stays_under_sns_limit(world):
    h = world.h
    reports = [h.ClusterReport(f"cluster-with-a-long-name-{i}", disconnected=[
        h.Disconnected(f"cluster-with-a-long-name-{i}", "arn", "i-1", None, None, 0)]) for i in range(5)]
    subject, text = h.notification(reports)
    assert len(subject) < 100 and subject.endswith("in 5 cluster(s)")
    assert json.loads(text[text.index("{"):])["disconnected_count"] == 5
