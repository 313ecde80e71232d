"""The BigQuery stand-in's row check and load jobs, through the real google-cloud-bigquery client.

The row check is the BigQuery target of the column-rule model; every record-verdict vector's
`bigquery` answer (tests/vectors/record_verdicts.jsonl) must be what it answers, for insertAll
and for a load job alike. Load jobs: multipart and resumable uploads, per-row errors with their
byte positions, maxBadRecords, atomic jobs, a duplicate job id answered 409.
"""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from support import record_verdicts

from shipper.testing.fake_bigquery import FakeBigQueryAPI
from shipper.warehouse.bigquery import table_resource

VECTORS = record_verdicts()
ROUTING_KEY = "log_table"


@pytest.fixture(scope="module")
def fake(vector_registry: Any) -> Any:
    with FakeBigQueryAPI() as f:
        f.add_dataset("logs")
        for t in vector_registry.tables:
            code, answer = f.handle("POST", "/bigquery/v2/projects/test-project/datasets/logs/tables",
                                    json.dumps(table_resource(t, "test-project", "logs")).encode(), {})
            assert code == 200, answer
        yield f


def _wire(record: Any, json_columns: tuple[str, ...] = ()) -> Any:
    """The row as fluentd sends it: the routing key removed (the router has used it); for
    insertAll, a JSON column's value as JSON text (the router's JSON.generate, the loader's
    json.dumps: the legacy streaming API reads a string there as JSON text)."""
    if not isinstance(record, dict):
        return record
    out = {k: v for k, v in record.items() if k != ROUTING_KEY}
    for c in json_columns:
        if out.get(c) is not None:
            out[c] = json.dumps(out[c])
    return out


def _clear(fake: Any) -> None:
    for t in fake.tables.values():
        t.rows.clear()
        t.insert_ids.clear()


@pytest.mark.parametrize("v", VECTORS, ids=[v.id for v in VECTORS])
def test_insert_all_answers_each_vector_as_bigquery_does(fake: Any, vector_registry: Any, v: Any) -> None:
    _clear(fake)
    json_columns = tuple(f.name for f in vector_registry.table(v.table).fields if f.type == "JSON")
    body = json.dumps({"rows": [{"insertId": v.id, "json": _wire(v.record, json_columns)}]}).encode()
    code, answer = fake.handle("POST", f"/bigquery/v2/projects/test-project/datasets/logs/tables/{v.table}/insertAll",
                               body, {})
    accepted = code == 200 and "insertErrors" not in answer
    assert ("accepts" if accepted else "refuses") == v.bigquery, (v.note, answer)
    assert len(fake.rows("logs", v.table)) == (1 if accepted else 0)


def _ndjson(records: list[Any]) -> tuple[bytes, list[int]]:
    data, starts = b"", []
    for r in records:
        starts.append(len(data))
        data += json.dumps(r).encode() + b"\n"
    return data, starts


@pytest.mark.parametrize("table", sorted({v.table for v in VECTORS}))
def test_a_load_job_answers_each_vector_as_bigquery_does(fake: Any, table: str) -> None:
    """One job per table with every vector as a line: the refused ones come back as row errors at
    their lines' byte positions, the accepted ones are stored (maxBadRecords lets the job finish)."""
    from google.cloud import bigquery

    _clear(fake)
    vectors = [v for v in VECTORS if v.table == table]
    data, starts = _ndjson([_wire(v.record) for v in vectors])
    config = bigquery.LoadJobConfig(source_format="NEWLINE_DELIMITED_JSON", max_bad_records=len(vectors))
    job = fake.client().load_table_from_file(io.BytesIO(data), f"test-project.logs.{table}", job_config=config)
    job.result()
    refused_at = sorted(int(e["message"].split("position ")[1].split(":")[0]) for e in job.errors or [])
    want = [s for v, s in zip(vectors, starts) if v.bigquery == "refuses"]
    assert refused_at == want, [v.id for v, s in zip(vectors, starts) if (s in refused_at) != (s in want)]
    assert len(fake.rows("logs", table)) == sum(v.bigquery == "accepts" for v in vectors)
    assert job.output_rows == len(vectors) - len(want)


