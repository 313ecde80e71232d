"""The logger: envelope, levels, bound fields, configuration, exceptions; real bytes on a real fd."""

from __future__ import annotations

import os
import re
import sys
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support import SCHEMAS, SHIPPED_TABLES

import shipper
from shipper import _config
from shipper._logger import core_for
from shipper.registry import ROUTING_KEY
from shipper.sinks import FileSink

TS = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z\Z")
ACCESS = dict(path="/version/endpoint", method="GET", status_code=200, latency=0.0123,
              request_id="r-1", user_agent="curl/8")


def test_access_record_is_one_json_line_with_envelope(capture: Any, check: Any) -> None:
    shipper.get_logger("access_log").info("request", **ACCESS)
    line = capture.lines()[0]
    assert b"\n" not in line
    rec = orjson.loads(line)
    assert rec[ROUTING_KEY] == "access_log"
    assert TS.match(rec["timestamp"])
    assert rec["severity"] == "INFO"
    assert rec["service"] == "svc"
    assert rec["log_id"]
    for k, v in ACCESS.items():
        assert rec[k] == v
    assert "message" not in rec and b"\"request\"" not in line  # access_log has no message
    assert check(rec) == []
    assert shipper.stats() == {"emitted": 1}


def test_default_table_is_app_log_and_event_is_the_message(capture: Any, check: Any) -> None:
    shipper.get_logger().warning("disk almost full", free_mb=12, mount="/data")
    rec = capture.one()
    assert rec[ROUTING_KEY] == "app_log"
    assert rec["message"] == "disk almost full"
    assert rec["severity"] == "WARNING"
    assert rec["extra"] == {"free_mb": 12, "mount": "/data"}
    assert check(rec) == []


def test_every_level_method(capture: Any) -> None:
    shipper.configure(level="DEBUG")
    log = shipper.get_logger()
    for name in ("debug", "info", "warning", "error", "critical"):
        getattr(log, name)(name)
    assert [r["severity"] for r in capture.records()] == ["DEBUG", "INFO", "WARNING", "ERROR",
                                                         "CRITICAL"]


def test_below_level_methods_are_the_shared_noop(capture: Any) -> None:
    shipper.configure(level="WARNING")
    log = shipper.get_logger()
    noop = core_for("app_log").noop
    assert log.debug.__func__ is noop and log.info.__func__ is noop
    assert log.warning.__func__ is not noop
    assert log.bind(a=1).info.__func__ is noop
    assert shipper.get_logger("access_log").info.__func__ is not noop
    log.info("dropped by level")
    log.error("kept")
    assert [r["message"] for r in capture.records()] == ["kept"]


def test_a_call_below_the_level_takes_any_arguments(capture: Any) -> None:
    """The no-op has the table's column parameters (cheaper binding than **kwargs) but, like
    `def f(*a, **kw)`, takes any arguments: a call below the level never fails."""
    shipper.configure(level="CRITICAL")
    for table in SHIPPED_TABLES:
        log = shipper.get_logger(table)
        log.info()
        log.info("e", 1, 2, 3, 4, path="/p", event="x", _positional=1, kw=2, unknown=object())
        log.warning(event="only a keyword")
        try:
            raise ValueError("x")
        except ValueError:
            log.exception("ERROR is below CRITICAL")
    assert capture.records() == [] and shipper.stats() == {}


def test_configure_rebuilds_loggers_already_handed_out(capture: Any) -> None:
    log = shipper.get_logger()
    log.debug("before")
    shipper.configure(level="debug", service="other")
    log.debug("after")
    (rec,) = capture.records()
    assert rec["message"] == "after" and rec["service"] == "other"


def test_log_ids_are_unique_and_fresh_after_fork(capture: Any) -> None:
    log = shipper.get_logger()
    for _ in range(100):
        log.info("x")
    pid = os.fork()
    if pid == 0:  # child: one record, then leave without running pytest's exit handlers
        try:
            log.info("child")
        finally:
            os._exit(0)
    os.waitpid(pid, 0)
    ids = [r["log_id"] for r in capture.records()]
    assert len(ids) == 101 == len(set(ids))
    parent_prefix = ids[0].split("-")[0]
    assert ids[-1].split("-")[0] != parent_prefix


def test_timestamps_are_utc_microseconds_and_ordered(capture: Any) -> None:
    log = shipper.get_logger()
    for _ in range(50):
        log.info("tick")
    stamps = [r["timestamp"] for r in capture.records()]
    assert all(TS.match(s) for s in stamps)
    assert stamps == sorted(stamps)


