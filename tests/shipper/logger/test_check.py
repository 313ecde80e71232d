"""check_record: the one judge shared by strict mode, the pytest plugin and `shipper load`."""

from __future__ import annotations

from typing import Any

import pytest

from shipper._fit import Violation, check_record

GOOD_ACCESS = {"log_table": "access_log", "timestamp": "2024-05-01T12:00:00.123456Z",
               "severity": "INFO", "method": "GET", "path": "/x", "status_code": 200,
               "latency": 0.01}


def rules(table: Any, record: dict[str, Any]) -> list[tuple[str, str]]:
    return [(v.field, v.rule) for v in check_record(table, record)]


def test_a_good_record_has_no_violation(registry: Any) -> None:
    assert check_record(registry.table("access_log"), GOOD_ACCESS) == []
    without_key = {k: v for k, v in GOOD_ACCESS.items() if k != "log_table"}
    assert check_record(registry.table("access_log"), without_key) == []


@pytest.mark.parametrize("change, expected", [
    ({"status_code": "200"}, ("status_code", "type")),
    ({"status_code": True}, ("status_code", "type")),
    ({"status_code": 99}, ("status_code", "minimum")),
    ({"status_code": 600}, ("status_code", "maximum")),
    ({"status_code": 2**63}, ("status_code", "int64_range")),
    ({"status_code": 200.5}, ("status_code", "type")),
    ({"latency": float("nan")}, ("latency", "not_finite")),
    ({"latency": -1.0}, ("latency", "minimum")),
    ({"method": "G" * 17}, ("method", "maxLength")),
    ({"method": "\ud800"}, ("method", "invalid_utf8")),
    ({"severity": "LOUD"}, ("severity", "enum")),
    ({"timestamp": "2024-02-30T00:00:00Z"}, ("timestamp", "timestamp_format")),
    ({"timestamp": "2024-01-01T00:00:00.1234567Z"}, ("timestamp", "timestamp_format")),
    ({"timestamp": "yesterday"}, ("timestamp", "timestamp_format")),
    ({"timestamp": "２０２４-01-01T00:00:00Z"}, ("timestamp", "timestamp_format")),
    ({"timestamp": 1700000000}, ("timestamp", "timestamp_format")),
    ({"path": None}, ("path", "required")),
    ({"user_id": 5}, ("user_id", "unknown_field")),
    ({"log_table": "app_log"}, ("log_table", "routing_key")),
])
def test_each_rule_is_named_with_its_field(registry: Any, change: dict[str, Any],
                                           expected: tuple[str, str]) -> None:
    assert rules(registry.table("access_log"), {**GOOD_ACCESS, **change}) == [expected]


def test_missing_required_field(registry: Any) -> None:
    rec = {k: v for k, v in GOOD_ACCESS.items() if k != "path"}
    v = check_record(registry.table("access_log"), rec)
    assert v == [Violation("path", "required", "path: required field is missing")]


@pytest.mark.parametrize("ts", ["2024-01-01T00:00:00Z", "2024-01-01 00:00:00",
                                "2024-01-01T00:00:00.5+02:00", "2024-01-01T23:59:59.999999-0700"])
def test_timestamps_bigquery_parses(registry: Any, ts: str) -> None:
    assert rules(registry.table("access_log"), {**GOOD_ACCESS, "timestamp": ts}) == []


def test_nested_record_and_json_column(registry: Any) -> None:
    app = registry.table("app_log")
    base = {"timestamp": "2024-01-01T00:00:00Z", "severity": "ERROR", "message": "m"}
    assert rules(app, {**base, "error": {"type": "builtins.ValueError", "stack": None}}) == []
    assert rules(app, {**base, "error": {"message": "no type"}}) == [("error.type", "required")]
    assert rules(app, {**base, "error": {"type": "T", "line": 3}}) == [("error.line", "unknown_field")]
    assert rules(app, {**base, "error": "boom"}) == [("error", "type")]
    assert rules(app, {**base, "extra": {"a": [1, {"b": None}]}}) == []
    assert rules(app, {**base, "extra": {"a": float("inf")}}) == [("extra", "not_finite")]
    assert rules(app, {**base, "extra": {"a": b"x"}}) == [("extra", "json_value")]


def test_repeated_column(registry: Any, make_registry: Any) -> None:
    from support import base_table

    from shipper.registry import load_registry

    root = make_registry({"tagged": [base_table("tagged", tags={"type": "array", "items": {
        "type": "string", "maxLength": 3}, "description": "tags"})]})
    t = load_registry(root, full_check=False).table("tagged")
    base = {"timestamp": "2024-01-01T00:00:00Z", "severity": "INFO", "message": "m"}
    assert rules(t, {**base, "tags": ["a", "bc"]}) == []
    assert rules(t, {**base, "tags": "a"}) == [("tags", "type")]
    assert rules(t, {**base, "tags": ["a", None, "long"]}) == [("tags[1]", "repeated_null"),
                                                               ("tags[2]", "maxLength")]


def test_not_an_object(registry: Any) -> None:
    assert rules(registry.table("app_log"), ["x"]) == [("", "type")]  # type: ignore[arg-type]