def test_what_bigquery_converts_is_stored_converted(fake: Any) -> None:
    _clear(fake)
    row = {"timestamp": 1764496800, "severity": "INFO", "method": 7, "path": "/", "status_code": "200",
           "latency": "0.5"}
    data, _ = _ndjson([row])
    from google.cloud import bigquery

    fake.client().load_table_from_file(io.BytesIO(data), "test-project.logs.access_log", job_config=bigquery.LoadJobConfig(
        source_format="NEWLINE_DELIMITED_JSON")).result()
    stored = fake.rows("logs", "access_log")[0]
    assert stored["status_code"] == 200 and stored["method"] == "7" and stored["latency"] == 0.5
    assert stored["timestamp"] == "2025-11-30T10:00:00.000000Z"


def test_a_json_column_takes_the_raw_value_in_a_load_and_json_text_in_insert_all(fake: Any) -> None:
    from google.cloud import bigquery

    _clear(fake)
    base = {"timestamp": "2026-11-30T10:00:00Z", "severity": "INFO", "message": "m"}
    data, _ = _ndjson([{**base, "extra": '{"a": 1}'}, {**base, "extra": {"a": 1}}])
    fake.client().load_table_from_file(io.BytesIO(data), "test-project.logs.app_log", job_config=bigquery.LoadJobConfig(
        source_format="NEWLINE_DELIMITED_JSON")).result()
    assert [r["extra"] for r in fake.rows("logs", "app_log")] == ['{"a": 1}', {"a": 1}]
    assert fake.client().insert_rows_json("test-project.logs.app_log", [{**base, "extra": '{"a": 1}'}]) == []
    assert fake.rows("logs", "app_log")[-1]["extra"] == {"a": 1}


def test_a_job_over_max_bad_records_fails_whole_and_writes_nothing(fake: Any) -> None:
    from google.api_core.exceptions import BadRequest
    from google.cloud import bigquery

    _clear(fake)
    good = {"timestamp": "2026-11-30T10:00:00Z", "severity": "INFO", "message": "m"}
    data, starts = _ndjson([good, good, {**good, "nope": 1}, good])
    job = fake.client().load_table_from_file(io.BytesIO(data), "test-project.logs.app_log",
                                             job_config=bigquery.LoadJobConfig(source_format="NEWLINE_DELIMITED_JSON"))
    with pytest.raises(BadRequest, match="too many errors"):
        job.result()
    assert fake.rows("logs", "app_log") == []
    assert job.error_result["reason"] == "invalid"
    assert any(f"position {starts[2]}: no such field: nope" in e["message"] for e in job.errors)


def test_a_duplicate_job_id_is_409_and_loads_nothing_twice(fake: Any) -> None:
    from google.api_core.exceptions import Conflict
    from google.cloud import bigquery

    _clear(fake)
    data, _ = _ndjson([{"timestamp": "2026-11-30T10:00:00Z", "severity": "INFO", "message": "m"}])
    config = bigquery.LoadJobConfig(source_format="NEWLINE_DELIMITED_JSON")
    client = fake.client()
    client.load_table_from_file(io.BytesIO(data), "test-project.logs.app_log", job_id="same-job", job_config=config).result()
    with pytest.raises(Conflict, match="Already Exists: Job"):
        client.load_table_from_file(io.BytesIO(data), "test-project.logs.app_log", job_id="same-job", job_config=config)
    assert len(fake.rows("logs", "app_log")) == 1
    assert client.get_job("same-job").output_rows == 1


