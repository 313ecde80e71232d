"""Fixtures for the middleware tests: records written through a real file sink, read back."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from support import SCHEMAS

import shipper
from shipper import _config, _context, _stats
from shipper.sinks import FileSink


class Lines:
    def __init__(self, path: Path) -> None:
        self.path = path

    def records(self, table: str | None = None) -> list[dict[str, Any]]:
        data = self.path.read_bytes()
        assert data == b"" or data.endswith(b"\n")
        recs = [orjson.loads(x) for x in data.splitlines()]
        return [r for r in recs if table is None or r["log_table"] == table]

    def access(self) -> dict[str, Any]:
        (rec,) = self.records("access_log")
        return rec


@pytest.fixture
def lines(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Lines]:
    for var in _config.ENV.values():
        monkeypatch.delenv(var, raising=False)
    _config.reset()
    _context.clear_context()
    _stats.reset_stats()
    path = tmp_path / "out.jsonl"
    sink = FileSink(path)
    shipper.configure(sink=sink, registry=SCHEMAS, service="web")
    yield Lines(path)
    _context.clear_context()
    _config.reset()
    sink.close()
