"""The Python target of the rule model: readable generated source, golden files, tracebacks."""

from __future__ import annotations

import os
import traceback
from pathlib import Path
from typing import Any

import pytest
from support import SHIPPED_TABLES

from shipper import _codegen
from shipper.rules import check_record, judge_for, rules_for
from shipper.rules.python import check_lines, compile_fits, env_for, fits_expr, fits_lines

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("SHIPPER_UPDATE_GOLDEN") == "1"


def _golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if UPDATE:
        path.write_text(text, encoding="utf-8")
    assert path.is_file(), f"{path} missing: run SHIPPER_UPDATE_GOLDEN=1 pytest {__file__}"
    assert text == path.read_text(encoding="utf-8"), (
        f"the generated source of {name} changed: read the diff, then "
        f"SHIPPER_UPDATE_GOLDEN=1 pytest {__file__} to accept it")


@pytest.mark.parametrize("table", SHIPPED_TABLES)
def test_generated_judge_matches_its_golden_file(registry: Any, table: str) -> None:
    rules = rules_for(registry.table(table))
    _golden(f"check_{table}.py", _codegen.join(check_lines(rules, env_for(rules))))
    _golden(f"fits_{table}.py", _codegen.join(fits_lines(rules, env=env_for(rules))))


def test_golden_files_are_only_the_shipped_tables(registry: Any) -> None:
    names = {p.name for p in GOLDEN.glob("*.py")}
    assert names == {f"{kind}_{t}.py" for kind in ("check", "fits") for t in registry.names}


def test_a_traceback_through_generated_code_shows_its_line(registry: Any) -> None:
    class Boom(str):
        def __len__(self) -> int:
            raise RuntimeError("len failed")

    judge = judge_for(registry.table("access_log"))
    record = {"timestamp": "2026-01-01T00:00:00Z", "severity": "INFO", "method": Boom("GET")}
    with pytest.raises(RuntimeError) as err:
        judge(record)
    text = "".join(traceback.format_exception(err.value))
    assert "<shipper generated: check access_log v1>" in text
    assert "if len(v) > 16:" in text  # the generated line itself, from linecache


def test_stopping_checks_end_a_value(vector_registry: Any) -> None:
    # after a wrong type nothing else is looked at (len() of an int would raise)
    table = vector_registry.table("every_kind")
    out = check_record(table, {"timestamp": "2026-01-01T00:00:00Z", "severity": "INFO", "s": 5})
    assert [(v.field, v.rule) for v in out] == [("s", "type")]


def test_fits_expr_is_one_python_expression(registry: Any) -> None:
    rules = rules_for(registry.table("access_log"))
    status = rules.column("status_code")
    expr = fits_expr(status, "x")
    ns = env_for(rules)
    assert eval(expr, ns, {"x": 200}) is True  # noqa: S307 - our own generated expression
    assert eval(expr, ns, {"x": 600}) is False  # noqa: S307
    assert eval(expr, ns, {"x": "200"}) is False  # noqa: S307
    only_bq = fits_expr(status, "x", only=frozenset({"type"}))
    assert eval(only_bq, ns, {"x": 600}) is True  # noqa: S307 - BigQuery knows no maximum


def test_huge_integers_never_break_a_message(registry: Any) -> None:
    out = check_record(registry.table("access_log"), {"status_code": 10**5000})
    v = next(x for x in out if x.field == "status_code")
    assert v.rule == "int64_range" and "bits" in v.message


def test_fits_with_allowed_keys(registry: Any) -> None:
    rules = rules_for(registry.table("raw_log"))
    fits = compile_fits(rules, allow=frozenset({"source"}))
    row = {"timestamp": "2026-01-01T00:00:00Z", "severity": "DEFAULT", "stream": "stdout",
           "text": "x"}
    assert fits(row) and fits({**row, "source": "stdout"}) and not fits({**row, "other": 1})
