"""AWS Lambda entry point: drain an ECS container instance before Auto Scaling terminates it.

The ``autoscaling:EC2_INSTANCE_TERMINATING`` lifecycle hook notifies an SNS topic; this Lambda
sets the instance's container instance to DRAINING (ECS then moves service tasks elsewhere),
and completes the lifecycle action with CONTINUE once no task is left on it.

Coming back later: while tasks remain, the Lambda records a lifecycle heartbeat and sends itself
a re-check through an SQS queue with a delivery delay (DelaySeconds), then returns at once. No
Lambda waits idle, no other subscriber of the hook's topic sees repeats, and a failed re-check is
redelivered by SQS. Deadline: ``DRAIN_MAX_SECONDS`` after the action started (capped below the
hook's global timeout), the action is completed with ``DRAIN_DEADLINE_RESULT`` on purpose and
logged; each heartbeat keeps the hook's heartbeat timeout from running out between re-checks
(the re-check delay is at most half of it). If the loop itself dies, the hook's own
DefaultResult ends the wait after one heartbeat timeout. See lambdas/ecs_drain/README.md.

Handler: ``handler.handler``. Standard library and the runtime's boto3 only.
Every outcome is one JSON log line ``{"logger": "ecs_drain", "outcome": ...}``.
"""

from __future__ import annotations

import json
import math
import os
import sys
import time
from dataclasses import asdict, dataclass
from typing import Any

import ed_aws
from botocore.exceptions import BotoCoreError, ClientError
from ed_message import (
    Lifecycle,
    Progress,
    Rejected,
    TestNotification,
    Work,
    parse_record,
    recheck_body,
)

CLOCK = time.time
LOGGER = "ecs_drain"
SAFETY_MARGIN = 60  # seconds kept between our last action and Auto Scaling's timeouts
NO_ACTIVE_ACTION = "No active Lifecycle Action found"  # Auto Scaling's ValidationError text


@dataclass(frozen=True)
class Config:
    recheck_queue_url: str
    tag_key: str = "ClusterName"
    recheck_delay: int = 30
    drain_max_seconds: int = 1800
    deadline_result: str = "CONTINUE"
    fallback_heartbeat: int = 300

    @classmethod
    def from_env(cls, env: Any = os.environ) -> Config:
        """Bad settings fail loudly at the first invocation: a drain that silently never comes
        back is worse than an error metric."""
        def number(key: str, default: int, lo: int, hi: int) -> int:
            raw = env.get(key, "").strip()
            try:
                value = int(raw) if raw else default
            except ValueError:
                raise ValueError(f"{key}={raw!r} is not a whole number") from None
            if not lo <= value <= hi:
                raise ValueError(f"{key}={value} is outside {lo}..{hi}")
            return value

        result = env.get("DRAIN_DEADLINE_RESULT", "CONTINUE").strip().upper() or "CONTINUE"
        if result not in ("CONTINUE", "ABANDON"):
            raise ValueError(f"DRAIN_DEADLINE_RESULT={result!r} is not CONTINUE or ABANDON")
        queue = env.get("RECHECK_QUEUE_URL", "").strip()
        if not queue:
            raise ValueError("RECHECK_QUEUE_URL is not set: the Lambda could not come back to a draining instance")
        return cls(
            recheck_queue_url=queue,
            tag_key=env.get("CLUSTER_TAG_KEY", "").strip() or "ClusterName",
            recheck_delay=number("RECHECK_DELAY_SECONDS", 30, 1, 900),  # SQS DelaySeconds max 900
            drain_max_seconds=number("DRAIN_MAX_SECONDS", 1800, 60, 172800),
            deadline_result=result,
            fallback_heartbeat=number("HOOK_HEARTBEAT_SECONDS", 300, 30, 7200))


@dataclass
class Clients:
    ec2: Any
    ecs: Any
    autoscaling: Any
    sqs: Any


_clients: Clients | None = None


def clients() -> Clients:
    """One set of clients per warm container; standard retry mode backs off on throttling."""
    global _clients
    if _clients is None:
        import boto3
        from botocore.config import Config as BotoConfig

        cfg = BotoConfig(retries={"mode": "standard", "total_max_attempts": 4},
                         connect_timeout=5, read_timeout=20)
        _clients = Clients(*(boto3.client(n, config=cfg) for n in ("ec2", "ecs", "autoscaling", "sqs")))
    return _clients


