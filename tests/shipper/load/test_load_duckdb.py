"""`shipper load` into real DuckDB files: routing as fluentd does it, rejects kept, re-runs idempotent."""

from __future__ import annotations

import base64
import shutil

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shipper.load import LoadAborted, load


def test_app_lines_route_by_log_table_and_default_to_app_log(tmp_path, warehouse, lb):
    src = tmp_path / "app.log"
    src.write_bytes(lb.jsonl([lb.access(1), lb.access(2), lb.app(3), {**lb.app(4), "log_table": "app_log"}]))
    s = load([str(src)], warehouse)
    assert (s.tables["access_log"].inserted, s.tables["app_log"].inserted) == (2, 2)
    assert s.rejected_total == 0
    got = lb.rows(warehouse, "SELECT log_id, path, status_code, latency FROM access_log ORDER BY log_id")
    assert got == [("id-000001", "/p/1", 200, 0.001), ("id-000002", "/p/2", 200, 0.002)]
    assert lb.rows(warehouse, "SELECT message FROM app_log ORDER BY message") == [("event 3",), ("event 4",)]


def test_rerun_and_overlapping_sources_add_no_duplicates(tmp_path, warehouse, lb):
    src = tmp_path / "app.log"
    src.write_bytes(lb.jsonl([lb.access(i) for i in range(50)] + [lb.app(i) for i in range(5)] + [b"stray"]))
    first = load([str(src)], warehouse)
    assert first.inserted == 56
    again = load([str(src), str(src)], warehouse)  # the same file twice in one run, after a full run
    assert again.inserted == 0
    assert again.tables["access_log"].duplicates == 100
    assert lb.rows(warehouse, "SELECT count(*) FROM access_log") == [(50,)]
    assert lb.rows(warehouse, "SELECT count(*) FROM raw_log") == [(1,)]


def test_same_file_twice_in_one_fresh_run_loads_once(tmp_path, warehouse, lb):
    src = tmp_path / "app.log"
    src.write_bytes(lb.jsonl([lb.access(i) for i in range(10)]))
    s = load([str(src), str(src)], warehouse)
    assert s.tables["access_log"].inserted == 10
    assert s.tables["access_log"].duplicates == 10


def test_records_without_log_id_are_keyed_by_content(tmp_path, warehouse, lb):
    src = tmp_path / "a.log"
    src.write_bytes(lb.jsonl([lb.access(i, log_id=None) for i in range(5)]))
    load([str(src)], warehouse)
    s = load([str(src)], warehouse)
    assert s.tables["access_log"].duplicates == 5
    assert lb.rows(warehouse, "SELECT count(*) FROM access_log") == [(5,)]


def test_captured_fluentd_records_are_unwrapped_and_judged(fixtures_dir, tmp_path, warehouse, lb):
    """The captures hold records that are not shipper records (no message, a `seq` field): they
    must be rejected with the reason, and the non-JSON `log` values land in raw_log."""
    fluentd = fixtures_dir / "fluentd"
    s = load([str(fluentd / "parser_filter_output.jsonl"), str(fluentd / "bigquery_backup_chunk.jsonl")],
             warehouse, rejects=tmp_path / "r.jsonl")
    assert s.tables["raw_log"].inserted == 2
    raw = lb.rows(warehouse, "SELECT stream, text, container_name, container_id, severity FROM raw_log")
    assert raw == [("stderr", "plain text line, not JSON", "/api-1",
                    "f9811b73ac5d1a8db842634fc0f871e03207ae44105fc9c2b7f1985e70f90d5a", "DEFAULT")] * 2
    rej = lb.rejects(tmp_path / "r.jsonl")
    assert len(rej) == 7 and s.rejected == {"does not fit app_log": 7}
    assert all(r["table"] == "app_log" and "message" in r["reason"] for r in rej)
    assert rej[-1]["source"].endswith("bigquery_backup_chunk.jsonl") and rej[-1]["line"] == 2
    # the original line is kept byte for byte
    original = (fluentd / "bigquery_backup_chunk.jsonl").read_bytes().splitlines()[1]
    assert rej[-1]["text"].encode() == original


