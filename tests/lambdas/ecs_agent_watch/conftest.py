"""Fixtures for the ecs_agent_watch Lambda: moto in-process for ECS, SNS (read back through an
SQS subscription) and CloudWatch, and the handler with a clean environment.

moto registers every container instance with ``agentConnected: true`` and has no API to change
it (the real flag is set by the agent's own connection), so ``disconnect`` sets it on moto's
model object: the one place these tests reach into moto."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import pytest
from support import load_lambda_handler

REPO = Path(__file__).resolve().parents[3]
LAMBDA_DIR = REPO / "lambdas" / "ecs_agent_watch"
REGION = "us-east-1"
ACCOUNT = "123456789012"


def load_handler() -> ModuleType:
    return load_lambda_handler(LAMBDA_DIR, "ecs_agent_watch_handler")


@dataclass
class World:
    h: Any
    ecs: Any
    sqs: Any
    cloudwatch: Any
    topic_arn: str
    inbox_url: str
    instance_ids: dict[str, list[str]] = field(default_factory=dict)

    def cluster(self, name: str, instances: int) -> list[str]:
        """A cluster with ``instances`` registered EC2 instances; their ARNs, in instance order."""
        self.ecs.create_cluster(clusterName=name)
        ec2 = boto3.client("ec2", region_name=REGION)
        ids = [i["InstanceId"] for i in ec2.run_instances(ImageId="ami-12c6146b", MinCount=instances,
                                                         MaxCount=instances)["Instances"]]
        self.instance_ids[name] = ids
        return [self.ecs.register_container_instance(
            cluster=name, instanceIdentityDocument=json.dumps({"instanceId": iid, "region": REGION}),
        )["containerInstance"]["containerInstanceArn"] for iid in ids]

    def disconnect(self, cluster: str, arn: str) -> None:
        from moto.backends import get_backend

        backend = get_backend("ecs")[ACCOUNT][REGION]
        backend.container_instances[cluster][arn.rsplit("/", 1)[-1]].agent_connected = False

    def published(self) -> list[dict[str, Any]]:
        got = self.sqs.receive_message(QueueUrl=self.inbox_url, MaxNumberOfMessages=10).get("Messages", [])
        return [json.loads(m["Body"]) for m in got]

    def metric(self, name: str, cluster: str) -> list[float]:
        """Every value put for the metric in the last hour (moto's GetMetricStatistics)."""
        from datetime import datetime, timedelta, timezone

        now = datetime.now(timezone.utc)
        resp = self.cloudwatch.get_metric_statistics(
            Namespace="logbridge/ECS", MetricName=name, Dimensions=[{"Name": "ClusterName", "Value": cluster}],
            StartTime=now - timedelta(hours=1), EndTime=now + timedelta(minutes=5), Period=3600,
            Statistics=["Maximum", "SampleCount"])
        return [(p["Maximum"], p["SampleCount"]) for p in resp["Datapoints"]]


@pytest.fixture
def world(monkeypatch):
    from moto import mock_aws

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    for key in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "CLUSTERS", "TOPIC_ARN", "METRIC_NAMESPACE"):
        monkeypatch.delenv(key, raising=False)
    h = load_handler()
    h.reset()
    with mock_aws():
        try:
            sns = boto3.client("sns", region_name=REGION)
            sqs = boto3.client("sqs", region_name=REGION)
            topic = sns.create_topic(Name="ecs-agent-watch")["TopicArn"]
            inbox = sqs.create_queue(QueueName="inbox")["QueueUrl"]
            inbox_arn = sqs.get_queue_attributes(QueueUrl=inbox, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
            sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=inbox_arn)
            monkeypatch.setenv("TOPIC_ARN", topic)
            yield World(h, boto3.client("ecs", region_name=REGION), sqs,
                        boto3.client("cloudwatch", region_name=REGION), topic, inbox)
        finally:
            h.reset()