def reset() -> None:
    """Forget the clients, as a cold start would (tests)."""
    global _clients
    _clients = None


def log(level: str, outcome: str, **fields: Any) -> dict[str, Any]:
    """One JSON line per outcome on stdout (CloudWatch Logs), ready for a metric filter."""
    line = {"level": level, "logger": LOGGER, "outcome": outcome, **fields}
    sys.stdout.write(json.dumps(line, default=str, sort_keys=False) + "\n")
    sys.stdout.flush()
    return line


def ids(lc: Lifecycle) -> dict[str, str]:
    return {"instance_id": lc.instance_id, "asg": lc.asg_name, "hook": lc.hook_name}


def complete(c: Clients, lc: Lifecycle, result: str) -> bool:
    """CompleteLifecycleAction; False if Auto Scaling no longer has this action (already
    completed by an earlier delivery, or timed out): nothing is left to do then."""
    try:
        c.autoscaling.complete_lifecycle_action(
            LifecycleHookName=lc.hook_name, AutoScalingGroupName=lc.asg_name,
            LifecycleActionToken=lc.token, LifecycleActionResult=result, InstanceId=lc.instance_id)
    except ClientError as exc:
        if ed_aws.error_code(exc) == "ValidationError" and NO_ACTIVE_ACTION in str(exc):
            return False
        raise
    return True


def finish(c: Clients, lc: Lifecycle, result: str, level: str, outcome: str, **fields: Any) -> dict[str, Any]:
    if complete(c, lc, result):
        return log(level, outcome, result=result, **ids(lc), **fields)
    return log("info", "already_completed", intended=outcome, **ids(lc), **fields)


def timeouts(c: Clients, lc: Lifecycle, cfg: Config, p: Progress) -> tuple[int, int]:
    """(heartbeat timeout, global timeout) of the hook: read once, then carried in Progress."""
    if p.heartbeat_timeout is None or p.global_timeout is None:
        got, error = None, "hook_not_found"
        try:
            got = ed_aws.hook_timeouts(c.autoscaling, lc.asg_name, lc.hook_name)
        except (ClientError, BotoCoreError) as exc:  # the configured fallback is safe; say so
            error = f"{ed_aws.error_code(exc)}: {str(exc)[:300]}"
        if got is None:
            log("warning", "hook_timeouts_unknown", error=error,
                assumed_heartbeat_timeout=cfg.fallback_heartbeat, **ids(lc))
        p.heartbeat_timeout, p.global_timeout = got or (
            cfg.fallback_heartbeat, min(100 * cfg.fallback_heartbeat, 172800))
    return p.heartbeat_timeout, p.global_timeout


def schedule(c: Clients, cfg: Config, lc: Lifecycle, p: Progress, delay: int) -> None:
    nxt = Progress(**{**asdict(p), "attempt": p.attempt + 1})
    c.sqs.send_message(QueueUrl=cfg.recheck_queue_url, MessageBody=recheck_body(lc, nxt),
                       DelaySeconds=delay)


