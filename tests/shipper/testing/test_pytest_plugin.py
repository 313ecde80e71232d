"""The pytest plugin, run by pytest itself (pytester): passing app tests, drifting records."""

from __future__ import annotations

import pytest
from support import SCHEMAS

# pytester is enabled here and not in a conftest: pytest refuses `pytest_plugins` in a
# conftest that is not at the root of the run.
pytest_plugins = ["pytester"]

CONFTEST = f"""
import shipper
shipper.configure(registry={str(SCHEMAS)!r}, service="app")
"""


@pytest.fixture
def run(pytester: pytest.Pytester):
    pytester.makeconftest(CONFTEST)

    def go(source: str, *args: str) -> pytest.RunResult:
        pytester.makepyfile(test_app=source)
        return pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:randomly",
                                             *args)

    return go


def test_fitting_records_pass_and_helpers_find_them(run) -> None:
    result = run("""
import shipper

def handler(user):
    shipper.get_logger().info("login", user=user)
    shipper.get_logger("access_log").info("request", method="GET", path="/login",
                                          status_code=200, latency=0.01)

def test_login(shipper_records):
    handler("ann")
    assert shipper_records.messages() == ["login"]
    rec = shipper_records.one("app_log", **{"extra.user": "ann"})
    assert rec["service"] == "app"
    shipper_records.one("access_log", path="/login", status_code=200)
    shipper_records.assert_not_logged("access_log", status_code=500)
    assert len(shipper_records.table("access_log")) == 1
    assert len(shipper_records) == 2

def test_nothing_logged(shipper_records):
    assert shipper_records.records == []
""")
    result.assert_outcomes(passed=2)


def test_record_that_drifts_from_the_schema_fails_naming_record_table_field_rule(run) -> None:
    result = run("""
import shipper

def test_bad_status(shipper_records):
    shipper.get_logger("access_log").info("request", method="GET", path="/x",
                                          status_code="two hundred", latency=0.01)
""")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        "*FAILED*test_bad_status*",
    ])
    result.stdout.fnmatch_lines([
        "*shipper: records logged by this test do not fit their tables as the app logged them (1 problem(s)):*",
        "*record #0 (log_id *): table 'access_log', field 'status_code', rule 'type'*",
    ])


def test_a_record_written_past_the_logger_is_judged_by_check_record(run) -> None:
    result = run("""
import orjson
import shipper
from shipper import _config

def test_hand_made(shipper_records):
    rec = {"log_table": "access_log", "timestamp": "2026-11-28T00:00:00Z", "severity": "LOUD",
           "method": "GET", "path": "/", "status_code": 200, "latency": 0.1, "colour": "red"}
    _config.sink().emit(orjson.dumps(rec) + b"\\n", rec)
""")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        "*record #0: table 'access_log', field 'severity', rule 'enum'*",
    ])
    result.stdout.fnmatch_lines([
        "*record #0: table 'access_log', field 'colour', rule 'unknown_field'*",
    ])


def test_repairs_are_reported_and_a_failing_test_keeps_its_own_error(run) -> None:
    result = run("""
import shipper

def test_truncated(shipper_records):
    shipper.get_logger("access_log").info("request", method="GET" * 20, path="/",
                                          status_code=200, latency=0.1)

def test_already_failing(shipper_records):
    shipper.get_logger("access_log").info("request", method="GET", path="/",
                                          status_code="x", latency=0.1)
    assert False, "the test's own failure"
""")
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(["*the logger repaired records to make them fit: {'truncated': 1}*"])
    result.stdout.fnmatch_lines(["*the test's own failure*"])
    result.stdout.fnmatch_lines(["*Captured shipper records call*",
                                 "*table 'access_log', field 'status_code', rule 'type'*"])


def test_configuration_is_restored_after_the_test(run) -> None:
    result = run("""
import shipper
from shipper import _config

def test_a(shipper_records):
    assert _config.sink() is shipper_records

def test_b():
    assert type(_config.sink()).__name__ == "StdoutSink"
    assert _config.current().service == "app"
""")
    result.assert_outcomes(passed=2)


def test_a_record_logged_in_fixture_teardown_is_an_error_at_teardown(run) -> None:
    result = run("""
import pytest
import shipper

@pytest.fixture
def app(shipper_records):
    yield
    shipper.get_logger("access_log").info("request", method="GET", path="/", status_code=1,
                                          latency=0.1)

def test_x(app):
    pass
""")
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["*table 'access_log', field 'status_code', rule 'minimum'*"])


def test_the_forward_receiver_is_public() -> None:
    from shipper.testing import ForwardServer
    from shipper.testing._forward_server import ForwardServer as Private

    assert ForwardServer is Private
