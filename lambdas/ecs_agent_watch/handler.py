"""AWS Lambda entry point: find ECS container instances whose agent is disconnected.

An ACTIVE container instance with ``agentConnected: false`` still counts as capacity, yet ECS
cannot place or stop tasks on it, and its tasks' state goes stale. Run on a schedule, this Lambda
looks at every container instance of each configured cluster and:

* puts ``DisconnectedAgents`` (and ``ActiveContainerInstances``) per ``ClusterName`` into
  CloudWatch, so an alarm can page; a cluster it could not read gets ``WatchErrors`` = 1 and no
  ``DisconnectedAgents`` point, so an alarm that treats missing data as breaching fires too;
* publishes ONE SNS message per run listing every disconnected instance (none when all are fine).

Metrics go first: they are what pages. Handler ``handler.handler``; stdlib and boto3 only.
Settings: ``CLUSTERS`` (names or ARNs, comma or space separated), ``TOPIC_ARN``,
``METRIC_NAMESPACE`` (default ``logbridge/ECS``). One JSON log line per cluster and per run.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

LOGGER = "ecs_agent_watch"
BATCH = 100  # DescribeContainerInstances takes at most 100
MAX_LISTED = 200  # instances listed in the SNS message (SNS allows 256 KB); the count is always whole


@dataclass(frozen=True)
class Config:
    clusters: tuple[str, ...]
    topic_arn: str
    namespace: str = "logbridge/ECS"

    @classmethod
    def from_env(cls, env: Any = os.environ) -> Config:
        clusters = tuple(dict.fromkeys(c for c in re.split(r"[\s,]+", env.get("CLUSTERS", "")) if c))
        topic = env.get("TOPIC_ARN", "").strip()
        if not clusters:
            raise ValueError("CLUSTERS is empty: no cluster to watch")
        if not topic:
            raise ValueError("TOPIC_ARN is not set: disconnected agents would go unreported")
        return cls(clusters, topic, env.get("METRIC_NAMESPACE", "").strip() or "logbridge/ECS")


@dataclass(frozen=True)
class Disconnected:
    cluster: str
    container_instance_arn: str
    ec2_instance_id: str | None
    agent_version: str | None
    registered_at: str | None
    running_tasks: int


@dataclass
class ClusterReport:
    cluster: str
    instances: int = 0
    by_status: dict[str, int] = field(default_factory=dict)
    disconnected: list[Disconnected] = field(default_factory=list)
    error: str | None = None


@dataclass
class Clients:
    ecs: Any
    sns: Any
    cloudwatch: Any


_clients: Clients | None = None


def clients() -> Clients:
    global _clients
    if _clients is None:
        import boto3
        from botocore.config import Config as BotoConfig

        cfg = BotoConfig(retries={"mode": "standard", "total_max_attempts": 4},
                         connect_timeout=5, read_timeout=20)
        _clients = Clients(*(boto3.client(n, config=cfg) for n in ("ecs", "sns", "cloudwatch")))
    return _clients


def reset() -> None:
    global _clients
    _clients = None


def log(level: str, outcome: str, **fields: Any) -> dict[str, Any]:
    line = {"level": level, "logger": LOGGER, "outcome": outcome, **fields}
    sys.stdout.write(json.dumps(line, default=str) + "\n")
    sys.stdout.flush()
    return line


def error_code(exc: BaseException) -> str:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code", type(exc).__name__))
    return type(exc).__name__


def cluster_name(cluster: str) -> str:
    """``arn:aws:ecs:r:a:cluster/name`` or ``name`` -> ``name`` (the metric dimension)."""
    return cluster.rsplit("/", 1)[-1] if cluster.startswith("arn:") else cluster


def chunks(items: list[str]) -> Iterator[list[str]]:
    for i in range(0, len(items), BATCH):
        yield items[i:i + BATCH]


def when(value: Any) -> str | None:
    return value.isoformat() if isinstance(value, datetime) else (str(value) if value else None)


def inspect(ecs: Any, cluster: str) -> ClusterReport:
    """List (every page) and describe (by 100) all container instances of one cluster."""
    report = ClusterReport(cluster_name(cluster))
    arns: list[str] = []
    for page in ecs.get_paginator("list_container_instances").paginate(cluster=cluster):
        arns.extend(page.get("containerInstanceArns", []))
    for batch in chunks(arns):
        resp = ecs.describe_container_instances(cluster=cluster, containerInstances=batch)
        for ci in resp.get("containerInstances", []):
            status = str(ci.get("status", "UNKNOWN"))
            report.instances += 1
            report.by_status[status] = report.by_status.get(status, 0) + 1
            if status == "ACTIVE" and ci.get("agentConnected") is False:
                report.disconnected.append(Disconnected(
                    report.cluster, ci["containerInstanceArn"], ci.get("ec2InstanceId"),
                    (ci.get("versionInfo") or {}).get("agentVersion"), when(ci.get("registeredAt")),
                    int(ci.get("runningTasksCount") or 0)))
        for failure in resp.get("failures", []):  # e.g. MISSING: deregistered meanwhile
            log("info", "describe_failure", cluster=report.cluster, arn=failure.get("arn"),
                reason=failure.get("reason"))
    return report


def metric_data(reports: list[ClusterReport]) -> list[dict[str, Any]]:
    data = []
    for r in reports:
        dims = [{"Name": "ClusterName", "Value": r.cluster}]
        if r.error is not None:
            data.append({"MetricName": "WatchErrors", "Dimensions": dims, "Value": 1.0, "Unit": "Count"})
            continue
        data.append({"MetricName": "DisconnectedAgents", "Dimensions": dims,
                     "Value": float(len(r.disconnected)), "Unit": "Count"})
        data.append({"MetricName": "ActiveContainerInstances", "Dimensions": dims,
                     "Value": float(r.by_status.get("ACTIVE", 0)), "Unit": "Count"})
        data.append({"MetricName": "WatchErrors", "Dimensions": dims, "Value": 0.0, "Unit": "Count"})
    return data


def notification(reports: list[ClusterReport]) -> tuple[str, str]:
    """(Subject, Message): a readable first line, then JSON for tools."""
    found = [d for r in reports for d in r.disconnected]
    clusters = sorted({d.cluster for d in found})
    subject = f"ECS agent disconnected on {len(found)} instance(s) in {', '.join(clusters)}"
    if len(subject) > 99:  # SNS Subject: under 100 characters
        subject = f"ECS agent disconnected on {len(found)} instance(s) in {len(clusters)} cluster(s)"
    body = {"disconnected_count": len(found),
            "clusters": {r.cluster: len(r.disconnected) for r in reports if r.disconnected},
            "instances": [asdict(d) for d in found[:MAX_LISTED]],
            "listed": min(len(found), MAX_LISTED),
            "unreadable_clusters": {r.cluster: r.error for r in reports if r.error is not None}}
    text = (f"{subject}. These container instances are ACTIVE but their ECS agent is not "
            "connected: ECS cannot start or stop tasks on them. Restart the agent or replace the "
            "instance.\n\n" + json.dumps(body, indent=2))
    return subject, text


def handler(event: Any, context: Any) -> dict[str, Any]:
    """The scheduled run. Raises (so Lambda's Errors metric shows it) only if publishing the
    metrics or the notification failed; an unreadable cluster is reported, not raised."""
    cfg = Config.from_env()
    c = clients()
    reports: list[ClusterReport] = []
    for cluster in cfg.clusters:
        try:
            r = inspect(c.ecs, cluster)
        except (ClientError, BotoCoreError) as exc:
            r = ClusterReport(cluster_name(cluster), error=error_code(exc))
            log("error", "cluster_unreadable", cluster=r.cluster, error=r.error, detail=str(exc)[:500])
        else:
            log("warning" if r.disconnected else "info", "cluster_checked", cluster=r.cluster,
                instances=r.instances, by_status=r.by_status, disconnected=len(r.disconnected),
                disconnected_instances=[d.ec2_instance_id for d in r.disconnected][:50])
        reports.append(r)
    problems: list[str] = []
    data = metric_data(reports)
    try:
        for i in range(0, len(data), 1000):  # PutMetricData: at most 1,000 metrics a request
            c.cloudwatch.put_metric_data(Namespace=cfg.namespace, MetricData=data[i:i + 1000])
    except (ClientError, BotoCoreError) as exc:
        problems.append(f"PutMetricData: {error_code(exc)}")
        log("error", "metrics_failed", error=error_code(exc), detail=str(exc)[:500])
    total = sum(len(r.disconnected) for r in reports)
    message_id = None
    if total:
        subject, text = notification(reports)
        try:
            message_id = c.sns.publish(TopicArn=cfg.topic_arn, Subject=subject, Message=text)["MessageId"]
        except (ClientError, BotoCoreError) as exc:
            problems.append(f"Publish: {error_code(exc)}")
            log("error", "publish_failed", error=error_code(exc), detail=str(exc)[:500])
    summary = log("warning" if total or problems else "info", "run_summary", clusters=len(reports),
                  disconnected=total, unreadable=[r.cluster for r in reports if r.error is not None],
                  sns_message_id=message_id, problems=problems)
    if problems:
        raise RuntimeError("ecs_agent_watch could not report: " + "; ".join(problems))
    return summary
