"""stdlib logging -> app_log records through the same fast path."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest

import shipper


@pytest.fixture
def std(capture: Any) -> Iterator[logging.Logger]:
    lg = logging.getLogger("tests.shipper.std")
    lg.propagate = False
    lg.setLevel(logging.DEBUG)
    handler = shipper.install_stdlib(logging.DEBUG, logger=lg)
    yield lg
    lg.removeHandler(handler)


def test_extra_fields_go_to_columns_or_extra(std: logging.Logger, capture: Any, check: Any) -> None:
    std.info("charged %s", "card", extra={"amount": 12, "request_id": "r1", "ok": True})
    rec = capture.one()
    assert rec["log_table"] == "app_log" and rec["severity"] == "INFO"
    assert rec["message"] == "charged card" and rec["logger"] == "tests.shipper.std"
    assert rec["request_id"] == "r1"
    assert rec["extra"] == {"amount": 12, "ok": True}
    assert check(rec) == []


def test_same_fields_twice_take_the_same_shape(std: logging.Logger, capture: Any) -> None:
    for _ in range(3):  # the first record learns the names, the next ones take the fast lane
        std.warning("x", extra={"k": 1, "request_id": "r"})
    recs = capture.records()
    assert [r["extra"] for r in recs] == [{"k": 1}] * 3
    assert all(r["request_id"] == "r" and r["severity"] == "WARNING" for r in recs)


def test_levels_map_to_severities(std: logging.Logger, capture: Any) -> None:
    std.debug("d")
    std.error("e")
    std.critical("c")
    std.setLevel(1)
    std.log(5, "custom low level")
    assert [r["severity"] for r in capture.records()] == ["DEBUG", "ERROR", "CRITICAL", "DEBUG"]


def test_exc_info_becomes_the_error_record(std: logging.Logger, capture: Any, check: Any) -> None:
    try:
        raise OSError("disk")
    except OSError:
        std.exception("write failed", extra={"path": "/x"})
    rec = capture.one()
    assert rec["error"]["type"] == "builtins.OSError" and "disk" in rec["error"]["stack"]
    assert rec["extra"] == {"path": "/x"} and check(rec) == []


def test_timestamp_is_when_the_record_was_made(std: logging.Logger, capture: Any) -> None:
    record = std.makeRecord(std.name, logging.INFO, "f", 1, "old", (), None)
    record.created = 1700000000.25
    std.handle(record)
    assert capture.one()["timestamp"] == "2023-11-14T22:13:20.250000Z"


def test_hostile_extras_and_bad_format(std: logging.Logger, capture: Any, check: Any) -> None:
    handler = next(h for h in std.handlers if isinstance(h, shipper.StdlibHandler))
    record = std.makeRecord(std.name, logging.INFO, "f", 1, "ratio %d", ("not a number",), None,
                            extra={"nan": float("nan"), "obj": object(), "password": "hunter2"})
    handler.handle(record)  # straight to our handler: other handlers would fail on the format
    rec = capture.one()
    assert "message formatting failed" in rec["message"]
    assert rec["extra"]["nan"] == "nan" and rec["extra"]["password"] == "[REDACTED]"
    assert check(rec) == []


def test_a_formatter_that_ran_first_does_not_leak_its_attributes(std: logging.Logger,
                                                                 capture: Any) -> None:
    other = logging.StreamHandler(open("/dev/null", "w"))  # noqa: SIM115
    other.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
    std.handlers.insert(0, other)
    try:
        std.info("hello", extra={"k": 1})
        std.info("hello", extra={"k": 2})
    finally:
        std.removeHandler(other)
        other.stream.close()
    assert [r["extra"] for r in capture.records()] == [{"k": 1}, {"k": 2}]


def test_install_stdlib_is_idempotent(clean: None) -> None:
    lg = logging.getLogger("tests.shipper.idem")
    a = shipper.install_stdlib(logger=lg)
    b = shipper.install_stdlib(logger=lg)
    try:
        assert a is b and sum(isinstance(h, shipper.StdlibHandler) for h in lg.handlers) == 1
    finally:
        lg.removeHandler(a)


def test_strict_mode_raises_from_stdlib(std: logging.Logger, capture: Any) -> None:
    shipper.configure(mode="strict")
    with pytest.raises(shipper.RecordError) as err:
        std.info("m", extra={"request_id": 5})
    assert err.value.field == "request_id"
