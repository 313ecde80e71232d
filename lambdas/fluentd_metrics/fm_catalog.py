"""Which metrics the handler publishes, under which names and units.

This is the one list that alarms (``shipper/alarms.py``, ``deploy/terraform/logbridge/alarms.tf``)
are checked against by a test, so a renamed metric cannot silently leave an alarm watching nothing.
"""

from __future__ import annotations

import re

# monitor_agent keys that only ever grow while fluentd runs (they restart from 0 with fluentd).
COUNTERS: dict[str, str] = {
    "retry_count": "Count",
    "rollback_count": "Count",
    "write_count": "Count",
    "write_secondary_count": "Count",
    "emit_records": "Count",
    "emit_count": "Count",
    "emit_size": "Bytes",
    "slow_flush_count": "Count",
    "flush_time_count": "Milliseconds",  # fluentd sums flush durations in ms
    "drop_oldest_chunk_count": "Count",
}

# monitor_agent keys that are a level at the time of the line.
GAUGES: dict[str, str] = {
    "buffer_queue_length": "Count",
    "buffer_stage_length": "Count",
    "buffer_total_queued_size": "Bytes",
    "buffer_stage_byte_size": "Bytes",
    "buffer_queue_byte_size": "Bytes",
    "buffer_available_buffer_space_ratios": "Percent",  # 100.0 = empty buffer
    "healthy_nodes_count": "Count",
    "registered_nodes_count": "Count",
}

# Numbers that are not quantities: epoch times of time-keyed buffers.
NOT_METRICS = frozenset({"buffer_oldest_timekey", "buffer_newest_timekey"})

# A plugin may report numeric keys this list does not know yet (fluentd adds some over releases).
# Those that look like buffer/retry/flush quantities are published as gauges with a unit guessed
# from the name; anything else is ignored. At most MAX_UNKNOWN_KEYS per record shape; the
# cardinality budget (fm_budget) bounds what all records together can create.
UNKNOWN_KEY_RE = re.compile(
    r"(?:(?:buffer|retry|flush|emit|write|rollback|slow_flush|drop)_[a-z0-9_]{1,100}"
    r"|[a-z0-9_]{1,100}_(?:count|size|length|ratios?))\Z"
)
MAX_UNKNOWN_KEYS = 16

INCREASE_SUFFIX = "_increase"

# fluentd's own log lines, counted per plugin (see fm_lines.LOG_EVENTS): event name -> metric.
LOG_EVENT_METRICS: dict[str, str] = {
    "flush_failed": "log_flush_failed",
    "retry_succeeded": "log_retry_succeeded",
    "retry_limit_hit": "log_retry_limit_hit",
    "buffer_overflow": "log_buffer_overflow",
    "slow_flush": "log_slow_flush",
    # fluent-plugin-bigquery's `insert errors` warn line: one insertAll request whose rows were
    # refused (lost, unless allow_retry_insert_errors sends the chunk to <secondary>).
    "insert_errors": "log_insert_errors",
    # a chunk written to <secondary> ("retry succeeded by secondary.", or "Skip retry and flush
    # chunk to secondary" after an unrecoverable error): it is in the secondary file, NOT in the
    # destination, and waits for a replay. Never a retry success.
    "to_secondary": "log_secondary_written",
}
# The rows named in an `insert errors` line (one per refused row, reason `invalid` or `stopped`).
INSERT_ERROR_ROWS = "log_insert_error_rows"

# fluentd's own log lines that name no plugin (fluentd's router logs them): counted without
# PluginId. "send an error event [stream] to @ERROR" (records handed to the @ERROR label) and
# "dump an error event" (no @ERROR label: the record is only in fluentd's own log).
GLOBAL_LOG_EVENT_METRICS: dict[str, str] = {
    "error_event": "log_error_events",
}

# One data point (value 1) per status line, without PluginId: its absence means fluentd is down.
STATUS_LINES = "status_lines"
# Distinct metrics (name x dimension values) dropped by the cardinality budget in one
# invocation, without PluginId (see fm_budget).
OVER_BUDGET = "metrics_over_budget"

# Names published without PluginId, whatever the input says.
GLOBAL_METRICS = frozenset({STATUS_LINES, OVER_BUDGET, *GLOBAL_LOG_EVENT_METRICS.values()})
LOG_METRICS = frozenset({*LOG_EVENT_METRICS.values(), INSERT_ERROR_ROWS})


def is_reserved(key: str) -> bool:
    """A status-record key that names a metric this handler derives itself (an increase, a log
    count, a global count) is never taken from input: a record carrying
    ``"retry_count_increase": 999`` must not feed the retries-rising alarm."""
    return key.endswith(INCREASE_SUFFIX) or key.startswith("log_") or key in GLOBAL_METRICS


def guess_unit(key: str) -> str:
    if key.endswith(("_size", "_bytes")):
        return "Bytes"
    if key.endswith(("_ratio", "_ratios")):
        return "Percent"
    return "Count"


def all_metric_names() -> set[str]:
    """Every name the handler can publish for the known keys."""
    names = set(COUNTERS) | set(GAUGES) | set(GLOBAL_METRICS) | set(LOG_METRICS)
    names |= {k + INCREASE_SUFFIX for k in COUNTERS}
    return names


def unit_of(name: str) -> str:
    if name in COUNTERS:
        return COUNTERS[name]
    if name in GAUGES:
        return GAUGES[name]
    if name.endswith(INCREASE_SUFFIX) and name[: -len(INCREASE_SUFFIX)] in COUNTERS:
        return COUNTERS[name[: -len(INCREASE_SUFFIX)]]
    if name in GLOBAL_METRICS or name in LOG_METRICS:
        return "Count"
    return guess_unit(name)


# Which of a plugin's metrics the cardinality budget keeps first (lower is kept first): the
# catalog's own names, the ones alarms watch leading, then names guessed from unknown keys.
_ALARMED = ("retry_count_increase", "buffer_total_queued_size", "buffer_available_buffer_space_ratios",
            "log_secondary_written", "log_insert_errors")
PRIORITY: dict[str, int] = {name: i for i, name in enumerate(
    dict.fromkeys([*_ALARMED, *LOG_EVENT_METRICS.values(), INSERT_ERROR_ROWS, *GAUGES,
                   *(k + INCREASE_SUFFIX for k in COUNTERS), *COUNTERS]))}
