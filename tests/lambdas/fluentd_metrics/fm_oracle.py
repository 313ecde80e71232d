"""An independent reading of the fixture lines: what the handler must publish, computed the
plain way (strptime, json.loads, a literal table of units), to compare with what was sent."""

from __future__ import annotations

import json
import re
from collections import defaultdict
from datetime import datetime, timezone

UNITS = {
    "buffer_queue_length": "Count", "buffer_stage_length": "Count",
    "buffer_total_queued_size": "Bytes", "buffer_stage_byte_size": "Bytes", "buffer_queue_byte_size": "Bytes",
    "buffer_available_buffer_space_ratios": "Percent", "healthy_nodes_count": "Count",
    "registered_nodes_count": "Count",
    "retry_count": "Count", "rollback_count": "Count", "write_count": "Count", "write_secondary_count": "Count",
    "emit_records": "Count", "emit_count": "Count", "emit_size": "Bytes", "slow_flush_count": "Count",
    "flush_time_count": "Milliseconds", "drop_oldest_chunk_count": "Count",
}
CUMULATIVE = {"retry_count", "rollback_count", "write_count", "write_secondary_count", "emit_records",
              "emit_count", "emit_size", "slow_flush_count", "flush_time_count", "drop_oldest_chunk_count"}
WARN_RE = re.compile(r"(\S+ \S+) \+0000 \[(\w+)\]: #0 \[(\w+)\] (failed to flush the buffer|retry succeeded)")
WARN_NAMES = {"failed to flush the buffer": "log_flush_failed", "retry succeeded": "log_retry_succeeded"}
# fluentd's router lines about records it could not process: no plugin id, counted without PluginId
ERROR_EVENT_RE = re.compile(r"(\S+ \S+) \+0000 \[warn\]: #0 (dump an error event|send an error event)")


def minute(text: str) -> datetime:
    return datetime.strptime(text[:16], "%Y-%m-%d %H:%M").replace(tzinfo=timezone.utc)


def expected(status_lines: list[str], warn_lines: list[str]) -> dict[tuple[str, str, str, datetime], list[float]]:
    """(metric name, unit, PluginId or '', minute) -> sorted values."""
    out: dict[tuple[str, str, str, datetime], list[float]] = defaultdict(list)
    previous: dict[str, dict[str, float]] = {}
    for line in status_lines:
        head, body = line.split(": ", 1)
        rec = json.loads(body)
        pid, t = rec["plugin_id"], minute(head)
        out[("status_lines", "Count", "", t)].append(1.0)
        now = {}
        for key, unit in UNITS.items():
            if isinstance(rec.get(key), (int, float)):
                out[(key, unit, pid, t)].append(float(rec[key]))
                if key in CUMULATIVE:
                    now[key] = float(rec[key])
        if pid in previous:
            for key, v in now.items():
                out[(key + "_increase", UNITS[key], pid, t)].append(v - previous[pid][key])
        previous[pid] = now
    for line in warn_lines:
        m = WARN_RE.match(line)
        if m:
            out[(WARN_NAMES[m.group(4)], "Count", m.group(3), minute(m.group(1)))].append(1.0)
        m = ERROR_EVENT_RE.match(line)
        if m:
            out[("log_error_events", "Count", "", minute(m.group(1)))].append(1.0)
    return {k: sorted(v) for k, v in out.items()}
