"""The generated fast check and the detailed check must give the same verdict on any row."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from shipper.load._validate import _compile_table, compile_fits
from shipper.registry import load_registry

REGISTRY = load_registry(full_check=False)

values = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**64), 2**64), st.floats(allow_nan=False),
    st.text(max_size=5), st.sampled_from(["INFO", "ERROR", "2026-11-28T10:00:00Z", "2026-11-28 10:00:00.123+01:00",
                                          "GET", "x" * 200, "stdout"]),
    st.lists(st.integers(), max_size=2), st.dictionaries(st.sampled_from(["type", "message", "stack", "x"]),
                                                         st.one_of(st.none(), st.text(max_size=3)), max_size=3),
)


@settings(max_examples=400, deadline=None)
@given(table=st.sampled_from(REGISTRY.tables), data=st.data())
def test_fast_and_detailed_checks_agree(table, data):
    names = list(table.field_names) + ["unknown"]
    row = data.draw(st.dictionaries(st.sampled_from(names), values, max_size=len(names)))
    fits = compile_fits(table)(row)
    reason = _compile_table(table)(row)
    assert fits == (reason == ""), (row, reason)


def test_a_good_access_row_fits_and_routing_key_is_allowed():
    t = REGISTRY.table("access_log")
    row = {"timestamp": "2026-11-28T10:00:00.123456Z", "severity": "INFO", "method": "GET", "path": "/",
           "status_code": 200, "latency": 0.5, "log_table": "access_log"}
    assert compile_fits(t, frozenset({"log_table"}))(row)
    assert not compile_fits(t)(row)
    assert not compile_fits(t)({**row, "status_code": 600})
    assert "status_code" in _compile_table(t)({k: v for k, v in row.items() if k != "log_table"} | {"status_code": True})
