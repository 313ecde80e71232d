"""The record-verdict vectors (tests/vectors) through real fluentd: the check inside it is a judge too.

The fluentd image files are rendered for the vectors' registry (the shipped tables plus
tests/vectors/tables), fluentd runs them against the BigQuery stand-in with those tables, and
every vector a JSON line can carry is printed as an app's line (its `log_table` set to its table).
A `fits` record must be a row of its table, unchanged; a `refused` one must be in raw_log, the line
whole, with the reason naming the table, the field and the rule of its first violation.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from support import record_verdicts

from shipper.render.fluentd import image_files
from shipper.testing.fluentd import BigQueryStandIn, ForwardClient, Fluentd, driver_record

ROUTING_KEY = "log_table"
VECTORS = [v for v in record_verdicts()
           if v.wire and isinstance(v.record, dict) and v.record.get(ROUTING_KEY, v.table) == v.table]


def line(v: Any) -> str:
    return json.dumps({ROUTING_KEY: v.table, **v.record}, ensure_ascii=False)


@pytest.fixture(scope="module")
def landed(fluentd_cmd, vector_registry, bq_tables, tmp_path_factory):
    d = tmp_path_factory.mktemp("vectors")
    for f in image_files():
        path = d / f.path
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f.render(vector_registry), encoding="utf-8")
    with BigQueryStandIn(bq_tables(vector_registry)) as bq, \
            Fluentd(fluentd_cmd, d / "run", bq.endpoint, config=d / "fluentd" / "fluent.conf") as fd:
        with ForwardClient(fd.forward_port) as client:
            client.send("app.vectors", [(time.time(), driver_record(line(v), name=f"/v{i}"))
                                        for i, v in enumerate(VECTORS)])
        rows = bq.wait_total(len(VECTORS), timeout=45)
        assert fd.files("failed") == [], "BigQuery refused nothing the check let through"
        return rows


def test_enough_vectors_reach_fluentd():
    assert len(VECTORS) >= 60 and {v.verdict for v in VECTORS} == {"fits", "refused"}
    assert {v.table for v in VECTORS} == {"access_log", "app_log", "raw_log", "every_kind"}


def _expected_row(v: Any, i: int) -> dict[str, Any]:
    row = {k: val for k, val in v.record.items() if k != ROUTING_KEY}
    for key, val in (("container_id", None), ("container_name", f"/v{i}")):
        if key not in row:
            row[key] = val
    return row


def _same_row(got: dict[str, Any], want: dict[str, Any]) -> bool:
    """The stored row is the record (the stand-in keeps a JSON column's text parsed, as BigQuery)."""
    got = dict(got)
    if "log_id" not in want:
        if not str(got.pop("log_id", "")).startswith("fd-"):
            return False
    if want.get("container_id") is None:
        got.pop("container_id", None)
        want = {k: val for k, val in want.items() if k != "container_id"}
    want = {k: val for k, val in want.items() if val is not None}  # nulls are not sent
    return got == want


@pytest.mark.parametrize("i", range(len(VECTORS)), ids=[v.id for v in VECTORS])
def test_fluentd_gives_each_vector_its_verdict(landed, i):
    v = VECTORS[i]
    mine = [(t, r) for t, rows in landed.items() for r in rows
            if r.get("container_name") == f"/v{i}" or (t == "raw_log" and r.get("text") == line(v))]
    if v.verdict == "fits":
        matches = [r for r in landed.get(v.table, []) if _same_row(r, _expected_row(v, i))]
        assert matches, f"{v.id}: no row equal to the record in {v.table}: {mine}"
        assert v.bigquery == "accepts"
    else:
        raw = [r for t, r in mine if t == "raw_log" and r.get("text") == line(v)]
        assert len(raw) == 1, f"{v.id}: {mine}"
        field, rule = v.violations[0]
        reason = raw[0]["reason"]
        assert reason.startswith(f"{v.table}.{field}: ") and reason.endswith(f"[{rule}]"), reason
        assert len(mine) == 1, f"a refused record is one raw_log row, never a row of its table: {mine}"
