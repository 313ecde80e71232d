"""Helpers shared by test modules (import as `from support import ...`)."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

REPO = Path(__file__).resolve().parent.parent
SCHEMAS = REPO / "schemas"
# The tables of the repository's registry, read from it (a table added there is in every test
# that goes over the tables, with no test edited).
SHIPPED_TABLES = tuple(sorted(p.name for p in SCHEMAS.iterdir() if p.is_dir() and not p.name.startswith("_")))


def base_table(name: str = "t", **extra_props: Any) -> dict[str, Any]:
    """A minimal valid table schema referencing the real envelope, for tests to mutate."""
    doc: dict[str, Any] = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"urn:logbridge:table:{name}:test",
        "title": name,
        "description": "a test table",
        "type": "object",
        "allOf": [{"$ref": "urn:logbridge:envelope:1"}],
        "properties": {
            "message": {"type": "string", "description": "what happened"},
            **extra_props,
        },
        "required": ["message"],
        "unevaluatedProperties": False,
        "x-bigquery": {"partitioning": {"field": "timestamp", "granularity": "DAY"}},
    }
    return doc


def load_lambda_handler(lambda_dir: Path, module_name: str) -> ModuleType:
    """A Lambda's handler.py under a unique module name, its directory appended to sys.path.

    Every Lambda's entry module is called `handler`; loading each under its own name (and
    appending, not prepending, its directory) keeps one from shadowing another in one test run.
    """
    if str(lambda_dir) not in sys.path:
        sys.path.append(str(lambda_dir))
    if module_name in sys.modules:
        return sys.modules[module_name]
    spec = importlib.util.spec_from_file_location(module_name, lambda_dir / "handler.py")
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = mod
    spec.loader.exec_module(mod)
    return mod


# -- record verdicts: one vector file run by every judge (tests/vectors/README.md) -------------

VECTORS = REPO / "tests" / "vectors"


@dataclass(frozen=True)
class RecordVerdict:
    id: str
    table: str
    record: Any
    verdict: str  # "fits" | "refused"
    violations: tuple[tuple[str, str], ...]  # (field, rule), in the judge's order
    bigquery: str  # "accepts" | "refuses": what BigQuery itself does with the row
    wire: bool  # False: no JSON or msgpack carries it (only Python judges run it)
    note: str = ""


def record_verdicts() -> list[RecordVerdict]:
    """Every vector of tests/vectors/record_verdicts.jsonl (read with Python's json: NaN and
    lone-surrogate escapes are allowed there)."""
    import json

    out = []
    for line in (VECTORS / "record_verdicts.jsonl").read_text(encoding="utf-8").splitlines():
        d = json.loads(line)
        if "about" in d:
            continue
        out.append(RecordVerdict(d["id"], d["table"], d["record"], d["verdict"],
                                 tuple((f, r) for f, r in d["violations"]), d["bigquery"],
                                 d.get("wire", True), d.get("note", "")))
    return out


def vector_schemas(into: Path) -> Path:
    """A registry directory for the vectors: the shipped tables plus tests/vectors/tables."""
    import shutil

    root = into / "schemas"
    shutil.copytree(SCHEMAS, root)
    for table in (VECTORS / "tables").iterdir():
        shutil.copytree(table, root / table.name)
    return root


BIGQUERY_URL = "bigquery://test-project/logs"


@contextmanager
def bigquery_with_tables() -> Iterator[tuple[Any, Any]]:
    """(fake, warehouse): the BigQuery stand-in with dataset `logs` holding the shipped
    registry's tables, made through a warehouse on BIGQUERY_URL (the real client), which is
    closed at the end."""
    from shipper.registry import load_registry
    from shipper.testing.fake_bigquery import FakeBigQueryAPI
    from shipper.warehouse import ensure_tables, open_warehouse

    with FakeBigQueryAPI() as fake:
        fake.add_dataset("logs")
        wh = open_warehouse(BIGQUERY_URL, client=fake.client())
        try:
            ensure_tables(wh, load_registry(full_check=False))
            yield fake, wh
        finally:
            wh.close()
