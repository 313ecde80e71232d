"""shipper.render.fluentd and `shipper fluentd render`: the committed image files are a fresh render.

What the config *does* is judged by real fluentd (tests/fluentd/); here: the files are fresh,
rendering follows the registry, and the command behaves.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from support import REPO, SCHEMAS, base_table

from shipper._generated import generated_files
from shipper.cli import main
from shipper.registry import load_registry
from shipper.render.fluentd import SETTINGS, image_files, render

CONF = REPO / "fluentd" / "fluent.conf"
IMAGE_FILES = ("fluentd/fluent.conf", "fluentd/plugins/out_logbridge_route.rb",
               "fluentd/plugins/logbridge_rules.rb")


@pytest.fixture(scope="module")
def registry():
    return load_registry(SCHEMAS)


def sections(text: str, name: str) -> dict[str, str]:
    """`<name ARG> ... </name>` blocks of the config by ARG (nesting of other names is fine)."""
    return {m.group(1): m.group(2) for m in re.finditer(rf"^\s*<{name} ([^>]*)>\n(.*?)^\s*</{name}>",
                                                         text, flags=re.MULTILINE | re.DOTALL)}


def param(block: str, key: str) -> str | None:
    m = re.search(rf"^\s*{re.escape(key)} (.*)$", block, flags=re.MULTILINE)
    return m.group(1) if m else None


@pytest.mark.parametrize("path", IMAGE_FILES)
def test_committed_image_files_equal_a_fresh_render(registry, path):
    (f,) = [f for f in image_files() if f.path == path]
    assert (REPO / path).read_text(encoding="utf-8") == f.render(registry), (
        f"{path} is stale: run `shipper fluentd render` and commit it")


def test_render_is_deterministic(registry):
    fresh = load_registry(SCHEMAS)
    assert [f.render(registry) for f in image_files()] == [f.render(fresh) for f in image_files()]


def test_generated_files_list_names_the_render_command(registry):
    entries = {g.path: g for g in generated_files(registry) if g.path in IMAGE_FILES}
    assert sorted(entries) == sorted(IMAGE_FILES)
    assert {g.command for g in entries.values()} == {"shipper fluentd render"}
    assert entries["fluentd/fluent.conf"].render(registry) == render(registry)


def test_check_passes_on_the_committed_files(capsys):
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


def _project(tmp_path: Path) -> Path:
    project = tmp_path / "project"
    for rel in IMAGE_FILES:
        (project / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO / rel, project / rel)
    return project


def test_a_registry_change_without_a_render_fails_the_check_naming_the_command(tmp_path, capsys):
    root = _changed_registry(tmp_path)
    project = _project(tmp_path)
    args = ["fluentd", "render", "--registry", str(root), "--root", str(project)]
    assert main([*args, "--check"]) == 1
    err = capsys.readouterr().err
    assert "run `shipper fluentd render`" in err and "differs from a fresh render" in err
    assert "out_logbridge_route.rb" in err and "logbridge_rules.rb" in err and "fluent.conf" in err
    # rendered: the new table has its output, its check and a place in the router's table list
    assert main(args) == 0
    conf = (project / "fluentd/fluent.conf").read_text()
    assert "<match bq.audit_log>" in conf and "out_bq_audit_log_secondary" in conf
    assert "def check_audit_log(r)" in (project / "fluentd/plugins/logbridge_rules.rb").read_text()
    assert "'audit_log' => true" in (project / "fluentd/plugins/out_logbridge_route.rb").read_text()
    assert main([*args, "--check"]) == 0


def test_schemas_generate_check_names_the_fluentd_command(tmp_path, capsys):
    root = _changed_registry(tmp_path)
    project = _project(tmp_path)
    rc = main(["schemas", "generate", "--check", "--registry", str(root), "--root", str(project)])
    assert rc == 1
    err = capsys.readouterr().err
    for rel in IMAGE_FILES:
        assert f"{rel}: differs from a fresh generation; run `shipper fluentd render`" in err


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
    outputs = sections(render(registry), "match")
    for t in registry.tables:
        o = outputs[f"bq.{t.name}"]
        batch = t.ingestion.mode == "batch"
        assert param(o, "@type") == ("bigquery_load" if batch else "bigquery_insert") and param(o, "table") == t.name
        assert param(o, "schema_path") is None and param(o, "fetch_schema") is None  # no conversion
        assert param(o, "time_partitioning_field") == (t.partitioning.field if t.partitioning else None)
        clustering = param(o, "clustering_fields")
        assert (json.loads(clustering) if clustering else []) == list(t.clustering)
        assert param(o, "auto_create_table") == "false"
        if batch:
            assert param(o, "prevent_duplicate_load") == "true" and param(o, "max_bad_records") == "0"
            assert param(o, "flush_interval") == f"{t.ingestion.flush_interval_s}s"
            assert param(o, "insert_id_field") is None  # a load job takes none
        else:
            assert param(o, "insert_id_field") == (t.insert_id_field or "log_id")
            assert param(o, "allow_retry_insert_errors") == "true"
            assert "<buffer>" in o and param(o, "chunk_limit_records") == "500"
        assert param(o, "@type secondary_file") is None and "@type secondary_file" in o
        assert f"/failed/{t.name}" in o


def test_month_partitioning_is_left_to_shipper_tables(make_registry):
    doc = base_table("monthly")
    doc["x-bigquery"] = {"partitioning": {"field": "timestamp", "granularity": "MONTH"},
                         "clustering": ["service"]}
    reg = load_registry(make_registry({"monthly": [doc]}, with_real_tables=True))
    o = sections(render(reg), "match")["bq.monthly"]
    assert param(o, "time_partitioning_type") is None and param(o, "clustering_fields") == '["service"]'
    assert "<secondary>" in o


def test_every_plugin_has_a_unique_id(registry):
    ids = re.findall(r"^\s*@id (\S+)$", render(registry), flags=re.MULTILINE)
    assert len(ids) == len(set(ids)) and len(ids) >= 10


def test_status_events_have_a_label_of_their_own(registry):
    text = render(registry)
    sources = sections(text, "source")
    assert not sources  # sources take no argument
    blocks = re.findall(r"<source>\n(.*?)</source>", text, flags=re.DOTALL)
    labels = {param(b, "@type"): param(b, "@label") for b in blocks}
    assert labels == {"forward": "@INPUT", "monitor_agent": "@STATUS"}
    # no top-level <match>: a tag sent to the forward port cannot reach an output by its name
    top = re.sub(r"<label .*?</label>", "", text, flags=re.DOTALL)
    assert "<match" not in top and "<filter" not in top


def test_settings_are_read_from_the_environment_and_documented():
    text = CONF.read_text()
    names = set(re.findall(r"ENV\['(\w+)'\]", text))
    assert names == set(SETTINGS)
    readme = (REPO / "fluentd" / "README.md").read_text()
    for name, s in SETTINGS.items():
        row = re.search(rf"^\| `{name}` \| ([^|]*) \|", readme, flags=re.MULTILINE)
        assert row, f"{name} is not in fluentd/README.md's settings table"
        if s.default is None:
            assert "required" in row.group(1)
        else:
            assert f"`{s.default}`" in row.group(1) or (s.default == "" and "empty" in row.group(1))


def test_a_batch_table_is_a_load_job_per_flush_of_its_interval(make_registry, capsys):
    """Issue 17: a batch table renders into bigquery_load (it was refused before): file buffer
    flushed every flush_interval, job ids from the chunk id, all-or-nothing jobs, <secondary>;
    its JSON columns stay raw JSON values (a load job stores them as given)."""
    doc = base_table("nightly", extra={"type": ["object", "null"], "description": "free-form"})
    doc["x-bigquery"]["ingestion"] = {"mode": "batch", "flush_interval": "1h"}
    doc["x-bigquery"]["extra_field"] = "extra"
    root = make_registry({"nightly": [doc]}, with_real_tables=True)
    assert main(["fluentd", "render", "--registry", str(root), "--output", "-"]) == 0
    o = sections(capsys.readouterr().out, "match")["bq.nightly"]
    assert param(o, "@type") == "bigquery_load" and param(o, "source_format") == "json"
    assert param(o, "flush_interval") == "3600s" and param(o, "@type file") is None and "@type file" in o
    assert param(o, "prevent_duplicate_load") == "true" and param(o, "max_bad_records") == "0"
    assert "@type secondary_file" in o and "/failed/nightly" in o
    from shipper.render.fluentd_rules import render_rules

    rules = render_rules(load_registry(root))
    assert "'nightly' => [].freeze" in rules and "'app_log' => ['extra'].freeze" in rules