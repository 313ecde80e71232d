"""CloudWatch alarms on fluentd's metrics (published by lambdas/fluentd_metrics), as data, with
a `terraform plan`/`apply`-like diff against the live account.

The alarms page a person before logs are lost:
  * retries rising: ``retry_count_increase`` Sum > 0 in N consecutive periods (an output that
    keeps failing, not one blip);
  * queued bytes high: ``buffer_total_queued_size`` Maximum above a threshold (during an outage
    ``buffer_queue_length`` can stay at 1 while the bytes grow, so bytes are the signal);
  * buffer space low: ``buffer_available_buffer_space_ratios`` Minimum under 20 %: next comes
    ``BufferOverflowError`` and dropped records;
  * chunks dropped: ``log_retry_limit_hit`` (fluentd gave up on a chunk: those records are lost);
  * insert errors: ``log_insert_errors`` (BigQuery refused rows: lost, unless the chunk went to
    ``<secondary>``);
  * written to secondary: ``log_secondary_written`` (a chunk is in the secondary file, not in
    BigQuery: it waits for a replay);
  * status missing: no ``status_lines`` at all for N periods, missing data breaching: fluentd
    (or its log shipping) is down, which no per-plugin alarm can see;
  * error events: ``log_error_events`` (records fluentd could not route or buffer went to the
    ``@ERROR`` label, or only into its own log);
  * metrics over budget: ``metrics_over_budget`` (the Lambda dropped metrics to bound the bill:
    a forged flood, or a fleet that outgrew the budget).
The last three have no PluginId. lambdas/README.md's metric table says what each one asks of
the person it pages.

The same alarms exist as Terraform (deploy/terraform/logbridge/alarms.tf); a test keeps both
and the handler's metric names in step. boto3 is imported only when talking to AWS.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

RETRIES_METRIC = "retry_count_increase"
QUEUED_BYTES_METRIC = "buffer_total_queued_size"
SPACE_METRIC = "buffer_available_buffer_space_ratios"
DROPPED_METRIC = "log_retry_limit_hit"
INSERT_ERRORS_METRIC = "log_insert_errors"
SECONDARY_METRIC = "log_secondary_written"
STATUS_METRIC = "status_lines"
ERROR_EVENTS_METRIC = "log_error_events"
OVER_BUDGET_METRIC = "metrics_over_budget"
METRIC_NAMES = (RETRIES_METRIC, QUEUED_BYTES_METRIC, SPACE_METRIC, DROPPED_METRIC, INSERT_ERRORS_METRIC,
                SECONDARY_METRIC, STATUS_METRIC, ERROR_EVENTS_METRIC, OVER_BUDGET_METRIC)

# Alarms on a count of events that must not happen at all: Sum > 0 in one period. Per watched
# output: (name suffix, metric, what it means). Then the ones without PluginId.
_EVENT_ALARMS = (
    ("chunks-dropped", DROPPED_METRIC, ("fluentd output {pid} hit its retry limit and dropped the chunks in its "
     "buffer queue: those records are lost (fluentd's log line says how many).")),
    ("insert-errors", INSERT_ERRORS_METRIC, ("fluentd output {pid} had rows refused by BigQuery (insert errors): "
     "without a <secondary> those rows are lost; the warn line names the rows and reasons.")),
    ("secondary-written", SECONDARY_METRIC, ("fluentd output {pid} wrote a chunk to its <secondary> file: the "
     "records are not in BigQuery and wait for a replay (shipper load).")),
)
_GLOBAL_EVENT_ALARMS = (
    ("error-events", ERROR_EVENTS_METRIC, ("fluentd sent records to its @ERROR label (or only into its own log): "
     "they are not in BigQuery and wait for a replay.")),
    ("metrics-over-budget", OVER_BUDGET_METRIC, ("The fluentd metrics Lambda dropped metrics over its cardinality "
     "budget: forged status records, or a fleet that outgrew METRICS_MAX_METRICS_*.")),
)

_PLUGIN_ID = re.compile(r"[\x21-\x7e]{1,255}\Z")
_PREFIX = re.compile(r"[A-Za-z0-9_.\-/]{1,100}\Z")

CREATE, UPDATE, UNCHANGED, DELETE = "create", "update", "unchanged", "delete"


class AlarmError(ValueError):
    """Settings that cannot make sensible alarms, or an AWS call that failed."""


@dataclass(frozen=True)
class AlarmSettings:
    plugin_ids: tuple[str, ...]  # the outputs to watch, e.g. ("out_bigquery_access",)
    namespace: str = "fluentd"
    prefix: str = "fluentd"
    period: int = 60
    retry_periods: int = 3
    queued_bytes_threshold: float = 64 * 1024 * 1024
    space_ratio_threshold: float = 20.0
    missing_periods: int = 5
    actions: tuple[str, ...] = ()  # SNS topic ARNs (alarm and OK)

    def check(self) -> None:
        if not self.plugin_ids:
            raise AlarmError("at least one --plugin-id (an output's @id) is needed")
        for pid in self.plugin_ids:
            if not _PLUGIN_ID.match(pid):
                raise AlarmError(f"plugin id {pid!r}: 1-255 printable characters, no spaces")
        if not _PREFIX.match(self.prefix):
            raise AlarmError(f"prefix {self.prefix!r}: letters, digits, _ . - / only")
        if self.period < 60 or self.period % 60:
            raise AlarmError("period: a multiple of 60 seconds (metrics are standard resolution)")
        for name in ("retry_periods", "missing_periods"):
            n = getattr(self, name)
            if not 1 <= n <= 1440 * 60 // self.period:
                raise AlarmError(f"{name}: at least 1, at most one day of periods")
        if self.queued_bytes_threshold <= 0:
            raise AlarmError("queued bytes threshold: more than 0")
        if not 0 < self.space_ratio_threshold < 100:
            raise AlarmError("available buffer space threshold: a percentage between 0 and 100")
        for arn in self.actions:
            if not arn.startswith("arn:"):
                raise AlarmError(f"alarm action {arn!r} is not an ARN")


@dataclass(frozen=True)
class AlarmSpec:
    """One alarm, in PutMetricAlarm's terms."""

    name: str
    description: str
    namespace: str
    metric_name: str
    statistic: str
    dimensions: tuple[tuple[str, str], ...]
    period: int
    evaluation_periods: int
    datapoints_to_alarm: int
    threshold: float
    comparison: str
    treat_missing_data: str
    actions: tuple[str, ...] = field(default=())

    def request(self) -> dict[str, Any]:
        return {
            "AlarmName": self.name,
            "AlarmDescription": self.description,
            "ActionsEnabled": True,
            "AlarmActions": list(self.actions),
            "OKActions": list(self.actions),
            "Namespace": self.namespace,
            "MetricName": self.metric_name,
            "Dimensions": [{"Name": k, "Value": v} for k, v in self.dimensions],
            "Statistic": self.statistic,
            "Period": self.period,
            "EvaluationPeriods": self.evaluation_periods,
            "DatapointsToAlarm": self.datapoints_to_alarm,
            "Threshold": float(self.threshold),
            "ComparisonOperator": self.comparison,
            "TreatMissingData": self.treat_missing_data,
        }


