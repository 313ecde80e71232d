"""The generated Ruby check (fluentd/plugins/logbridge_rules.rb) judges as shipper's check does.

Records are made near each table's shape and then broken (wrong kinds, missing and extra fields,
bounds, odd strings, huge numbers); every one goes as a JSON line through one Ruby process running
the generated file, and its first refusal (rule, field) must equal the first violation of
`shipper._check.check_record` on the same JSON. Needs only `ruby` (the fluentd install has it).
"""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from support import REPO, SCHEMAS

from shipper._check import check_record
from shipper.registry import load_registry

REGISTRY = load_registry(SCHEMAS)
RUBY = shutil.which("ruby")
pytestmark = pytest.mark.skipif(RUBY is None, reason="no ruby on PATH (it comes with fluentd)")

JUDGE = r"""
require 'json'
require 'logbridge_rules'
STDOUT.sync = true
STDIN.each_line do |line|
  table, record = JSON.parse(line, max_nesting: false)
  STDOUT.puts(JSON.generate(Logbridge::Rules.check(table, record)))
end
"""


def ruby_verdicts(items: list[tuple[str, dict]]) -> list[list[str] | None]:
    text = "".join(json.dumps([t, r]) + "\n" for t, r in items)
    out = subprocess.run([RUBY, "-I", str(REPO / "fluentd" / "plugins"), "-e", JUDGE], input=text,
                         capture_output=True, text=True, timeout=60, check=True).stdout
    return [json.loads(x) for x in out.split("\n") if x]  # not splitlines(): U+2028 is JSON text


def python_verdict(table: str, text: str) -> tuple[str, str] | None:
    record = json.loads(text)
    v = check_record(REGISTRY.table(table), record)
    return (v[0].rule, v[0].field) if v else None


def base(table: str) -> dict:
    return {
        "access_log": {"timestamp": "2026-11-28T10:00:00.123456Z", "severity": "INFO", "method": "GET",
                       "path": "/", "status_code": 200, "latency": 0.5},
        "app_log": {"timestamp": "2026-11-28T10:00:00Z", "severity": "ERROR", "message": "m",
                    "error": {"type": "ValueError", "message": "x"}, "extra": {"a": [1, None]}},
        "raw_log": {"timestamp": "2026-11-28 10:00:00+01:00", "severity": "DEFAULT", "stream": "stderr",
                    "text": "t", "reason": None},
    }[table]


ODD = st.one_of(
    st.none(), st.booleans(), st.integers(), st.integers(min_value=2**62, max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=30),
    st.sampled_from(["", "abc", "12.5", "200", "INFO", "info", "stdout", "2026-02-30T00:00:00Z",
                     "2026-11-28T24:00:00Z", "2026-11-28T10:00:00.1234567Z", "2026-11-28T10:00:00+25:00",
                     "0001-01-01T00:00:00Z", "2026-11-28", "x" * 129, "é" * 300, "\U0001f600" * 20]),
    st.lists(st.integers(), max_size=3), st.dictionaries(st.text(max_size=5), st.integers(), max_size=3),
)


@st.composite
def records(draw):
    table = draw(st.sampled_from(REGISTRY.names))
    rec = dict(base(table))
    names = [f.name for f in REGISTRY.table(table).fields]
    for _ in range(draw(st.integers(0, 3))):
        action = draw(st.sampled_from(["set", "drop", "extra", "nested"]))
        if action == "set":
            rec[draw(st.sampled_from(names))] = draw(ODD)
        elif action == "drop" and rec:
            rec.pop(draw(st.sampled_from(sorted(rec))))
        elif action == "extra":
            rec[draw(st.sampled_from(["user_id", "log", "Message", "x"]))] = draw(ODD)
        elif table == "app_log":
            rec["error"] = {draw(st.sampled_from(["type", "message", "stack", "other"])): draw(ODD)}
    return table, json.dumps(rec)


# no shrinking: a batch of 400 through Ruby per try; the failure message names the one record
@settings(max_examples=5, deadline=None, suppress_health_check=list(HealthCheck),
          phases=(Phase.explicit, Phase.reuse, Phase.generate))
@given(st.lists(records(), min_size=400, max_size=400))
def test_ruby_and_python_refuse_the_same_records_for_the_same_first_reason(batch):
    ruby = ruby_verdicts([(t, json.loads(text)) for t, text in batch])
    for (table, text), got in zip(batch, ruby, strict=True):
        want = python_verdict(table, text)
        assert (tuple(got[:2]) if got else None) == want, f"{table} {text}: ruby {got}, python {want}"


@pytest.mark.parametrize(("table", "change", "rule", "field"), [
    ("access_log", {"status_code": "abc"}, "type", "status_code"),
    ("access_log", {"status_code": 200.0}, None, None),  # an integral number is an INT64
    ("access_log", {"status_code": 99}, "minimum", "status_code"),
    ("access_log", {"request_bytes": 12.7}, "type", "request_bytes"),
    ("access_log", {"latency": "fast"}, "type", "latency"),
    ("access_log", {"status_code": 2**63}, "int64_range", "status_code"),
    ("access_log", {"method": "M" * 17}, "maxLength", "method"),
    ("app_log", {"severity": "info"}, "enum", "severity"),
    ("app_log", {"timestamp": "2026-02-30T00:00:00Z"}, "timestamp_format", "timestamp"),
    ("app_log", {"error": {"message": "no type"}}, "required", "error.type"),
    ("app_log", {"error": {"type": "E", "code": 1}}, "unknown_field", "error.code"),
    ("app_log", {"extra": {"deep": [1, {"x": 2**64}]}}, "int64_range", "extra"),
    ("app_log", {"log": "its own log key"}, "unknown_field", "log"),
    ("raw_log", {"stream": "stdin"}, "enum", "stream"),
])
def test_known_verdicts(table, change, rule, field):
    rec = {**base(table), **change}
    (got,) = ruby_verdicts([(table, rec)])
    assert (tuple(got[:2]) if got else (None, None)) == (rule, field)
    assert python_verdict(table, json.dumps(rec)) == ((rule, field) if rule else None)
