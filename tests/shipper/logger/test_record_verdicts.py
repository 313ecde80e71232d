"""The record-verdict vectors (tests/vectors/record_verdicts.jsonl) through the logger's judges.

The logger's fast path (the generated methods, `_fast.py`) and repair path (`_fit.py`) are
targets of the column-rule model; the third judge, `check_record`, is the model's own
(tests/shipper/rules). Here every vector runs through the two logger paths:

- repair path: a record that fits comes back as given (a TIMESTAMP as the same instant, in the
  column's one form: the logger writes every timestamp that way) with no repair that alters
  data, and strict mode takes it too; a refused record never comes back as given.
- fast path: the logger called with the record's fields as an app calls it (the envelope keys
  the logger sets itself left to the logger). A record refused for one of those fields is never
  written by the fast path (the repair path takes it); a record that fits is written with its
  fields as given, nothing counted, by whichever path.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import orjson
import pytest
from support import record_verdicts

import shipper
from shipper import _stats
from shipper._constants import LOGGER_KEYS, ROUTING_KEY
from shipper._fit import compile_fitter
from shipper._slow import SlowPath
from shipper.rules import check_record, rules_for

VECTORS = [v for v in record_verdicts() if isinstance(v.record, dict)]
LOGGER_OWNED = {*LOGGER_KEYS, "timestamp"}
TIMESTAMP_KINDS = {"timestamp"}


def _instant(text: Any) -> Any:
    """A timestamp's instant (no zone: UTC, as BigQuery reads it), to compare two spellings."""
    if not isinstance(text, str):
        return text
    try:
        d = datetime.fromisoformat(text.replace("Z", "+00:00").replace(" ", "T"))
    except ValueError:
        return text
    return d if d.tzinfo else d.replace(tzinfo=timezone.utc)


def _no_nulls(v: Any) -> Any:
    """Inside a RECORD too, a NULL field written or left out is the same row."""
    if isinstance(v, dict):
        return {k: _no_nulls(x) for k, x in v.items() if x is not None}
    return v


def _same(table: Any, given: dict[str, Any], written: dict[str, Any]) -> bool:
    """`written` has `given`'s values (non-null ones: a NULL column written or left out is the
    same row), timestamps compared as instants."""
    rules = rules_for(table)

    def norm(rec: dict[str, Any]) -> dict[str, Any]:
        out = {}
        for k, v in rec.items():
            if v is None or k == ROUTING_KEY:
                continue
            col = rules.column(k)
            if col is not None and col.kind in TIMESTAMP_KINDS:
                out[k] = _instant(v)
            else:
                out[k] = _no_nulls(v) if col is not None and col.kind == "record" else v
        return out

    return norm(given) == norm(written)


# -- the repair path ----------------------------------------------------------------------------

@pytest.mark.parametrize("vector", VECTORS, ids=[v.id for v in VECTORS])
def test_the_repair_path_gives_each_vector_its_verdict(vector: Any, vector_registry: Any,
                                                       clean: None) -> None:
    table = vector_registry.table(vector.table)
    record = dict(vector.record)
    before = _stats.stats()
    out = compile_fitter(table, "safe", redact_keys=[])(dict(record))
    changes = {k: n - before.get(k, 0) for k, n in _stats.stats().items()
               if n != before.get(k, 0) and k != "emitted"}
    if vector.verdict == "fits":
        assert out[ROUTING_KEY] == vector.table and _same(table, record, out), out
        assert set(changes) <= {"coerced"}, changes  # a timestamp's spelling, at most
        strict = compile_fitter(table, "strict", redact_keys=[])(dict(record))
        assert _same(table, record, strict)
    else:
        routed = record.get(ROUTING_KEY, vector.table)
        assert out[ROUTING_KEY] != routed or not _same(table, record, out) or changes, out
        assert check_record(vector_registry.table(out[ROUTING_KEY]), out) == []


# -- the fast path ------------------------------------------------------------------------------

