"""The generated fast check and the detailed check must give the same verdict on any row."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from shipper._check import valid_timestamp
from shipper._fit import check_record
from shipper.load._validate import compile_fits, timestamp_ok
from shipper.registry import load_registry

REGISTRY = load_registry(full_check=False)

values = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**64), 2**64), st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=5), st.sampled_from(["INFO", "ERROR", "2026-11-28T10:00:00Z", "2026-11-28 10:00:00.123+01:00",
                                          "2026-02-30T10:00:00Z", "2026-11-28T24:00:00Z", "2026-11-28T10:00:00",
                                          "2026-11-28T10:00:00.1234567Z", "2026-11-28", "GET", "x" * 200, "stdout"]),
    st.lists(st.integers(), max_size=2), st.dictionaries(st.sampled_from(["type", "message", "stack", "x"]),
                                                         st.one_of(st.none(), st.text(max_size=3)), max_size=3),
)


@settings(max_examples=400, deadline=None)
@given(table=st.sampled_from(REGISTRY.tables), data=st.data())
def test_fast_and_detailed_checks_agree(table, data):
    names = list(table.field_names) + ["unknown"]
    row = data.draw(st.dictionaries(st.sampled_from(names), values, max_size=len(names)))
    fits = compile_fits(table)(row)
    violations = check_record(table, row)
    assert fits == (not violations), (row, violations)


timestamps = st.one_of(
    st.from_regex(r"\A[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,7})?(Z|z|[+-][0-9]{2}:?[0-9]{2})?\Z"),
    st.datetimes().map(lambda d: d.isoformat() + "Z"), st.text(max_size=30))


@settings(max_examples=500, deadline=None)
@given(v=timestamps)
def test_timestamp_shortcut_agrees_with_the_judge(v):
    assert timestamp_ok(v) == valid_timestamp(v)


def test_a_good_access_row_fits_and_routing_key_is_allowed():
    t = REGISTRY.table("access_log")
    row = {"timestamp": "2026-11-28T10:00:00.123456Z", "severity": "INFO", "method": "GET", "path": "/",
           "status_code": 200, "latency": 0.5, "log_table": "access_log"}
    assert compile_fits(t, frozenset({"log_table"}))(row)
    assert not compile_fits(t)(row)
    assert not compile_fits(t)({**row, "status_code": 600})
    assert check_record(t, {**row, "status_code": True})