def desired_alarms(s: AlarmSettings) -> list[AlarmSpec]:
    s.check()
    specs: list[AlarmSpec] = []
    for pid in s.plugin_ids:
        dims = (("PluginId", pid),)
        base = {"namespace": s.namespace, "dimensions": dims, "period": s.period, "actions": s.actions,
                "treat_missing_data": "notBreaching"}
        specs.append(AlarmSpec(
            name=f"{s.prefix}-{pid}-retries-rising",
            description=f"fluentd output {pid} retried in each of {s.retry_periods} periods of {s.period}s: "
                        "its destination keeps failing; chunks are dropped when retries run out.",
            metric_name=RETRIES_METRIC, statistic="Sum", evaluation_periods=s.retry_periods,
            datapoints_to_alarm=s.retry_periods, threshold=0, comparison="GreaterThanThreshold", **base))
        specs.append(AlarmSpec(
            name=f"{s.prefix}-{pid}-queued-bytes-high",
            description=f"fluentd output {pid} holds more than {int(s.queued_bytes_threshold)} bytes in its buffer.",
            metric_name=QUEUED_BYTES_METRIC, statistic="Maximum", evaluation_periods=3, datapoints_to_alarm=3,
            threshold=s.queued_bytes_threshold, comparison="GreaterThanThreshold", **base))
        specs.append(AlarmSpec(
            name=f"{s.prefix}-{pid}-buffer-space-low",
            description=f"fluentd output {pid} has less than {s.space_ratio_threshold:g}% buffer space left; "
                        "when it is full, records are refused (buffer overflow).",
            metric_name=SPACE_METRIC, statistic="Minimum", evaluation_periods=2, datapoints_to_alarm=2,
            threshold=s.space_ratio_threshold, comparison="LessThanThreshold", **base))
        for suffix, metric, text in _EVENT_ALARMS:
            specs.append(AlarmSpec(
                name=f"{s.prefix}-{pid}-{suffix}", description=text.format(pid=pid), metric_name=metric,
                statistic="Sum", evaluation_periods=1, datapoints_to_alarm=1, threshold=0,
                comparison="GreaterThanThreshold", **base))
    specs.append(AlarmSpec(
        name=f"{s.prefix}-status-missing",
        description=f"No fluentd monitor_agent status line for {s.missing_periods} periods of {s.period}s: "
                    "fluentd, its log shipping or the metrics Lambda is down.",
        namespace=s.namespace, metric_name=STATUS_METRIC, statistic="SampleCount", dimensions=(),
        period=s.period, evaluation_periods=s.missing_periods, datapoints_to_alarm=s.missing_periods,
        threshold=1, comparison="LessThanThreshold", treat_missing_data="breaching", actions=s.actions))
    for suffix, metric, text in _GLOBAL_EVENT_ALARMS:
        specs.append(AlarmSpec(
            name=f"{s.prefix}-{suffix}", description=text, namespace=s.namespace, metric_name=metric,
            statistic="Sum", dimensions=(), period=s.period, evaluation_periods=1, datapoints_to_alarm=1,
            threshold=0, comparison="GreaterThanThreshold", treat_missing_data="notBreaching", actions=s.actions))
    return specs


