"""Fixtures for the ecs_drain Lambda: moto in-process (no network) for EC2, ECS, Auto Scaling
and SQS, the handler with a clean environment, and a builder for clusters and instances."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest

sys.path.append(str(Path(__file__).resolve().parent))  # appended: never shadows other tests' modules
from ed_testsupport import ENV_KEYS, QUEUE, REGION, LifecycleActionFake, load_handler


@dataclass
class World:
    """A small AWS account on moto, and the handler wired to it."""

    h: Any
    ec2: Any
    ecs: Any
    asg: Any
    sqs: Any
    queue_url: str
    actions: LifecycleActionFake
    ami: str
    task_def: str = ""
    hooks: set[tuple[str, str]] = field(default_factory=set)

    def cluster(self, name: str) -> str:
        return self.ecs.create_cluster(clusterName=name)["cluster"]["clusterArn"]

    def hook(self, asg: str = "ecs-asg", hook: str = "drain", heartbeat: int = 300) -> None:
        if (asg, hook) in self.hooks:
            return
        if not self.asg.describe_auto_scaling_groups(AutoScalingGroupNames=[asg])["AutoScalingGroups"]:
            self.asg.create_launch_configuration(LaunchConfigurationName=f"{asg}-lc", ImageId=self.ami,
                                                 InstanceType="t3.micro")
            self.asg.create_auto_scaling_group(AutoScalingGroupName=asg, LaunchConfigurationName=f"{asg}-lc",
                                               MinSize=0, MaxSize=0, AvailabilityZones=[f"{REGION}a"])
        self.asg.put_lifecycle_hook(LifecycleHookName=hook, AutoScalingGroupName=asg,
                                    LifecycleTransition="autoscaling:EC2_INSTANCE_TERMINATING",
                                    HeartbeatTimeout=heartbeat, DefaultResult="CONTINUE")
        self.hooks.add((asg, hook))

    def instance(self, user_data: str | None = None, tags: dict[str, str] | None = None) -> str:
        kw: dict[str, Any] = {}
        if user_data is not None:
            kw["UserData"] = user_data
        if tags:
            kw["TagSpecifications"] = [{"ResourceType": "instance",
                                        "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}]
        return self.ec2.run_instances(ImageId=self.ami, MinCount=1, MaxCount=1, InstanceType="t3.micro",
                                      **kw)["Instances"][0]["InstanceId"]

    def register(self, cluster: str, instance_id: str) -> str:
        doc = json.dumps({"instanceId": instance_id, "region": REGION})
        return self.ecs.register_container_instance(
            cluster=cluster, instanceIdentityDocument=doc)["containerInstance"]["containerInstanceArn"]

    def run_tasks(self, cluster: str, ci_arn: str, count: int) -> list[str]:
        if not self.task_def:
            self.task_def = self.ecs.register_task_definition(
                family="app", containerDefinitions=[{"name": "app", "image": "app:1", "cpu": 0, "memory": 1}],
            )["taskDefinition"]["taskDefinitionArn"]
        arns: list[str] = []
        # StartTask places one task per container instance named; naming it n times gives n tasks.
        while len(arns) < count:
            n = min(10, count - len(arns))
            arns += [t["taskArn"] for t in self.ecs.start_task(
                cluster=cluster, taskDefinition=self.task_def, containerInstances=[ci_arn] * n)["tasks"]]
        return arns

    def rechecks(self) -> list[dict[str, Any]]:
        """Re-check messages waiting in the queue (delay ignored), with their DelaySeconds."""
        from moto.backends import get_backend

        queue = get_backend("sqs")["123456789012"][REGION].queues[QUEUE]
        out = []
        for m in list(queue._messages):
            out.append({"body": m.body, "delay": round((m.delayed_until - m.sent_timestamp) / 1000)
                        if m.delayed_until else 0, "id": m.id})
        return out


@pytest.fixture
def world(monkeypatch):
    from moto import mock_aws
    from moto.moto_api import state_manager

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    for key in ("AWS_PROFILE", "AWS_ENDPOINT_URL", *ENV_KEYS):
        monkeypatch.delenv(key, raising=False)
    h = load_handler()
    h.reset()
    with mock_aws():
        # moto advances a task one state per DescribeTasks; real tasks do not stop because they
        # were described. Keep them where the test puts them.
        state_manager.set_transition("ecs::task", {"progression": "manual", "times": 10**9})
        try:
            sqs = boto3.client("sqs", region_name=REGION)
            url = sqs.create_queue(QueueName=QUEUE)["QueueUrl"]
            monkeypatch.setenv("RECHECK_QUEUE_URL", url)
            monkeypatch.setattr(h, "CLOCK", lambda: 1795885200.0 + 30)  # 2026-11-28T17:00:30Z
            ec2 = boto3.client("ec2", region_name=REGION)
            ami = "ami-12c6146b"  # moto accepts any image id; describing its catalogue costs a second
            actions = LifecycleActionFake()
            actions.attach(h.clients().autoscaling)
            yield World(h, ec2, boto3.client("ecs", region_name=REGION),
                        boto3.client("autoscaling", region_name=REGION), sqs, url, actions, ami)
        finally:
            state_manager.unset_transition("ecs::task")
            h.reset()
