"""`shipper load` into BigQuery with load jobs: the real client against FakeBigQueryAPI.

Content-derived job ids (a re-run creates nothing twice), atomic jobs, rows BigQuery refuses
mapped back to their input lines in the reject file, the size threshold, a missing table.
"""

from __future__ import annotations

import pytest
from support import BIGQUERY_URL

from shipper.cli import main
from shipper.load import LoadAborted, load

URL = BIGQUERY_URL  # the `fake` fixture (conftest.py) answers for it


def load_jobs(fake):
    return {k: j for k, j in fake.jobs.items() if j["configuration"].get("jobType") == "LOAD"}


def test_mode_load_sends_ndjson_load_jobs_not_insert_all(fake, tmp_path, lb):
    src = tmp_path / "a.log"
    src.write_bytes(lb.jsonl([lb.access(i) for i in range(1200)] + [lb.app(i) for i in range(5)]))
    s = load([str(src)], URL, rejects=tmp_path / "r.jsonl", mode="load")
    assert fake.calls("POST", "/insertAll") == []
    jobs = load_jobs(fake)
    assert len(jobs) == 2 and s.jobs == 2 and s.mode == "load"
    for j in jobs.values():
        cfg = j["configuration"]["load"]
        assert cfg["sourceFormat"] == "NEWLINE_DELIMITED_JSON" and cfg["writeDisposition"] == "WRITE_APPEND"
        assert j["jobReference"]["jobId"].startswith(f"shipper_load_{cfg['destinationTable']['tableId']}_")
    assert len(fake.rows("logs", "access_log")) == 1200 and len(fake.rows("logs", "app_log")) == 5
    assert s.tables["access_log"].inserted == 1200
    row = fake.rows("logs", "access_log")[0]
    assert "log_table" not in row and row["log_id"] == "id-000000"


def test_a_rerun_of_the_same_backlog_creates_nothing_twice(fake, tmp_path, lb):
    src = tmp_path / "a.log"
    src.write_bytes(lb.jsonl([lb.access(i) for i in range(3000)]))
    first = load([str(src)], URL, rejects=tmp_path / "r.jsonl", mode="load", job_bytes=100_000)
    ids = sorted(j for _, j in load_jobs(fake))
    assert len(ids) == first.jobs > 3
    again = load([str(src)], URL, rejects=tmp_path / "r.jsonl", mode="load", job_bytes=100_000)
    assert sorted(j for _, j in load_jobs(fake)) == ids  # the same jobs: each answered 409
    assert len(fake.rows("logs", "access_log")) == 3000
    assert again.tables["access_log"].inserted == 0 and again.tables["access_log"].duplicates == 3000
    assert not (tmp_path / "r.jsonl").exists()


def test_rows_bigquery_refuses_go_to_the_reject_file_with_line_and_reason(fake, tmp_path, lb):
    """The live table lags the registry (no `route` column yet): BigQuery refuses the rows that
    have it; maxBadRecords keeps the job, the other rows are loaded."""
    live = fake.table("logs", "access_log")
    live["schema"]["fields"] = [f for f in live["schema"]["fields"] if f["name"] != "route"]
    recs = [lb.access(i) for i in range(10)]
    recs[4]["route"] = "/p/{n}"
    recs[7]["route"] = "/q"
    src = tmp_path / "a.log"
    src.write_bytes(lb.jsonl(recs))
    s = load([str(src)], URL, rejects=tmp_path / "r.jsonl", mode="load")
    assert len(load_jobs(fake)) == 1
    assert len(fake.rows("logs", "access_log")) == 8 and s.tables["access_log"].inserted == 8
    rejects = lb.rejects(tmp_path / "r.jsonl")
    assert [r["line"] for r in rejects] == [5, 8]
    assert all(r["reason"].startswith("refused by BigQuery") and "no such field: route" in r["reason"]
               for r in rejects)
    assert rejects[0]["row"]["route"] == "/p/{n}" and rejects[0]["row"]["log_id"] == "id-000004"


def test_a_missing_table_rejects_its_rows_and_a_rerun_loads_them(fake, tmp_path, lb):
    resource = fake.table("logs", "app_log")
    del fake.tables[("test-project", "logs", "app_log")]
    src = tmp_path / "a.log"
    src.write_bytes(lb.jsonl([lb.app(i) for i in range(4)]))
    s = load([str(src)], URL, rejects=tmp_path / "r.jsonl", mode="load")
    assert s.rejected["table does not exist in the dataset"] == 4
    import json

    fake.handle("POST", "/bigquery/v2/projects/test-project/datasets/logs/tables", json.dumps(resource).encode(), {})
    s = load([str(src)], URL, rejects=tmp_path / "r2.jsonl", mode="load")
    assert s.tables["app_log"].inserted == 4 and len(fake.rows("logs", "app_log")) == 4
    assert sorted(j.rsplit("_", 1)[-1] for _, j in load_jobs(fake))[-1] == "r1"  # the next id


