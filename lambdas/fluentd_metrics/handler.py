"""AWS Lambda entry point: fluentd's CloudWatch Logs lines in, CloudWatch metrics out.

Subscribed to fluentd's log group (filter pattern in subscription_filter_pattern.txt), it gets
batches of monitor_agent status lines and fluentd's own warn/error lines, and publishes buffer,
retry and flush metrics per plugin so that alarms page a person before logs are lost.

Handler: ``handler.handler``. Only the standard library and the runtime's boto3/botocore are used,
and boto3 is imported on the first API call only (EMF mode never imports it).
Settings (environment): see fm_config.Config and lambdas/README.md.
"""

from __future__ import annotations

import base64
import binascii
import gc
import gzip
import json
import sys
import time
import zlib
from typing import Any

import fm_publish
from fm_budget import Window
from fm_config import Config
from fm_fold import Folder, Previous
from fm_lines import LogEvent, Status, parse_line

CLOCK = time.time  # "now" for CloudWatch's timestamp window; tests set it to replay old fixtures
MONOTONIC = time.monotonic  # for deadlines and the cooldown
MAX_LOGGED_SKIPS = 10  # per invocation: enough to diagnose, bounded under a flood of garbage
# Without a Lambda context (a local run, a test): the remaining time assumed, the Terraform
# module's default function timeout.
DEFAULT_REMAINING_MS = 60_000
# An attempt's longest time beyond the connect and read timeouts: signing, sending the body.
ATTEMPT_MARGIN_SECONDS = 1.0

_config: Config | None = None
_client: Any = None
# Last counter values per (log group, log stream, plugin id), kept while this container is warm.
_state: dict[tuple[str, str, str], Previous] = {}
# The cardinality budget's count of this clock hour (fm_budget), kept while this container is warm.
_window = Window()
# Until when (MONOTONIC) PutMetricData is not tried: CloudWatch did not answer a moment ago.
_api_down_until = 0.0


class MetricsPublishError(RuntimeError):
    """Some PutMetricData calls failed for good and METRICS_ON_API_FAILURE=raise."""


def config() -> Config:
    global _config
    if _config is None:
        _config = Config.from_env()
    return _config


def reset() -> None:
    """Forget settings, client and carried state, as a cold start would (tests, benchmarks)."""
    global _config, _client, _window, _api_down_until
    _config = None
    _client = None
    _state.clear()
    _window = Window()
    _api_down_until = 0.0


def client(cfg: Config) -> Any:
    """The CloudWatch client, created once per container, with one attempt per call and short
    timeouts: fm_publish.publish_api retries (throttling, 5xx, network) itself, so that every
    attempt and every backoff fits the invocation's deadline.

    botocore's client-side parameter validation is off: it walked every value again and cost
    more CPU than the rest of the handler, and the data points are built valid here (names and
    dimension values checked, values finite and within ±2^360, ≤ 150 values per datum,
    timestamps inside CloudWatch's window). CloudWatch still validates on its side. The
    PutMetricData body itself is encoded by `fm_serialize` (botocore's shape walk was most of the
    handler's CPU in api mode)."""
    global _client
    if _client is None:
        import boto3
        from botocore.config import Config as BotoConfig
        from fm_serialize import install

        _client = install(boto3.client("cloudwatch", config=BotoConfig(
            retries={"mode": "standard", "total_max_attempts": 1},
            connect_timeout=cfg.connect_timeout, read_timeout=cfg.read_timeout, parameter_validation=False,
            disable_request_compression=True)))  # fm_serialize gzips, at a cheaper level
    return _client


def decode(event: Any) -> dict[str, Any]:
    """``{"awslogs": {"data": base64(gzip(JSON))}}`` -> the JSON object."""
    data = event["awslogs"]["data"]
    payload = json.loads(gzip.decompress(base64.b64decode(data, validate=True)))
    if not isinstance(payload, dict):
        raise ValueError("payload is not a JSON object")  # noqa: TRY004 (caught with the decode errors)
    return payload


