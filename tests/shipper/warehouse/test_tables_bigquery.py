"""`tables plan/apply` on BigQuery: the real client against FakeBigQueryAPI, exact requests."""

from __future__ import annotations

import json

import pytest

from shipper.cli import main
from shipper.testing.fake_bigquery import FakeBigQueryAPI
from support import SCHEMAS, SHIPPED_TABLES

TARGET = "bigquery://test-project/logs"
BASE = "/bigquery/v2/projects/test-project/datasets/logs/tables"


@pytest.fixture()
def fake(monkeypatch):
    with FakeBigQueryAPI() as f:
        f.add_dataset("logs")
        monkeypatch.setenv("SHIPPER_BIGQUERY_ENDPOINT", f.endpoint)
        yield f


def _requests(fake):
    return [(r.method, r.path) for r in fake.requests]


def test_first_apply_creates_every_table_with_its_options(fake, capsys):
    assert main(["tables", "apply", "--target", TARGET]) == 0
    names = list(SHIPPED_TABLES)
    assert _requests(fake) == [("GET", f"{BASE}/{n}") for n in names] + [("POST", BASE)] * len(names)
    created = {r.body["tableReference"]["tableId"]: r.body for r in fake.calls("POST")}
    access = created["access_log"]
    assert access["timePartitioning"] == {"type": "DAY", "field": "timestamp", "expirationMs": str(395 * 86_400_000)}
    assert access["clustering"] == {"fields": ["path", "status_code"]}
    assert access["schema"]["fields"] == json.loads((SCHEMAS.parent / "fluentd/schemas/access_log.json").read_text())
    assert created["app_log"]["clustering"] == {"fields": ["service", "severity", "logger"]}
    out = capsys.readouterr().out
    assert "3 to create" in out and "Applied: 3 table(s) changed." in out


def test_second_apply_reports_no_changes_and_sends_only_reads(fake, capsys):
    assert main(["tables", "apply", "--target", TARGET]) == 0
    fake.requests.clear()
    assert main(["tables", "apply", "--target", TARGET]) == 0
    assert {m for m, _ in _requests(fake)} == {"GET"}
    assert "Applied: no changes." in capsys.readouterr().out


def test_plan_changes_nothing(fake, capsys):
    assert main(["tables", "plan", "--target", TARGET]) == 0
    assert {m for m, _ in _requests(fake)} == {"GET"}
    assert fake.tables == {}


def _registry_v2(make_registry, mutate):
    root = make_registry({}, with_real_tables=True)
    path = root / "access_log" / "access_log.1.schema.json"
    doc = json.loads(path.read_text())
    mutate(doc)
    path.write_text(json.dumps(doc))
    return root


def test_added_column_and_relaxed_mode_are_patched_in_place(fake, make_registry, capsys):
    assert main(["tables", "apply", "--target", TARGET]) == 0

    def mutate(doc):
        doc["properties"]["region"] = {"type": ["string", "null"], "description": "AWS region"}
        doc["required"].remove("latency")

    root = _registry_v2(make_registry, mutate)
    fake.requests.clear()
    assert main(["tables", "apply", "--target", TARGET, "--registry", str(root)]) == 0
    patches = fake.calls("PATCH")
    assert [p.path for p in patches] == [f"{BASE}/access_log"]
    fields = {f["name"]: f for f in patches[0].body["schema"]["fields"]}
    assert fields["region"]["mode"] == "NULLABLE" and fields["latency"]["mode"] == "NULLABLE"
    assert list(fields)[-1] == "region"  # live order kept, new column appended
    assert patches[0].headers.get("If-Match")  # the client guards against a concurrent change
    assert "add-column: column region" in capsys.readouterr().out
    assert main(["tables", "plan", "--target", TARGET, "--registry", str(root)]) == 0


def test_incompatible_change_is_refused_and_leaves_the_table(fake, make_registry, capsys):
    assert main(["tables", "apply", "--target", TARGET]) == 0
    before = json.dumps(fake.table("logs", "access_log"), sort_keys=True)

    def mutate(doc):
        doc["properties"]["status_code"] = {"type": "string", "description": "now text"}
        doc["properties"]["region"] = {"type": ["string", "null"], "description": "AWS region"}

    root = _registry_v2(make_registry, mutate)
    fake.requests.clear()
    assert main(["tables", "apply", "--target", TARGET, "--registry", str(root)]) == 1
    assert fake.calls("PATCH") == [] and fake.calls("POST") == []
    assert json.dumps(fake.table("logs", "access_log"), sort_keys=True) == before
    captured = capsys.readouterr()
    assert "change-type: column status_code: INT64 -> STRING" in captured.out
    assert "refused to change access_log" in captured.err


def test_missing_dataset_is_one_clear_error(fake, capsys):
    assert main(["tables", "plan", "--target", "bigquery://test-project/nope"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[0].startswith("shipper: registry ")
    assert len(err) == 2 and "dataset test-project:nope does not exist" in err[1]