def test_bind_returns_a_new_logger(capture: Any) -> None:
    base = shipper.get_logger("access_log")
    bound = base.bind(request_id="abc", host="h")
    bound.info("request", **{**ACCESS, "request_id": "call wins"})
    base.info("request", **{k: v for k, v in ACCESS.items() if k != "request_id"})
    first, second = capture.records()
    assert first["request_id"] == "call wins" and first["host"] == "h"
    assert "request_id" not in second and "host" not in second


def test_get_logger_with_bound_fields(capture: Any) -> None:
    shipper.get_logger("app_log", component="billing").info("charged")
    assert capture.one()["extra"] == {"component": "billing"}


def test_unknown_table_is_an_error_at_get_logger(capture: Any) -> None:
    with pytest.raises(ValueError, match="nope"):
        shipper.get_logger("nope")


def test_exception_becomes_the_error_record(capture: Any, check: Any) -> None:
    log = shipper.get_logger()
    try:
        raise KeyError("missing")
    except KeyError:
        log.exception("lookup failed", key="k")
    rec = capture.one()
    assert rec["severity"] == "ERROR"
    assert rec["error"]["type"] == "builtins.KeyError"
    assert rec["error"]["message"] == "'missing'"
    assert "Traceback" in rec["error"]["stack"] and "raise KeyError" in rec["error"]["stack"]
    assert "_Slow" not in rec["error"]["stack"]
    assert rec["extra"] == {"key": "k"}
    assert check(rec) == []


def test_exception_on_a_table_without_error_column_is_counted(capture: Any, check: Any) -> None:
    try:
        raise ValueError("x")
    except ValueError:
        shipper.get_logger("access_log").exception("request", **ACCESS)
    rec = capture.one()
    assert "error" not in rec and check(rec) == []
    assert shipper.stats()["dropped_field"] == 1


def test_exc_info_argument_with_an_exception_object(capture: Any) -> None:
    shipper.get_logger().error("failed", exc_info=RuntimeError("late"))
    assert capture.one()["error"]["type"] == "builtins.RuntimeError"


def test_env_vars_configure(monkeypatch: pytest.MonkeyPatch, clean: None, tmp_path: Any) -> None:
    monkeypatch.setenv("SHIPPER_SERVICE", "from-env")
    monkeypatch.setenv("SHIPPER_LEVEL", "warning")
    monkeypatch.setenv("SHIPPER_MODE", "strict")
    monkeypatch.setenv("SHIPPER_MAX_LINE_BYTES", "2048")
    monkeypatch.setenv("SHIPPER_REDACT_KEYS", "pin, Card-Number")
    monkeypatch.setenv("SHIPPER_REGISTRY", str(SCHEMAS))
    _config.reset()
    cfg = _config.current()
    assert (cfg.service, cfg.level, cfg.mode, cfg.max_line_bytes) == ("from-env", 30, "strict", 2048)
    assert cfg.redact_keys == {"pin", "card_number"}
    path = tmp_path / "o"
    shipper.configure(sink=FileSink(path))
    log = shipper.get_logger()
    log.info("hidden")
    log.warning("shown", pin=1234, password="not a secret any more")
    rec = orjson.loads(path.read_bytes())
    assert rec["service"] == "from-env"
    assert rec["extra"] == {"pin": "[REDACTED]", "password": "not a secret any more"}


@pytest.mark.parametrize("kw", [{"level": "LOUD"}, {"mode": "lax"}, {"max_line_bytes": 10}])
def test_bad_configuration_is_refused(clean: None, kw: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        shipper.configure(**kw)


def test_a_sink_without_the_protocol_is_refused(clean: None) -> None:
    with pytest.raises(TypeError):
        shipper.configure(sink=sys.stdout)


def test_stdout_sink_writes_fd_1_before_the_call_returns(tmp_path: Any) -> None:
    import subprocess

    code = ("import os, shipper\n"
            "shipper.configure(service='s')\n"
            "shipper.get_logger().info('to stdout', n=1)\n"
            "os.kill(os.getpid(), 9)\n")  # SIGKILL: no flush at exit can help
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    env["SHIPPER_REGISTRY"] = str(SCHEMAS)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, env=env, timeout=60)
    assert out.returncode == -9
    rec = orjson.loads(out.stdout)
    assert rec["message"] == "to stdout" and rec["extra"] == {"n": 1}


def test_a_failing_sink_is_counted_not_raised(clean: None) -> None:
    r, w = os.pipe()
    os.close(r)  # writing now fails with EPIPE (SIGPIPE is ignored by Python)
    shipper.configure(sink=FileSink(w), registry=SCHEMAS)
    shipper.get_logger().info("into a closed pipe")
    shipper.get_logger().info("again", x=float("nan"))  # slow path too
    os.close(w)
    assert shipper.stats()["sink_error"] == 2


