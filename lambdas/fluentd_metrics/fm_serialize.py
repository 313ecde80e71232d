"""PutMetricData bodies without botocore's shape walk.

botocore serializes a request by walking the service model for every value: for 10,000 status
lines (about 10,000 data points) that walk cost about 0.5 s of the handler's CPU, more than
parsing and folding together. CloudWatch speaks the AWS JSON 1.0 protocol, where a
PutMetricData body is the parameters as JSON with timestamps as epoch seconds; the data points
are plain dicts, strings and finite floats built by `fm_publish.to_api`, so `json.dumps` gives
the same body. Only PutMetricData on the JSON protocol takes this path; botocore still builds
the URL, headers, signature and retries, and every other call (and any other protocol) is
serialized by botocore as before. Bodies of 10 KB and more are gzipped here (CloudWatch accepts
gzip for PutMetricData), at a cheaper level than botocore's. `tests/lambdas/fluentd_metrics`
checks the body against botocore's own serializer.
"""

from __future__ import annotations

import gzip
import json
from datetime import datetime
from typing import Any

GZIP_MIN_BYTES = 10_240
GZIP_LEVEL = 1


def _epoch(value: Any) -> Any:
    """Timestamps become epoch seconds, as botocore writes them on the JSON protocol."""
    if isinstance(value, datetime):
        ts = value.timestamp()
        return int(ts) if ts == int(ts) else ts
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


# Timestamps are the only values JSON cannot take as they are: the encoder converts them as it
# meets them, so the data points are not copied first. No cycle check: the parameters are plain
# trees (shared Dimensions lists are not cycles), and the check costs a dict insert and delete
# per dict and list, five per data point.
_ENCODE = json.JSONEncoder(separators=(",", ":"), allow_nan=False, default=_epoch, check_circular=False).encode


class FastPutMetricData:
    """Wraps a botocore serializer; PutMetricData on the JSON protocol gets a json.dumps body."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        from botocore.serialize import JSONSerializer

        self._json = isinstance(inner, JSONSerializer)

    def serialize_to_request(self, parameters: dict[str, Any], operation_model: Any) -> dict[str, Any]:
        if not self._json or operation_model.name != "PutMetricData":
            return self._inner.serialize_to_request(parameters, operation_model)
        # botocore builds everything but the body (URL, method, X-Amz-Target, content type).
        rest = {k: v for k, v in parameters.items() if k != "MetricData"}
        request = self._inner.serialize_to_request({**rest, "MetricData": []}, operation_model)
        body = _ENCODE({**rest, "MetricData": parameters.get("MetricData", [])}).encode("utf-8")
        if len(body) >= GZIP_MIN_BYTES:
            body = gzip.compress(body, compresslevel=GZIP_LEVEL, mtime=0)
            request["headers"]["Content-Encoding"] = "gzip"
        request["body"] = body
        return request


def install(client: Any) -> Any:
    """Put the fast path in front of `client`'s serializer (idempotent); returns the client."""
    current = getattr(client, "_serializer", None)
    if current is not None and not isinstance(current, FastPutMetricData):
        client._serializer = FastPutMetricData(current)
    return client
