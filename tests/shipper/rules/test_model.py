"""The column-rule model compiled from the registry: kinds, checks in order, repair policy."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from shipper import rules
from shipper.rules import check_record, rules_for
from shipper.rules.python import compile_fits


def names(rule: Any) -> list[str]:
    return [c.name for c in rule.checks]


def test_each_kind_gets_its_checks_in_order(vector_registry: Any) -> None:
    r = rules_for(vector_registry.table("every_kind"))
    assert names(r.column("s")) == ["type", "invalid_utf8", "maxLength"]
    assert names(r.column("e")) == ["type", "invalid_utf8", "enum"]
    assert names(r.column("i")) == ["type", "not_finite", "integral", "int64_range", "minimum", "maximum"]
    assert names(r.column("f")) == ["type", "not_finite", "minimum", "maximum"]
    assert names(r.column("b")) == ["type"]
    assert names(r.column("d")) == ["date_format"]
    assert names(r.column("at")) == ["timestamp_format"]
    assert names(r.column("rec")) == ["type"] and [c.name for c in r.column("rec").children] == ["k", "n"]
    assert names(r.column("j")) == ["json_value"]
    assert r.column("tags").repeated and r.column("tags").max_length == 3
    assert r.column("i").bounds == (0, 10) and r.column("big").bounds == (None, None)
    stops = {c.name for col in r.columns for c in col.checks if c.stops}
    assert stops == {"type", "not_finite", "integral", "int64_range", "timestamp_format",
                     "date_format", "json_value"}


def test_repair_policy_follows_mode_and_extra_column(registry: Any) -> None:
    app = rules_for(registry.table("app_log"))
    raw = rules_for(registry.table("raw_log"))
    assert app.column("message").on_invalid == rules.FALLBACK
    assert app.column("logger").on_invalid == rules.MOVE_TO_EXTRA  # app_log has `extra`
    assert raw.column("text").on_invalid == rules.FALLBACK
    assert raw.column("container_name").on_invalid == rules.DROP  # raw_log has no extra column
    assert app.column("error").child("message").on_invalid == rules.DROP  # nothing extra in a RECORD
    assert app.extra_column == "extra" and app.insert_id_column == "log_id"


def test_a_registry_default_makes_a_required_column_fillable(make_registry: Any) -> None:
    from support import base_table

    from shipper.registry import load_registry

    doc = base_table("t", kind={"type": "string", "enum": ["a", "b"], "default": "a",
                                "description": "k"})
    doc["required"] = ["message", "kind"]
    reg = load_registry(make_registry({"t": [doc]}), full_check=False)
    col = rules_for(reg.table("t")).column("kind")
    assert col.on_invalid == rules.FILL_DEFAULT and col.default == "a"


def test_a_default_outside_its_enum_is_a_registry_problem(make_registry: Any) -> None:
    from support import base_table

    from shipper.registry import RegistryError, load_registry

    doc = base_table("t", kind={"type": "string", "enum": ["a"], "default": "z", "description": "k"})
    try:
        load_registry(make_registry({"t": [doc]}), full_check=False)
    except RegistryError as exc:
        assert "[default]" in str(exc) and "kind" in str(exc)
    else:
        raise AssertionError("a default outside the enum was accepted")


def test_who_fills_each_column(registry: Any) -> None:
    r = rules_for(registry.table("access_log"))
    assert {c.name for c in r.columns if c.filled_by == "logger"} == {
        "timestamp", "severity", "service", "log_id"}
    assert {c.name for c in r.columns if c.filled_by == "driver"} == {"container_name", "container_id"}
    assert r.max_lengths()["path"] == 2048 and "status_code" not in r.max_lengths()


def test_rules_are_compiled_once_per_table(registry: Any) -> None:
    t = registry.table("app_log")
    assert rules_for(t) is rules_for(t)


# Values near every rule's edges, for records of every_kind.
_values = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**64), max_value=2**64),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=8),
    st.sampled_from(["a", "b", "2024-02-29", "2023-02-29", "2026-01-01T00:00:00Z",
                     "2026-01-01 00:00:00+02:00", "abc", "abcd", "abcdef", "\ud800"]),
    st.lists(st.one_of(st.none(), st.text(max_size=4), st.integers(-3, 3)), max_size=3),
    st.dictionaries(st.sampled_from(["k", "n", "x"]),
                    st.one_of(st.none(), st.text(max_size=3), st.integers(-2, 2)), max_size=3),
)
_columns = st.sampled_from(["s", "e", "i", "big", "f", "b", "d", "at", "tags", "nums", "rec", "j",
                            "timestamp", "severity", "unknown"])


@settings(max_examples=400, deadline=None)
@given(st.dictionaries(_columns, _values, max_size=6))
def test_fits_and_the_judge_agree_on_any_record(vector_registry: Any, fields: dict[str, Any]) -> None:
    table = vector_registry.table("every_kind")
    record = {"timestamp": "2026-01-01T00:00:00Z", "severity": "INFO", **fields}
    violations = check_record(table, record)  # never raises, whatever the values
    assert compile_fits(rules_for(table))(record) is (violations == [])
