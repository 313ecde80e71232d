"""The fast-path generator itself: its line builders, the code they make, the golden copies.

The golden files in `golden/` are the source generated for the shipped tables under one fixed
configuration (service set, a regular-file sink: the inline write). A change to the generator
shows up as a diff there, reviewed like any code. To accept a change:

    SHIPPER_UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/shipper/logger/test_generator.py
"""

from __future__ import annotations

import gc
import logging
import os
import sys
import traceback
import tracemalloc
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support import SCHEMAS, SHIPPED_TABLES, base_table

import shipper
from shipper import _fast
from shipper._fast import (
    BOOL,
    ENUM,
    FLOAT64,
    INT64,
    SLOW,
    STRING,
    ColumnSpec,
    column_test,
    compile_lines,
    field_check_lines,
    fits,
    generated_source,
    indent,
    param_lines,
    scalar_test,
)
from shipper._logger import core_for
from shipper.sinks import FileSink

GOLDEN = Path(__file__).parent / "golden"
TABLES = SHIPPED_TABLES


def _generate_all(tmp_path: Path) -> dict[str, str]:
    """Every piece of generated source for the shipped tables, by golden file name."""
    shipper.configure(sink=FileSink(tmp_path / "out.jsonl"), registry=SCHEMAS, service="svc",
                      level="INFO")
    out: dict[str, str] = {}
    for table in TABLES:
        shipper.get_logger(table)
        out[f"{table}.methods.py"] = generated_source(f"{table} methods")
        out[f"{table}.below_level.py"] = generated_source(f"{table} below the level")
    std = logging.getLogger("tests.golden")
    std.propagate = False
    handler = shipper.install_stdlib(logging.INFO, logger=std)
    try:
        std.info("x", extra={"request_id": "r", "user": "u", "count": 3})
    finally:
        std.removeHandler(handler)
    out["app_log.stdlib_handle.py"] = generated_source("app_log stdlib handle")
    out["app_log.stdlib_body.py"] = generated_source("app_log stdlib body")
    out["app_log.stdlib_fill.py"] = generated_source("app_log stdlib fill 0")
    return out


def test_generated_source_matches_the_golden_files(clean: None, tmp_path: Path) -> None:
    sources = _generate_all(tmp_path)
    if os.environ.get("SHIPPER_UPDATE_GOLDEN"):
        GOLDEN.mkdir(exist_ok=True)
        for name, text in sources.items():
            (GOLDEN / name).write_text(text, encoding="utf-8")
    differ = [name for name, text in sources.items()
              if not (GOLDEN / name).exists() or (GOLDEN / name).read_text("utf-8") != text]
    assert not differ, (f"generated source changed: {differ}; review the diff and accept it "
                        f"with SHIPPER_UPDATE_GOLDEN=1 (see this module's docstring)")
    assert sorted(p.name for p in GOLDEN.iterdir()) == sorted(sources)


def test_golden_sources_compile(clean: None, tmp_path: Path) -> None:
    for name, text in _generate_all(tmp_path).items():
        compile(text, name, "exec")


# -- line builders --------------------------------------------------------------------------

SPECS = [
    ColumnSpec(STRING, None, sys.maxsize, True, False),
    ColumnSpec(STRING, None, 5, False, True),
    ColumnSpec(ENUM, None, frozenset({"stdout", "stderr"}), False, True),
    ColumnSpec(INT64, 100, 599, True, False),
    ColumnSpec(INT64, -(2**63), 2**63 - 1, False, True),
    ColumnSpec(FLOAT64, 0, 1.7976931348623157e308, True, False),
    ColumnSpec(BOOL, None, None, True, False),
    ColumnSpec(SLOW, required=True),
]
VALUES = st.one_of(st.none(), st.booleans(), st.integers(-(2**64), 2**64), st.floats(),
                   st.text(max_size=8), st.sampled_from(["stdout", "stderr", "https://u:p@h/",
                                                         "http://h/", "a:b"]))


@settings(max_examples=300, deadline=None)
@given(spec=st.sampled_from(SPECS), value=VALUES)
def test_column_test_and_fits_agree(spec: ColumnSpec, value: Any) -> None:
    """The generated expression and the function say the same, for every kind and value."""
    expr = column_test(spec, "v")
    if expr is None:
        assert not fits(spec, value)
        return
    if value is None:
        assert fits(spec, value) == spec.takes_none
    else:
        assert eval(expr, {}, {"v": value}) == fits(spec, value), (expr, value)  # noqa: S307


