"""Build the event a CloudWatch Logs subscription filter hands to a Lambda function.

Without Docker, moto cannot run a subscription filter's Lambda, so tests, the demo and the
benchmark build the event themselves and call the handler directly. Test support, not product
code: it lives beside the tests (importable as `support_awslogs` from tests, and as
`tests.support_awslogs` from a script that has the repository on sys.path). The shape follows the CloudWatch Logs
documentation ("Subscription filters with AWS Lambda"): ``{"awslogs": {"data": base64(gzip(JSON))}}``.
"""

from __future__ import annotations

import base64
import gzip
import json
import time
from collections.abc import Iterable, Sequence
from typing import Any

__all__ = ["build_subscription_event", "decode_subscription_event"]


def build_subscription_event(
    lines: Iterable[str],
    *,
    log_group: str,
    log_stream: str,
    message_type: str = "DATA_MESSAGE",
    owner: str = "123456789012",
    subscription_filters: Sequence[str] = ("fluentd-metrics",),
    timestamp_ms: int | None = None,
) -> dict[str, Any]:
    """Pack ``lines`` (one log event each, in order) into a subscription event.

    ``timestamp_ms`` is the events' ingestion time (default: now); the handler uses each line's
    own time instead. Event ids are 56-digit strings like CloudWatch's, unique within the event.
    The gzip header carries no mtime, so equal input gives byte-equal events.
    """
    if message_type not in ("DATA_MESSAGE", "CONTROL_MESSAGE"):
        raise ValueError(f"message_type must be DATA_MESSAGE or CONTROL_MESSAGE, not {message_type!r}")
    ts = int(time.time() * 1000) if timestamp_ms is None else int(timestamp_ms)
    events = [
        {"id": f"{ts:020d}{i:036d}", "timestamp": ts, "message": line}
        for i, line in enumerate(lines)
    ]
    if message_type == "CONTROL_MESSAGE" and not events:
        events = [{"id": "", "timestamp": ts,
                   "message": "CWL CONTROL MESSAGE: Checking health of destination Lambda function."}]
    payload = {
        "messageType": message_type,
        "owner": owner if message_type == "DATA_MESSAGE" else "CloudwatchLogs",
        "logGroup": log_group,
        "logStream": log_stream,
        "subscriptionFilters": list(subscription_filters),
        "logEvents": events,
    }
    raw = json.dumps(payload, separators=(",", ":")).encode("utf-8")
    data = base64.b64encode(gzip.compress(raw, mtime=0)).decode("ascii")
    return {"awslogs": {"data": data}}


def decode_subscription_event(event: dict[str, Any]) -> dict[str, Any]:
    """The JSON object inside a subscription event (the inverse of build_subscription_event)."""
    return json.loads(gzip.decompress(base64.b64decode(event["awslogs"]["data"])))
