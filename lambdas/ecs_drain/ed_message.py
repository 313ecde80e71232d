"""The messages the drain Lambda accepts, parsed strictly.

Two doors lead in: the lifecycle hook's SNS notification (first look) and this Lambda's own
delayed re-check on its SQS queue (later looks, carrying what the first look learnt). Anything
else is rejected with a reason, never guessed at: completing the wrong lifecycle action would
terminate an instance too early.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from datetime import datetime
from itertools import accumulate
from typing import Any

SERVICE = "AWS Auto Scaling"
TERMINATING = "autoscaling:EC2_INSTANCE_TERMINATING"
TEST_EVENT = "autoscaling:TEST_NOTIFICATION"
RECHECK_KIND = "logbridge.ecs_drain.recheck"
REQUIRED = ("LifecycleHookName", "AutoScalingGroupName", "EC2InstanceId", "LifecycleActionToken",
            "LifecycleTransition", "Service")
INSTANCE_ID = re.compile(r"i-[0-9a-f]{8,17}")
MAX_MESSAGE = 256 * 1024  # SNS and SQS message size limit
# The messages accepted are at most two levels deep (the re-check's progress object). Deeper JSON
# is rejected before decoding: Python's decoder raises RecursionError (not ValueError) around a
# thousand levels, which would escape the record boundary and fail the whole batch.
MAX_JSON_DEPTH = 16


@dataclass(frozen=True)
class Lifecycle:
    """One lifecycle action: what CompleteLifecycleAction needs to name it."""

    hook_name: str
    asg_name: str
    instance_id: str
    token: str
    transition: str
    service: str
    metadata: str | None = None
    time: float | None = None  # when the action started (the message's Time), epoch seconds


@dataclass
class Progress:
    """What earlier looks at this action learnt; carried in the re-check message."""

    started_at: float
    attempt: int = 1
    heartbeat_timeout: int | None = None
    global_timeout: int | None = None
    cluster: str | None = None
    container_instance_arn: str | None = None


@dataclass(frozen=True)
class TestNotification:
    asg_name: str | None


@dataclass(frozen=True)
class Rejected:
    reason: str  # bad_envelope | not_json | too_deep | not_object | missing_keys | wrong_service | wrong_transition | bad_value
    detail: str = ""


@dataclass(frozen=True)
class Work:
    lifecycle: Lifecycle
    progress: Progress | None = None  # None on the first look
    extra: dict[str, Any] = field(default_factory=dict)


def parse_time(value: Any) -> float | None:
    """``2026-11-28T17:00:00.123Z`` -> epoch seconds; None if absent or not a time."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


# A JSON string, or an unterminated one up to the end (`"?` always matches: no backtracking, no rescan).
_STRING = re.compile(r'"(?:[^"\\]+|\\.)*"?')
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_DEPTH_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}


def too_deep(text: str, limit: int = MAX_JSON_DEPTH) -> bool:
    """True if JSON `text` nests arrays/objects deeper than `limit` (brackets inside strings do
    not count). Linear, no recursion, whatever the input."""
    if text.count("{") + text.count("[") <= limit:
        return False
    brackets = _NOT_BRACKET.sub("", _STRING.sub("", text))
    return bool(brackets) and max(accumulate(map(_DEPTH_STEP.__getitem__, brackets))) > limit


def loads(text: str) -> Any | Rejected:
    """json.loads within the nesting limit: the value, or why not (never raises)."""
    if too_deep(text):
        return Rejected("too_deep", f"JSON nested deeper than {MAX_JSON_DEPTH} levels")
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as exc:
        return Rejected("not_json", str(exc)[:200])


def parse_lifecycle(message: Any) -> Lifecycle | TestNotification | Rejected:
    """The JSON text of an Auto Scaling notification -> a lifecycle action, a test, or why not."""
    if not isinstance(message, str):
        return Rejected("not_json", f"message is {type(message).__name__}, not text")
    if len(message) > MAX_MESSAGE:
        return Rejected("not_json", f"message of {len(message)} characters")
    doc = loads(message)
    if isinstance(doc, Rejected):
        return doc
    if not isinstance(doc, dict):
        return Rejected("not_object", f"message is a JSON {type(doc).__name__}")
    if doc.get("Event") == TEST_EVENT:
        if doc.get("Service") != SERVICE:
            return Rejected("wrong_service", f"Service={str(doc.get('Service'))[:100]!r}")
        name = doc.get("AutoScalingGroupName")
        return TestNotification(name if isinstance(name, str) else None)
    missing = [k for k in REQUIRED if not isinstance(doc.get(k), str) or not doc.get(k)]
    if "Service" not in missing and doc["Service"] != SERVICE:
        return Rejected("wrong_service", f"Service={doc['Service'][:100]!r}")
    if missing:
        return Rejected("missing_keys", ",".join(missing))
    if doc["LifecycleTransition"] != TERMINATING:
        return Rejected("wrong_transition", f"LifecycleTransition={doc['LifecycleTransition'][:100]!r}")
    if not INSTANCE_ID.fullmatch(doc["EC2InstanceId"]):
        return Rejected("bad_value", f"EC2InstanceId={doc['EC2InstanceId'][:40]!r}")
    if len(doc["LifecycleActionToken"]) != 36:  # CompleteLifecycleAction takes exactly 36 characters
        return Rejected("bad_value", f"LifecycleActionToken of {len(doc['LifecycleActionToken'])} characters")
    if any(len(doc[k]) > 1600 for k in REQUIRED):
        return Rejected("bad_value", "a field longer than Auto Scaling allows")
    meta = doc.get("NotificationMetadata")
    return Lifecycle(
        hook_name=doc["LifecycleHookName"], asg_name=doc["AutoScalingGroupName"],
        instance_id=doc["EC2InstanceId"], token=doc["LifecycleActionToken"],
        transition=doc["LifecycleTransition"], service=doc["Service"],
        metadata=meta if isinstance(meta, str) else None, time=parse_time(doc.get("Time")))