def test_column_test_spells_each_kind() -> None:
    assert column_test(SPECS[0], "x") == "type(x) is str"
    assert column_test(SPECS[1], "x") == "type(x) is str and len(x) <= 5"
    assert column_test(SPECS[2], "x") == "type(x) is str and x in ('stderr', 'stdout')"
    assert column_test(SPECS[3], "x") == "type(x) is int and 100 <= x <= 599"
    assert column_test(SPECS[6], "x") == "type(x) is bool"
    assert column_test(SPECS[7], "x") is None


def test_param_lines_by_mode() -> None:
    assert param_lines("p", SPECS[7]) == ["raise _Slow"]  # REQUIRED, always the slow path
    assert param_lines("p", ColumnSpec(SLOW)) == ["if p is not _M:", "    raise _Slow"]
    required = param_lines("status", SPECS[4])
    assert required[0].startswith("if type(status) is int") and required[2] == \
        "elif status is not _M or 'status' not in rec:"
    optional = param_lines("n", SPECS[3])
    assert optional[0] == "if n is not _M:" and "elif n is None:" in optional[3]


def _field_checker(specs: dict[str, ColumnSpec], undeclared: list[str]) -> Any:
    lines = ["def check(k, v):", "    rec = {}", "    ex = None",
             *indent(field_check_lines(undeclared)), "    return rec, ex"]
    env = {"SPEC_GET": specs.get, "SAFE_KEYS": set(),
           "LEARN": lambda k: not k.startswith("secret")}
    return compile_lines(lines, "test field check", env)["check"]


def test_field_check_lines_judge_by_the_spec() -> None:
    specs = {"s": SPECS[1], "e": SPECS[2], "n": SPECS[3], "f": SPECS[5], "b": SPECS[6],
             "x": SPECS[7]}
    check = _field_checker(specs, ["raise _Slow"])
    assert check("s", "abc") == ({"s": "abc"}, None)
    assert check("e", "stderr") == ({"e": "stderr"}, None)
    assert check("n", 200) == ({"n": 200}, None)
    assert check("n", None) == ({"n": None}, None)
    assert check("f", 3) == ({"f": 3}, None)
    assert check("b", False) == ({"b": False}, None)
    for key, value in [("s", "abcdef"), ("s", None), ("e", "stdin"), ("n", 99), ("n", True),
                       ("f", float("nan")), ("f", -1.0), ("b", 1), ("x", "anything"),
                       ("undeclared", 1)]:
        with pytest.raises(_fast._Slow):
            check(key, value)
    to_extra = _field_checker(specs, _fast.to_extra_lines())
    assert to_extra("user", "u") == ({}, {"user": "u"})
    for key, value in [("secret_x", "v"), ("user", [1]), ("user", 2**64)]:
        with pytest.raises(_fast._Slow):
            to_extra(key, value)


def test_scalar_test_puts_the_expected_type_first() -> None:
    assert scalar_test("v", int).startswith("(type(v) is int and")
    assert scalar_test("v").startswith("(type(v) is str) or")


def test_a_table_with_every_kind_of_column(clean: None, make_registry: Any,
                                           tmp_path: Path) -> None:
    """A generated method for a table made for the test: what fits is written unchanged and
    uncounted (on the fast path, or for DATE and REPEATED columns on the slow path), what does
    not is repaired or refused and counted."""
    doc = base_table("kinds", **{
        "n": {"type": "integer", "minimum": 1, "maximum": 9},
        "f": {"type": ["number", "null"]},
        "b": {"type": "boolean"},
        "e": {"type": "string", "enum": ["a", "b"]},
        "d": {"type": "string", "format": "date"},
        "tags": {"type": "array", "items": {"type": "string"}},
        "short": {"type": "string", "maxLength": 3},
    })
    doc["required"] = ["message", "e"]
    root = make_registry({"kinds": [doc]})
    out = tmp_path / "o.jsonl"
    shipper.configure(sink=FileSink(out), registry=root)
    log = shipper.get_logger("kinds")
    good = {"n": 5, "f": None, "b": True, "e": "a", "short": "abc", "d": "2024-01-01",
            "tags": ["x"]}
    log.info("ok", **good)
    assert shipper.stats() == {"emitted": 1}
    import orjson

    rec = orjson.loads(out.read_bytes().splitlines()[-1])
    assert {k: rec.get(k) for k in good} == good
    for fields in [{"n": 10}, {"b": 1}, {"e": "c"}, {"d": "2024-13-01"}, {"tags": "x"},
                   {"short": "abcd"}, {"f": float("inf")}]:
        shipper.reset_stats()
        log.info("bad", **{"e": "a", **fields})
        assert shipper.stats() != {"emitted": 1}, fields


