"""stdlib logging -> app_log records through the same fast path."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import shipper


@pytest.fixture
def std(capture: Any) -> Iterator[logging.Logger]:
    lg = logging.getLogger("tests.shipper.std")
    lg.propagate = False
    lg.setLevel(logging.DEBUG)
    handler = shipper.install_stdlib(logging.DEBUG, logger=lg)
    yield lg
    lg.removeHandler(handler)


def test_extra_fields_go_to_columns_or_extra(std: logging.Logger, capture: Any, check: Any) -> None:
    std.info("charged %s", "card", extra={"amount": 12, "request_id": "r1", "ok": True})
    rec = capture.one()
    assert rec["log_table"] == "app_log" and rec["severity"] == "INFO"
    assert rec["message"] == "charged card" and rec["logger"] == "tests.shipper.std"
    assert rec["request_id"] == "r1"
    assert rec["extra"] == {"amount": 12, "ok": True}
    assert check(rec) == []


def test_same_fields_twice_take_the_same_shape(std: logging.Logger, capture: Any) -> None:
    for _ in range(3):  # the first record learns the names, the next ones take the fast lane
        std.warning("x", extra={"k": 1, "request_id": "r"})
    recs = capture.records()
    assert [r["extra"] for r in recs] == [{"k": 1}] * 3
    assert all(r["request_id"] == "r" and r["severity"] == "WARNING" for r in recs)


def test_levels_map_to_severities(std: logging.Logger, capture: Any) -> None:
    std.debug("d")
    std.error("e")
    std.critical("c")
    std.setLevel(1)
    std.log(5, "custom low level")
    assert [r["severity"] for r in capture.records()] == ["DEBUG", "ERROR", "CRITICAL", "DEBUG"]


def test_exc_info_becomes_the_error_record(std: logging.Logger, capture: Any, check: Any) -> None:
    try:
        raise OSError("disk")
    except OSError:
        std.exception("write failed", extra={"path": "/x"})
    rec = capture.one()
    assert rec["error"]["type"] == "builtins.OSError" and "disk" in rec["error"]["stack"]
    assert rec["extra"] == {"path": "/x"} and check(rec) == []


def test_timestamp_is_when_the_record_was_made(std: logging.Logger, capture: Any) -> None:
    record = std.makeRecord(std.name, logging.INFO, "f", 1, "old", (), None)
    record.created = 1700000000.25
    std.handle(record)
    assert capture.one()["timestamp"] == "2023-11-14T22:13:20.250000Z"


def test_hostile_extras_and_bad_format(std: logging.Logger, capture: Any, check: Any) -> None:
    handler = next(h for h in std.handlers if isinstance(h, shipper.StdlibHandler))
    record = std.makeRecord(std.name, logging.INFO, "f", 1, "ratio %d", ("not a number",), None,
                            extra={"nan": float("nan"), "obj": object(), "password": "hunter2"})
    handler.handle(record)  # straight to our handler: other handlers would fail on the format
    rec = capture.one()
    assert "message formatting failed" in rec["message"]
    assert rec["extra"]["nan"] == "nan" and rec["extra"]["password"] == "[REDACTED]"
    assert check(rec) == []


def test_a_formatter_that_ran_first_does_not_leak_its_attributes(std: logging.Logger,
                                                                 capture: Any) -> None:
    other = logging.StreamHandler(open("/dev/null", "w"))  # noqa: SIM115
    other.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
    std.handlers.insert(0, other)
    try:
        std.info("hello", extra={"k": 1})
        std.info("hello", extra={"k": 2})
    finally:
        std.removeHandler(other)
        other.stream.close()
    assert [r["extra"] for r in capture.records()] == [{"k": 1}, {"k": 2}]


def test_install_stdlib_is_idempotent(clean: None) -> None:
    lg = logging.getLogger("tests.shipper.idem")
    a = shipper.install_stdlib(logger=lg)
    b = shipper.install_stdlib(logger=lg)
    try:
        assert a is b and sum(isinstance(h, shipper.StdlibHandler) for h in lg.handlers) == 1
    finally:
        lg.removeHandler(a)


def test_strict_mode_raises_from_stdlib(std: logging.Logger, capture: Any) -> None:
    shipper.configure(mode="strict")
    with pytest.raises(shipper.RecordError) as err:
        std.info("m", extra={"request_id": 5})
    assert err.value.field == "request_id"


# -- the generated handler path (Core.stdlib_handle) ------------------------------------------

def _handler(lg: logging.Logger) -> shipper.StdlibHandler:
    return next(h for h in lg.handlers if isinstance(h, shipper.StdlibHandler))


def test_handle_becomes_the_generated_function_and_configure_drops_it(
        std: logging.Logger, capture: Any) -> None:
    handler = _handler(std)
    std.info("first")
    assert "handle" in handler.__dict__  # the instance attribute shadows the class method
    shipper.configure(service="other")
    assert "handle" not in handler.__dict__
    std.info("second", extra={"k": 1})
    assert "handle" in handler.__dict__
    a, b = capture.records()
    assert (a["service"], b["service"]) == ("svc", "other") and b["extra"] == {"k": 1}


def test_context_and_extra_fields_together(std: logging.Logger, capture: Any, check: Any) -> None:
    """Extras win over context fields of the same name; undeclared context fields are kept."""
    with shipper.context(user="u1", request_id="from-ctx", shared="ctx"):
        std.info("m", extra={"shared": "extra", "k": 1})
        std.info("m", extra={"request_id": "from-extra"})
    a, b = capture.records()
    assert a["request_id"] == "from-ctx" and a["extra"] == {"user": "u1", "shared": "extra", "k": 1}
    assert b["request_id"] == "from-extra" and b["extra"] == {"user": "u1", "shared": "ctx"}
    assert check(a) == [] and check(b) == []


def test_reserved_names_in_extra_do_not_replace_the_envelope(std: logging.Logger,
                                                            capture: Any) -> None:
    for _ in range(2):
        std.info("m", extra={"log_id": None, "severity": "LOUD"})
    for rec in capture.records():
        assert isinstance(rec["log_id"], str) and rec["severity"] == "INFO"
        assert rec["extra"] == {"log_id": None, "severity": "LOUD"}


def test_a_logger_name_longer_than_its_column_is_cut(clean: None, capture: Any,
                                                     check: Any) -> None:
    lg = logging.getLogger("n" * 300)
    lg.propagate = False
    handler = shipper.install_stdlib(logging.INFO, logger=lg)
    try:
        lg.info("one")
        lg.info("two")
    finally:
        lg.removeHandler(handler)
    for rec in capture.records():
        assert rec["logger"].startswith("n" * 200) and "truncated" in rec["logger"]
        assert check(rec) == []
    assert shipper.stats()["truncated"] == 2


class _OwnRecord(logging.LogRecord):
    def getMessage(self) -> str:
        return "own:" + str(self.msg)


def test_records_the_generated_path_leaves_to_the_handler_methods(
        std: logging.Logger, capture: Any, check: Any) -> None:
    handler = _handler(std)
    std.info("warm up")  # installs the generated handle
    handler.handle(_OwnRecord(std.name, logging.INFO, "f", 1, "x", (), None))
    std.log(25, "between info and warning")
    std.info({"not": "a str"})
    std.info("%d items", 3)
    handler.handle(std.makeRecord(std.name, logging.INFO, "f", 1, "%d", ("x",), None))
    handler.addFilter(lambda r: r.getMessage() != "drop me")
    std.info("drop me")
    std.info("keep me", extra={"k": 2})
    recs = capture.records()[1:]
    assert [r["message"] for r in recs[:4]] == ["own:x", "between info and warning",
                                                "{'not': 'a str'}", "3 items"]
    assert recs[1]["severity"] == "INFO"
    assert "message formatting failed" in recs[4]["message"]
    assert recs[5]["message"] == "keep me" and recs[5]["extra"] == {"k": 2} and len(recs) == 6
    assert all(check(r) == [] for r in recs)


def test_a_subclass_that_overrides_emit_keeps_it(clean: None, capture: Any) -> None:
    seen: list[str] = []

    class Mine(shipper.StdlibHandler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record.getMessage())
            super().emit(record)

    lg = logging.getLogger("tests.shipper.mine")
    lg.propagate = False
    handler = Mine()
    lg.addHandler(handler)
    lg.setLevel(logging.INFO)
    try:
        lg.info("a")
        lg.info("b")
    finally:
        lg.removeHandler(handler)
    assert seen == ["a", "b"] and "handle" not in handler.__dict__
    assert [r["message"] for r in capture.records()] == ["a", "b"]


def test_more_key_sets_than_the_cache_holds(std: logging.Logger, capture: Any, check: Any,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    from shipper import _stdlib

    monkeypatch.setattr(_stdlib, "FILL_LIMIT", 2)
    sets = [{"a": 1}, {"b": "x"}, {"c": 1.5, "request_id": "r"}, {"d": None, "e": True},
            {1: "int key"}, {"password": "hunter2"}, {"f": float("nan")}, {"g": [1, 2]}]
    for _ in range(2):
        for extra in sets:
            std.info("m", extra=extra)
    recs = capture.records()
    assert len(recs) == 2 * len(sets) and all(check(r) == [] for r in recs)
    assert recs[2]["request_id"] == "r" and recs[2]["extra"] == {"c": 1.5}
    assert recs[4]["extra"] == {"1": "int key"}
    assert recs[5]["extra"] == {"password": "[REDACTED]"}
    assert recs[6]["extra"] == {"f": "nan"}
    assert recs[:8] == [{**r, "log_id": a["log_id"], "timestamp": a["timestamp"]}
                        for r, a in zip(recs[8:], recs[:8])]


def test_key_sets_that_end_alike(std: logging.Logger, capture: Any) -> None:
    """Generated code is found by (number of keys, last key) first: key sets that share both
    still each get their own, whatever order their records come in."""
    from shipper._logger import core_for
    from shipper._stdlib import stdlib_code

    for _ in range(3):
        std.info("a", extra={"user": "u", "request_id": "r"})
        std.info("b", extra={"order": 5, "request_id": "r"})
        std.info("c", extra={"password": "hunter2", "request_id": "r"})
    recs = capture.records()
    assert [r["extra"] for r in recs] == [{"user": "u"}, {"order": 5},
                                          {"password": "[REDACTED]"}] * 3
    assert all(r["request_id"] == "r" for r in recs)
    assert shipper.stats() == {"emitted": 9, "redacted": 3}
    assert {("user", "request_id"), ("order", "request_id"),
            ("password", "request_id")} <= set(stdlib_code(core_for("app_log"))._fills)


def test_a_big_extra_dict_takes_the_generic_loop(std: logging.Logger, capture: Any) -> None:
    from shipper._logger import core_for
    from shipper._stdlib import MAX_FILL_KEYS, stdlib_code

    big = {f"k{i}": i for i in range(MAX_FILL_KEYS + 1)}
    std.info("big", extra=big)
    std.info("big", extra=big)
    assert [r["extra"] for r in capture.records()] == [big, big]
    assert tuple(big) not in stdlib_code(core_for("app_log"))._fills  # no code generated


# Names that exercise every branch of the generated code: declared columns of each kind, the
# envelope's own keys, secrets, undeclared names, a key that is not a str.
_KEYS = st.sampled_from(["request_id", "trace_id", "logger", "service", "log_id", "severity",
                         "timestamp", "error", "extra", "log_table", "password", "X-Api-Key",
                         "k", "user", "count", "ratio", 7])
_EDGES = [float("nan"), float("inf"), -float("inf"), 2**63 - 1, 2**63, -2**63, -2**63 - 1,
          1.7976931348623157e308, -0.0, True, False, 0, 1, "x" * 128, "x" * 129, "\ud800", ""]
_VALUES = st.one_of(st.sampled_from(_EDGES), st.none(), st.integers(-2**70, 2**70),
                    st.floats(), st.text(max_size=140), st.lists(st.integers(), max_size=2),
                    st.dictionaries(st.sampled_from(["a", "token"]), st.integers(), max_size=2))


def _same_as_the_repair_path(std: logging.Logger, capture: Any, check: Any,
                             extra: dict[Any, Any], times: int = 1) -> None:
    """The handler counts what the repair path counts for the same fields, and where nothing
    needed repair it writes the repair path's line (log id aside): the generated code takes
    only records that need no change, and hands the rest over."""
    from shipper._logger import core_for

    std.info("warm", extra=extra)  # the first record of a key set compiles its code
    core = core_for("app_log")
    for _ in range(times):
        shipper.reset_stats()
        offset = len(capture.raw())
        record = std.makeRecord(std.name, logging.WARNING, "f", 1, "n=%s", (1,), None,
                                extra=extra)
        std.handle(record)
        fast_stats = shipper.stats()
        fast = orjson.loads(capture.raw()[offset:])
        shipper.reset_stats()
        offset = len(capture.raw())
        core.slow.slow("WARNING", "n=1", {"logger": std.name, **extra}, fast["timestamp"], {})
        slow = orjson.loads(capture.raw()[offset:])
        assert shipper.stats() == fast_stats, extra  # let through unrepaired by the generated
        if fast_stats == {"emitted": 1}:             # code: left as is by the repair path
            assert _columns(fast) == _columns(slow), extra
        assert check(fast) == [] and check(slow) == []


def _columns(rec: dict[str, Any]) -> dict[str, Any]:
    """A record's non-null columns, log id aside (a NULL column may be written as null or left
    out: BigQuery stores both as NULL; the fast path writes it, the repair path leaves it out)."""
    return {k: v for k, v in rec.items() if v is not None and k != "log_id"}


@pytest.mark.parametrize("key", ["k", "request_id", "logger", "log_id"])
def test_edge_values_take_the_repair_path_exactly_when_they_need_it(
        std: logging.Logger, capture: Any, check: Any, key: str) -> None:
    for value in _EDGES:
        _same_as_the_repair_path(std, capture, check, {key: value, "other": 1})


@settings(max_examples=200, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(extra=st.dictionaries(_KEYS, _VALUES, max_size=5), twice=st.booleans())
def test_generated_path_writes_what_the_repair_path_writes(
        std: logging.Logger, capture: Any, check: Any, extra: dict[Any, Any],
        twice: bool) -> None:
    """Any mix of extras (see `_same_as_the_repair_path`)."""
    _same_as_the_repair_path(std, capture, check, extra, 2 if twice else 1)


class _Unprintable:
    def __str__(self) -> str:
        raise RuntimeError("no str")

    __repr__ = __str__


def test_a_message_that_cannot_be_formatted_still_makes_a_record(
        std: logging.Logger, capture: Any, check: Any, monkeypatch: Any) -> None:
    """A %s argument whose __str__ (and __repr__) raise wrote nothing; so did a msg object
    whose str() fails. Each is a record that says so."""
    # pytest's capture handlers on this logger would raise for the same records
    monkeypatch.setattr(std, "handlers", [h for h in std.handlers
                                          if isinstance(h, shipper.StdlibHandler)])
    std.info("value %s", _Unprintable())
    std.info(_Unprintable())
    std.info("%d items", "not a number")
    first, second, third = capture.records()
    assert first["message"] == "'value %s' (message formatting failed: RuntimeError)"
    assert second["message"].endswith("(message formatting failed: RuntimeError)")
    assert third["message"] == "'%d items' (message formatting failed: TypeError)"
    assert third["extra"]["args_repr"] == "('not a number',)"
    assert all(check(r) == [] for r in capture.records())
    assert "internal_error" not in shipper.stats()


def test_stack_info_is_kept(std: logging.Logger, capture: Any) -> None:
    std.info("here", stack_info=True)
    rec = capture.one()
    assert rec["extra"]["stack_info"].startswith("Stack (most recent call last):\n")
    assert "test_stack_info_is_kept" in rec["extra"]["stack_info"]


def test_a_failure_inside_the_handler_writes_the_minimal_error_record(
        std: logging.Logger, capture: Any, monkeypatch: Any) -> None:
    from shipper._slow import SlowPath

    std.info("warm")  # the handler's core exists
    monkeypatch.setattr(SlowPath, "slow", lambda *a, **k: 1 / 0)
    try:
        raise ValueError("x")
    except ValueError:
        std.exception("boom")  # exc_info: the slow path, which fails
    warm, lost = capture.records()
    assert lost["logger"] == "shipper" and "lost to an internal error" in lost["message"]
    assert shipper.stats()["internal_error"] == 1
