"""pytest plugin (entry point `shipper`): fixtures that check an app's records against the registry.

    def test_checkout(shipper_records):
        client.post("/orders", json={...})
        shipper_records.one("access_log", path="/orders", status_code=201)

`shipper_records` points the logger at a capturing sink for the test (the previous configuration
comes back afterwards) and, when the test body is done, fails the test if any record does not
fit its table: every record is judged by `shipper.rules.check_record` (the column-rule model's judge,
the one `shipper load` uses), an error record the logger wrote in place of a record it could not
repair counts with the original table, field and rule, and so do repairs the logger made to
keep a record loadable (values truncated, coerced or dropped: counted in `shipper.stats()`).

This module is imported by every pytest run that has logbridge installed: it imports nothing
from shipper until the fixture is used.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

# shipper.stats() reasons that mean "the record the app asked for is not what was stored".
# Not here: moved_to_extra (app_log's extra column is where undeclared fields belong),
# redacted (on purpose), fallback_error_record (reported from the error record itself).
REPAIR_REASONS = ("coerced", "truncated", "dropped_field", "unserializable", "filled_default",
                  "sink_error", "internal_error")
_MAX_SHOWN = 10


@dataclass(frozen=True)
class Problem:
    """One record that does not fit: which record (index, log_id), table, field and rule."""

    index: int | None
    log_id: str | None
    table: str | None
    field: str
    rule: str
    message: str

    def __str__(self) -> str:
        where = (f"record #{self.index}" + (f" (log_id {self.log_id})" if self.log_id else "")
                 if self.index is not None else "records")
        return f"{where}: table {self.table!r}, field {self.field!r}, rule {self.rule!r}: " \
               f"{self.message}"


class CapturedRecords:
    """The records logged during a test (a sink), with helpers to look at them."""

    def __init__(self) -> None:
        self.lines: list[bytes] = []
        self._records: list[dict[str, Any]] = []
        self._stats_before: dict[str, int] = {}
        self._checked_upto = 0
        self._repairs_reported: dict[str, int] = {}

    # -- the sink protocol ------------------------------------------------------------------

    def emit(self, line: bytes, record: dict[str, Any] | None = None) -> None:
        import orjson

        self.lines.append(line)
        self._records.append(orjson.loads(line))  # what would have left the process

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass

    # -- looking at records -----------------------------------------------------------------

    @property
    def records(self) -> list[dict[str, Any]]:
        return list(self._records)

    def __len__(self) -> int:
        return len(self._records)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(list(self._records))

    def find(self, table: str | None = None, **fields: Any) -> list[dict[str, Any]]:
        """Records of `table` (any table when None) whose fields equal the given values.
        A field name may be dotted to look into RECORD/JSON columns: `**{"extra.user": 7}`."""
        out = []
        for rec in self._records:
            if table is not None and rec.get(_routing_key()) != table:
                continue
            if all(_get(rec, k) == v for k, v in fields.items()):
                out.append(rec)
        return out

    def table(self, name: str) -> list[dict[str, Any]]:
        return self.find(name)

    def one(self, table: str | None = None, **fields: Any) -> dict[str, Any]:
        """The only record matching; fails the test (with what was logged) otherwise."""
        found = self.find(table, **fields)
        if len(found) != 1:
            pytest.fail(f"expected exactly one {table or 'any'} record with {fields}, found "
                        f"{len(found)}; logged:\n{self._summary()}", pytrace=False)
        return found[0]

    def assert_logged(self, table: str | None = None, **fields: Any) -> list[dict[str, Any]]:
        found = self.find(table, **fields)
        if not found:
            pytest.fail(f"no {table or 'any'} record with {fields}; logged:\n{self._summary()}",
                        pytrace=False)
        return found

    def assert_not_logged(self, table: str | None = None, **fields: Any) -> None:
        found = self.find(table, **fields)
        if found:
            pytest.fail(f"unexpected {table or 'any'} record(s) with {fields}: {found}",
                        pytrace=False)

    def messages(self) -> list[str]:
        from shipper._constants import DEFAULT_TABLE, ROUTING_KEY

        return [r.get("message") for r in self._records if r.get(ROUTING_KEY) == DEFAULT_TABLE]

    def clear(self) -> None:
        self.lines.clear()
        self._records.clear()
        self._checked_upto = 0

    def _summary(self) -> str:
        shown = [f"  {_short(r)}" for r in self._records[:20]]
        if len(self._records) > 20:
            shown.append(f"  ... and {len(self._records) - 20} more")
        return "\n".join(shown) or "  (nothing)"

    # -- the check --------------------------------------------------------------------------

    def problems(self, start: int = 0) -> list[Problem]:
        """Every way a captured record (from `start` on) does not fit, plus repairs."""
        from shipper import _config
        from shipper.rules import check_record

        registry = _config.registry()
        out: list[Problem] = []
        for i, rec in enumerate(self._records[start:], start=start):
            log_id = rec.get("log_id") if isinstance(rec.get("log_id"), str) else None
            name = rec.get(_routing_key())
            try:
                table = registry.table(name)
            except (KeyError, TypeError):
                out.append(Problem(i, log_id, name, _routing_key(), "routing_key",
                                   f"no table {name!r} in the registry"))
                continue
            for v in check_record(table, rec):
                out.append(Problem(i, log_id, name, v.field, v.rule, v.message))
            err = rec.get("extra", {}).get("shipper_error") if isinstance(
                rec.get("extra"), dict) else None
            if rec.get("logger") == "shipper" and isinstance(err, dict):
                out.append(Problem(i, log_id, err.get("table"), str(err.get("field")),
                                   str(err.get("rule")),
                                   f"the logger could not repair this record and wrote an "
                                   f"error record instead: {err.get('detail')}"))
        return out

    def repairs(self) -> dict[str, int]:
        """Repairs the logger made since the capture started (by shipper.stats() reason)."""
        import shipper

        now = shipper.stats()
        return {k: now.get(k, 0) - self._stats_before.get(k, 0) for k in REPAIR_REASONS
                if now.get(k, 0) > self._stats_before.get(k, 0)}

    def _check(self) -> str | None:
        problems = self.problems(self._checked_upto)
        self._checked_upto = len(self._records)
        repairs = {k: n - self._repairs_reported.get(k, 0) for k, n in self.repairs().items()
                   if n > self._repairs_reported.get(k, 0)}
        self._repairs_reported.update(self.repairs())
        if not problems and not repairs:
            return None
        lines = [("shipper: records logged by this test do not fit their tables as the app "
                  f"logged them ({len(problems)} problem(s)):")]
        for p in problems[:_MAX_SHOWN]:
            lines.append(f"  {p}")
            if p.index is not None:
                lines.append(f"    {_short(self._records[p.index])}")
        if len(problems) > _MAX_SHOWN:
            lines.append(f"  ... and {len(problems) - _MAX_SHOWN} more")
        if repairs:
            lines.append(f"  the logger repaired records to make them fit: {repairs} (see "
                         f"shipper.stats(); shipper.configure(mode='strict') raises "
                         f"RecordError at the call that logged it, naming the field and rule)")
        return "\n".join(lines)


def _routing_key() -> str:
    from shipper._constants import ROUTING_KEY

    return ROUTING_KEY


def _get(rec: dict[str, Any], dotted: str) -> Any:
    cur: Any = rec
    for part in dotted.split("."):
        if not isinstance(cur, dict) or part not in cur:
            return _MISSING
        cur = cur[part]
    return cur


_MISSING = object()


def _short(rec: dict[str, Any]) -> str:
    import json

    text = json.dumps(rec, default=str, ensure_ascii=False)
    return text if len(text) <= 300 else text[:297] + "..."


_CAPTURE = pytest.StashKey[CapturedRecords]()


def _swap_config(sink: Any) -> dict[str, Any]:
    """Point the logger at `sink`; return the configuration to put back afterwards."""
    import shipper

    previous = shipper.get_config()
    shipper.configure(sink=sink)
    return previous


def _restore_config(previous: dict[str, Any]) -> None:
    import shipper

    shipper.configure(**previous)


@pytest.fixture
def shipper_records(request: pytest.FixtureRequest) -> Iterator[CapturedRecords]:
    """Capture the records logged during the test; fail it when one does not fit its table."""
    import shipper

    capture = CapturedRecords()
    previous = _swap_config(capture)
    capture._stats_before = shipper.stats()
    request.node.stash[_CAPTURE] = capture
    try:
        yield capture
        # records logged after the test body (fixture teardown): checked here
        message = capture._check()
    finally:
        _restore_config(previous)
        del request.node.stash[_CAPTURE]
    if message:
        pytest.fail(message, pytrace=False)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Any:
    """After the test body: a record that does not fit fails the test itself (not only as a
    teardown error), so the report says FAILED with the record, table, field and rule."""
    try:
        result = yield
    except BaseException:
        # The test failed on its own: its error stays the headline; the record problems are
        # shown beside it (a report section), not raised again at teardown.
        capture = item.stash.get(_CAPTURE, None)
        message = capture._check() if capture is not None else None
        if message:
            item.add_report_section("call", "shipper records", message)
        raise
    capture = item.stash.get(_CAPTURE, None)
    if capture is not None:
        message = capture._check()
        if message:
            pytest.fail(message, pytrace=False)
    return result
