"""Send folded data points to CloudWatch: PutMetricData calls within the API's limits, or
Embedded Metric Format lines on stdout (no API call; CloudWatch Logs extracts the metrics).

Limits respected (PutMetricData / MetricDatum reference; EMF specification):
  * ≤ 1,000 datums and ≤ 1 MB per PutMetricData request; ≤ 150 values per datum (fm_fold).
  * EMF: ≤ 100 metrics per directive, ≤ 30 keys per dimension set, ≤ 100 values per metric.
"""

from __future__ import annotations

import json
import math
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from fm_fold import Datum, Dims

MAX_DATUMS_PER_CALL = 1000
# PutMetricData accepts 1 MB per request. Sizes below are estimated for the query protocol (the
# most verbose encoding botocore may use), then kept under 90 % of the limit.
MAX_REQUEST_BYTES = 900_000
EMF_MAX_METRICS = 100
EMF_MAX_VALUES = 100
EMF_MAX_DIMENSIONS = 30


def to_api(d: Datum, resolution: int) -> dict[str, Any]:
    # A batch has thousands of datums but few distinct dimension sets and minutes: their
    # Dimensions lists are made once and shared (nothing downstream mutates them). The timestamp
    # is epoch seconds, which botocore takes as it takes a datetime (and the JSON body carries).
    dims = _dims_cache.get(d.dims)
    if dims is None:
        if len(_dims_cache) > _CACHE_MAX:
            _dims_cache.clear()
        dims = _dims_cache[d.dims] = [{"Name": k, "Value": v} for k, v in d.dims]
    ts = d.ts
    item: dict[str, Any] = {"MetricName": d.name, "Dimensions": dims,
                            "Timestamp": int(ts) if ts == int(ts) else ts, "Unit": d.unit}
    # Values and counts as they are: ints stay ints (fluentd's byte sizes and counts), which
    # botocore takes for its Double shape (its validator accepts ints) and which the JSON body
    # carries exactly, at a fraction of the cost of writing floats; tuples are lists to botocore.
    # The fold already keeps every value finite and within ±2^360, as CloudWatch requires.
    if len(d.values) == 1 and d.counts[0] == 1:
        item["Value"] = d.values[0]
    else:
        item["Values"] = d.values
        item["Counts"] = d.counts
    if resolution == 1:
        item["StorageResolution"] = 1
    return item


_CACHE_MAX = 10_000
_dims_cache: dict[Dims, list[dict[str, str]]] = {}


def _dims_bytes(dims: Dims) -> int:
    return sum(2 * 55 + 3 * (len(k) + len(v)) for k, v in dims)  # worst case: every char percent-encoded


def batches(datums: Sequence[Datum]) -> list[list[Datum]]:
    """Consecutive datums in calls of at most 1,000 datums and MAX_REQUEST_BYTES. A datum's
    share of a form-encoded request (``MetricData.member.1000.Dimensions.member.2.Value=...&``)
    is bounded by 265 bytes + its name and unit + its dimensions + 120 bytes per value (60 for
    ``...Values.member.150=<float repr>&`` and as much for its Counts twin)."""
    out: list[list[Datum]] = []
    cur: list[Datum] = []
    size = 200  # Action, Version, Namespace
    dims_bytes: dict[int, int] = {}  # by id: the datums hold their dims alive for this call
    for d in datums:
        dims = d.dims
        db = dims_bytes.get(id(dims))
        if db is None:
            db = dims_bytes[id(dims)] = _dims_bytes(dims)
        b = 265 + len(d.name) + len(d.unit) + db + len(d.values) * 120
        if cur and (len(cur) >= MAX_DATUMS_PER_CALL or size + b > MAX_REQUEST_BYTES):
            out.append(cur)
            cur, size = [], 200
        cur.append(d)
        size += b
    if cur:
        out.append(cur)
    return out


@dataclass
class ApiResult:
    calls: int = 0  # PutMetricData calls made (each with one or more attempts)
    retries: int = 0  # attempts after the first
    failed_calls: int = 0  # calls whose last attempt failed
    skipped_calls: int = 0  # batches never sent: no time left before the deadline, or CloudWatch unreachable
    unreachable: bool = False  # an attempt found no answer (connect/read timeout, connection refused)
    failed: list[Datum] = field(default_factory=list)  # the datums of failed and skipped calls
    errors: list[str] = field(default_factory=list)