def test_driver_records_with_shipper_lines_load_with_container_fields(tmp_path, warehouse, lb):
    inner = orjson.dumps(lb.access(7)).decode()
    env = {"container_id": "c" * 64, "container_name": "/api-1", "source": "stdout", "log": inner,
           "time": "2026-11-28T09:44:27.640873871Z"}
    src = tmp_path / "backup.jsonl"
    src.write_bytes(lb.jsonl([env]))
    stdout = tmp_path / "stdout.log"
    stdout.write_bytes(inner.encode() + b"\n")
    s = load([str(src)], warehouse)
    assert s.tables["access_log"].inserted == 1
    assert lb.rows(warehouse, "SELECT container_name, log_id FROM access_log") == [("/api-1", "id-000007")]
    # the same record read from the app's stdout is the same row: not loaded twice
    assert load([str(stdout)], warehouse).tables["access_log"].duplicates == 1


def test_raw_time_comes_from_fluentd_when_known(tmp_path, warehouse, lb):
    env = {"container_id": "c1", "container_name": "/w", "source": "stdout", "log": "Traceback (most recent call last):",
           "time": "2026-11-28T09:44:27.640873871Z"}
    src = tmp_path / "b.jsonl"
    src.write_bytes(lb.jsonl([env]))
    load([str(src)], warehouse)
    (ts,) = lb.rows(warehouse, "SELECT strftime(timestamp, '%Y-%m-%dT%H:%M:%S.%f') FROM raw_log")[0]
    assert ts == "2026-11-28T09:44:27.640873"


def test_hostile_input_is_reported_and_kept(tmp_path, warehouse, lb):
    big = b'{"log_table": "app_log", "message": "' + b"x" * (3 * 1024 * 1024) + b'"}'
    lines = [
        lb.access(1),
        b"\xff\xfe binary \x00 garbage",  # not UTF-8
        b"valid utf8 but a NUL \x00 byte",  # binary
        big,  # over the (test-sized) row limit
        {**lb.access(2), "log_table": "no_such_table"},
        lb.access(3, status_code="200"),  # does not fit: a string for an INT64
        lb.access(4, extra_field=1),  # does not fit: unknown field
        b"",
        b"a stray print",
    ]
    data = lb.jsonl(lines) + b'{"log_table": "access_log", "timestamp": "2026-11-28T10:'  # truncated
    src = tmp_path / "hostile.log"
    src.write_bytes(data)
    rej_path = tmp_path / "rej.jsonl"
    s = load([str(src)], warehouse, rejects=rej_path, max_line=1024 * 1024, final=True)
    assert s.lines == 10
    assert s.tables["access_log"].inserted == 1 and s.tables["raw_log"].inserted == 1
    assert s.blank == 1
    assert dict(s.rejected) == {
        "not UTF-8 text": 1, "binary data": 1, "line over the row size limit": 1, "unknown table": 1,
        "does not fit access_log": 2, "truncated last line": 1}
    rej = {r["line"]: r for r in lb.rejects(rej_path)}
    assert sorted(rej) == [2, 3, 4, 5, 6, 7, 10]
    assert base64.b64decode(rej[2]["base64"]) == b"\xff\xfe binary \x00 garbage"
    assert rej[3]["text"] == "valid utf8 but a NUL \x00 byte"
    assert base64.b64decode(rej[4]["base64"]) == big and rej[4]["size"] == len(big)
    assert "unknown table 'no_such_table'" in rej[5]["reason"]
    assert "status_code" in rej[6]["reason"] and "extra_field" in rej[7]["reason"]
    assert rej[10]["reason"].startswith("truncated last line")
    assert all(r["source"] == str(src) for r in rej.values())
    text = "\n".join(s.lines_out())
    assert "Rejected: 7" in text and "unknown table" in text and "raw_log: 1 rows" in text


