"""Fixtures for the forward sink: a real forward-protocol receiver on 127.0.0.1, clean config."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson
import pytest

from shipper.testing._forward_server import ForwardServer


@pytest.fixture
def server() -> Iterator[ForwardServer]:
    with ForwardServer() as srv:
        yield srv



@pytest.fixture
def make_line() -> Any:
    return app_line


def app_line(i: int, service: str = "svc", **extra: Any) -> tuple[bytes, dict[str, Any]]:
    """A finished app_log record and its JSON line, as the logger hands them to a sink."""
    record = {"log_table": "app_log", "timestamp": "2026-11-28T17:00:00.000000Z",
              "severity": "INFO", "service": service, "log_id": f"id-{i}", "message": "m",
              "extra": {"i": i, **extra}}
    return orjson.dumps(record, option=orjson.OPT_APPEND_NEWLINE), record
