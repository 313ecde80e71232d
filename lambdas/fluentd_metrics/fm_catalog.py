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
# from the name; anything else is ignored, so a hostile record cannot create metrics (and cost)
# without bound. At most MAX_UNKNOWN_KEYS per line.
UNKNOWN_KEY_RE = re.compile(
    r"(?:(?:buffer|retry|flush|emit|write|rollback|slow_flush|drop)_[a-z0-9_]{1,100}"
    r"|[a-z0-9_]{1,100}_(?:count|size|length|ratios?))\Z"
)
MAX_UNKNOWN_KEYS = 16

INCREASE_SUFFIX = "_increase"

# fluentd's own log lines, counted per plugin (see fm_lines.LOG_EVENTS).
LOG_EVENT_METRICS: dict[str, str] = {
    "flush_failed": "log_flush_failed",
    "retry_succeeded": "log_retry_succeeded",
    "retry_limit_hit": "log_retry_limit_hit",
    "buffer_overflow": "log_buffer_overflow",
    "slow_flush": "log_slow_flush",
}

# One data point (value 1) per status line, without PluginId: its absence means fluentd is down.
STATUS_LINES = "status_lines"


def guess_unit(key: str) -> str:
    if key.endswith(("_size", "_bytes")):
        return "Bytes"
    if key.endswith(("_ratio", "_ratios")):
        return "Percent"
    return "Count"


def all_metric_names() -> set[str]:
    """Every name the handler can publish for the known keys."""
    names = set(COUNTERS) | set(GAUGES) | {STATUS_LINES}
    names |= {k + INCREASE_SUFFIX for k in COUNTERS}
    names |= set(LOG_EVENT_METRICS.values())
    return names


def unit_of(name: str) -> str:
    if name in COUNTERS:
        return COUNTERS[name]
    if name in GAUGES:
        return GAUGES[name]
    if name.endswith(INCREASE_SUFFIX) and name[: -len(INCREASE_SUFFIX)] in COUNTERS:
        return COUNTERS[name[: -len(INCREASE_SUFFIX)]]
    if name == STATUS_LINES or name in _LOG_NAMES:
        return "Count"
    return guess_unit(name)


_LOG_NAMES = frozenset(LOG_EVENT_METRICS.values())