def test_twenty_megabyte_line_is_rejected_with_default_limit(tmp_path, warehouse, lb):
    src = tmp_path / "huge.log"
    with open(src, "wb") as f:
        f.write(orjson.dumps(lb.access(1)) + b"\n")
        f.write(b'{"log_table":"app_log","message":"' + b"y" * (20 * 1024 * 1024) + b'"}\n')
        f.write(orjson.dumps(lb.access(2)) + b"\n")
    s = load([str(src)], warehouse, rejects=tmp_path / "r.jsonl")
    assert s.tables["access_log"].inserted == 2
    assert s.rejected == {"line over the row size limit": 1}
    (r,) = lb.rejects(tmp_path / "r.jsonl")
    assert r["line"] == 2 and r["size"] == 20 * 1024 * 1024 + 36


def test_value_duckdb_refuses_is_isolated_and_the_rest_loaded(tmp_path, warehouse, lb):
    """A row the target refuses (here handed to the DuckDB sink past the check, as a registry
    and a live table that disagree would) is isolated by halving the batch: only it is
    rejected, with DuckDB's reason and its source line; its batch-mates are loaded."""
    from shipper.load import _Loader
    from shipper.load._sources import resolve
    from shipper.registry import load_registry
    from shipper.warehouse import open_warehouse

    src = tmp_path / "src.log"
    src.write_bytes(b"")
    registry = load_registry(full_check=False)
    table = registry.table("access_log")
    loader = _Loader([resolve(str(src))], registry, 1 << 20)
    loader.start(open_warehouse(warehouse).url, tmp_path / "r.jsonl")
    loader.starts.append((1, resolve(str(src))))
    sink = open_warehouse(warehouse).writer(registry, loader)
    encode = sink.encoder(table)
    rows = []
    for i in range(20):
        row = lb.access(i)
        if i == 13:
            row["timestamp"] = "not a time"
        rows.append(encode(row["log_id"], i + 1, None, row))
    sink.write(table, 1, rows)
    sink.flush()
    sink.close()
    loader.rejects.close()
    summary = loader.summary
    assert summary.tables["access_log"].inserted == 19
    assert summary.rejected == {"refused by the target": 1}
    (r,) = lb.rejects(tmp_path / "r.jsonl")
    assert (r["source"], r["line"]) == (str(src), 14)
    assert r["reason"].startswith("refused by DuckDB") and r["row"]["log_id"] == "id-000013"
    assert lb.rows(warehouse, "SELECT count(*) FROM access_log") == [(19,)]


def test_impossible_calendar_date_is_rejected_by_the_check(tmp_path, warehouse, lb):
    recs = [lb.access(i) for i in range(5)]
    recs[3]["timestamp"] = "2026-02-30T10:00:00Z"
    src = tmp_path / "a.log"
    src.write_bytes(lb.jsonl(recs))
    s = load([str(src)], warehouse, rejects=tmp_path / "r.jsonl")
    assert s.tables["access_log"].inserted == 4
    (r,) = lb.rejects(tmp_path / "r.jsonl")
    assert r["line"] == 4 and "timestamp" in r["reason"] and r["reason"].startswith("does not fit access_log")


def test_small_batches_and_stdin(tmp_path, warehouse, lb):
    import io

    data = lb.jsonl([lb.access(i) for i in range(95)])
    s = load(["-"], warehouse, stdin=io.BytesIO(data), batch_rows=10, rejects=tmp_path / "r.jsonl")
    assert s.tables["access_log"].inserted == 95
    assert lb.rows(warehouse, "SELECT count(DISTINCT log_id) FROM access_log") == [(95,)]


def test_default_rejects_path_is_next_to_the_database(tmp_path, lb):
    src = tmp_path / "a.log"
    src.write_bytes(b"\xff\n")
    s = load([str(src)], f"duckdb://{tmp_path / 'w' / 'logs.duckdb'}")
    assert s.rejects_path == str(tmp_path / "w" / "logs.rejects.jsonl")
    assert len(lb.rejects(tmp_path / "w" / "logs.rejects.jsonl")) == 1


