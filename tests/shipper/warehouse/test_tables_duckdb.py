"""`tables plan/apply` on a real DuckDB file."""

from __future__ import annotations

import json

import duckdb
from support import SHIPPED_TABLES

from shipper.cli import main


def test_apply_creates_then_is_idempotent(tmp_path, capsys):
    target = f"duckdb://{tmp_path}/w.duckdb"
    assert main(["tables", "apply", "--target", target]) == 0
    assert main(["tables", "apply", "--target", target]) == 0
    out = capsys.readouterr().out
    assert sum(line.endswith(": no changes") for line in out.splitlines()) == len(SHIPPED_TABLES)
    assert out.strip().endswith("Applied: no changes.")
    con = duckdb.connect(f"{tmp_path}/w.duckdb")
    assert sorted(r[0] for r in con.execute("SHOW TABLES").fetchall()) == list(SHIPPED_TABLES)


def test_nested_add_and_refusal(tmp_path, make_registry, capsys):
    target = f"duckdb://{tmp_path}/w.duckdb"
    assert main(["tables", "apply", "--target", target]) == 0
    con = duckdb.connect(f"{tmp_path}/w.duckdb")
    con.execute("INSERT INTO app_log (timestamp, severity, message) VALUES (now(), 'INFO', 'kept')")
    con.close()
    root = make_registry({}, with_real_tables=True)
    path = root / "app_log" / "app_log.1.schema.json"
    doc = json.loads(path.read_text())
    doc["properties"]["error"]["properties"]["code"] = {"type": ["string", "null"], "description": "error code"}
    path.write_text(json.dumps(doc))
    assert main(["tables", "apply", "--target", target, "--registry", str(root)]) == 0
    con = duckdb.connect(f"{tmp_path}/w.duckdb")
    assert "code VARCHAR" in dict((r[0], r[1]) for r in con.execute("DESCRIBE app_log").fetchall())["error"]
    con.close()
    doc["properties"]["message"] = {"type": "integer", "description": "oops"}
    path.write_text(json.dumps(doc))
    capsys.readouterr()
    assert main(["tables", "apply", "--target", target, "--registry", str(root)]) == 1
    con = duckdb.connect(f"{tmp_path}/w.duckdb")
    assert con.execute("SELECT message FROM app_log").fetchall() == [("kept",)]
    assert "REJECTED" in capsys.readouterr().out
