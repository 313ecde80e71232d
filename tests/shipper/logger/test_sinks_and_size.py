"""Sinks (real fds), line size, redaction configuration, import cost."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import orjson
import pytest
from support import SCHEMAS

import shipper
from shipper.sinks import FileSink, Sink, StdoutSink

from .conftest import read_fd


def test_file_sink_on_a_pipe_fd(clean: None) -> None:
    r, w = os.pipe()
    shipper.configure(sink=FileSink(w), registry=SCHEMAS)
    shipper.get_logger().info("through a pipe", n=1)
    os.close(w)
    rec = orjson.loads(read_fd(r))
    os.close(r)
    assert rec["message"] == "through a pipe"


def test_sinks_follow_the_protocol() -> None:
    assert isinstance(StdoutSink(), Sink)
    sink = FileSink(os.devnull)
    assert isinstance(sink, Sink)
    sink.close()


def test_custom_sink_gets_line_and_record(clean: None) -> None:
    got: list[tuple[bytes, dict[str, Any]]] = []

    class Mem:
        def emit(self, line: bytes, record: dict[str, Any]) -> None:
            got.append((line, dict(record)))

        def flush(self) -> None: ...

        def close(self) -> None: ...

    shipper.configure(sink=Mem(), registry=SCHEMAS)
    shipper.get_logger().info("x", k=1)
    shipper.get_logger().info("y", k=float("nan"))  # slow path too
    assert [orjson.loads(line) for line, _ in got] == [rec for _, rec in got]
    assert got[1][1]["extra"] == {"k": "nan"}


@pytest.mark.parametrize("limit", [1024, 2000, 16384])
def test_lines_stay_under_the_limit_with_a_visible_marker(capture: Any, check: Any,
                                                          limit: int) -> None:
    shipper.configure(max_line_bytes=limit)
    log = shipper.get_logger()
    log.info("m" * 50_000, big="é" * 40_000, other="z" * 3000, n=1)
    line = capture.lines()[0]
    assert len(line) + 1 <= limit
    rec = orjson.loads(line)
    assert check(rec) == []
    assert "...[truncated " in rec["message"] and rec["extra"]["n"] == 1
    assert shipper.stats()["truncated"] >= 2


def test_many_small_extras_too_big_drop_the_extra_column(capture: Any, check: Any) -> None:
    shipper.configure(max_line_bytes=1024)
    shipper.get_logger().info("m", **{f"k{i}": i for i in range(500)})
    rec = capture.one()
    assert "extra" not in rec or rec["extra"] is None
    assert check(rec) == [] and shipper.stats()["dropped_field"] == 1


def test_default_limit_is_docker_16k(capture: Any) -> None:
    shipper.get_logger().info("x", blob="b" * 20_000)
    assert 16_000 < len(capture.lines()[0]) + 1 <= 16_384


def test_redact_keys_configurable(capture: Any) -> None:
    shipper.configure(redact_keys=["ssn"])
    shipper.get_logger().info("m", ssn="123", password="visible now", nested={"SSN": "4"})
    assert capture.one()["extra"] == {"ssn": "[REDACTED]", "password": "visible now",
                                      "nested": {"SSN": "[REDACTED]"}}


def test_import_shipper_is_light() -> None:
    code = ("import sys, shipper\n"
            "heavy = [m for m in ('shipper.registry', 'orjson', 'jsonschema', 'google', 'boto3',"
            " 'duckdb', 'fluent', 'typing', 'logging') if m in sys.modules]\n"
            "print(heavy)\n"
            "from shipper.sinks import FileSink\n"
            "print('fluent' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60, check=True)
    assert out.stdout.split("\n")[:2] == ["[]", "False"]


def test_lock_only_where_writes_can_interleave(tmp_path: Any) -> None:
    from shipper.sinks._fd import FdSink, fd_kind

    r, w = os.pipe()
    with open(tmp_path / "f", "wb") as f, open(os.devnull, "wb") as null:
        assert (fd_kind(w), fd_kind(f.fileno()), fd_kind(null.fileno())) == ("pipe", "file", "file")
        assert FdSink(w).locked and not FdSink(f.fileno()).locked
        assert not FdSink(null.fileno()).locked
    os.close(r)
    os.close(w)
    assert fd_kind(10_000) == "unknown" and FdSink(10_000).locked  # when in doubt, lock


def test_many_threads_on_a_pipe_keep_lines_whole(clean: None) -> None:
    import threading

    r, w = os.pipe()
    shipper.configure(sink=FileSink(w), registry=SCHEMAS)
    log = shipper.get_logger()
    chunks: list[bytes] = []
    reader = threading.Thread(target=lambda: chunks.append(read_fd(r)))
    reader.start()

    def work(n: int) -> None:
        for i in range(40):
            log.info("t", n=n, i=i, blob="p" * 9000)  # over PIPE_BUF

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    os.close(w)
    reader.join()
    os.close(r)
    lines = chunks[0].split(b"\n")[:-1]
    assert len(lines) == 160
    assert all(orjson.loads(line)["message"] == "t" for line in lines)
