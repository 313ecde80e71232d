"""The pieces of a `logging.config.dictConfig` dict that uvicorn's and gunicorn's configs share.

Handler and filters are named by import path, so the dict is plain data (JSON for a CLI flag)
and building it imports neither shipper's logger nor the server.
"""

from __future__ import annotations

import json
from typing import Any

from shipper._constants import DEFAULT_TABLE

HANDLER = "shipper"
ACCESS_FILTER = "shipper_access_line"
EXCEPTION_FILTER = "shipper_duplicate_exception"
PLAIN_FILTER = "shipper_plain_message"


def handlers(table: str) -> dict[str, Any]:
    # One StdlibHandler for the server's loggers and the root logger: every stdlib record is
    # one app_log line (the same handler `shipper.install_stdlib()` attaches).
    return {HANDLER: {"class": "shipper.StdlibHandler", "table": table}}


def filters() -> dict[str, Any]:
    return {
        ACCESS_FILTER: {"()": "shipper.integrations.AccessLineFilter"},
        EXCEPTION_FILTER: {"()": "shipper.integrations.DuplicateExceptionFilter"},
        PLAIN_FILTER: {"()": "shipper.integrations.PlainMessageFilter"},
    }


def error_logger(level: str | None) -> dict[str, Any]:
    """A server's error logger: its records through shipper, its copy of an exception the
    middleware logged dropped; not propagated (the root logger has the same handler)."""
    logger: dict[str, Any] = {"handlers": [HANDLER], "propagate": False,
                              "filters": [EXCEPTION_FILTER, PLAIN_FILTER]}
    if level is not None:
        logger["level"] = level
    return logger


def access_logger(level: str | None) -> dict[str, Any]:
    """A server's access logger: a request's line dropped when the middleware logged the
    request (its access_log record says more), kept as an app_log record otherwise."""
    logger: dict[str, Any] = {"handlers": [HANDLER], "propagate": False,
                              "filters": [ACCESS_FILTER, PLAIN_FILTER]}
    if level is not None:
        logger["level"] = level
    return logger


def config(loggers: dict[str, Any], level: str, table: str, *,
           formatters: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": formatters or {},
        "filters": filters(),
        "handlers": handlers(table),
        "loggers": loggers,
        "root": {"handlers": [HANDLER], "level": level},
    }


def main(build: Any, argv: list[str] | None, what: str) -> int:
    """`python -m shipper.integrations.<server>`: print the config as JSON."""
    import argparse

    parser = argparse.ArgumentParser(description=f"Print the logging config for {what} as JSON.")
    parser.add_argument("--level", default="INFO", help="level of the root and server loggers")
    parser.add_argument("--table", default=DEFAULT_TABLE,
                        help=f"table of the records ({DEFAULT_TABLE})")
    args = parser.parse_args(argv)
    print(json.dumps(build(level=args.level.upper(), table=args.table), indent=2))
    return 0
