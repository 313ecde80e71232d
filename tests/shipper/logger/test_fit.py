"""Fitting a record to its table: safe-mode repairs (each counted), strict-mode errors."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import orjson
import pytest

import shipper
from shipper._fit import compile_fitter

ACCESS = dict(path="/p", method="GET", status_code=200, latency=0.5)


class Color(enum.Enum):
    RED = "red"


def one_access(capture: Any, **fields: Any) -> dict[str, Any]:
    shipper.get_logger("access_log").info("request", **{**ACCESS, **fields})
    return capture.one()


@pytest.mark.parametrize("field, given, stored, reason", [
    ("status_code", "404", 404, "coerced"),
    ("status_code", 404.0, 404, None),  # the same integer: the rule takes it as it is
    ("status_code", True, None, "fallback_error_record"),  # True -> 1 is below the minimum 100
    ("latency", "0.25", 0.25, "coerced"),
    ("latency", Decimal("0.5"), 0.5, "coerced"),
    ("latency", timedelta(milliseconds=250), 0.25, "coerced"),
    ("latency", 2, 2, None),
    ("method", b"POST", "POST", "coerced"),
    ("user_agent", Color.RED, "red", "coerced"),
    ("request_id", uuid.UUID(int=1), str(uuid.UUID(int=1)), "coerced"),
    ("user_agent", "x" * 1500, None, "truncated"),
    ("method", "\udcff", "\\udcff", "coerced"),
])
def test_safe_mode_converts_and_counts(capture: Any, check: Any, field: str, given: Any,
                                       stored: Any, reason: str | None) -> None:
    rec = one_access(capture, **{field: given})
    assert check(rec) == []
    stats = shipper.stats()
    if reason == "fallback_error_record":
        assert rec["log_table"] == "app_log" and stats[reason] == 1
        assert rec["extra"]["shipper_error"]["field"] == field
        return
    if field == "user_agent" and reason == "truncated":
        assert 1000 <= len(rec[field]) <= 1024 and rec[field].endswith("chars]")
        assert "...[truncated " in rec[field]
    else:
        assert rec[field] == stored
    if reason is None:
        assert stats == {"emitted": 1}
    else:
        assert stats[reason] >= 1 and stats["emitted"] == 1


def test_undeclared_fields_are_dropped_where_no_extra_column(capture: Any, check: Any) -> None:
    rec = one_access(capture, user_id=7, cart={"n": 1})
    assert "user_id" not in rec and "cart" not in rec and check(rec) == []
    assert shipper.stats()["dropped_field"] == 2


def test_undeclared_fields_move_into_extra(capture: Any, check: Any) -> None:
    when = datetime(2024, 1, 2, 3, 4, 5, 6, tzinfo=timezone.utc)
    shipper.get_logger().info("m", when=when, tags=("a", "b"), amount=Decimal("1.10"))
    rec = capture.one()
    assert rec["extra"] == {"when": "2024-01-02T03:04:05.000006Z", "tags": ["a", "b"],
                            "amount": "1.10"}
    assert check(rec) == []
    stats = shipper.stats()
    assert "moved_to_extra" not in stats  # extra is where undeclared fields belong: no repair
    assert stats["coerced"] == 2  # the datetime and the Decimal


class BadStr:
    def __str__(self) -> str:
        raise RuntimeError("no text for you")


def test_invalid_nullable_value_moves_to_extra(capture: Any, check: Any) -> None:
    shipper.get_logger().info("m", logger=BadStr())
    rec = capture.one()
    assert "logger" not in rec
    assert rec["extra"] == {"logger": "<unserializable BadStr>"}
    assert check(rec) == []
    stats = shipper.stats()
    assert stats["dropped_field"] == 1 and stats["moved_to_extra"] == 1
    assert stats["unserializable"] == 1


def test_a_record_that_cannot_be_repaired_becomes_an_app_log_error(capture: Any,
                                                                   check: Any) -> None:
    shipper.get_logger("access_log").info("request", path="/p", method="GET", status_code=200,
                                          latency=float("nan"), request_id="r9")
    rec = capture.one()
    assert rec["log_table"] == "app_log" and rec["severity"] == "ERROR"
    assert "latency" in rec["message"] and "not_finite" in rec["message"]
    assert rec["request_id"] == "r9"
    assert rec["extra"]["shipper_error"] == {"table": "access_log", "field": "latency",
                                             "rule": "not_finite",
                                             "detail": "latency: nan is not a JSON number"}
    assert rec["extra"]["record"]["latency"] == "nan"
    assert check(rec) == []
    assert shipper.stats()["fallback_error_record"] == 1


def test_missing_required_field_is_a_fallback_record(capture: Any, check: Any) -> None:
    shipper.get_logger("access_log").info("request", path="/p")
    rec = capture.one()
    assert rec["log_table"] == "app_log" and rec["extra"]["shipper_error"]["rule"] == "required"
    assert check(rec) == []


def test_reserved_names_are_kept_in_extra(capture: Any, check: Any) -> None:
    shipper.get_logger().info("m", severity="mine", log_id="mine", message="mine too")
    rec = capture.one()
    assert rec["severity"] == "INFO" and rec["message"] == "m"
    assert rec["extra"] == {"severity": "mine", "log_id": "mine", "message": "mine too"}
    assert check(rec) == []


def test_caller_timestamp_is_normalised(capture: Any, check: Any) -> None:
    shipper.get_logger().info("m", timestamp=datetime(2024, 1, 1, 12, tzinfo=timezone.utc))
    rec = capture.one()
    assert rec["timestamp"] == "2024-01-01T12:00:00.000000Z" and check(rec) == []


def test_event_that_is_not_a_string(capture: Any, check: Any) -> None:
    shipper.get_logger().info(42)  # type: ignore[arg-type]
    rec = capture.one()
    assert rec["message"] == "42" and check(rec) == []


# -- strict mode -------------------------------------------------------------------------------

@pytest.mark.parametrize("fields, field, rule", [
    ({"status_code": "200"}, "status_code", "type"),
    ({"status_code": 700}, "status_code", "maximum"),
    ({"latency": float("inf")}, "latency", "not_finite"),
    ({"method": "VERYLONGMETHODNAME"}, "method", "maxLength"),
    ({"user_id": 1}, "user_id", "unknown_field"),
    ({"path": None}, "path", "required"),
])
def test_strict_mode_raises_record_error(strict: Any, fields: dict[str, Any], field: str,
                                         rule: str) -> None:
    with pytest.raises(shipper.RecordError) as err:
        shipper.get_logger("access_log").info("request", **{**ACCESS, **fields})
    e = err.value
    assert isinstance(e, ValueError)
    assert (e.table, e.field, e.rule) == ("access_log", field, rule)
    assert "access_log" in str(e) and field in str(e) and rule in str(e)
    assert strict.records() == []


def test_strict_mode_still_moves_undeclared_fields_into_extra(strict: Any, check: Any) -> None:
    shipper.get_logger().info("m", user_id=5, password="hunter2")
    rec = strict.one()
    assert rec["extra"] == {"user_id": 5, "password": "[REDACTED]"} and check(rec) == []


def test_strict_mode_line_too_long(strict: Any) -> None:
    shipper.configure(max_line_bytes=2048)
    with pytest.raises(shipper.RecordError) as err:
        shipper.get_logger().info("m", blob="x" * 5000)
    assert err.value.rule == "max_line_bytes"


def test_compile_fitter_direct(registry: Any, clean: None) -> None:
    table = registry.table("access_log")
    fit = compile_fitter(table, "safe")
    out = fit({"timestamp": "2024-01-01T00:00:00Z", "severity": "INFO", **ACCESS,
               "status_code": "201"})
    assert out == {"log_table": "access_log", "timestamp": "2024-01-01T00:00:00.000000Z",
                   "severity": "INFO", **ACCESS, "status_code": 201}
    with pytest.raises(shipper.RecordError):
        compile_fitter(table, "strict")({"timestamp": "2024-01-01T00:00:00Z",
                                         "severity": "INFO", **ACCESS, "status_code": "201"})
    with pytest.raises(ValueError):
        compile_fitter(table, "lenient")


def test_a_required_column_with_a_default_gets_it(clean: None, make_registry: Any,
                                                  tmp_path: Any) -> None:
    """The rule model's FILL_DEFAULT policy: a REQUIRED column that is missing or unusable gets
    the registry's default instead of the record becoming an error record (counted)."""
    from support import base_table

    doc = base_table("with_default", level={"type": "string", "enum": ["low", "high"],
                                            "default": "low"})
    doc["required"] = ["message", "level"]
    root = make_registry({"with_default": [doc]})
    path = tmp_path / "o.jsonl"
    shipper.configure(sink=shipper.sinks.FileSink(path), registry=root)
    log = shipper.get_logger("with_default")
    log.info("missing")
    log.info("unusable", level="medium")
    log.info("given", level="high")
    recs = [orjson.loads(x) for x in path.read_bytes().splitlines()]
    assert [(r["log_table"], r["level"]) for r in recs] == [
        ("with_default", "low"), ("with_default", "low"), ("with_default", "high")]
    assert shipper.stats()["filled_default"] == 2
    shipper.configure(mode="strict")
    with pytest.raises(shipper.RecordError) as err:
        log.info("missing")
    assert (err.value.field, err.value.rule) == ("level", "required")
