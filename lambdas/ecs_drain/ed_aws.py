"""The AWS calls of the drain Lambda, each small enough to reason about and to test on moto.

Every listing is paginated and every describe is batched by 100 (the ECS limit for
DescribeTasks and DescribeContainerInstances), so a big cluster or a busy instance is seen whole.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError
from ed_userdata import UserDataCluster, cluster_from_user_data

BATCH = 100
# A task with one of these lastStatus values still has containers on the host (or is about to):
# everything but STOPPED. Stopping tasks count too, so their containers can finish shutting
# down (and flush their logs) before the instance goes away.
GONE = "STOPPED"


@dataclass(frozen=True)
class Located:
    cluster: str
    container_instance_arn: str
    status: str  # the container instance's status before we touched it
    source: str  # user_data | tag


@dataclass(frozen=True)
class Search:
    """Where the cluster was looked for, for the log line when the instance is in none."""

    user_data: UserDataCluster
    tag_value: str | None
    tried: tuple[str, ...]


@dataclass(frozen=True)
class TaskCount:
    running: int  # lastStatus RUNNING
    in_transition: int  # PROVISIONING, PENDING, ACTIVATING, DEACTIVATING, STOPPING, DEPROVISIONING

    @property
    def left(self) -> int:
        return self.running + self.in_transition


def error_code(exc: BaseException) -> str:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code", type(exc).__name__))
    return type(exc).__name__


def chunks(items: list[str], size: int = BATCH) -> Iterator[list[str]]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


def user_data_cluster(ec2: Any, instance_id: str) -> UserDataCluster:
    resp = ec2.describe_instance_attribute(InstanceId=instance_id, Attribute="userData")
    value = (resp.get("UserData") or {}).get("Value")
    return cluster_from_user_data(value)


def tag_value(ec2: Any, instance_id: str, key: str) -> str | None:
    resp = ec2.describe_instances(InstanceIds=[instance_id])
    for reservation in resp.get("Reservations", []):
        for inst in reservation.get("Instances", []):
            for tag in inst.get("Tags", []) or []:
                if tag.get("Key") == key and tag.get("Value"):
                    return str(tag["Value"])
    return None


def find_container_instance(ecs: Any, cluster: str, instance_id: str) -> tuple[str, str] | None:
    """(container instance ARN, status) of the EC2 instance in the cluster, or None.

    The ``ec2InstanceId ==`` filter makes ECS return just that instance; the describe still
    checks ``ec2InstanceId`` so a listing that ignores the filter (moto does) is also right."""
    arns: list[str] = []
    for page in ecs.get_paginator("list_container_instances").paginate(
            cluster=cluster, filter=f"ec2InstanceId == {instance_id}"):
        arns.extend(page.get("containerInstanceArns", []))
    for batch in chunks(arns):
        resp = ecs.describe_container_instances(cluster=cluster, containerInstances=batch)
        for ci in resp.get("containerInstances", []):
            if ci.get("ec2InstanceId") == instance_id:
                return ci["containerInstanceArn"], str(ci.get("status", ""))
    return None


def locate(ec2: Any, ecs: Any, instance_id: str, tag_key: str) -> Located | Search:
    """The instance's cluster: user data first, then the tag; a cluster that does not exist or
    does not hold the instance is passed over. ClientErrors other than a missing cluster rise."""
    tried: list[str] = []

    def attempt(cluster: str, source: str) -> Located | None:
        tried.append(cluster)
        try:
            found = find_container_instance(ecs, cluster, instance_id)
        except ClientError as exc:  # only a missing cluster is passed over
            if error_code(exc) == "ClusterNotFoundException":
                return None
            raise
        return Located(cluster, found[0], found[1], source) if found else None

    ud = user_data_cluster(ec2, instance_id)
    if ud.cluster and (got := attempt(ud.cluster, "user_data")):
        return got
    tag = tag_value(ec2, instance_id, tag_key)
    if tag and tag != ud.cluster and (got := attempt(tag, "tag")):
        return got
    return Search(ud, tag, tuple(tried))


def set_draining(ecs: Any, cluster: str, ci_arn: str) -> str | None:
    """DRAINING (idempotent: a draining instance stays draining); the failure reason, if any."""
    resp = ecs.update_container_instances_state(cluster=cluster, containerInstances=[ci_arn],
                                                status="DRAINING")
    for failure in resp.get("failures", []):
        return str(failure.get("reason") or "failure")
    return None


def count_tasks(ecs: Any, cluster: str, ci_arn: str) -> TaskCount:
    """Tasks still on the instance. ListTasks shows desiredStatus RUNNING by default; the ones
    ECS is already stopping have desiredStatus STOPPED, so both lists are read."""
    arns: list[str] = []
    for desired in ("RUNNING", "STOPPED"):
        for page in ecs.get_paginator("list_tasks").paginate(
                cluster=cluster, containerInstance=ci_arn, desiredStatus=desired):
            arns.extend(page.get("taskArns", []))
    arns = list(dict.fromkeys(arns))
    running = moving = 0
    for batch in chunks(arns):
        for task in ecs.describe_tasks(cluster=cluster, tasks=batch).get("tasks", []):
            status = task.get("lastStatus")
            if status == "RUNNING":
                running += 1
            elif status != GONE:
                moving += 1
    return TaskCount(running, moving)


def hook_timeouts(autoscaling: Any, asg: str, hook: str) -> tuple[int, int] | None:
    """(HeartbeatTimeout, GlobalTimeout) of the hook as Auto Scaling has it, or None."""
    resp = autoscaling.describe_lifecycle_hooks(AutoScalingGroupName=asg, LifecycleHookNames=[hook])
    for h in resp.get("LifecycleHooks", []):
        if h.get("LifecycleHookName") == hook and h.get("HeartbeatTimeout"):
            heartbeat = int(h["HeartbeatTimeout"])
            return heartbeat, int(h.get("GlobalTimeout") or min(100 * heartbeat, 172800))
    return None
