"""Constants that more than one part of logbridge must agree on, written once.

Nothing here imports anything: the logger core, the loader, the renderers, the stand-ins and the
Lambdas' tests can all read these without pulling each other in. A value that the registry can
say (a column's length, a table's columns) does not belong here: ask the registry model or the
column-rule model (`shipper.rules`) instead.
"""

from __future__ import annotations

# The key that routes a record to its table: the logger writes it, fluentd's routing and
# `shipper load` read it, and it is removed before the row is inserted.
ROUTING_KEY = "log_table"

# The table a logger writes to when none is named, where JSON records that no shipper logger
# wrote go (fluentd and `shipper load` route them there), and where a record that no repair could
# save is written as an error record.
DEFAULT_TABLE = "app_log"
FALLBACK_TABLE = DEFAULT_TABLE

# The table for lines that are not JSON objects (and, whole, for records that name no table).
RAW_TABLE = "raw_log"

# BigQuery's INT64, and the largest finite float64 (JSON has no NaN or infinities).
INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
FLOAT64_MAX = 1.7976931348623157e308

# What a secret's value is replaced by, wherever it is found.
REDACTED = "[REDACTED]"

# Severities as Cloud Logging names them, with the numeric level of Python's `logging` (the
# envelope's `severity` enum is the registry's; these are the levels a logger has methods for).
# DEFAULT is for lines whose level is unknown (raw_log); it has no logger method.
LEVELS: dict[str, int] = {"DEBUG": 10, "INFO": 20, "WARNING": 30, "ERROR": 40, "CRITICAL": 50}
LEVEL_NAMES: dict[int, str] = {v: k for k, v in LEVELS.items()}
# Logger method name -> severity written.
LEVEL_METHODS: tuple[tuple[str, str], ...] = (
    ("debug", "DEBUG"), ("info", "INFO"), ("warning", "WARNING"), ("error", "ERROR"),
    ("critical", "CRITICAL"),
)
UNKNOWN_SEVERITY = "DEFAULT"

# Envelope columns by who fills them: the logger itself (a caller's value for one of the first
# three is moved aside and counted, never written over the logger's), the logger from its
# configuration, and the Docker log driver (fluentd adds them).
LOGGER_KEYS = (ROUTING_KEY, "severity", "log_id")
LOGGER_FILLED = (*LOGGER_KEYS, "timestamp", "service")
DRIVER_FILLED = ("container_name", "container_id")

# Keys of a Docker fluentd log driver record (besides the container fields): the line, and the
# stream it was written to.
DRIVER_LINE_KEY = "log"
DRIVER_STREAM_KEY = "source"
