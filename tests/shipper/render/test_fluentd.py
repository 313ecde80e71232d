"""shipper.render.fluentd and `shipper fluentd render`: the committed config is a fresh render."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from support import REPO, SCHEMAS, base_table

from shipper._generated import generated_files
from shipper.cli import main
from shipper.fluentd_conf import parse
from shipper.registry import load_registry
from shipper.render.fluentd import render

CONF = REPO / "fluentd" / "fluent.conf"


@pytest.fixture(scope="module")
def registry():
    return load_registry(SCHEMAS)


def test_committed_config_equals_a_fresh_render(registry):
    assert CONF.read_text(encoding="utf-8") == render(registry), (
        "fluentd/fluent.conf is stale: run `shipper fluentd render` and commit it")


def test_render_is_deterministic(registry):
    assert render(registry) == render(load_registry(SCHEMAS))


def test_generated_files_list_names_the_render_command(registry):
    entries = [g for g in generated_files(registry) if g.path == "fluentd/fluent.conf"]
    assert len(entries) == 1 and entries[0].command == "shipper fluentd render"
    assert entries[0].render(registry) == render(registry)


def test_check_passes_on_the_committed_config(capsys):
    assert main(["fluentd", "render", "--check"]) == 0
    assert "up to date" in capsys.readouterr().out


def _changed_registry(tmp_path: Path) -> Path:
    root = tmp_path / "schemas"
    shutil.copytree(SCHEMAS, root)
    doc = base_table("audit_log", actor={"type": "string", "description": "who did it"})
    doc["$id"] = "urn:logbridge:table:audit_log:1"
    (root / "audit_log").mkdir()
    (root / "audit_log" / "audit_log.1.schema.json").write_text(json.dumps(doc, indent=2))
    return root


def test_a_registry_change_without_a_render_fails_the_check_naming_the_command(tmp_path, capsys):
    root = _changed_registry(tmp_path)
    committed = tmp_path / "fluent.conf"
    shutil.copy(CONF, committed)
    assert main(["fluentd", "render", "--check", "--registry", str(root), "--output", str(committed)]) == 1
    err = capsys.readouterr().err
    assert "run `shipper fluentd render`" in err and "differs from a fresh render" in err
    # the new table gets its own route once rendered
    assert main(["fluentd", "render", "--registry", str(root), "--output", str(committed)]) == 0
    text = committed.read_text()
    assert "<match bq.audit_log>" in text and "out_bq_audit_log_secondary" in text
    assert main(["fluentd", "render", "--check", "--registry", str(root), "--output", str(committed)]) == 0


def test_schemas_generate_check_names_the_fluentd_command(tmp_path, capsys):
    root = _changed_registry(tmp_path)
    project = tmp_path / "project"
    (project / "fluentd").mkdir(parents=True)
    shutil.copy(CONF, project / "fluentd" / "fluent.conf")
    rc = main(["schemas", "generate", "--check", "--registry", str(root), "--root", str(project)])
    assert rc == 1
    assert "fluentd/fluent.conf: differs from a fresh generation; run `shipper fluentd render`" \
        in capsys.readouterr().err


def test_missing_file_fails_the_check(tmp_path, capsys):
    assert main(["fluentd", "render", "--check", "--output", str(tmp_path / "none.conf")]) == 1
    assert "is missing" in capsys.readouterr().err


def test_output_dash_prints_the_config(capsys, registry):
    assert main(["fluentd", "render", "--output", "-"]) == 0
    assert capsys.readouterr().out == render(registry)


def test_help_and_usage_errors(capsys):
    with pytest.raises(SystemExit) as e:
        main(["fluentd", "render", "--help"])
    assert e.value.code == 0
    assert "--check" in capsys.readouterr().out
    with pytest.raises(SystemExit) as e:
        main(["fluentd", "render", "--no-such-flag"])
    assert e.value.code == 2
    with pytest.raises(SystemExit) as e:
        main(["fluentd"])
    assert e.value.code == 2


def test_a_table_declaring_log_is_refused(make_registry, capsys):
    root = make_registry({"weird": [base_table("weird", log={"type": "string", "description": "x"})]},
                         with_real_tables=True)
    assert main(["fluentd", "render", "--registry", str(root), "--output", "-"]) == 1
    assert "declares a field `log`" in capsys.readouterr().err


def test_outputs_follow_the_registry(registry):
    root = parse(render(registry))
    outputs = {e.get("table"): e for e in root.walk() if e.get("@type") == "bigquery_insert"}
    assert sorted(outputs) == sorted(registry.names)
    for t in registry.tables:
        o = outputs[t.name]
        assert o.get("schema_path") == f"/fluentd/etc/schemas/{t.name}.json"
        assert o.get("insert_id_field") == t.insert_id_field
        assert o.get("time_partitioning_field") == (t.partitioning.field if t.partitioning else None)
        clustering = o.get("clustering_fields")
        assert (json.loads(clustering) if clustering else []) == list(t.clustering)
        assert o.get("allow_retry_insert_errors") == "true"
        assert o.get("auto_create_table") == "false"
        (buf,) = o.children("buffer")
        assert buf.get("@type") == "file" and buf.get("chunk_limit_records") == "500"
        (sec,) = o.children("secondary")
        assert sec.get("@type") == "secondary_file" and t.name in sec.get("directory")


def test_month_partitioning_is_left_to_shipper_tables(make_registry):
    doc = base_table("monthly")
    doc["x-bigquery"] = {"partitioning": {"field": "timestamp", "granularity": "MONTH"},
                         "clustering": ["service"]}
    reg = load_registry(make_registry({"monthly": [doc]}, with_real_tables=True))
    (o,) = [e for e in parse(render(reg)).walk() if e.get("table") == "monthly"]
    assert o.get("time_partitioning_type") is None and o.get("clustering_fields") == '["service"]'
    assert o.children("secondary")
