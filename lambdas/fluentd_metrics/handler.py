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
from fm_config import Config
from fm_fold import Folder, Previous
from fm_lines import LogEvent, Status, parse_line

CLOCK = time.time  # "now" for CloudWatch's timestamp window; tests set it to replay old fixtures
MAX_LOGGED_SKIPS = 10  # per invocation: enough to diagnose, bounded under a flood of garbage

_config: Config | None = None
_client: Any = None
# Last counter values per (log group, log stream, plugin id), kept while this container is warm.
_state: dict[tuple[str, str, str], Previous] = {}


class MetricsPublishError(RuntimeError):
    """Some PutMetricData calls failed for good and METRICS_ON_API_FAILURE=raise."""


def config() -> Config:
    global _config
    if _config is None:
        _config = Config.from_env()
    return _config


def reset() -> None:
    """Forget settings, client and carried state, as a cold start would (tests, benchmarks)."""
    global _config, _client
    _config = None
    _client = None
    _state.clear()


def client(cfg: Config) -> Any:
    """The CloudWatch client, created once per container. botocore's standard retry mode backs
    off exponentially with jitter on throttling (Throttling, 429) and 5xx.

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
            retries={"mode": "standard", "total_max_attempts": cfg.max_attempts},
            connect_timeout=5, read_timeout=15, parameter_validation=False,
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


def handler(event: Any, context: Any = None) -> dict[str, Any]:
    # A batch allocates a dict per line and frees it by reference counting (nothing here makes
    # reference cycles); the cyclic collector would only re-scan them: about a fifth of the CPU
    # of a 10,000-line batch. Paused for the invocation, restored as it was.
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _handle(event)
    finally:
        if was_enabled:
            gc.enable()


def _handle(event: Any) -> dict[str, Any]:
    started, cpu_started = time.perf_counter(), time.thread_time()
    cfg = config()
    summary: dict[str, Any] = {"msg": "fluentd_metrics summary", "level": "info", "mode": cfg.mode}
    try:
        payload = decode(event)
    except (KeyError, TypeError, ValueError, binascii.Error, OSError, EOFError, zlib.error) as exc:
        # A payload that cannot be decoded will not decode on a retry either: log, do not raise.
        summary.update(level="error", error=f"undecodable event: {type(exc).__name__}: {exc}"[:300])
        return _finish(summary, started, cpu_started)
    kind = payload.get("messageType")
    summary["message_type"] = kind
    if kind != "DATA_MESSAGE":
        # CONTROL_MESSAGE: CloudWatch Logs checking that the destination is reachable.
        summary["lines"] = 0
        return _finish(summary, started, cpu_started)
    group = str(payload.get("logGroup") or "")[:512]
    stream = str(payload.get("logStream") or "")[:512]
    summary.update(log_group=group, log_stream=stream)
    state = _state if cfg.carry_state else {}
    folder = Folder(cfg, CLOCK(), state, group or "-", stream or "-")
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
                   counter_resets=stats.counter_resets, metrics=n_metrics,
                   values=n_values, api_calls=0, api_retries=0, emf_lines=0)
    failure: str | None = None
    if cfg.mode == "emf":
        summary["emf_lines"] = fm_publish.write_emf(
            fm_publish.emf_from_series(cfg.namespace, series, cfg.storage_resolution))
    elif datums:
        res = fm_publish.publish_api(client(cfg), cfg.namespace, datums, cfg.storage_resolution)
        summary.update(api_calls=res.calls, api_retries=res.retries, failed_calls=res.failed_calls)
        if res.failed:
            summary.update(level="error", errors=res.errors[:5], failed_metrics=len(res.failed))
            if cfg.on_api_failure == "emf":
                # Same data points, same timestamps, through the Lambda's own log group: nothing
                # lost, and nothing doubled (the calls that succeeded are not repeated).
                summary["emf_fallback_lines"] = fm_publish.write_emf(
                    fm_publish.emf_documents(cfg.namespace, res.failed, cfg.storage_resolution))
            else:
                failure = f"{res.failed_calls} of {res.calls} PutMetricData call(s) failed"
    _finish(summary, started, cpu_started)
    if failure:
        raise MetricsPublishError(failure)
    return summary


def _finish(summary: dict[str, Any], started: float, cpu_started: float) -> dict[str, Any]:
    summary["duration_ms"] = round((time.perf_counter() - started) * 1000, 3)
    summary["cpu_ms"] = round((time.thread_time() - cpu_started) * 1000, 3)  # this invocation's thread
    _log(summary)
    return summary