def test_positional_fields_are_an_error_record(capture: Any, check: Any) -> None:
    shipper.get_logger("access_log").info("request", "/p", "GET")
    rec = capture.one()
    assert rec["log_table"] == "app_log" and "positional" in rec["message"]
    assert check(rec) == [] and shipper.stats()["fallback_error_record"] == 1
    shipper.configure(mode="strict")
    with pytest.raises(TypeError):
        shipper.get_logger("access_log").info("request", "/p")


def test_envelope_columns_passed_as_fields(capture: Any, check: Any) -> None:
    """The envelope columns an app rarely passes are not parameters of the generated method
    (each parameter costs every call); passed anyway, they follow the same rules."""
    from datetime import datetime, timezone

    log = shipper.get_logger("access_log")
    log.info("r", service="edge", container_name="c1", container_id="abc", **ACCESS)
    log.info("r", timestamp=datetime(2024, 5, 1, 12, 0, 0, 250000, tzinfo=timezone.utc),
             **ACCESS)
    log.info("r", log_id="mine", severity="LOUD", **ACCESS)
    log.info("r", container_id="x" * 65, **ACCESS)
    a, b, c, d = capture.records()
    assert (a["service"], a["container_name"], a["container_id"]) == ("edge", "c1", "abc")
    assert b["timestamp"] == "2024-05-01T12:00:00.250000Z"
    assert c["log_id"] != "mine" and c["severity"] == "INFO"
    assert d["container_id"].startswith("x" * 30) and "truncated" in d["container_id"]
    assert all(check(r) == [] for r in (a, b, c, d))
    assert shipper.stats()["dropped_field"] == 2 and shipper.stats()["truncated"] == 1


