"""Helpers for the ecs_drain tests: the handler loaded as Lambda loads it, a small ECS/EC2/Auto
Scaling world on moto, and the one piece of Auto Scaling moto lacks.

moto 5.2.5 implements PutLifecycleHook and DescribeLifecycleHooks but not
CompleteLifecycleAction nor RecordLifecycleActionHeartbeat (no such method in
moto/autoscaling/responses.py). ``LifecycleActionFake`` answers exactly those two operations,
through botocore's ``before-call`` hook, the mechanism botocore's own Stubber uses; every other
call of the same client still goes to moto. Unlike a bare Stubber it keeps state like Auto
Scaling does: an action is active from the moment the test "starts a termination" until it is
completed, and completing or heartbeating an unknown token fails with Auto Scaling's
``ValidationError: No active Lifecycle Action found with token ...``.
"""

from __future__ import annotations

import base64
import json
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from botocore.awsrequest import AWSResponse
from support import load_lambda_handler

REPO = Path(__file__).resolve().parents[3]
LAMBDA_DIR = REPO / "lambdas" / "ecs_drain"
REGION = "us-east-1"
ACCOUNT = "123456789012"
QUEUE = "ecs-drain-recheck"
ENV_KEYS = ("RECHECK_QUEUE_URL", "CLUSTER_TAG_KEY", "RECHECK_DELAY_SECONDS", "DRAIN_MAX_SECONDS",
            "DRAIN_DEADLINE_RESULT", "HOOK_HEARTBEAT_SECONDS")


def load_handler() -> ModuleType:
    return load_lambda_handler(LAMBDA_DIR, "ecs_drain_handler")


def user_data(text: str) -> str:
    return text  # boto3 base64-encodes UserData for RunInstances


def b64(text: str | bytes) -> str:
    raw = text.encode() if isinstance(text, str) else text
    return base64.b64encode(raw).decode()


def lifecycle_message(instance_id: str, token: str, asg: str = "ecs-asg", hook: str = "drain",
                      transition: str = "autoscaling:EC2_INSTANCE_TERMINATING",
                      service: str = "AWS Auto Scaling", time: str = "2026-11-28T17:00:00.000Z",
                      **extra: Any) -> dict[str, Any]:
    """Auto Scaling's lifecycle notification, as the EC2 Auto Scaling user guide shows it."""
    doc = {"Origin": "AutoScalingGroup", "Destination": "EC2", "LifecycleHookName": hook,
           "AccountId": ACCOUNT, "RequestId": str(uuid.uuid4()), "LifecycleTransition": transition,
           "AutoScalingGroupName": asg, "Service": service, "Time": time,
           "EC2InstanceId": instance_id, "LifecycleActionToken": token,
           "NotificationMetadata": "logbridge"}
    doc.update(extra)
    return doc


def sns_event(message: Any) -> dict[str, Any]:
    """The Lambda event SNS delivers: one record whose Message is the text published."""
    text = message if isinstance(message, str) else json.dumps(message)
    return {"Records": [{
        "EventSource": "aws:sns", "EventVersion": "1.0",
        "EventSubscriptionArn": f"arn:aws:sns:{REGION}:{ACCOUNT}:ecs-drain:{uuid.uuid4()}",
        "Sns": {"Type": "Notification", "MessageId": str(uuid.uuid4()),
                "TopicArn": f"arn:aws:sns:{REGION}:{ACCOUNT}:ecs-drain", "Subject": None,
                "Message": text, "Timestamp": "2026-11-28T17:00:00.500Z", "SignatureVersion": "1",
                "Signature": "x", "SigningCertUrl": "x", "UnsubscribeUrl": "x", "MessageAttributes": {}}}]}


def sqs_event(bodies: list[tuple[str, str]]) -> dict[str, Any]:
    """The Lambda event an SQS event source mapping delivers: (messageId, body) pairs."""
    return {"Records": [{
        "messageId": mid, "receiptHandle": "x", "body": body, "attributes": {}, "messageAttributes": {},
        "md5OfBody": "x", "eventSource": "aws:sqs", "awsRegion": REGION,
        "eventSourceARN": f"arn:aws:sqs:{REGION}:{ACCOUNT}:{QUEUE}"} for mid, body in bodies]}


