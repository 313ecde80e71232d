"""The CLI's first minute (issue 15, case 6): which registry, strict targets, one-line errors."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys

import pytest

from shipper.cli import main
from support import REPO, SCHEMAS, SHIPPED_TABLES


def _run(*args, cwd, env=None, timeout=60):
    return subprocess.run([sys.executable, "-m", "shipper", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **(env or {})})


@pytest.fixture
def checkout(tmp_path):
    """A second project: its own schemas/ with a table the packaged registry lacks."""
    root = tmp_path / "proj"
    shutil.copytree(SCHEMAS, root / "schemas")
    doc = json.loads((root / "schemas/raw_log/raw_log.1.schema.json").read_text())
    doc["$id"] = "urn:logbridge:table:audit_log:1"
    doc["title"] = "audit_log"
    (root / "schemas/audit_log").mkdir()
    (root / "schemas/audit_log/audit_log.1.schema.json").write_text(json.dumps(doc))
    (root / "sub" / "dir").mkdir(parents=True)
    return root


def test_registry_found_like_git_finds_its_repo(checkout, tmp_path):
    env = {"SHIPPER_REGISTRY": ""}
    out = _run("tables", "plan", "--target", f"duckdb://{tmp_path}/w.duckdb", cwd=checkout / "sub" / "dir", env=env)
    assert out.returncode == 0, out.stderr
    assert "+ audit_log: create table" in out.stdout and f"{len(SHIPPED_TABLES) + 1} to create" in out.stdout
    assert f"shipper: registry {checkout / 'schemas'} (./schemas in a parent of the current directory" in out.stderr
    # SHIPPER_REGISTRY wins over the directory; --registry over both.
    out = _run("schemas", "check", cwd=checkout, env={"SHIPPER_REGISTRY": str(SCHEMAS)})
    assert out.stdout.startswith(f"ok: {len(SHIPPED_TABLES)} tables") and "(SHIPPER_REGISTRY)" in out.stderr
    out = _run("schemas", "check", "--registry", str(checkout / "schemas"), cwd=tmp_path,
               env={"SHIPPER_REGISTRY": str(SCHEMAS)})
    assert out.stdout.startswith(f"ok: {len(SHIPPED_TABLES) + 1} tables") and "(--registry)" in out.stderr
    # Nowhere near a project: the packaged one, said so.
    out = _run("schemas", "check", cwd=tmp_path, env=env)
    assert out.returncode == 0 and "packaged with shipper" in out.stderr


def test_load_uses_the_checkouts_registry(checkout, tmp_path):
    src = tmp_path / "a.log"
    src.write_text('{"log_table":"audit_log","timestamp":"2026-11-28T10:00:00Z","severity":"INFO",'
                   '"stream":"stdout","text":"x"}\n')
    out = _run("load", str(src), "--target", f"duckdb://{tmp_path}/w.duckdb", cwd=checkout, env={"SHIPPER_REGISTRY": ""})
    assert out.returncode == 0, out.stderr
    assert "audit_log: 1 rows" in out.stdout and "Rejected: 0" in out.stdout


def test_generate_never_writes_into_the_installed_package(tmp_path, capsys, monkeypatch):
    from shipper._cli import _common

    monkeypatch.delenv("SHIPPER_REGISTRY", raising=False)
    monkeypatch.chdir(tmp_path)  # no ./schemas here or above: the packaged registry is used
    monkeypatch.setattr(_common, "_looks_like_registry", lambda d: False)
    before = {p: p.stat().st_mtime_ns for p in (REPO / "fluentd").rglob("*") if p.is_file()}
    assert main(["schemas", "generate"]) == 1
    err = capsys.readouterr().err
    assert "installed with shipper" in err and "--root" in err
    assert main(["fluentd", "render"]) == 1
    assert {p: p.stat().st_mtime_ns for p in (REPO / "fluentd").rglob("*") if p.is_file()} == before


@pytest.mark.parametrize("target", ["duckdb:logs.duckdb", "duckdb:/tmp/x.duckdb", "duckdb://", "duckdb:///tmp/",
                                    "bigquery://proj", "bigquery://Bad_Project/ds", "bigquery://my-project/a/b",
                                    "mysql://x", "duckdb:///tmp/x.duckdb?mode=ro", "logs.duckdb"])
def test_bad_targets_are_one_clear_error_and_create_nothing(target, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for argv in (["tables", "plan", "--target", target], ["query", "SELECT 1", "--target", target]):
        assert main(argv) == 1
        err = [line for line in capsys.readouterr().err.splitlines() if not line.startswith("shipper: registry")]
        assert len(err) == 1 and "bad target" in err[0] and "duckdb:///" in err[0], err
    assert list(tmp_path.iterdir()) == []


def test_tables_plan_creates_no_file(tmp_path, capsys):
    db = tmp_path / "new" / "w.duckdb"
    assert main(["tables", "plan", "--target", f"duckdb://{db}"]) == 0
    assert "3 to create" in capsys.readouterr().out
    assert not db.exists() and not db.parent.exists()


@pytest.mark.parametrize("module,extra,argv", [
    ("duckdb", "local", ["tables", "plan", "--target", "duckdb:///tmp/never/x.duckdb"]),
    ("duckdb", "local", ["load", "-", "--target", "duckdb:///tmp/never/x.duckdb"]),
    ("sqlglot", "local", ["query", "SELECT 1", "--target", "duckdb:///tmp/never/x.duckdb"]),
    ("google.cloud.bigquery", "bigquery", ["tables", "plan", "--target", "bigquery://my-project/logs"]),
])
def test_missing_extra_is_one_line_naming_the_fix(module, extra, argv, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, module, None)  # `import module` now raises ImportError
    if module == "sqlglot":
        import duckdb

        path = "/tmp/never/x.duckdb"
        os.makedirs("/tmp/never", exist_ok=True)
        duckdb.connect(path).close()
    assert main(argv) == 1
    err = [line for line in capsys.readouterr().err.splitlines() if not line.startswith("shipper: registry")]
    assert len(err) == 1 and f"pip install 'logbridge[{extra}]'" in err[0], err


def test_missing_google_credentials_is_one_line(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GOOGLE", "CLOUDSDK", "SHIPPER_BIGQUERY"))}
    # No metadata server: google-auth must not look for one on the network.
    env.update({"HOME": str(tmp_path), "NO_GCE_CHECK": "True", "GCE_METADATA_HOST": "127.0.0.1:9",
                "GCE_METADATA_IP": "127.0.0.1:9", "CLOUDSDK_CONFIG": str(tmp_path / "gcloud")})
    out = subprocess.run([sys.executable, "-m", "shipper", "tables", "plan", "--target", "bigquery://my-project/logs"],
                         cwd=REPO, capture_output=True, text=True, timeout=60, env=env)
    err = [line for line in out.stderr.splitlines() if not line.startswith("shipper: registry")]
    assert out.returncode == 1 and len(err) == 1, out.stderr
    assert "no Google credentials" in err[0] and "gcloud auth application-default login" in err[0]


def test_load_registry_gets_the_same_check_as_tables_apply(make_registry, tmp_path, capsys):
    root = make_registry({}, with_real_tables=True)
    path = root / "app_log" / "app_log.1.schema.json"
    doc = json.loads(path.read_text())
    doc["properties"]["message"]["description"] = ""  # parses; breaks the `description` rule
    path.write_text(json.dumps(doc))
    src = tmp_path / "a.log"
    src.write_text('{"timestamp":"2026-11-28T10:00:00Z","severity":"INFO","message":"m"}\n')
    target = f"duckdb://{tmp_path}/w.duckdb"
    assert main(["tables", "apply", "--target", target, "--registry", str(root)]) == 1
    assert main(["load", str(src), "--target", target, "--registry", str(root)]) == 1
    err = capsys.readouterr().err
    assert err.count("[description]") == 2 and not (tmp_path / "w.duckdb").exists()


def test_diff_refuses_two_different_tables(capsys):
    assert main(["schemas", "diff", str(SCHEMAS / "app_log/app_log.1.schema.json"),
                 str(SCHEMAS / "raw_log/raw_log.1.schema.json")]) == 1
    assert "two versions of one table" in capsys.readouterr().err


@pytest.mark.parametrize("bad", ["nul \x00 here", "esc \x1b[31m red", "two\nlines", "tab\there"])
def test_descriptions_with_control_characters_are_refused(make_registry, capsys, bad):
    root = make_registry({}, with_real_tables=True)
    path = root / "access_log" / "access_log.1.schema.json"
    doc = json.loads(path.read_text())
    doc["properties"]["path"]["description"] = bad
    path.write_text(json.dumps(doc))
    assert main(["schemas", "check", "--registry", str(root)]) == 1
    err = capsys.readouterr().err
    assert "[description]" in err and "control character" in err and "/properties/path" in err


def test_bigquery_endpoint_down_shows_retry_lines_then_one_error(tmp_path):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    src = tmp_path / "a.log"
    src.write_text('{"timestamp":"2026-11-28T10:00:00Z","severity":"INFO","message":"m"}\n')
    out = _run("load", str(src), "--target", "bigquery://test-project/logs", "--timeout", "4",
               "--rejects", str(tmp_path / "r.jsonl"), cwd=REPO,
               env={"SHIPPER_BIGQUERY_ENDPOINT": f"http://127.0.0.1:{port}"})
    assert out.returncode == 1
    retries = [line for line in out.stderr.splitlines() if "retrying" in line]
    assert retries and f"127.0.0.1:{port}" in retries[0] and "gives up after 4 s" in retries[0]
    last = out.stderr.strip().splitlines()[-1]
    assert last.startswith("shipper: error:") and "stopped at" in last and "Traceback" not in out.stderr
