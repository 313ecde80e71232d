"""The loader's fast check (the rule model's generated `fits`) and the judge give the same verdict."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from shipper.load._records import has_big_float
from shipper.load._validate import compile_fits
from shipper.registry import JSON, load_registry
from shipper.rules import check_record

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
    # The one difference, on purpose: a float beyond 64-bit integers in a JSON column is sent to
    # the careful path (it may be an integer orjson could not hold).
    big = any(f.type == JSON and row.get(f.name) is not None and has_big_float(row[f.name]) for f in table.fields)
    assert fits == (not violations and not big), (row, violations)


def test_a_good_access_row_fits_and_routing_key_is_allowed():
    t = REGISTRY.table("access_log")
    row = {"timestamp": "2026-11-28T10:00:00.123456Z", "severity": "INFO", "method": "GET", "path": "/",
           "status_code": 200, "latency": 0.5, "log_table": "access_log"}
    assert compile_fits(t)(row)
    assert not compile_fits(t)({**row, "log_table": "app_log"})  # routed elsewhere: not this table's
    assert not compile_fits(t)({**row, "status_code": 600})
    assert not compile_fits(REGISTRY.table("app_log"))(
        {"timestamp": "2026-11-28T10:00:00Z", "severity": "INFO", "message": "m", "extra": {"n": 1.9e19}})
    assert check_record(t, {**row, "status_code": True})