def test_interrupted_load_names_where_to_resume_and_rerun_completes(tmp_path, warehouse, lb, monkeypatch):
    src = tmp_path / "a.log"
    src.write_bytes(lb.jsonl([lb.access(i) for i in range(30)]))
    import shipper.load as loader

    real = loader._Loader._block
    calls = {"n": 0}

    def interrupt_on_second_block(self, lines, last_complete, start):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return real(self, lines, last_complete, start)

    monkeypatch.setattr(loader._Loader, "_block", interrupt_on_second_block)
    # A tiny read block size makes several blocks out of the file.
    monkeypatch.setattr("shipper.load._reader.BLOCK", 64)
    monkeypatch.setattr(loader.LineReader.__init__, "__defaults__", (64,))
    with pytest.raises(LoadAborted) as info:
        load([str(src)], warehouse, batch_rows=5)
    msg = str(info.value)
    assert "interrupted; stopped at" in msg and str(src) in msg and "Re-run the same command" in msg
    stopped_line = int(info.value.summary.stopped_at.rsplit(":", 1)[1])
    loaded = lb.rows(warehouse, "SELECT count(*) FROM access_log")[0][0]
    assert loaded == stopped_line - 1  # everything before the resume line, nothing after
    monkeypatch.setattr(loader._Loader, "_block", real)
    s = load([str(src)], warehouse)
    assert lb.rows(warehouse, "SELECT count(*) FROM access_log") == [(30,)]
    assert s.tables["access_log"].duplicates == loaded


def test_missing_source_is_an_error(tmp_path, warehouse):
    with pytest.raises(FileNotFoundError):
        load([str(tmp_path / "nope.log")], warehouse)


def test_cli_load_prints_summary_and_exit_codes(tmp_path, warehouse, lb, capsys):
    from shipper.cli import main

    src = tmp_path / "a.log"
    src.write_bytes(lb.jsonl([lb.access(1), b"\xff"]))
    assert main(["load", str(src), "--target", warehouse, "--rejects", str(tmp_path / "r.jsonl")]) == 0
    out = capsys.readouterr().out
    assert "access_log: 1 rows" in out and "Rejected: 1" in out and "not UTF-8 text" in out
    assert main(["load", str(tmp_path / "missing.log"), "--target", warehouse]) == 1
    assert "no such file" in capsys.readouterr().err
    assert main(["load", str(src), "--target", "mysql://x"]) == 1
    shutil.rmtree(tmp_path / "r.jsonl", ignore_errors=True)


LINE_KINDS = st.one_of(
    st.binary(max_size=30),
    st.sampled_from([b"", b"   ", b"\xff\xfe", b"{", b"[1, 2]", b'"just a string"', b"plain text", b"\x00",
                     b'{"log_table": "nope", "timestamp": "2026-11-28T10:00:00Z"}',
                     b'{"timestamp": "2026-11-28T10:00:00Z", "severity": "INFO", "message": "ok"}',
                     b'{"timestamp": "2026-11-28T10:00:00Z", "severity": "LOUD", "message": "bad"}',
                     b'{"container_id": "c", "source": "stderr", "log": "boom"}',
                     b'{"container_id": "c", "source": "stdout", "log": "{\\"message\\": \\"m\\"}"}']),
    st.integers(0, 10_000).map(lambda i: orjson.dumps({**_access(i)})),
)


def _access(i):
    return {"log_table": "access_log", "timestamp": "2026-11-28T10:00:00Z", "severity": "INFO",
            "log_id": f"h-{i}", "method": "GET", "path": "/", "status_code": 200, "latency": 0.1}


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=st.lists(LINE_KINDS, max_size=25), newline_at_end=st.booleans())
def test_every_line_is_accounted_for(tmp_path_factory, lines, newline_at_end):
    """lines read = rows inserted + rows already loaded + rejected + blank, whatever the bytes."""
    d = tmp_path_factory.mktemp("acct")
    data = b"\n".join(lines) + (b"\n" if newline_at_end and lines else b"")
    src = d / "in.log"
    src.write_bytes(data)
    s = load([str(src)], f"duckdb://{d / 'w.duckdb'}", rejects=d / "r.jsonl")
    expected_lines = data.count(b"\n") + (0 if not data or data.endswith(b"\n") else 1)
    assert s.lines == expected_lines
    loaded = sum(t.inserted + t.duplicates for t in s.tables.values())
    assert loaded + s.rejected_total + s.blank + s.waiting == s.lines
    assert s.waiting == (1 if data and not data.endswith(b"\n") else 0)
    kept = (d / "r.jsonl").read_bytes().count(b"\n") if (d / "r.jsonl").exists() else 0
    assert kept == s.rejected_total