@dataclass(frozen=True)
class Change:
    action: str
    name: str
    spec: AlarmSpec | None
    diffs: tuple[str, ...] = ()


@dataclass(frozen=True)
class Plan:
    changes: tuple[Change, ...]

    def count(self, action: str) -> int:
        return sum(1 for c in self.changes if c.action == action)


_COMPARED = ("AlarmDescription", "ActionsEnabled", "AlarmActions", "OKActions", "Namespace", "MetricName",
             "Dimensions", "Statistic", "Period", "EvaluationPeriods", "DatapointsToAlarm", "Threshold",
             "ComparisonOperator", "TreatMissingData")


def _norm(key: str, value: Any) -> Any:
    if key == "Dimensions":
        return sorted((d["Name"], d["Value"]) for d in value or [])
    if key in ("AlarmActions", "OKActions"):
        return sorted(value or [])
    if key == "Threshold":
        return float(value)
    if key == "DatapointsToAlarm" and value is None:
        return None
    return value


def client(region: str | None = None, endpoint_url: str | None = None) -> Any:
    import boto3

    return boto3.client("cloudwatch", region_name=region, endpoint_url=endpoint_url)


def live_alarms(cw: Any, prefix: str) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for page in cw.get_paginator("describe_alarms").paginate(AlarmNamePrefix=f"{prefix}-", AlarmTypes=["MetricAlarm"]):
        for a in page.get("MetricAlarms", []):
            out[a["AlarmName"]] = a
    return out


def plan(cw: Any, settings: AlarmSettings, prune: bool = False) -> Plan:
    """Compare the desired alarms with the live ones whose names start with ``prefix-``. Alarms
    under the prefix that are no longer desired are deleted only with ``prune``."""
    specs = desired_alarms(settings)
    live = _call(live_alarms, cw, settings.prefix)
    changes: list[Change] = []
    for spec in specs:
        have = live.get(spec.name)
        want = spec.request()
        if have is None:
            changes.append(Change(CREATE, spec.name, spec))
            continue
        diffs = tuple(f"{k}: {_norm(k, have.get(k))!r} -> {_norm(k, want[k])!r}"
                      for k in _COMPARED if _norm(k, have.get(k)) != _norm(k, want[k]))
        changes.append(Change(UPDATE if diffs else UNCHANGED, spec.name, spec, diffs))
    if prune:
        wanted = {s.name for s in specs}
        changes.extend(Change(DELETE, name, None) for name in sorted(live) if name not in wanted)
    return Plan(tuple(changes))


