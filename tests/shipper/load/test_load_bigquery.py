"""`shipper load` into BigQuery through the real client against FakeBigQueryAPI: the requests sent."""

from __future__ import annotations

import pytest
from support import BIGQUERY_URL

from shipper.load import LoadAborted, load

URL = BIGQUERY_URL  # the `fake` fixture (conftest.py) answers for it


def inserts(fake):
    return fake.calls("POST", "/insertAll")


def test_batches_of_500_with_insert_ids_and_replay_without_duplicates(fake, tmp_path, lb):
    src = tmp_path / "a.log"
    src.write_bytes(lb.jsonl([lb.access(i) for i in range(1200)] + [lb.access(i, log_id=None) for i in range(3)]))
    s = load([str(src)], URL, rejects=tmp_path / "r.jsonl")
    reqs = inserts(fake)
    assert [len(r.body["rows"]) for r in reqs] == [500, 500, 203]
    assert all(r.size < 10 * 1024 * 1024 for r in reqs)
    ids = [row["insertId"] for r in reqs for row in r.body["rows"]]
    assert ids[:2] == ["id-000000", "id-000001"] and len(set(ids)) == 1203
    assert all(i.startswith("h:") for i in ids[-3:])
    sent = reqs[0].body["rows"][0]["json"]
    assert "log_table" not in sent and sent["path"] == "/p/0"
    assert s.tables["access_log"].inserted == 1203 and s.requests == 3
    load([str(src)], URL, rejects=tmp_path / "r.jsonl")  # the replay
    assert len(fake.rows("logs", "access_log")) == 1203
    assert [row["insertId"] for r in inserts(fake)[3:] for row in r.body["rows"]] == ids


def test_invalid_row_rejected_stopped_rows_retried(fake, tmp_path, lb):
    """The live table lags the registry (no `route` column yet): BigQuery refuses the one row that
    has it ('no such field'), stops the others; they are sent again without it."""
    live = fake.table("logs", "access_log")
    live["schema"]["fields"] = [f for f in live["schema"]["fields"] if f["name"] != "route"]
    recs = [lb.access(i) for i in range(10)]
    recs[4]["route"] = "/p/{n}"
    src = tmp_path / "a.log"
    src.write_bytes(lb.jsonl(recs))
    s = load([str(src)], URL, rejects=tmp_path / "r.jsonl")
    reqs = inserts(fake)
    assert [len(r.body["rows"]) for r in reqs] == [10, 9]
    assert "id-000004" not in [row["insertId"] for row in reqs[1].body["rows"]]
    assert len(fake.rows("logs", "access_log")) == 9 and s.tables["access_log"].inserted == 9
    (r,) = lb.rejects(tmp_path / "r.jsonl")
    assert r["line"] == 5 and r["reason"].startswith("refused by BigQuery") and "no such field" in r["reason"]
    assert r["row"]["route"] == "/p/{n}"


def test_request_size_stays_under_10_mb(fake, tmp_path, lb):
    blob = "é" * 400_000  # JSON-escaped by the client: 6 bytes a character, 2.4 MB a row
    src = tmp_path / "a.log"
    src.write_bytes(lb.jsonl([lb.app(i, message=blob) for i in range(8)]))
    s = load([str(src)], URL, rejects=tmp_path / "r.jsonl")
    reqs = inserts(fake)
    assert len(reqs) >= 3 and all(r.size < 10 * 1024 * 1024 for r in reqs)
    assert s.tables["app_log"].inserted == 8


def test_missing_table_rows_are_rejected_not_lost(fake, tmp_path, lb):
    del fake.tables[("test-project", "logs", "raw_log")]
    src = tmp_path / "a.log"
    src.write_bytes(b"stray line one\nstray line two\n" + lb.jsonl([lb.app(1)]))
    s = load([str(src)], URL, rejects=tmp_path / "r.jsonl")
    assert s.tables["app_log"].inserted == 1
    rej = lb.rejects(tmp_path / "r.jsonl")
    assert [r["row"]["text"] for r in rej] == ["stray line one", "stray line two"]
    assert "shipper tables apply" in rej[0]["reason"]


def test_target_failure_aborts_with_resume_point(fake, tmp_path, lb):
    src = tmp_path / "a.log"
    src.write_bytes(lb.jsonl([lb.access(i) for i in range(700)]))
    fake.fail_next = [(403, "accessDenied")]
    with pytest.raises(LoadAborted) as info:
        load([str(src)], URL, rejects=tmp_path / "r.jsonl")
    assert f"stopped at {src} line 1" in str(info.value)
    s = load([str(src)], URL, rejects=tmp_path / "r.jsonl")
    assert s.tables["access_log"].inserted == 700 and len(fake.rows("logs", "access_log")) == 700


def test_cli_uses_the_endpoint_override(fake, tmp_path, lb, capsys):
    from shipper.cli import main

    src = tmp_path / "a.log"
    src.write_bytes(lb.jsonl([lb.access(1)]))
    assert main(["load", str(src), "--target", URL, "--rejects", str(tmp_path / "r.jsonl")]) == 0
    assert "insertAll requests: 1" in capsys.readouterr().out
    assert len(fake.rows("logs", "access_log")) == 1
