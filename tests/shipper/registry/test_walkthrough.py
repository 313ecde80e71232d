"""docs/registry.md's "Add a table" and "Change a table", step by step, in a copy of the project.

The schema file is the one the doc shows (read out of the doc, so the two cannot drift); the
commands are the doc's, run from the project's root where every command finds `./schemas`.
BigQuery is the project's stand-in, reached by the real client.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from support import REPO

from shipper.testing.fake_bigquery import FakeBigQueryAPI

DOC = REPO / "docs" / "registry.md"


def doc_schema() -> dict[str, Any]:
    section = DOC.read_text(encoding="utf-8").split("## Add a table", 1)[1].split("## Change a table")[0]
    block = re.search(r"```json\n(.*?)```", section, re.S)
    assert block, "docs/registry.md's Add a table shows no schema"
    return json.loads(re.sub(r"^   ", "", block.group(1), flags=re.M))


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    for part in ("schemas", "fluentd", "docs"):
        shutil.copytree(REPO / part, root / part)
    # the walk-through adds payment_log: a registry that already has it starts without it
    if (root / "schemas" / "payment_log").exists():
        shutil.rmtree(root / "schemas" / "payment_log")
        (root / "fluentd" / "schemas" / "payment_log.json").unlink(missing_ok=True)
        shipper(root, "schemas", "generate")
    return root


def shipper(project: Path, *args: str, env: dict[str, str] | None = None, ok: bool = True) -> Any:
    base = {k: v for k, v in os.environ.items() if not k.startswith("SHIPPER_")}
    proc = subprocess.run([sys.executable, "-m", "shipper", *args], cwd=project, capture_output=True,
                          text=True, timeout=120, env={**base, **(env or {})}, check=False)
    if ok:
        assert proc.returncode == 0, f"shipper {' '.join(args)}:\n{proc.stdout}\n{proc.stderr}"
    return proc


def test_add_a_table_then_change_it(project: Path, tmp_path: Path) -> None:
    schema = doc_schema()
    tables_before = [d for d in (project / "schemas").iterdir() if d.is_dir() and not d.name.startswith("_")]
    table_dir = project / "schemas" / "payment_log"
    table_dir.mkdir()
    (table_dir / "payment_log.1.schema.json").write_text(json.dumps(schema, indent=2))

    # 2-3: check, generate; the generated files then stand checked
    out = shipper(project, "schemas", "check")
    assert f"ok: {len(tables_before) + 1} tables" in out.stdout and f"registry {project / 'schemas'}" in out.stderr
    assert shipper(project, "schemas", "generate", "--check", ok=False).returncode == 1
    shipper(project, "schemas", "generate")
    shipper(project, "schemas", "generate", "--check")
    assert json.loads((project / "fluentd/schemas/payment_log.json").read_text())
    assert "payment_log" in (project / "fluentd/fluent.conf").read_text()
    assert "## `payment_log` (version 1)" in (project / "docs/tables.md").read_text()

    # 4: create the table, on BigQuery (the stand-in) and locally
    with FakeBigQueryAPI(project="my-project") as fake:
        fake.add_dataset("logs")
        bq = {"SHIPPER_BIGQUERY_ENDPOINT": fake.endpoint}
        plan = shipper(project, "tables", "plan", "--target", "bigquery://my-project/logs", env=bq)
        assert "payment_log" in plan.stdout and "create" in plan.stdout
        shipper(project, "tables", "apply", "--target", "bigquery://my-project/logs", env=bq)
        created = fake.table("logs", "payment_log", project="my-project")
        assert created is not None and created["clustering"]["fields"] == ["currency"]
        assert created["timePartitioning"]["field"] == "timestamp"
    warehouse = f"duckdb://{tmp_path}/logs.duckdb"
    shipper(project, "tables", "apply", "--target", warehouse)

    # 6: the app, with the project's registry
    app = ("import shipper; log = shipper.get_logger('payment_log'); "
           "log.info('charged', amount_cents=1299, currency='EUR', provider='acme'); "
           "log.info('refunded', amount_cents=500, currency='USD')")
    logged = subprocess.run([sys.executable, "-c", app], capture_output=True, check=True, timeout=60,
                            env={**os.environ, "SHIPPER_REGISTRY": str(project / "schemas"),
                                 "SHIPPER_MODE": "strict"})
    app_log = tmp_path / "app.log"
    app_log.write_bytes(logged.stdout)

    # 7: load and query
    load = shipper(project, "load", str(app_log), "--target", warehouse)
    assert "payment_log: 2 rows" in load.stdout and "Rejected: 0" in load.stdout
    query = shipper(project, "query", "SELECT currency, SUM(amount_cents) AS total FROM payment_log "
                    "GROUP BY currency ORDER BY currency", "--target", warehouse, "--format", "json")
    assert json.loads(query.stdout) == [{"currency": "EUR", "total": 1299},
                                        {"currency": "USD", "total": 500}]

    # Change a table: version 2 adds a NULLABLE column
    v2 = json.loads(json.dumps(schema))
    v2["$id"] = "urn:logbridge:table:payment_log:2"
    v2["properties"]["card_country"] = {"type": ["string", "null"], "maxLength": 2,
                                        "description": "Country of the card (ISO 3166-1 alpha-2)."}
    (table_dir / "payment_log.2.schema.json").write_text(json.dumps(v2, indent=2))
    diff = shipper(project, "schemas", "diff", "schemas/payment_log/payment_log.1.schema.json",
                   "schemas/payment_log/payment_log.2.schema.json")
    assert "card_country" in diff.stdout and "REJECTED" not in diff.stdout
    shipper(project, "schemas", "check")
    shipper(project, "schemas", "generate")
    plan = shipper(project, "tables", "plan", "--target", warehouse)
    assert "card_country" in plan.stdout
    shipper(project, "tables", "apply", "--target", warehouse)
    app_log.write_text(json.dumps({"log_table": "payment_log", "timestamp": "2026-11-30T10:00:00Z",
                                   "severity": "INFO", "message": "charged", "amount_cents": 1,
                                   "currency": "EUR", "card_country": "FR"}) + "\n")
    shipper(project, "load", str(app_log), "--target", warehouse)
    query = shipper(project, "query", "SELECT card_country FROM payment_log WHERE card_country IS NOT NULL",
                    "--target", warehouse, "--format", "json")
    assert json.loads(query.stdout) == [{"card_country": "FR"}]

    # a change BigQuery refuses in place is refused before anything is touched
    v3 = json.loads(json.dumps(v2))
    v3["$id"] = "urn:logbridge:table:payment_log:3"
    v3["properties"]["amount_cents"]["type"] = "number"
    (table_dir / "payment_log.3.schema.json").write_text(json.dumps(v3, indent=2))
    refused = shipper(project, "schemas", "check", ok=False)
    assert refused.returncode == 1 and "change-type" in refused.stderr
