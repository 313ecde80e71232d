"""Fixtures for the logger core: a real file descriptor to log into, clean state per test."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from support import SCHEMAS

import shipper
from shipper.registry import load_registry
from shipper.sinks import FileSink


@pytest.fixture(scope="session")
def registry() -> Any:
    return load_registry(SCHEMAS, full_check=False)


class Captured:
    """Lines written to a real file by the logger, read back as bytes and as dicts."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def raw(self) -> bytes:
        return self.path.read_bytes()

    def lines(self) -> list[bytes]:
        data = self.raw()
        assert data == b"" or data.endswith(b"\n"), "every record ends with a newline"
        return data.split(b"\n")[:-1] if data else []

    def records(self) -> list[dict[str, Any]]:
        return [orjson.loads(line) for line in self.lines()]

    def one(self) -> dict[str, Any]:
        recs = self.records()
        assert len(recs) == 1, recs
        return recs[0]



@pytest.fixture
def capture(clean: None, tmp_path: Path) -> Iterator[Captured]:
    """Configure a FileSink on a temp file (a real fd: bytes go through os.write)."""
    path = tmp_path / "out.jsonl"
    sink = FileSink(path)
    shipper.configure(sink=sink, registry=SCHEMAS, service="svc")
    yield Captured(path)
    sink.close()


@pytest.fixture
def strict(capture: Captured) -> Captured:
    shipper.configure(mode="strict")
    return capture


def fits(registry: Any) -> Callable[[dict[str, Any]], list[Any]]:
    from shipper._fit import check_record

    def check(record: dict[str, Any]) -> list[Any]:
        return check_record(registry.table(record["log_table"]), record)

    return check


@pytest.fixture
def check(registry: Any) -> Callable[[dict[str, Any]], list[Any]]:
    return fits(registry)


def read_fd(fd: int) -> bytes:
    chunks = []
    while True:
        b = os.read(fd, 65536)
        if not b:
            return b"".join(chunks)
        chunks.append(b)