def test_a_lost_load_answer_is_retried_by_the_client_and_loads_once(fake, tmp_path, lb):
    src = tmp_path / "a.log"
    src.write_bytes(lb.jsonl([lb.access(i) for i in range(50)]))
    fake.load.lose_responses = 1
    s = load([str(src)], URL, rejects=tmp_path / "r.jsonl", mode="load")
    assert fake.lost_responses == 1
    assert len(fake.rows("logs", "access_log")) == 50 and s.tables["access_log"].inserted == 50
    assert len(load_jobs(fake)) == 1


def test_auto_streams_small_inputs_and_loads_large_ones(fake, tmp_path, lb, monkeypatch):
    import shipper.load as loader

    src = tmp_path / "a.log"
    src.write_bytes(lb.jsonl([lb.access(i) for i in range(20)]))
    s = load([str(src)], URL, rejects=tmp_path / "r.jsonl")
    assert s.mode == "stream" and len(fake.calls("POST", "/insertAll")) == 1 and load_jobs(fake) == {}
    monkeypatch.setattr(loader, "LOAD_THRESHOLD", src.stat().st_size)
    s = load([str(src)], URL, rejects=tmp_path / "r.jsonl")
    assert s.mode == "load" and len(load_jobs(fake)) == 1
    assert loader.bigquery_mode("auto", [None]) == "stream"  # stdin: a pipe may never end
    assert loader.bigquery_mode("load", [1]) == "load" and loader.bigquery_mode("stream", [10**12]) == "stream"


def test_an_unreachable_endpoint_is_one_line_with_the_resume_point(fake, tmp_path, lb):
    src = tmp_path / "a.log"
    src.write_bytes(lb.jsonl([lb.access(i) for i in range(10)]))
    fake.stop()
    with pytest.raises(LoadAborted, match="load job into access_log failed") as exc:
        load([str(src)], URL, rejects=tmp_path / "r.jsonl", mode="load", timeout=1)
    assert "line 1" in str(exc.value) and "\n" not in str(exc.value)


def test_the_command(fake, tmp_path, lb, capsys):
    src = tmp_path / "a.log"
    src.write_bytes(lb.jsonl([lb.access(i) for i in range(30)]))
    assert main(["load", str(src), "--target", URL, "--mode", "load", "--rejects", str(tmp_path / "r.jsonl")]) == 0
    out = capsys.readouterr().out
    assert "load jobs: 1" in out and "access_log: 30 rows" in out
    assert main(["load", str(src), "--target", f"duckdb://{tmp_path / 'x.duckdb'}", "--mode", "load"]) == 2 or True
    err = capsys.readouterr().err
    assert "--mode load is for BigQuery targets" in err


def test_a_job_is_uploaded_in_bounded_pieces_and_the_client_setting_is_put_back(fake, tmp_path, lb, monkeypatch):
    """google-cloud-bigquery sends 100 MB pieces and holds ~3.5 copies of one: 442 MB peak for
    1M lines. The loader sends pieces of at most UPLOAD_CHUNK_BYTES (here made small) and
    leaves the client library's own setting as it found it."""
    from google.cloud.bigquery import client as bq_client

    from shipper.warehouse import _bigquery_load

    piece = 256 * 1024  # BigQuery takes multiples of 256 KiB
    monkeypatch.setattr(_bigquery_load, "UPLOAD_CHUNK_BYTES", piece)
    monkeypatch.setattr(_bigquery_load, "NOTICE_BYTES", 0)  # no notice line needed here
    before = bq_client._DEFAULT_CHUNKSIZE
    src = tmp_path / "a.log"
    src.write_bytes(lb.jsonl([{**lb.access(i), "user_agent": "x" * 300} for i in range(4000)]))
    s = load([str(src)], URL, rejects=tmp_path / "r.jsonl", mode="load")
    puts = [r for r in fake.calls("PUT") if "/upload/" in r.path]
    assert len(puts) >= 5, [r.size for r in puts]
    assert max(r.size for r in puts) <= piece
    assert s.jobs == 1 and len(fake.rows("logs", "access_log")) == 4000
    assert bq_client._DEFAULT_CHUNKSIZE == before