# What botocore's "standard" retry mode retries (botocore/retries/standard.py and its docs:
# throttling error codes, transient errors, HTTP 500/502/503/504), done here so that each attempt
# and each backoff can be held to the invocation's deadline.
THROTTLING_CODES = frozenset({
    "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException",
    "TooManyRequestsException", "ProvisionedThroughputExceededException", "TransactionInProgressException",
    "RequestLimitExceeded", "BandwidthLimitExceeded", "LimitExceededException", "RequestThrottled",
    "SlowDown", "PriorRequestNotComplete", "EC2ThrottledException"})
TRANSIENT_CODES = frozenset({"RequestTimeout", "RequestTimeoutException", "PriorRequestNotComplete",
                             "InternalFailure", "ServiceUnavailable"})
TRANSIENT_STATUS = frozenset({429, 500, 502, 503, 504})
BACKOFF_BASE = 0.5  # seconds; full jitter: a random delay up to BASE * 2^(attempt-1), at most MAX
BACKOFF_MAX = 20.0


def classify(exc: BaseException) -> tuple[bool, bool]:
    """(worth another attempt, CloudWatch did not answer at all) for a failed attempt."""
    from botocore.exceptions import ClientError, HTTPClientError
    from botocore.exceptions import ConnectionError as BotoConnectionError

    if isinstance(exc, (BotoConnectionError, HTTPClientError)):  # timeouts, refused, reset
        return True, True
    if isinstance(exc, ClientError):
        resp = exc.response or {}
        code = str(resp.get("Error", {}).get("Code", ""))
        status = resp.get("ResponseMetadata", {}).get("HTTPStatusCode")
        return code in THROTTLING_CODES or code in TRANSIENT_CODES or status in TRANSIENT_STATUS, False
    return False, False


def publish_api(client: Any, namespace: str, datums: Sequence[Datum], resolution: int, *,
                deadline: float = math.inf, attempt_seconds: float = 0.0, max_attempts: int = 5,
                clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], Any] | None = None,
                rand: Callable[[], float] | None = None) -> ApiResult:
    """One PutMetricData per batch, each attempt started only if it can end before `deadline`
    (a `clock()` time; `attempt_seconds` is the longest an attempt can take: the client's
    connect and read timeouts plus a margin). Throttling, 5xx and network errors are retried
    with full-jitter backoff, up to `max_attempts` and only while the deadline allows.

    A batch that fails for good (or is never sent) is kept in ``failed`` for the caller's EMF
    fallback. Once CloudWatch does not answer at all, the remaining batches are not tried: each
    would wait out its timeouts too. A call that fails for another reason (e.g. a rejected
    value) does not stop the others."""
    from botocore.exceptions import BotoCoreError, ClientError

    if rand is None:
        import random  # api mode only: EMF mode's cold start does not pay for it

        rand = random.random
    sleep = sleep or time.sleep
    res = ApiResult()
    for batch in batches(datums):
        if res.unreachable or clock() + attempt_seconds > deadline:
            res.skipped_calls += 1
            res.failed.extend(batch)
            continue
        data = [to_api(d, resolution) for d in batch]
        res.calls += 1
        attempt = 0
        while True:
            attempt += 1
            try:
                client.put_metric_data(Namespace=namespace, MetricData=data)
                break
            except (BotoCoreError, ClientError) as exc:
                retry, unreachable = classify(exc)
                delay = rand() * min(BACKOFF_MAX, BACKOFF_BASE * 2 ** (attempt - 1))
                if retry and attempt < max_attempts and clock() + delay + attempt_seconds <= deadline:
                    res.retries += 1
                    sleep(delay)
                    continue
                res.unreachable = res.unreachable or unreachable
                res.failed_calls += 1
                res.failed.extend(batch)
                why = "" if not retry or attempt >= max_attempts else " (no time left before the deadline)"
                res.errors.append(f"{type(exc).__name__} after {attempt} attempt(s){why}: {exc}"[:500])
                break
    return res


