"""The record-verdict vectors through every Python judge the rule model generates.

The same file runs through the logger's paths, the loader, the BigQuery stand-in and the check
inside real fluentd (their own tests); here: `check_record` (every violation, in order) and the
generated `fits` (the verdict alone), which must agree with it on every vector.
"""

from __future__ import annotations

from typing import Any

import pytest
from support import record_verdicts

from shipper.rules import check_record, rules_for
from shipper.rules.python import compile_fits

VECTORS = record_verdicts()
# fits() is called on decoded JSON objects only (the loader's rows): the rest is check_record's.
OBJECTS = [v for v in VECTORS if isinstance(v.record, dict)]


def test_the_vectors_cover_every_rule_and_table() -> None:
    rules = {r for v in VECTORS for _, r in v.violations}
    assert rules >= {"required", "type", "enum", "maxLength", "minimum", "maximum", "int64_range",
                     "not_finite", "timestamp_format", "date_format", "unknown_field",
                     "repeated_null", "invalid_utf8", "routing_key"}
    assert {v.table for v in VECTORS} == {"access_log", "app_log", "raw_log", "every_kind"}
    assert sum(v.verdict == "fits" for v in VECTORS) >= 15


@pytest.mark.parametrize("vector", VECTORS, ids=[v.id for v in VECTORS])
def test_check_record_gives_each_vector_its_verdict(vector: Any, vector_registry: Any) -> None:
    violations = check_record(vector_registry.table(vector.table), vector.record)
    assert tuple((x.field, x.rule) for x in violations) == vector.violations
    assert ("fits" if not violations else "refused") == vector.verdict
    for x in violations:  # every reason names its field
        assert x.message.startswith(f"{x.field}: ") or x.field == ""


@pytest.mark.parametrize("vector", OBJECTS, ids=[v.id for v in OBJECTS])
def test_generated_fits_agrees_with_the_judge(vector: Any, vector_registry: Any) -> None:
    fits = compile_fits(rules_for(vector_registry.table(vector.table)))
    assert fits(vector.record) is (vector.verdict == "fits")