def test_progress_bar_on_request(tmp_path, warehouse, lb, capsys):
    src = tmp_path / "a.log"
    src.write_bytes(lb.jsonl([lb.access(i) for i in range(3000)]))
    load([str(src)], warehouse, progress=True)
    err = capsys.readouterr().err
    assert "\r[" in err and "100%" in err and "3,000 lines" in err


def test_in_process_executor_where_fork_is_not_available(tmp_path, warehouse, lb, monkeypatch):
    import shipper.warehouse._duckdb_exec as ex

    monkeypatch.setattr(ex.sys, "platform", "darwin")
    src = tmp_path / "a.log"
    src.write_bytes(lb.jsonl([lb.access(i) for i in range(25)]))
    s = load([str(src)], warehouse, batch_rows=10)
    assert s.tables["access_log"].inserted == 25 and s.target_peak_mb == 0
    assert load([str(src)], warehouse).tables["access_log"].duplicates == 25


def test_target_failure_that_is_not_a_value_stops_with_resume_point(tmp_path, warehouse, lb, monkeypatch):
    """A disk-full (or any non-value) DuckDB error does not split batches or reject rows: the
    load stops, names the line to resume from, and a re-run completes without duplicates."""
    import shipper.warehouse._duckdb_exec as ex

    src = tmp_path / "a.log"
    src.write_bytes(lb.jsonl([lb.access(i) for i in range(40)]))
    real = ex.Executor.run
    calls = {"stage": 0}

    def failing(self, statements):
        if any("read_json" in sql for sql, _, _ in statements):
            calls["stage"] += 1
            if calls["stage"] == 2:
                raise ex.ExecError("IOException", "IO Error: No space left on device")
        return real(self, statements)

    monkeypatch.setattr(ex.Executor, "run", failing)
    import shipper.load as loader

    monkeypatch.setattr(loader.LineReader.__init__, "__defaults__", (64,))  # a block per line or so
    with pytest.raises(LoadAborted) as info:
        load([str(src)], warehouse, batch_rows=10, rejects=tmp_path / "r.jsonl")
    assert "No space left on device" in str(info.value) and f"stopped at {src} line 11" in str(info.value)
    assert not (tmp_path / "r.jsonl").exists()  # nothing rejected: the rows were not at fault
    assert lb.rows(warehouse, "SELECT count(*) FROM access_log") == [(10,)]
    monkeypatch.setattr(ex.Executor, "run", real)
    s = load([str(src)], warehouse)
    assert s.tables["access_log"].inserted == 30 and s.tables["access_log"].duplicates == 10


def test_out_file_default_format_time_tag_json(tmp_path, warehouse, lb):
    """fluentd's out_file without a <format> writes `time<TAB>tag<TAB>json`: read it too."""
    inner = orjson.dumps(lb.access(3)).decode()
    env = {"container_id": "c1", "container_name": "/api", "source": "stdout", "log": inner}
    raw = {"container_id": "c1", "container_name": "/api", "source": "stderr", "log": "oops"}
    src = tmp_path / "secondary.log"
    src.write_bytes(b"2026-11-28T09:44:27+00:00\tapp.api\t" + orjson.dumps(env) + b"\n"
                    + b"2026-11-28T09:44:28+00:00\tapp.api\t" + orjson.dumps(raw) + b"\n")
    s = load([str(src)], warehouse)
    assert s.tables["access_log"].inserted == 1 and s.tables["raw_log"].inserted == 1
    assert lb.rows(warehouse, "SELECT text, strftime(timestamp, '%H:%M:%S') FROM raw_log") == [("oops", "09:44:28")]
