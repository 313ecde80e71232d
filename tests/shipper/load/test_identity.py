"""Once-only loads (issue 15, case 3): identity independent of path spelling, a growing file's
unfinished last line waits, a known log_id with other content is refused with that reason."""

from __future__ import annotations

import io
import os

import orjson
from support import bigquery_with_tables

from shipper.load import load


def test_path_spelling_does_not_change_identity(tmp_path, warehouse, lb, monkeypatch):
    """The issue's st.log, ./st.log, $PWD/st.log: raw lines keyed by position gave 3 copies."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "st.log").write_bytes(b"plain line one\nplain line two\nplain line one\n")
    for spelling in ("st.log", "./st.log", f"{os.getcwd()}/st.log", "../" + tmp_path.name + "/st.log"):
        load([spelling], warehouse)
    assert lb.rows(warehouse, "SELECT count(*) FROM raw_log") == [(3,)]


def test_stdin_has_its_own_identity(tmp_path, warehouse, lb):
    data = b"plain line one\nplain line two\n"
    load(["-"], warehouse, stdin=io.BytesIO(data))
    s = load(["-"], warehouse, stdin=io.BytesIO(data))  # the same stream again: nothing new
    assert s.tables["raw_log"].duplicates == 2
    load(["-"], warehouse, stdin=io.BytesIO(data), stdin_name="api-1")  # another named stream
    (tmp_path / "f.log").write_bytes(data)
    load([str(tmp_path / "f.log")], warehouse)  # a file is another source than stdin
    assert lb.rows(warehouse, "SELECT count(*) FROM raw_log") == [(6,)]


def test_growing_file_last_line_waits_for_the_next_run(tmp_path, warehouse, lb):
    src = tmp_path / "growing.log"
    whole = orjson.dumps(lb.app(1, message="the whole line")) + b"\n"
    src.write_bytes(orjson.dumps(lb.app(0)) + b"\n" + whole[:25])  # the app is mid-write
    s = load([str(src)], warehouse, rejects=tmp_path / "r.jsonl")
    assert s.waiting == 1 and s.rejected_total == 0 and s.lines == 2
    assert "waiting: 1" in "\n".join(s.lines_out())
    with open(src, "ab") as f:
        f.write(whole[25:])
    s = load([str(src)], warehouse, rejects=tmp_path / "r.jsonl")
    assert s.waiting == 0 and s.tables["app_log"].inserted == 1
    assert sorted(lb.rows(warehouse, "SELECT message FROM app_log")) == [("event 0",), ("the whole line",)]
    assert not (tmp_path / "r.jsonl").exists()  # the cut-off line was never rejected
    # A text line without its newline waits too, and --final loads it.
    src.write_bytes(b"partial text")
    assert load([str(src)], warehouse).waiting == 1
    assert load([str(src)], warehouse, final=True).tables["raw_log"].inserted == 1


def test_known_log_id_with_other_content_is_rejected_with_the_reason(tmp_path, warehouse, lb):
    first = tmp_path / "a.log"
    first.write_bytes(lb.jsonl([lb.access(1), lb.access(2)]))
    load([str(first)], warehouse, rejects=tmp_path / "r.jsonl")
    second = tmp_path / "b.log"
    # id-000001 again with another path; id-000002 again as it was (a duplicate); a new one twice
    # in one batch, the second time with another status.
    second.write_bytes(lb.jsonl([lb.access(1, path="/other"), lb.access(2), lb.access(3),
                                 lb.access(3, status_code=404)]))
    s = load([str(second)], warehouse, rejects=tmp_path / "r.jsonl")
    t = s.tables["access_log"]
    assert (t.inserted, t.duplicates) == (1, 1)
    assert s.rejected == {"log_id already loaded with different content": 2}
    rej = lb.rejects(tmp_path / "r.jsonl")
    assert sorted((r["line"], r["row"]["log_id"]) for r in rej) == [(1, "id-000001"), (4, "id-000003")]
    assert all("already loaded with different content" in r["reason"] for r in rej)
    assert lb.rows(warehouse, "SELECT path, status_code FROM access_log ORDER BY log_id") == [
        ("/p/1", 200), ("/p/2", 200), ("/p/0", 200)]


def test_same_record_via_driver_and_stdout_is_not_a_conflict(tmp_path, warehouse, lb):
    inner = orjson.dumps(lb.access(7)).decode()
    env = {"container_id": "c" * 64, "container_name": "/api-1", "source": "stdout", "log": inner}
    (tmp_path / "d.jsonl").write_bytes(lb.jsonl([env]))
    (tmp_path / "s.log").write_bytes(inner.encode() + b"\n")
    load([str(tmp_path / "d.jsonl")], warehouse)
    s = load([str(tmp_path / "s.log")], warehouse)
    assert s.tables["access_log"].duplicates == 1 and s.rejected_total == 0


def test_bigquery_refuses_a_log_id_seen_with_other_content_in_the_run(tmp_path, lb):
    with bigquery_with_tables() as (fake, wh):
        src = tmp_path / "b.log"
        src.write_bytes(lb.jsonl([lb.access(3), lb.access(3), lb.access(3, status_code=404)]))
        s = load([str(src)], wh, rejects=tmp_path / "r.jsonl")
        assert (s.tables["access_log"].inserted, s.tables["access_log"].duplicates) == (1, 1)
        assert s.rejected == {"log_id already loaded with different content": 1}
        assert [r["status_code"] for r in fake.rows("logs", "access_log")] == [200]