@settings(max_examples=300, deadline=None)
@given(t=st.integers(0, 2**63 - 1))
def test_fast_path_timestamp_text_is_the_datetime_text(t: int) -> None:
    """The generated code's timestamps: the cached second plus its offset's digits."""
    from datetime import datetime, timedelta, timezone

    from shipper import _clock

    expected = (datetime(1970, 1, 1, tzinfo=timezone.utc) + timedelta(microseconds=t // 1000)
                ).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    lo, prefix = _clock.ns_prefix(t)
    u = t - lo
    assert 0 <= u < 10**9
    d3 = _clock.DIGITS3
    assert f"{prefix}{d3[u // 10**6]}{d3[u // 1000 % 1000]}Z" == expected
    lo, prefix = _clock.us_prefix(t // 1000)
    u = t // 1000 - lo
    assert 0 <= u < 10**6 and f"{prefix}{d3[u // 1000]}{d3[u % 1000]}Z" == expected


def test_clocks_far_from_now(capture: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The cached second is re-made when the clock leaves it, in either direction."""
    from shipper import _clock

    with pytest.raises(ValueError):
        _clock.ns_prefix(-1)
    now = [5 * 10**17 + 123_456_789]  # 1985
    log = shipper.get_logger()
    log.info.__globals__["TIME_NS"] = lambda: now[0]
    log.info("1985")
    now[0] = 1_700_000_000_999_999_999
    log.info("2023")
    now[0] -= 1_000
    log.info("same second")
    now[0] += 1_001
    log.info("next second")
    assert [r["timestamp"] for r in capture.records()] == [
        "1985-11-05T00:53:20.123456Z", "2023-11-14T22:13:20.999999Z",
        "2023-11-14T22:13:20.999998Z", "2023-11-14T22:13:21.000000Z"]


# -- records that were lost or written wrong (issue 14) ---------------------------------------

def test_a_call_without_an_event_never_raises_in_safe_mode(capture: Any, check: Any) -> None:
    """log.info() raised TypeError into the app: now an error record names the missing
    message (a REQUIRED column); log.info(event="x") is structlog's spelling of the event."""
    log = shipper.get_logger()
    log.info()
    log.info(event="x", n=1)
    log.warning(event="y")
    shipper.get_logger("access_log").info(event="req", **{**ACCESS, "request_id": None})
    missing, x, y, access = capture.records()
    assert missing["log_table"] == "app_log" and missing["logger"] == "shipper"
    assert missing["extra"]["shipper_error"]["rule"] == "required"
    assert missing["extra"]["shipper_error"]["field"] == "message"
    assert (x["message"], x["extra"], y["message"]) == ("x", {"n": 1}, "y")
    assert access["log_table"] == "access_log" and "event" not in access
    assert all(check(r) == [] for r in capture.records())
    shipper.configure(mode="strict")
    with pytest.raises(shipper.RecordError) as err:
        log.info()
    assert err.value.rule == "required"


def test_message_as_a_field_is_moved_and_counted_like_severity(capture: Any) -> None:
    """message="shadow" silently replaced the event (severity= was moved and counted)."""
    log = shipper.get_logger()
    log.info("event", message="shadow")
    log.info("event", message="shadow", severity="DEBUG")
    first, second = capture.records()
    assert first["message"] == "event" and first["extra"] == {"message": "shadow"}
    assert second["message"] == "event" and second["severity"] == "INFO"
    assert second["extra"] == {"message": "shadow", "severity": "DEBUG"}
    assert shipper.stats()["moved_to_extra"] == 3


def test_a_required_column_the_call_does_not_give_is_repaired(capture: Any, check: Any) -> None:
    """raw_log without `stream` (a REQUIRED enum) passed the fast path unrepaired and
    BigQuery refused the chunk."""
    shipper.get_logger("raw_log").info("line", text="hello")
    shipper.get_logger("raw_log").info("line", text="hello", stream="stderr")
    missing, ok = capture.records()
    assert check(missing) == [] and check(ok) == []
    assert missing["log_table"] == "app_log"
    assert missing["extra"]["shipper_error"] == {
        "table": "raw_log", "field": "stream", "rule": "required",
        "detail": "stream: required field is missing"}
    assert ok["log_table"] == "raw_log" and ok["stream"] == "stderr"


@pytest.mark.parametrize(("given", "written"), [
    ("2024-05-01 10:00:00+02:00", "2024-05-01T08:00:00.000000Z"),
    ("2024-05-01T10:00:00Z", "2024-05-01T10:00:00.000000Z"),
    ("2024-05-01T10:00:00.5-0130", "2024-05-01T11:30:00.500000Z"),
    ("2024-05-01 23:59:59.123456", "2024-05-01T23:59:59.123456Z"),
    ("2024-12-31T23:30:00-01:00", "2025-01-01T00:30:00.000000Z"),
    ("0005-01-01T00:00:00Z", "0005-01-01T00:00:00.000000Z"),
])
def test_string_timestamps_are_normalised_to_the_column_form(capture: Any, check: Any,
                                                              given: str, written: str) -> None:
    shipper.get_logger().info("at", timestamp=given)
    rec = capture.one()
    assert rec["timestamp"] == written and check(rec) == []
    assert shipper.stats()["coerced"] == 1


def test_the_canonical_timestamp_form_is_kept_without_a_count(capture: Any) -> None:
    shipper.get_logger().info("at", timestamp="2024-05-01T10:00:00.000001Z")
    assert capture.one()["timestamp"] == "2024-05-01T10:00:00.000001Z"
    assert "coerced" not in shipper.stats()


def test_a_timestamp_outside_the_years_bigquery_holds_is_an_error_record(capture: Any,
                                                                         check: Any) -> None:
    shipper.get_logger().info("at", timestamp="0001-01-01T00:10:00+01:00")
    rec = capture.one()
    assert rec["logger"] == "shipper" and check(rec) == []
    assert rec["extra"]["shipper_error"]["rule"] == "timestamp_format"


def test_stack_info_is_kept(capture: Any, check: Any) -> None:
    def where_it_was_logged() -> None:
        shipper.get_logger().info("here", stack_info=True)

    where_it_was_logged()
    rec = capture.one()
    stack = rec["extra"]["stack_info"]
    assert stack.startswith("Stack (most recent call last):\n")
    assert "where_it_was_logged" in stack and "shipper/_logger.py" not in stack
    assert check(rec) == []


def test_get_config_and_configure_put_a_configuration_back(clean: None, tmp_path: Any) -> None:
    """The public save/restore the pytest plugin uses (structlog's get_config/configure):
    defaults included, so a test that changed the sink leaves the default sink behind."""
    saved = shipper.get_config()
    assert saved["service"] is None and saved["level"] == 20 and saved["mode"] == "safe"
    sink = FileSink(tmp_path / "o")
    shipper.configure(sink=sink, service="svc", level="debug", mode="strict",
                      redact_keys=["pin"], max_line_bytes=2048)
    changed = shipper.get_config()
    assert (changed["sink"], changed["service"], changed["level"], changed["mode"],
            changed["max_line_bytes"], changed["redact_keys"]) == (
        sink, "svc", 10, "strict", 2048, {"pin"})
    shipper.configure(**saved)
    assert {k: v for k, v in shipper.get_config().items() if k != "registry"} == \
        {k: v for k, v in saved.items() if k != "registry"}
    assert shipper.get_config()["sink"] is saved["sink"]
    shipper.configure(sink=sink)
    shipper.configure(sink=None)
    from shipper.sinks import StdoutSink

    assert isinstance(_config.sink(), StdoutSink)  # the default again


def test_none_puts_one_setting_back_to_its_default(clean: None, monkeypatch: Any) -> None:
    monkeypatch.setenv("SHIPPER_SERVICE", "from-env")
    _config.reset()
    shipper.configure(service="other", level="error")
    shipper.configure(service=None)
    assert shipper.get_config()["service"] == "from-env"
    assert shipper.get_config()["level"] == 40  # not given: kept