def test_a_resumable_upload_in_pieces(fake: Any, monkeypatch: Any) -> None:
    """google-cloud-bigquery's resumable upload (no size given), in 256 KiB pieces: 308 until the last."""
    import google.cloud.bigquery.client as bq_client
    from google.cloud import bigquery

    _clear(fake)
    monkeypatch.setattr(bq_client, "_DEFAULT_CHUNKSIZE", 256 * 1024)
    rows = [{"timestamp": "2026-11-30T10:00:00Z", "severity": "INFO", "message": "x" * 100 + str(i)} for i in range(6000)]
    data, _ = _ndjson(rows)
    assert len(data) > 2 * 256 * 1024
    before = len(fake.requests)
    job = fake.client().load_table_from_file(io.BytesIO(data), "test-project.logs.app_log", size=None,
                                             job_config=bigquery.LoadJobConfig(source_format="NEWLINE_DELIMITED_JSON"))
    job.result()
    puts = [r for r in fake.requests[before:] if r.method == "PUT"]
    assert len(puts) >= 3 and fake.requests[before].query.get("uploadType") == ["resumable"]
    assert len(fake.rows("logs", "app_log")) == 6000


def test_the_x_goog_upload_protocol_of_the_ruby_client(fake: Any) -> None:
    """start -> query -> upload, finalize (what fluent-plugin-bigquery's client sends)."""
    _clear(fake)
    meta = {"configuration": {"load": {"destinationTable": {"projectId": "test-project", "datasetId": "logs",
                                                            "tableId": "app_log"},
                                       "sourceFormat": "NEWLINE_DELIMITED_JSON"}},
            "jobReference": {"projectId": "test-project", "jobId": "fluentd_job_1"}}
    start = fake.answer("POST", "/upload/bigquery/v2/projects/test-project/jobs", json.dumps(meta).encode(),
                        {"X-Goog-Upload-Protocol": "resumable", "X-Goog-Upload-Command": "start"})
    assert start.code == 200 and start.headers["X-Goog-Upload-Status"] == "active"
    url = start.headers["X-Goog-Upload-URL"].split(fake.endpoint, 1)[1]
    q = fake.answer("POST", url, b"", {"X-Goog-Upload-Command": "query"})
    assert q.headers["X-Goog-Upload-Size-Received"] == "0"
    data, _ = _ndjson([{"timestamp": "2026-11-30T10:00:00Z", "severity": "INFO", "message": "m"}])
    done = fake.answer("POST", url, data, {"X-Goog-Upload-Command": "upload, finalize", "X-Goog-Upload-Offset": "0"})
    assert done.code == 200 and done.headers["X-Goog-Upload-Status"] == "final"
    assert done.body["status"]["state"] == "DONE" and "errorResult" not in done.body["status"]
    again = fake.answer("POST", "/upload/bigquery/v2/projects/test-project/jobs", json.dumps(meta).encode(),
                        {"X-Goog-Upload-Protocol": "resumable", "X-Goog-Upload-Command": "start"})
    url = again.headers["X-Goog-Upload-URL"].split(fake.endpoint, 1)[1]
    dup = fake.answer("POST", url, data, {"X-Goog-Upload-Command": "upload, finalize", "X-Goog-Upload-Offset": "0"})
    assert dup.code == 409 and "Already Exists: Job" in dup.body["error"]["message"]
    assert len(fake.rows("logs", "app_log")) == 1


def test_a_lost_load_answer_then_a_retry_with_the_same_job_id(fake: Any) -> None:
    import requests
    from google.api_core.exceptions import Conflict
    from google.cloud import bigquery

    _clear(fake)
    data, _ = _ndjson([{"timestamp": "2026-11-30T10:00:00Z", "severity": "INFO", "message": "m"}])
    config = bigquery.LoadJobConfig(source_format="NEWLINE_DELIMITED_JSON")
    client = fake.client()
    fake.load.lose_responses = 1
    with pytest.raises((requests.exceptions.ConnectionError, Conflict)):
        client.load_table_from_file(io.BytesIO(data), "test-project.logs.app_log", job_id="lost-1",
                                    job_config=config, num_retries=0)
    with pytest.raises(Conflict):
        client.load_table_from_file(io.BytesIO(data), "test-project.logs.app_log", job_id="lost-1", job_config=config)
    assert len(fake.rows("logs", "app_log")) == 1 and client.get_job("lost-1").state == "DONE"