# -- generated code in tracebacks, and what bind() keeps --------------------------------------

def test_a_traceback_through_generated_code_shows_its_lines(capture: Any) -> None:
    shipper.configure(mode="strict")
    try:
        shipper.get_logger("access_log").info("request", path="/", method="GET",
                                              status_code="not a number", latency=0.1)
    except shipper.RecordError as exc:
        text = "".join(traceback.format_exception(exc))
    else:
        pytest.fail("strict mode did not raise")
    assert '"<shipper generated: access_log methods' in text
    assert "return SLOW(SEV, event, " in text  # the generated line itself, from linecache


def test_bind_compiles_nothing_and_keeps_nothing(capture: Any) -> None:
    """100,000 binds: no code compiled, no growing registry, memory back where it was."""
    log = shipper.get_logger("app_log", service_area="x")
    core = core_for("app_log")
    namespaces = len(core._namespaces)
    from shipper import _config

    listeners = len(_config._listeners)
    log.bind(request_id="warm").info("warm")
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    for i in range(100_000):
        log.bind(request_id=f"r{i}", user=i)
    gc.collect()
    after = tracemalloc.take_snapshot()
    tracemalloc.stop()
    grown = sum(s.size_diff for s in after.compare_to(before, "filename") if s.size_diff > 0)
    assert grown < 64 * 1024, grown
    assert len(core._namespaces) == namespaces and len(_config._listeners) <= listeners
    bound = log.bind(request_id="r1")
    bound.info("bound")
    assert capture.records()[-1]["request_id"] == "r1"
    assert type(bound) is type(log) and bound.bound == {"service_area": "x", "request_id": "r1"}


# -- the fast path is a target of the column-rule model ----------------------------------------

ANY_VALUE = st.one_of(st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(),
                      st.text(max_size=12), st.sampled_from(["stdout", "stderr", "a", "b",
                                                             "2024-01-01", "x" * 129]),
                      st.lists(st.integers(), max_size=2), st.dictionaries(st.text(max_size=2),
                                                                           st.integers(), max_size=2))


@settings(max_examples=400, deadline=None)
@given(data=st.data())
def test_the_fast_path_accepts_only_what_the_rule_accepts(vector_registry: Any,
                                                          data: st.DataObject) -> None:
    """Each column's spec comes from its ColumnRule; whatever the generated test lets through
    without repair, the model's own Python expression (`shipper.rules.python.fits_expr`)
    accepts too."""
    from shipper._fast import column_specs
    from shipper.rules import rules_for
    from shipper.rules.python import env_for, fits_expr

    table = data.draw(st.sampled_from(["access_log", "app_log", "raw_log", "every_kind"]))
    rules = rules_for(vector_registry.table(table))
    specs = column_specs(rules, lambda key: False)
    column = data.draw(st.sampled_from(rules.columns))
    value = data.draw(ANY_VALUE)
    spec = specs[column.name]
    expr = column_test(spec, "v")
    fast = fits(spec, value) if value is None else (
        expr is not None and eval(expr, {}, {"v": value}))  # noqa: S307 - generated by us
    if not fast:
        return
    if value is None:
        assert not column.required
        return
    model = eval(fits_expr(column, "v"), env_for(rules), {"v": value})  # noqa: S307
    assert model, (table, column.name, value, expr)


def test_specs_follow_the_rules(vector_registry: Any) -> None:
    from shipper._fast import column_specs
    from shipper.rules import rules_for

    specs = column_specs(rules_for(vector_registry.table("every_kind")), lambda k: False)
    assert specs["s"] == ColumnSpec(STRING, None, 5, True, False)
    assert specs["e"] == ColumnSpec(ENUM, None, frozenset({"a", "b"}), True, False)
    assert specs["i"] == ColumnSpec(INT64, 0, 10, True, False)
    assert specs["big"] == ColumnSpec(INT64, -(2**63), 2**63 - 1, True, False)
    assert specs["f"] == ColumnSpec(FLOAT64, -1.5, 1.5, True, False)
    assert specs["b"] == ColumnSpec(BOOL, None, None, True, False)
    for slow in ("d", "at", "tags", "nums", "rec", "j", "timestamp", "log_id", "severity"):
        assert specs[slow].kind == SLOW, slow
    secret = column_specs(rules_for(vector_registry.table("every_kind")), lambda k: k == "s")
    assert secret["s"].kind == SLOW  # a secret-named column: always the repair path