def lifecycle_message(lc: Lifecycle) -> str:
    """The lifecycle fields back as Auto Scaling's JSON (for the re-check message)."""
    doc = {"LifecycleHookName": lc.hook_name, "AutoScalingGroupName": lc.asg_name,
           "EC2InstanceId": lc.instance_id, "LifecycleActionToken": lc.token,
           "LifecycleTransition": lc.transition, "Service": lc.service}
    if lc.metadata is not None:
        doc["NotificationMetadata"] = lc.metadata
    return json.dumps(doc, sort_keys=True)


def recheck_body(lc: Lifecycle, progress: Progress) -> str:
    return json.dumps({"kind": RECHECK_KIND, "version": 1, "lifecycle": lifecycle_message(lc),
                       "progress": asdict(progress)}, sort_keys=True)


def _progress(doc: Any) -> Progress | None:
    if not isinstance(doc, dict):
        return None
    try:
        p = Progress(
            started_at=float(doc["started_at"]), attempt=int(doc.get("attempt", 1)),
            heartbeat_timeout=None if doc.get("heartbeat_timeout") is None else int(doc["heartbeat_timeout"]),
            global_timeout=None if doc.get("global_timeout") is None else int(doc["global_timeout"]),
            cluster=doc.get("cluster") if isinstance(doc.get("cluster"), str) else None,
            container_instance_arn=(doc.get("container_instance_arn")
                                    if isinstance(doc.get("container_instance_arn"), str) else None))
    except (KeyError, TypeError, ValueError, OverflowError):
        return None
    return p if p.started_at == p.started_at and p.attempt >= 1 else None  # NaN check


def parse_record(record: Any) -> Work | TestNotification | Rejected:
    """One Lambda event record (SNS, or SQS holding a re-check or an SNS envelope) -> work."""
    if not isinstance(record, dict):
        return Rejected("bad_envelope", f"record is a {type(record).__name__}")
    source = record.get("EventSource") or record.get("eventSource")
    if source == "aws:sns":
        sns = record.get("Sns")
        if not isinstance(sns, dict) or "Message" not in sns:
            return Rejected("bad_envelope", "SNS record without Sns.Message")
        got = parse_lifecycle(sns["Message"])
        return Work(got) if isinstance(got, Lifecycle) else got
    if source == "aws:sqs":
        body = record.get("body")
        if not isinstance(body, str):
            return Rejected("bad_envelope", "SQS record without a text body")
        if len(body) > MAX_MESSAGE:
            return Rejected("not_json", f"SQS body of {len(body)} characters")
        doc = loads(body)
        if isinstance(doc, Rejected):
            return Rejected(doc.reason, f"SQS body: {doc.detail}")
        if isinstance(doc, dict) and doc.get("kind") == RECHECK_KIND:
            got = parse_lifecycle(doc.get("lifecycle"))
            if not isinstance(got, Lifecycle):
                return got if isinstance(got, Rejected) else Rejected("bad_envelope", "re-check of a test")
            progress = _progress(doc.get("progress"))
            if progress is None:
                return Rejected("bad_envelope", "re-check without a valid progress")
            return Work(got, progress)
        if isinstance(doc, dict) and doc.get("Type") == "Notification" and "Message" in doc:
            got = parse_lifecycle(doc["Message"])  # an SNS topic -> SQS queue subscription
            return Work(got) if isinstance(got, Lifecycle) else got
        if isinstance(doc, dict) and "Service" in doc:  # raw message delivery
            got = parse_lifecycle(body)
            return Work(got) if isinstance(got, Lifecycle) else got
        return Rejected("bad_envelope", "SQS body is neither a re-check nor an SNS notification")
    return Rejected("bad_envelope", f"EventSource={str(source)[:60]!r}")