def apply(cw: Any, p: Plan) -> list[str]:
    done: list[str] = []
    for c in p.changes:
        if c.action in (CREATE, UPDATE) and c.spec is not None:
            _call(cw.put_metric_alarm, **c.spec.request())
            done.append(c.name)
    doomed = [c.name for c in p.changes if c.action == DELETE]
    for i in range(0, len(doomed), 100):  # DeleteAlarms takes at most 100 names
        _call(cw.delete_alarms, AlarmNames=doomed[i:i + 100])
        done.extend(doomed[i:i + 100])
    return done


def watched_plugins(cw: Any, namespace: str = "fluentd") -> tuple[str, ...]:
    """PluginIds that publish buffer or retry metrics (the outputs), as listed by CloudWatch."""
    found: set[str] = set()
    for metric in (RETRIES_METRIC, QUEUED_BYTES_METRIC, SPACE_METRIC):
        pages = _call(lambda m=metric: list(cw.get_paginator("list_metrics").paginate(Namespace=namespace, MetricName=m)))
        for page in pages:
            for m in page.get("Metrics", []):
                found.update(d["Value"] for d in m.get("Dimensions", []) if d["Name"] == "PluginId")
    return tuple(sorted(found))


_COMPARE = {
    "GreaterThanThreshold": lambda v, t: v > t,
    "GreaterThanOrEqualToThreshold": lambda v, t: v >= t,
    "LessThanThreshold": lambda v, t: v < t,
    "LessThanOrEqualToThreshold": lambda v, t: v <= t,
}


def would_fire(cw: Any, settings: AlarmSettings | None = None, start: Any = None, end: Any = None) -> list[str]:
    """Which alarms would have gone to ALARM on the data points stored between ``start`` and
    ``end`` (default: the last three hours), and when first: CloudWatch's M-of-N evaluation
    replayed on GetMetricData. For stand-ins such as moto, which store metrics but never
    evaluate alarms. ``settings`` defaults to every output that published metrics. Missing
    periods count only from the first stored data point on."""
    from datetime import datetime, timedelta, timezone

    end = end or datetime.now(timezone.utc)
    start = start or end - timedelta(hours=3)
    if settings is None:
        plugins = watched_plugins(cw)
        if not plugins:
            return []
        settings = AlarmSettings(plugin_ids=plugins)
    fired: list[str] = []
    for spec in desired_alarms(settings):
        query = {"Id": "m", "MetricStat": {"Metric": {"Namespace": spec.namespace, "MetricName": spec.metric_name,
                 "Dimensions": [{"Name": k, "Value": v} for k, v in spec.dimensions]},
                 "Period": spec.period, "Stat": spec.statistic}}
        resp = _call(cw.get_metric_data, MetricDataQueries=[query], StartTime=start, EndTime=end)
        res = resp["MetricDataResults"][0]
        points = {int(t.timestamp()) // spec.period: v for t, v in zip(res["Timestamps"], res["Values"])}
        if not points:
            continue
        first, last = min(points), int(end.timestamp()) // spec.period - 1  # the last whole period
        breach = []
        for p in range(first, last + 1):
            v = points.get(p)
            breach.append(spec.treat_missing_data == "breaching" if v is None
                          else _COMPARE[spec.comparison](v, spec.threshold))
        n, m = spec.evaluation_periods, spec.datapoints_to_alarm
        for i in range(n - 1, len(breach)):
            if sum(breach[i - n + 1:i + 1]) >= m:
                at = datetime.fromtimestamp((first + i + 1) * spec.period, tz=timezone.utc)
                fired.append(f"{spec.name}: ALARM at {at:%Y-%m-%d %H:%M} UTC ({spec.statistic} of "
                             f"{spec.metric_name} {spec.comparison} {spec.threshold:g} in {m} of {n} periods)")
                break
    return fired


def describe(c: Change) -> list[str]:
    mark = {CREATE: "+", UPDATE: "~", UNCHANGED: "=", DELETE: "-"}[c.action]
    lines = [f"{mark} {c.action} {c.name}"]
    lines.extend(f"    {d}" for d in c.diffs)
    return lines


def _call(fn: Any, *args: Any, **kwargs: Any) -> Any:
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        return fn(*args, **kwargs)
    except (BotoCoreError, ClientError) as exc:
        raise AlarmError(f"CloudWatch: {exc}") from None


__all__ = [
    "METRIC_NAMES",
    "AlarmError",
    "AlarmSettings",
    "AlarmSpec",
    "Change",
    "Plan",
    "apply",
    "client",
    "describe",
    "desired_alarms",
    "plan",
    "watched_plugins",
    "would_fire",
]