def log_lines(out: str, logger: str = "ecs_drain") -> list[dict[str, Any]]:
    lines = []
    for line in out.splitlines():
        if line.startswith("{"):
            doc = json.loads(line)
            if doc.get("logger") == logger:
                lines.append(doc)
    return lines


def client_error(code: str, message: str, status: int = 400) -> tuple[AWSResponse, dict[str, Any]]:
    return AWSResponse(None, status, {}, None), {
        "Error": {"Code": code, "Message": message, "Type": "Sender"},
        "ResponseMetadata": {"HTTPStatusCode": status}}


@dataclass
class LifecycleActionFake:
    """Auto Scaling's lifecycle-action state for the two operations moto does not implement."""

    active: dict[str, tuple[str, str, str]] = field(default_factory=dict)  # token -> (asg, hook, instance)
    completed: list[dict[str, Any]] = field(default_factory=list)
    heartbeats: list[dict[str, Any]] = field(default_factory=list)
    fail_with: dict[str, tuple[str, str]] = field(default_factory=dict)  # operation -> (code, message)

    OPERATIONS = ("CompleteLifecycleAction", "RecordLifecycleActionHeartbeat")

    def start(self, asg: str, hook: str, instance_id: str) -> str:
        token = str(uuid.uuid4())
        self.active[token] = (asg, hook, instance_id)
        return token

    def attach(self, client: Any) -> None:
        for op in self.OPERATIONS:
            client.meta.events.register(f"before-parameter-build.auto-scaling.{op}", self._keep)
            client.meta.events.register(f"before-call.auto-scaling.{op}", self._answer)

    @staticmethod
    def _keep(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context["lifecycle_fake_params"] = dict(params)

    def _answer(self, model: Any, context: dict[str, Any], **_: Any) -> tuple[AWSResponse, dict[str, Any]]:
        op, params = model.name, context["lifecycle_fake_params"]
        if op in self.fail_with:
            return client_error(*self.fail_with[op])
        token = params.get("LifecycleActionToken")
        want = (params.get("AutoScalingGroupName"), params.get("LifecycleHookName"), params.get("InstanceId"))
        if self.active.get(token) != want:
            return client_error("ValidationError", f"No active Lifecycle Action found with token {token}")
        if op == "CompleteLifecycleAction":
            if params.get("LifecycleActionResult") not in ("CONTINUE", "ABANDON"):
                return client_error("ValidationError", "LifecycleActionResult must be CONTINUE or ABANDON")
            del self.active[token]
            self.completed.append(params)
        else:
            self.heartbeats.append(params)
        return AWSResponse(None, 200, {}, None), {"ResponseMetadata": {"HTTPStatusCode": 200}}


def cut_into_pages(client: Any, operation: str, key: str, size: int) -> list[str | None]:
    """moto returns every ListTasks / ListContainerInstances result in one page and ignores
    nextToken; this cuts moto's answer into pages of ``size`` on the client side (after-call)
    and serves the page the request's nextToken asks for, so the handler's nextToken loop runs
    as it would against ECS. Returns the nextToken of every request, in order."""
    tokens: list[str | None] = []

    def remember(params: dict[str, Any], **_: Any) -> None:
        tokens.append(json.loads(params["body"]).get("nextToken"))

    def cut(parsed: dict[str, Any], **_: Any) -> None:
        items = parsed.get(key)
        if items is None:
            return
        start = int(tokens[-1] or 0)
        parsed[key] = items[start:start + size]
        if start + size < len(items):
            parsed["nextToken"] = str(start + size)

    client.meta.events.register(f"before-call.ecs.{operation}", remember)
    client.meta.events.register(f"after-call.ecs.{operation}", cut)
    return tokens