def _log(record: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(record, separators=(",", ":"), default=str) + "\n")


def remaining_seconds(context: Any) -> float:
    """The invocation's time left (Lambda's context), or DEFAULT_REMAINING_MS without one."""
    get = getattr(context, "get_remaining_time_in_millis", None)
    if get is None:
        return DEFAULT_REMAINING_MS / 1000
    try:
        return max(0.0, float(get()) / 1000)
    except (TypeError, ValueError):
        return DEFAULT_REMAINING_MS / 1000


def handler(event: Any, context: Any = None) -> dict[str, Any]:
    # A batch allocates a dict per line and frees it by reference counting (nothing here makes
    # reference cycles); the cyclic collector would only re-scan them: about a fifth of the CPU
    # of a 10,000-line batch. Paused for the invocation, restored as it was.
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _handle(event, MONOTONIC() + remaining_seconds(context))
    finally:
        if was_enabled:
            gc.enable()


def _text(value: Any, limit: int = 512) -> str:
    """A payload field as text, or "" (never str() of a container: its repr recurses)."""
    return value[:limit] if isinstance(value, str) else ""


def _handle(event: Any, end: float) -> dict[str, Any]:
    """`end`: the MONOTONIC time at which Lambda stops this invocation."""
    global _api_down_until
    started, cpu_started = time.perf_counter(), time.thread_time()
    cfg = config()
    summary: dict[str, Any] = {"msg": "fluentd_metrics summary", "level": "info", "mode": cfg.mode}
    try:
        payload = decode(event)
    except RecursionError:
        # JSON nested deeper than the decoder goes (a valid payload is three levels deep):
        # rejected, logged, counted; a retry would fail the same way.
        summary.update(level="error", rejected="too_deep", error="undecodable event: JSON nested too deep")
        return _finish(summary, started, cpu_started)
    except (KeyError, TypeError, ValueError, binascii.Error, OSError, EOFError, zlib.error, MemoryError) as exc:
        # A payload that cannot be decoded will not decode on a retry either: log, do not raise.
        summary.update(level="error", rejected="undecodable",
                       error=f"undecodable event: {type(exc).__name__}: {exc}"[:300])
        return _finish(summary, started, cpu_started)
    kind = _text(payload.get("messageType"), 100)
    summary["message_type"] = kind
    if kind != "DATA_MESSAGE":
        # CONTROL_MESSAGE: CloudWatch Logs checking that the destination is reachable.
        summary["lines"] = 0
        return _finish(summary, started, cpu_started)
    group = _text(payload.get("logGroup"))
    stream = _text(payload.get("logStream"))
    summary.update(log_group=group, log_stream=stream)
    state = _state if cfg.carry_state else {}
    folder = Folder(cfg, CLOCK(), state, group or "-", stream or "-", window=_window)
    stats = folder.stats
    lines = 0
    logged = 0
    events = payload.get("logEvents")
    add_status, add_log_event = folder.add_status, folder.add_log_event  # bound once, not per line
    for ev in events if isinstance(events, list) else ():
        message = ev.get("message") if isinstance(ev, dict) else None
        parts = (message.split("\n") if isinstance(message, str) and "\n" in message
                 and "\n" in message.rstrip("\n") else (message,))
        for line in parts:
            lines += 1
            try:
                parsed = parse_line(line)  # type: ignore[arg-type]
                if type(parsed) is Status:
                    add_status(parsed)
                    continue
                if type(parsed) is LogEvent:
                    add_log_event(parsed)
                    continue
                reason = parsed.reason  # type: ignore[union-attr]
            except Exception as exc:  # noqa: BLE001 - a bug must cost one line, not the batch (it is logged)
                reason = "internal_error"
                _log({"msg": "line failed", "level": "error", "error": f"{type(exc).__name__}: {exc}"[:300]})
            stats.skip(reason)
            if logged < MAX_LOGGED_SKIPS and reason not in ("backtrace", "empty"):
                logged += 1
                _log({"msg": "skipped line", "level": "warning", "reason": reason, "line": str(line)[:300]})
    if cfg.mode == "emf":
        series = list(folder.series())
        n_metrics = sum(len(m) for _, _, m in series)
        n_values = sum(len(v) for _, _, m in series for _, _, v in m)
        datums = []
    else:
        datums = folder.datums()
        n_metrics, n_values = len(datums), sum(len(d.values) for d in datums)
    for error in folder.errors[:MAX_LOGGED_SKIPS]:
        _log({"msg": "plugin lines failed", "level": "error", "error": error})
    summary.update(lines=lines, status_lines=stats.status_lines, log_event_lines=stats.log_event_lines,
                   skipped=sum(stats.skipped.values()), skipped_by_reason=dict(sorted(stats.skipped.items())),
                   dropped_values=stats.dropped_values, ignored_keys=stats.ignored_keys,
                   reserved_keys=stats.reserved_keys, over_budget_metrics=stats.over_budget_metrics,
                   counter_resets=stats.counter_resets, metrics=n_metrics,
                   values=n_values, api_calls=0, api_retries=0, emf_lines=0)
    if stats.over_budget_metrics:
        over = sorted(folder.budget.dropped.items(), key=lambda kv: -len(kv[1]))[:MAX_LOGGED_SKIPS]
        _log({"msg": "metrics over budget", "level": "warning", "dropped_metrics": stats.over_budget_metrics,
              "plugins": {pid[:100]: len(names) for pid, names in over}})
    failure: str | None = None
    if cfg.mode == "emf":
        summary["emf_lines"] = fm_publish.write_emf(
            fm_publish.emf_from_series(cfg.namespace, series, cfg.storage_resolution))
    elif datums:
        if MONOTONIC() < _api_down_until:
            # CloudWatch did not answer a moment ago: do not wait out the timeouts again.
            res = fm_publish.ApiResult(skipped_calls=len(fm_publish.batches(datums)), failed=list(datums))
            res.errors.append("PutMetricData not tried: CloudWatch did not answer within the last "
                              f"{cfg.api_cooldown:g} s (METRICS_API_COOLDOWN_SECONDS)")
            summary["api_skipped"] = "cooldown"
        else:
            res = fm_publish.publish_api(
                client(cfg), cfg.namespace, datums, cfg.storage_resolution,
                deadline=end - cfg.deadline_reserve, max_attempts=cfg.max_attempts,
                attempt_seconds=cfg.connect_timeout + cfg.read_timeout + ATTEMPT_MARGIN_SECONDS, clock=MONOTONIC)
            if res.unreachable:
                _api_down_until = MONOTONIC() + cfg.api_cooldown
        summary.update(api_calls=res.calls, api_retries=res.retries, failed_calls=res.failed_calls,
                       skipped_calls=res.skipped_calls)
        if res.failed:
            summary.update(level="error", errors=res.errors[:5], failed_metrics=len(res.failed))
            if cfg.on_api_failure == "emf":
                # Same data points, same timestamps, through the Lambda's own log group: nothing
                # lost, and nothing doubled (the calls that succeeded are not repeated).
                summary["emf_fallback_lines"] = fm_publish.write_emf(
                    fm_publish.emf_documents(cfg.namespace, res.failed, cfg.storage_resolution))
            else:
                failure = (f"{res.failed_calls} of {res.calls} PutMetricData call(s) failed, "
                           f"{res.skipped_calls} not sent")
    _finish(summary, started, cpu_started)
    if failure:
        raise MetricsPublishError(failure)
    return summary


def _finish(summary: dict[str, Any], started: float, cpu_started: float) -> dict[str, Any]:
    summary["duration_ms"] = round((time.perf_counter() - started) * 1000, 3)
    summary["cpu_ms"] = round((time.thread_time() - cpu_started) * 1000, 3)  # this invocation's thread
    _log(summary)
    return summary