def emf_documents(namespace: str, datums: Iterable[Datum], resolution: int) -> list[dict[str, Any]]:
    """EMF documents for folded datums (the fallback for PutMetricData calls that failed).

    EMF has no Counts: a value seen n times is repeated n times (CloudWatch then sees the same
    SampleCount and Sum as PutMetricData with Counts).
    """
    groups: dict[tuple[float, Dims], list[tuple[str, str, list[float]]]] = {}
    for d in datums:
        values: list[float] = []
        for v, c in zip(d.values, d.counts):
            values.extend([v] * c)
        groups.setdefault((d.ts, d.dims), []).append((d.name, d.unit, values))
    return emf_from_series(namespace, ((ts, dims, m) for (ts, dims), m in groups.items()), resolution)


def emf_from_series(namespace: str, series: Iterable[tuple[float, Dims, list[tuple[str, str, list[float]]]]],
                    resolution: int) -> list[dict[str, Any]]:
    """One EMF document per (timestamp, dimension values), split to stay within the spec:
    at most 100 metrics per document and 100 values per metric (the rest go to further
    documents with the same timestamp and dimensions)."""
    docs: list[dict[str, Any]] = []
    defs = _definitions.get(resolution)
    if defs is None:
        defs = _definitions[resolution] = {}
    for ts, dims, metrics in series:
        if len(dims) > EMF_MAX_DIMENSIONS:
            raise ValueError("more than 30 dimension keys")
        if len(metrics) <= EMF_MAX_METRICS and all(len(v) <= EMF_MAX_VALUES for _, _, v in metrics):
            # The usual case, one document: metric definitions shared between documents (the
            # encoder only reads them), no search for a document with room.
            definitions = []
            for name, unit, _ in metrics:
                d = defs.get((name, unit))
                if d is None:
                    d = defs[(name, unit)] = {"Name": name, "Unit": unit, **({"StorageResolution": 1} if resolution == 1 else {})}
                definitions.append(d)
            doc: dict[str, Any] = {"_aws": {"Timestamp": int(ts * 1000), "CloudWatchMetrics": [
                {"Namespace": namespace, "Dimensions": [[k for k, _ in dims]], "Metrics": definitions}]}}
            doc.update(dims)
            for name, _, values in metrics:
                doc[name] = values[0] if len(values) == 1 else values
            docs.append(doc)
            continue
        open_docs: list[dict[str, Any]] = []
        for name, unit, values in metrics:
            for i in range(0, len(values), EMF_MAX_VALUES):
                part = values[i:i + EMF_MAX_VALUES]
                target = None
                for doc in open_docs:
                    if name not in doc and len(doc["_aws"]["CloudWatchMetrics"][0]["Metrics"]) < EMF_MAX_METRICS:
                        target = doc
                        break
                if target is None:
                    target = {"_aws": {"Timestamp": int(ts * 1000), "CloudWatchMetrics": [
                        {"Namespace": namespace, "Dimensions": [[k for k, _ in dims]], "Metrics": []}]}}
                    target.update(dims)
                    open_docs.append(target)
                definition: dict[str, Any] = {"Name": name, "Unit": unit}
                if resolution == 1:
                    definition["StorageResolution"] = 1
                target["_aws"]["CloudWatchMetrics"][0]["Metrics"].append(definition)
                target[name] = part[0] if len(part) == 1 else part
        docs.extend(open_docs)
    return docs


_definitions: dict[int, dict[tuple[str, str], dict[str, Any]]] = {}  # resolution -> (name, unit) -> definition


def write_emf(docs: Iterable[dict[str, Any]], write: Callable[[str], Any] | None = None) -> int:
    """Print each document as one line on stdout, which Lambda sends to its log group
    (one write for the whole batch: the runtime forwards stdout line by line anyway)."""
    lines = [_ENCODE(doc) for doc in docs]
    if lines:
        (write or sys.stdout.write)("\n".join(lines) + "\n")
        if write is None:
            sys.stdout.flush()
    return len(lines)


# One encoder, not one per json.dumps call; NaN can never reach a line (allow_nan=False raises).
# No cycle check: EMF documents are trees built above.
_ENCODE = json.JSONEncoder(separators=(",", ":"), allow_nan=False, check_circular=False).encode