def process(c: Clients, cfg: Config, work: Work) -> dict[str, Any]:
    lc, now = work.lifecycle, CLOCK()
    p = work.progress or Progress(started_at=min(lc.time or now, now))
    heartbeat_timeout, global_timeout = timeouts(c, lc, cfg, p)
    deadline = p.started_at + min(cfg.drain_max_seconds, global_timeout - SAFETY_MARGIN)
    delay = max(1, min(cfg.recheck_delay, heartbeat_timeout // 2, 900))
    elapsed = round(now - p.started_at, 1)
    counts: ed_aws.TaskCount | None = None
    try:
        if p.container_instance_arn is None or p.cluster is None:
            where = ed_aws.locate(c.ec2, c.ecs, lc.instance_id, cfg.tag_key)
            if isinstance(where, ed_aws.Search):
                return finish(c, lc, "CONTINUE", "warning", "not_in_cluster",
                              user_data=where.user_data.reason, user_data_value=where.user_data.raw_value,
                              tag_key=cfg.tag_key, tag_value=where.tag_value, clusters_tried=list(where.tried))
            p.cluster, p.container_instance_arn = where.cluster, where.container_instance_arn
            log("info", "located", cluster=where.cluster, source=where.source, status=where.status,
                container_instance_arn=where.container_instance_arn, **ids(lc))
        failure = ed_aws.set_draining(c.ecs, p.cluster, p.container_instance_arn)
        if failure is not None:
            return finish(c, lc, "CONTINUE", "warning", "not_in_cluster", cluster=p.cluster,
                          container_instance_arn=p.container_instance_arn, ecs_failure=failure)
        counts = ed_aws.count_tasks(c.ecs, p.cluster, p.container_instance_arn)
    except (ClientError, BotoCoreError) as exc:  # a later look may succeed: retry until the deadline
        if ed_aws.error_code(exc) == "InvalidInstanceID.NotFound":
            return finish(c, lc, "CONTINUE", "warning", "instance_not_found", detail=str(exc)[:300])
        log("error", "api_error", error=ed_aws.error_code(exc), detail=str(exc)[:500],
            cluster=p.cluster, attempt=p.attempt, **ids(lc))
    where_fields = {"cluster": p.cluster, "container_instance_arn": p.container_instance_arn,
                    "attempt": p.attempt, "elapsed_seconds": elapsed}
    if counts is not None and counts.left == 0:
        return finish(c, lc, "CONTINUE", "info", "drained", **where_fields)
    task_fields = {} if counts is None else {"running_tasks": counts.running,
                                             "tasks_in_transition": counts.in_transition}
    if now >= deadline:
        return finish(c, lc, cfg.deadline_result, "warning", "deadline_reached",
                      deadline_seconds=round(deadline - p.started_at), **where_fields, **task_fields)
    delay = max(1, min(delay, math.ceil(deadline - now)))  # the last look falls on the deadline
    try:
        c.autoscaling.record_lifecycle_action_heartbeat(
            LifecycleHookName=lc.hook_name, AutoScalingGroupName=lc.asg_name,
            LifecycleActionToken=lc.token, InstanceId=lc.instance_id)
    except (ClientError, BotoCoreError) as exc:
        if ed_aws.error_code(exc) == "ValidationError" and NO_ACTIVE_ACTION in str(exc):
            return log("info", "lifecycle_action_gone", **ids(lc), **where_fields, **task_fields)
        log("warning", "heartbeat_failed", error=ed_aws.error_code(exc), detail=str(exc)[:300], **ids(lc))
    schedule(c, cfg, lc, p, delay)
    return log("info", "waiting" if counts is not None else "retry_scheduled", recheck_in_seconds=delay,
               deadline_in_seconds=round(deadline - now), heartbeat_timeout=heartbeat_timeout,
               **ids(lc), **where_fields, **task_fields)


def handler(event: Any, context: Any) -> dict[str, Any]:
    """SNS (first look) or SQS (re-checks) records in; one outcome per record.

    For SQS, a record whose processing raised is reported in ``batchItemFailures`` (the event
    source mapping has ReportBatchItemFailures) so only it is redelivered. For SNS, an error is
    re-raised so Lambda's asynchronous retries try again."""
    cfg = Config.from_env()
    records = event.get("Records") if isinstance(event, dict) else None
    if not isinstance(records, list) or not records:
        log("error", "rejected", reason="bad_envelope", detail="event has no Records list")
        return {"outcomes": ["rejected"], "batchItemFailures": []}
    outcomes: list[str] = []
    failures: list[dict[str, str]] = []
    for record in records:
        work = parse_record(record)
        if isinstance(work, TestNotification):
            outcomes.append(log("info", "test_notification", asg=work.asg_name)["outcome"])
            continue
        if isinstance(work, Rejected):
            outcomes.append(log("error", "rejected", reason=work.reason, detail=work.detail)["outcome"])
            continue
        try:
            outcomes.append(process(clients(), cfg, work)["outcome"])
        except Exception as exc:  # the record boundary: log, then have it retried
            log("error", "failed", error=ed_aws.error_code(exc), detail=str(exc)[:500], **ids(work.lifecycle))
            message_id = record.get("messageId") if isinstance(record, dict) else None
            if message_id is None:
                raise
            failures.append({"itemIdentifier": message_id})
            outcomes.append("failed")
    return {"outcomes": outcomes, "batchItemFailures": failures}
