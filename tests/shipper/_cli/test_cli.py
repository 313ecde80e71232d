"""The `shipper` command line: help everywhere, exit codes, one line per problem."""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys

import pytest

from shipper.cli import build_parser, main
from support import REPO, SCHEMAS, SHIPPED_TABLES


def _command_paths(parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ()):
    yield prefix
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _command_paths(sub, prefix + (name,))


ALL_COMMANDS = list(_command_paths(build_parser()))


@pytest.mark.parametrize("path", ALL_COMMANDS, ids=[" ".join(p) or "shipper" for p in ALL_COMMANDS])
def test_help_on_every_command(path, capsys):
    with pytest.raises(SystemExit) as exit_:
        main([*path, "--help"])
    assert exit_.value.code == 0
    assert "usage: shipper" in capsys.readouterr().out


def test_usage_errors_exit_2(capsys):
    for argv in ([], ["nope"], ["schemas"], ["tables", "apply"], ["schemas", "check", "--bogus"]):
        with pytest.raises(SystemExit) as exit_:
            main(argv)
        assert exit_.value.code == 2, argv


def test_module_entry_point_and_console_script():
    out = subprocess.run([sys.executable, "-m", "shipper", "schemas", "check"], capture_output=True,
                         text=True, cwd=REPO, timeout=60)
    assert out.returncode == 0 and out.stdout.startswith(f"ok: {len(SHIPPED_TABLES)} tables")
    script = shutil.which("shipper", path=str(REPO / ".venv" / "bin")) or shutil.which("shipper")
    assert script is not None
    out = subprocess.run([script, "schemas", "check"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0


def test_check_names_file_pointer_and_rule_one_line_each(make_registry, capsys):
    root = make_registry({}, with_real_tables=True)
    path = root / "access_log" / "access_log.1.schema.json"
    doc = json.loads(path.read_text())
    doc["properties"]["user-agent"] = {"type": "string", "description": "bad name"}
    doc["properties"]["_PARTITIONTIME"] = {"type": "string", "description": "reserved"}
    path.write_text(json.dumps(doc))
    assert main(["schemas", "check", "--registry", str(root)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err.pop(0) == f"shipper: registry {root} (--registry)"
    assert err[-1].startswith("shipper: error: 2 problem(s)")
    assert sorted(line.split(": [")[1].split("]")[0] for line in err[:-1]) == ["column-name", "reserved-prefix"]
    assert all("access_log/access_log.1.schema.json#/properties/" in line for line in err[:-1])


def test_generate_check_passes_on_the_repo(capsys):
    assert main(["schemas", "generate", "--check"]) == 0
    assert "up to date" in capsys.readouterr().out


def test_generate_check_fails_on_a_stale_file_and_names_the_command(tmp_path, capsys):
    root = tmp_path / "proj"
    shutil.copytree(SCHEMAS, root / "schemas")
    assert main(["schemas", "generate", "--registry", str(root / "schemas")]) == 0
    path = max((root / "schemas" / "raw_log").glob("raw_log.*.schema.json"),
               key=lambda p: int(p.name.split(".")[1]))  # the latest version is what is generated
    doc = json.loads(path.read_text())
    doc["properties"]["host"] = {"type": ["string", "null"], "description": "the host"}
    path.write_text(json.dumps(doc))
    capsys.readouterr()
    assert main(["schemas", "generate", "--check", "--registry", str(root / "schemas")]) == 1
    err = capsys.readouterr().err
    assert "fluentd/schemas/raw_log.json: differs from a fresh generation; run `shipper schemas generate`" in err
    assert "docs/tables.md" in err


def test_diff_allowed_and_rejected(tmp_path, capsys):
    old = SCHEMAS / "access_log" / "access_log.1.schema.json"
    doc = json.loads(old.read_text())
    doc["properties"]["region"] = {"type": ["string", "null"], "description": "region"}
    new = tmp_path / "access_log.2.schema.json"
    new.write_text(json.dumps(doc))
    assert main(["schemas", "diff", str(old), str(new)]) == 0
    assert "ok   add-column: column region: add NULLABLE STRING" in capsys.readouterr().out
    doc["properties"]["latency"]["type"] = "integer"
    new.write_text(json.dumps(doc))
    assert main(["schemas", "diff", str(old), str(new)]) == 1
    assert "REJECTED change-type: column latency: FLOAT64 -> INT64" in capsys.readouterr().out


def test_diff_of_garbage_is_one_error(tmp_path, capsys):
    bad = tmp_path / "x.1.schema.json"
    bad.write_bytes(b"\x00\xff{")
    assert main(["schemas", "diff", str(bad), str(bad)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "cannot read a JSON schema" in err[0]


def test_docs_prints_markdown(capsys):
    assert main(["schemas", "docs"]) == 0
    assert capsys.readouterr().out == (REPO / "docs" / "tables.md").read_text()