class _Memory:
    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []

    def emit(self, line: bytes, record: dict[str, Any] | None = None) -> None:
        self.records.append(orjson.loads(line))

    def flush(self) -> None: ...

    def close(self) -> None: ...


@pytest.fixture
def slow_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Each call of the repair path, recorded (patched before the cores are compiled: the
    generated code binds SlowPath.slow when its table's code is made)."""
    calls: list[str] = []
    original = SlowPath.slow

    def slow(self: SlowPath, *args: Any, **kwargs: Any) -> None:
        calls.append(self.name)
        original(self, *args, **kwargs)

    monkeypatch.setattr(SlowPath, "slow", slow)
    return calls


def _call_as_an_app(vector: Any) -> tuple[str | None, dict[str, Any]]:
    """(event, fields): the record as a logger call, without the keys the logger sets."""
    fields = {k: v for k, v in vector.record.items() if k not in LOGGER_OWNED}
    event = fields.pop("message", None)
    return event, fields


def _logged_as_an_app(vector: Any, registry: Any) -> tuple[dict[str, Any], str | None, dict[str, Any]]:
    """(written, event, fields): the vector's record logged as an app calls the logger (no
    redaction, every level), and the one record the logger wrote."""
    sink = _Memory()
    shipper.configure(sink=sink, registry=registry, redact_keys=[], level="DEBUG")
    event, fields = _call_as_an_app(vector)
    log = shipper.get_logger(vector.table)
    log.info(event, **fields) if event is not None else log.info(**fields)
    assert len(sink.records) == 1, sink.records
    return sink.records[0], event, fields


APP_REFUSED = [v for v in VECTORS if v.verdict == "refused"
               and any(f.split(".")[0].split("[")[0] not in LOGGER_OWNED for f, _ in v.violations)]
FITS = [v for v in VECTORS if v.verdict == "fits"]


@pytest.mark.parametrize("vector", APP_REFUSED, ids=[v.id for v in APP_REFUSED])
def test_the_fast_path_never_writes_a_refused_record(vector: Any, vector_registry: Any,
                                                     clean: None, slow_calls: list[str]) -> None:
    written, _, _ = _logged_as_an_app(vector, vector_registry)
    assert slow_calls == [vector.table], "the fast path wrote a record that does not fit"
    assert check_record(vector_registry.table(written[ROUTING_KEY]), written) == []


@pytest.mark.parametrize("vector", FITS, ids=[v.id for v in FITS])
def test_the_logger_writes_a_fitting_record_as_given(vector: Any, vector_registry: Any,
                                                     clean: None, slow_calls: list[str]) -> None:
    written, event, fields = _logged_as_an_app(vector, vector_registry)
    table = vector_registry.table(vector.table)
    assert written[ROUTING_KEY] == vector.table
    given = {**fields, **({"message": event} if event is not None else {})}
    assert _same(table, given, {k: v for k, v in written.items() if k not in LOGGER_OWNED}), \
        written
    # nothing counted but the spelling of a timestamp the logger writes in its one form
    respelled = sum(1 for k, v in given.items() if rules_for(table).column(k) is not None
                    and rules_for(table).column(k).kind == "timestamp" and written.get(k) != v)
    assert shipper.stats() == {"emitted": 1, **({"coerced": respelled} if respelled else {})}


def test_the_fast_path_takes_the_plain_records(vector_registry: Any, clean: None,
                                               slow_calls: list[str]) -> None:
    """Not everything goes the slow way: fitting records of scalar columns take the fast path."""
    sink = _Memory()
    shipper.configure(sink=sink, registry=vector_registry, redact_keys=[])
    plain = [v for v in FITS if v.id in ("access-fits", "access-fits-all-columns",
                                         "access-fits-bounds-inclusive", "raw-fits",
                                         "access-fits-max-length-exact", "kind-fits-minimal")]
    assert len(plain) == 6
    for v in plain:
        event, fields = _call_as_an_app(v)
        shipper.get_logger(v.table).info(event or "e", **fields)
    assert slow_calls == []
