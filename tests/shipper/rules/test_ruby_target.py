"""The Ruby target of the rule model (shipper/rules/ruby.py): the judge fluentd runs.

It answers the first violation of what the Python judge lists. Checked three ways, with plain
`ruby` (it comes with fluentd; skipped, with the reason, without it): every record-verdict vector
(tests/vectors), records made near each table's shape and broken at random against
`shipper.rules.check_record`, and the committed fluentd/plugins/logbridge_rules.rb is the
generated file (its golden copy, checked by tests/shipper/render/test_fluentd.py). Real fluentd
runs the same vectors in tests/fluentd/test_real_vectors.py.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from support import SCHEMAS, record_verdicts

from shipper.registry import load_registry
from shipper.render.fluentd_rules import render_rules
from shipper.rules import check_record, rules_for
from shipper.rules.ruby import dq_text, fails_expr

RUBY = shutil.which("ruby")
pytestmark = pytest.mark.skipif(RUBY is None, reason="no ruby on PATH (it comes with fluentd; .ci/run installs it)")
REGISTRY = load_registry(SCHEMAS)

# One Ruby process judges a batch: a [table, record] JSON line in, the verdict JSON line out.
JUDGE = r"""
require 'json'
require 'logbridge_rules'
STDIN.each_line do |line|
  table, record = JSON.parse(line, max_nesting: false, allow_nan: true)
  STDOUT.puts(JSON.generate(Logbridge::Rules.check(table, record), allow_nan: true))
end
"""


def ruby_judge(rules_dir: Path, items: list[tuple[str, Any]]) -> list[list[str] | None]:
    text = "".join(json.dumps([t, r]) + "\n" for t, r in items)
    out = subprocess.run([RUBY, "-I", str(rules_dir), "-e", JUDGE], input=text, capture_output=True,
                         text=True, timeout=120, check=True).stdout
    return [json.loads(x) for x in out.split("\n") if x]  # not splitlines(): U+2028 is JSON text


@pytest.fixture(scope="module")
def vector_rules(vector_registry: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("ruby-rules")
    (d / "logbridge_rules.rb").write_text(render_rules(vector_registry), encoding="utf-8")
    return d


@pytest.fixture(scope="module")
def shipped_rules(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("ruby-rules-shipped")
    (d / "logbridge_rules.rb").write_text(render_rules(REGISTRY), encoding="utf-8")
    return d


# Every vector a JSON line can carry (the Ruby judge sees what fluentd parses).
WIRE = [v for v in record_verdicts() if v.wire]


@pytest.fixture(scope="module")
def vector_answers(vector_rules: Path) -> dict[str, Any]:
    return dict(zip([v.id for v in WIRE], ruby_judge(vector_rules, [(v.table, v.record) for v in WIRE]),
                    strict=True))


@pytest.mark.parametrize("vector", WIRE, ids=[v.id for v in WIRE])
def test_each_vector_gets_the_first_violation_of_its_verdict(vector: Any, vector_answers: dict[str, Any]) -> None:
    got = vector_answers[vector.id]
    if vector.verdict == "fits":
        assert got is None, got
    else:
        assert got is not None and tuple(got[:2]) == (vector.violations[0][1], vector.violations[0][0]), got


BASES: dict[str, dict[str, Any]] = {
        "access_log": {"timestamp": "2026-11-28T10:00:00.123456Z", "severity": "INFO", "method": "GET",
                       "path": "/", "status_code": 200, "latency": 0.5},
        "app_log": {"timestamp": "2026-11-28T10:00:00Z", "severity": "ERROR", "message": "m",
                    "error": {"type": "ValueError", "message": "x"}, "extra": {"a": [1, None]}},
        "raw_log": {"timestamp": "2026-11-28 10:00:00+01:00", "severity": "DEFAULT", "stream": "stderr",
                    "text": "t", "reason": None},
}


def base(table: str) -> dict[str, Any]:
    return BASES[table]


ODD = st.one_of(
    st.none(), st.booleans(), st.integers(), st.integers(min_value=2**62, max_value=2**63 + 5),
    st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=30),
    st.sampled_from(["", "abc", "12.5", "200", "INFO", "info", "stdout", "2026-02-30T00:00:00Z",
                     "2026-11-28T24:00:00Z", "2026-11-28T10:00:00.1234567Z", "2026-11-28T10:00:00+25:00",
                     "0001-01-01T00:00:00Z", "0000-01-01T00:00:00Z", "2024-02-29T00:00:00Z", "2026-11-28",
                     "x" * 129, "é" * 300, "\U0001f600" * 20, "app_log", "raw_log"]),
    st.lists(st.integers(), max_size=3), st.dictionaries(st.text(max_size=5), st.integers(), max_size=3),
)


@st.composite
def records(draw: Any) -> tuple[str, str]:
    table = draw(st.sampled_from(sorted(BASES)))  # the tables this test has a good record for
    rec = dict(base(table))
    names = [f.name for f in REGISTRY.table(table).fields]
    for _ in range(draw(st.integers(0, 3))):
        action = draw(st.sampled_from(["set", "drop", "extra", "nested", "route"]))
        if action == "set":
            rec[draw(st.sampled_from(names))] = draw(ODD)
        elif action == "drop" and rec:
            rec.pop(draw(st.sampled_from(sorted(rec))))
        elif action == "extra":
            rec[draw(st.sampled_from(["user_id", "log", "Message", "x"]))] = draw(ODD)
        elif action == "route":
            rec["log_table"] = draw(st.sampled_from([table, "app_log", None, ""]))
        elif table == "app_log":
            rec["error"] = {draw(st.sampled_from(["type", "message", "stack", "other"])): draw(ODD)}
    return table, json.dumps(rec)


# no shrinking: one batch of 400 through Ruby per try; the failure message names the one record
@settings(max_examples=5, deadline=None, suppress_health_check=list(HealthCheck),
          phases=(Phase.explicit, Phase.reuse, Phase.generate))
@given(st.lists(records(), min_size=400, max_size=400))
def test_ruby_gives_the_first_violation_python_lists(shipped_rules: Path, batch: list[tuple[str, str]]) -> None:
    ruby = ruby_judge(shipped_rules, [(t, json.loads(text)) for t, text in batch])
    for (table, text), got in zip(batch, ruby, strict=True):
        violations = check_record(REGISTRY.table(table), json.loads(text))
        want = (violations[0].rule, violations[0].field) if violations else None
        assert (tuple(got[:2]) if got else None) == want, f"{table} {text}: ruby {got}, python {want}"


def test_messages_name_the_rule_as_the_python_judge_does(shipped_rules: Path) -> None:
    rec = {**base("access_log"), "status_code": "abc"}
    (got,) = ruby_judge(shipped_rules, [("access_log", rec)])
    (v,) = check_record(REGISTRY.table("access_log"), rec)
    assert got == ["type", "status_code", "expected an integer, got str"]
    assert v.message == "status_code: expected an integer, got str"


def test_literal_text_cannot_break_out_of_the_ruby_string() -> None:
    assert dq_text('a"b#{x}\\') == 'a\\"b\\#{x}\\\\'


def test_every_check_has_a_ruby_condition() -> None:
    from shipper.rules._model import JSON_VALUE

    for table in REGISTRY.tables:
        for column in rules_for(table).columns:
            for check in column.checks:
                if check.name != JSON_VALUE:
                    assert fails_expr(check, "v", "E")
