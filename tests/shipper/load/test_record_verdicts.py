"""The record-verdict vectors through the loader's judge (`shipper load`, a target of the rule model).

Every vector that can travel as a JSON line and is routed to its own table is written as one line;
one real load into DuckDB must put each `fits` record in its table and each `refused` one in the
reject file, its reason naming every violated field.
"""

from __future__ import annotations

import json
from collections import Counter

import pytest
from support import record_verdicts, vector_schemas

from shipper.load import load
from shipper.registry import ROUTING_KEY, load_registry

VECTORS = [v for v in record_verdicts()
           if v.wire and isinstance(v.record, dict) and v.record.get(ROUTING_KEY, v.table) == v.table]


@pytest.fixture(scope="module")
def outcome(tmp_path_factory):
    d = tmp_path_factory.mktemp("verdicts")
    registry = load_registry(vector_schemas(d))
    src = d / "vectors.log"
    src.write_text("".join(json.dumps({ROUTING_KEY: v.table, **v.record}, ensure_ascii=False) + "\n"
                           for v in VECTORS), encoding="utf-8")
    s = load([str(src)], f"duckdb://{d / 'w.duckdb'}", rejects=d / "r.jsonl", registry=registry)
    rejects = {}
    if (d / "r.jsonl").exists():
        rejects = {r["line"]: r for r in map(json.loads, (d / "r.jsonl").read_text().splitlines())}
    return s, rejects


def test_the_loader_runs_enough_vectors():
    assert len(VECTORS) >= 30 and {v.verdict for v in VECTORS} == {"fits", "refused"}


@pytest.mark.parametrize("n", range(len(VECTORS)), ids=[v.id for v in VECTORS])
def test_loader_gives_each_vector_its_verdict(outcome, n):
    s, rejects = outcome
    v = VECTORS[n]
    rej = rejects.get(n + 1)
    if v.verdict == "fits":
        assert rej is None, rej
    else:
        assert rej is not None and rej["kind"] == f"does not fit {v.table}", rej
        for field, rule in v.violations:
            assert field.split(".")[0].split("[")[0] in rej["reason"], (field, rule, rej["reason"])


def test_fitting_vectors_are_rows(outcome):
    s, _ = outcome
    want = Counter(v.table for v in VECTORS if v.verdict == "fits")
    assert Counter({t: c.inserted + c.duplicates for t, c in s.tables.items() if c.inserted + c.duplicates}) == want
