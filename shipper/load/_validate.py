"""Does a row fit its table? The loader's judge is a target of the column-rule model (`shipper.rules`).

The loader must judge exactly as the logger, the pytest plugin and fluentd's check do, so its
verdicts come from the one model: `fits(row) -> bool`, generated per table by
`shipper.rules.python.compile_fits` (every field test inline: the hot loop's budget), and on a
refusal the reason from the generated `check_record` (every violation, joined). Both run the
record-verdict vectors (`tests/vectors/record_verdicts.jsonl`; the loader's run is
`tests/shipper/load/test_record_verdicts.py`).

One thing is the loader's own: orjson turns an integer beyond 64 bits into a float without a word,
so a JSON column holding a float that large may hold such an integer; `fits` says no and the
careful path decodes the line exactly before judging it (`_records.decode_record`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..registry import JSON, Table
from ..rules import check_record, rules_for
from ..rules.python import compile_fits as compile_rule_fits
from ._records import has_big_float

# row -> reason (empty when the row fits)
Check = Callable[[dict[str, Any]], str]


def checker_for(table: Table) -> Check:
    """`check_record`'s verdict as one line: every violation, joined."""

    def check(row: dict[str, Any]) -> str:
        return "; ".join(str(getattr(v, "message", None) or v) for v in check_record(table, row))

    return check


def compile_fits(table: Table, allow: frozenset[str] = frozenset()) -> Callable[[dict[str, Any]], bool]:
    """The model's generated `fits(row)` for `table` (keys in `allow` are not fields), refusing a
    JSON value with a float beyond 64-bit integers (see the module docstring)."""
    fits = compile_rule_fits(rules_for(table), allow=allow)
    json_columns = tuple(f.name for f in table.fields if f.type == JSON)
    if not json_columns:
        return fits

    def fits_exactly(row: dict[str, Any]) -> bool:
        if not fits(row):
            return False
        for name in json_columns:
            v = row.get(name)
            if v is not None and type(v) is not str and has_big_float(v):
                return False
        return True

    return fits_exactly
