"""The registry's rules beyond JSON Schema: what BigQuery and fluent-plugin-bigquery accept.

Each rule has a short name that appears in every error line, so a failing CI log points at the
rule as well as the place. The list is in `RULES` and in docs/registry.md ("Rules `shipper schemas check` enforces").
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from typing import Any

from ._compat import compare_tables, rejected
from ._model import (
    BOOL,
    DATE,
    INT64,
    JSON,
    RECORD,
    REPEATED,
    STRING,
    TIMESTAMP,
    Field,
    Registry,
    Table,
)
from ._parse import _Docs
from ._problems import Problem
from ._quota import quota_problems

DRAFT_2020_12 = "https://json-schema.org/draft/2020-12/schema"
COLUMN_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# BigQuery allows 300 characters, but fluent-plugin-bigquery refuses names over 128 when it
# loads `schema_path` (FieldSchema in lib/fluent/plugin/bigquery/schema.rb): the smaller wins.
MAX_NAME = 128
# BigQuery allows 10,000 columns, but the local warehouse (DuckDB, and `shipper load` into it)
# works on chunks of 2,048 rows holding a vector per column: memory grows with the column count,
# ~120 MB per 1,000 columns for a load (measured: 2,000 columns load in ~280 MB, 3,000 in ~570
# MB, 5,000 in 1.2 GB, 10,000 run out of a small container). 2,000 keeps every process of a load
# under 300 MB; a table that needs more columns belongs in a JSON column or in several tables.
MAX_COLUMNS = 2_000
BIGQUERY_MAX_COLUMNS = 10_000
MAX_DEPTH = 15
MAX_CLUSTERING = 4
RESERVED_PREFIXES = ("_TABLE_", "_FILE_", "_PARTITION", "_ROW_TIMESTAMP", "__ROOT__",
                     "_COLIDENTIFIER", "_CHANGE_SEQUENCE_NUMBER", "_CHANGE_TYPE", "_CHANGE_TIMESTAMP")
PARTITION_TYPES = (TIMESTAMP, DATE)
CLUSTER_TYPES = (STRING, INT64, BOOL, DATE, TIMESTAMP)

RULES = {
    "registry-missing": "the registry directory exists",
    "json-syntax": "the file is UTF-8 JSON",
    "schema-object": "a schema file holds one JSON object",
    "meta-schema": "the file is a valid JSON Schema (Draft 2020-12)",
    "draft": "$schema names Draft 2020-12",
    "file-name": "tables live at schemas/<table>/<table>.<version>.schema.json",
    "title": "title is the table name",
    "unique-id": "every $id is unique",
    "ref": "every $ref resolves inside the registry",
    "type": "one JSON type per field (plus optional null), mapped as docs/registry.md says",
    "format": "only date-time and date formats (TIMESTAMP, DATE)",
    "unsupported-keyword": "no anyOf/oneOf/not/if/patternProperties/prefixItems",
    "array-items": "an array has one items schema",
    "nested-array": "no arrays of arrays",
    "repeated-null": "no null elements in arrays",
    "empty-record": "an object holds something",
    "closed-object": "tables and records refuse undeclared fields (unevaluatedProperties/additionalProperties false)",
    "column-name": "names match [A-Za-z_][A-Za-z0-9_]*, at most 128 characters (fluent-plugin-bigquery; BigQuery allows 300)",
    "reserved-prefix": "names do not start with a prefix BigQuery reserves",
    "duplicate-column": "names are unique, ignoring case, among siblings",
    "nesting-depth": "RECORDs nest at most 15 levels",
    "column-count": "at most 2,000 columns, nested ones included (BigQuery allows 10,000; the local "
                    "DuckDB warehouse needs memory per column: 2,000 keep a load under 300 MB)",
    "description": "the table and every field have a description: one line of printable text (no NUL, ESC, "
                   "newline or other control character: it goes into docs/tables.md and BigQuery)",
    "partitioning": "the partitioning field is a top-level TIMESTAMP or DATE, not REPEATED",
    "clustering": "at most 4 clustering fields: top-level, not REPEATED, of a clusterable type",
    "table-options": "insert_id_field is a top-level STRING, extra_field a top-level JSON",
    "versions": "versions are numbered 1, 2, 3, ... without gaps",
    "compatibility": "each version changes the previous one only as BigQuery allows in place",
    "required": "every required name is declared",
    "ingestion": "ingestion is stream (the default) or batch with a flush_interval between 60 s and 24 h",
    "ingestion-quota": "a batch table's load jobs, from every fluentd process (SHIPPER_FLUENTD_INSTANCES, default 10), stay under 80% of BigQuery's daily per-table limit",
    "default": "a default is a value of its column's type (and enum): what the repair path writes into a REQUIRED column that is missing",
}


def check_meta_schema(docs: _Docs) -> list[Problem]:
    """Every file against the Draft 2020-12 meta-schema (jsonschema, imported only here)."""
    from jsonschema import Draft202012Validator

    meta = Draft202012Validator(Draft202012Validator.META_SCHEMA)
    problems: list[Problem] = []
    for file, doc in docs.by_file.items():
        if doc.get("$schema") != DRAFT_2020_12:
            problems.append(Problem(file, "/$schema", "draft", f"$schema must be {DRAFT_2020_12!r}"))
        for err in meta.iter_errors(doc):
            pointer = "".join(f"/{p}" for p in err.absolute_path)
            problems.append(Problem(file, pointer, "meta-schema", err.message[:300]))
    return problems


def _walk(fields: tuple[Field, ...], depth: int = 1):
    for f in fields:
        yield f, depth
        if f.type == RECORD:
            yield from _walk(f.fields, depth + 1)


def _check_names(fields: tuple[Field, ...], problems: list[Problem]) -> None:
    seen: dict[str, Field] = {}
    for f in fields:
        if not COLUMN_NAME.match(f.name) or len(f.name) > MAX_NAME:
            problems.append(Problem(f.source, f.pointer, "column-name",
                                    f"{f.name[:40]!r}{'...' if len(f.name) > 40 else ''} is not a usable column name "
                                    f"([A-Za-z_][A-Za-z0-9_]*, ≤ {MAX_NAME} chars: fluent-plugin-bigquery's limit)"))
        upper = f.name.upper()
        for prefix in RESERVED_PREFIXES:
            if upper.startswith(prefix):
                problems.append(Problem(f.source, f.pointer, "reserved-prefix",
                                        f"{f.name!r} starts with {prefix!r}, which BigQuery reserves"))
        other = seen.get(f.name.lower())
        if other is not None:
            problems.append(Problem(f.source, f.pointer, "duplicate-column",
                                    f"{f.name!r} is also declared at {other.source}#{other.pointer} (names ignore case)"))
        seen[f.name.lower()] = f
        if f.type == RECORD:
            _check_names(f.fields, problems)


def _closed(schema: Any) -> bool:
    return isinstance(schema, dict) and (schema.get("unevaluatedProperties") is False
                                         or schema.get("additionalProperties") is False)


def _check_closed(docs: _Docs, fields: tuple[Field, ...], problems: list[Problem]) -> None:
    for f, _ in _walk(fields):
        if f.type != RECORD:
            continue
        node: Any = docs.by_file.get(f.source, {})
        for part in [p for p in f.pointer.split("/") if p]:
            node = node.get(part.replace("~1", "/").replace("~0", "~"), {}) if isinstance(node, dict) else {}
        if f.mode == REPEATED and isinstance(node, dict):
            node = node.get("items", {})
        if not _closed(node):
            problems.append(Problem(f.source, f.pointer, "closed-object",
                                    "a RECORD must say additionalProperties: false (BigQuery rejects rows with unknown fields)"))


def _control_char(text: str) -> str | None:
    for ch in text:
        if unicodedata.category(ch) == "Cc":
            return f"U+{ord(ch):04X}"
    return None


def check_table(table: Table, docs: _Docs) -> list[Problem]:
    problems: list[Problem] = []
    file = table.source
    doc = docs.by_file.get(file, {})
    if not _closed(doc):
        problems.append(Problem(file, "", "closed-object",
                                "a table must say unevaluatedProperties: false (BigQuery rejects rows with unknown fields)"))
    if not table.description.strip():
        problems.append(Problem(file, "/description", "description", "the table needs a description"))
    bad = _control_char(table.description)
    if bad:
        problems.append(Problem(file, "/description", "description",
                                f"the table description holds the control character {bad}: one line of printable text"))
    _check_names(table.fields, problems)
    _check_closed(docs, table.fields, problems)
    count = 0
    for f, depth in _walk(table.fields):
        count += 1
        if not f.description.strip():
            problems.append(Problem(f.source, f.pointer, "description", f"field {f.name!r} needs a description"))
        bad = _control_char(f.description)
        if bad:
            problems.append(Problem(f.source, f.pointer, "description",
                                    f"the description of {f.name!r} holds the control character {bad}: "
                                    "one line of printable text"))
        if depth > MAX_DEPTH:
            problems.append(Problem(f.source, f.pointer, "nesting-depth",
                                    f"{f.name!r} is nested {depth} levels deep (BigQuery allows {MAX_DEPTH})"))
    if count > MAX_COLUMNS:
        problems.append(Problem(file, "/properties", "column-count",
                                f"{count} columns: at most {MAX_COLUMNS:,} (BigQuery allows "
                                f"{BIGQUERY_MAX_COLUMNS:,}, but the local DuckDB warehouse holds a vector per "
                                "column for every 2,048 rows: wider tables need over 300 MB to load)"))
    p = table.partitioning
    if p is not None:
        f = table.field(p.field)
        if f is None:
            problems.append(Problem(file, "/x-bigquery/partitioning/field", "partitioning",
                                    f"partitioning field {p.field!r} is not a top-level field"))
        elif f.type not in PARTITION_TYPES or f.mode == REPEATED:
            problems.append(Problem(file, "/x-bigquery/partitioning/field", "partitioning",
                                    f"partitioning field {p.field!r} is {f.mode} {f.type}; it must be TIMESTAMP or DATE, not REPEATED"))
        elif f.type == DATE and p.granularity == "HOUR":
            problems.append(Problem(file, "/x-bigquery/partitioning/granularity", "partitioning",
                                    "a DATE column cannot be partitioned by HOUR"))
    if len(table.clustering) > MAX_CLUSTERING:
        problems.append(Problem(file, "/x-bigquery/clustering", "clustering",
                                f"{len(table.clustering)} clustering fields (BigQuery allows {MAX_CLUSTERING})"))
    if len(set(table.clustering)) != len(table.clustering):
        problems.append(Problem(file, "/x-bigquery/clustering", "clustering", "a clustering field is listed twice"))
    for i, name in enumerate(table.clustering):
        f = table.field(name)
        if f is None:
            problems.append(Problem(file, f"/x-bigquery/clustering/{i}", "clustering",
                                    f"clustering field {name!r} is not a top-level field"))
        elif f.type not in CLUSTER_TYPES or f.mode == REPEATED:
            problems.append(Problem(file, f"/x-bigquery/clustering/{i}", "clustering",
                                    f"clustering field {name!r} is {f.mode} {f.type}; BigQuery clusters on "
                                    f"non-repeated {', '.join(CLUSTER_TYPES)}"))
    for key, want in (("insert_id_field", STRING), ("extra_field", JSON)):
        name = getattr(table, key)
        if name is None:
            continue
        f = table.field(name)
        if f is None or f.type != want or f.mode == REPEATED:
            problems.append(Problem(file, f"/x-bigquery/{key}", "table-options",
                                    f"{key} {name!r} must name a top-level non-repeated {want} field"))
    return problems


def check_versions(registry: Registry) -> list[Problem]:
    problems: list[Problem] = []
    for name, versions in registry.versions.items():
        numbers = [t.version for t in versions]
        if numbers != list(range(1, len(numbers) + 1)):
            problems.append(Problem(versions[-1].source, "", "versions",
                                    f"table {name!r} has versions {numbers}; expected 1..{len(numbers)}"))
        for old, new in itertools.pairwise(versions):
            for change in rejected(compare_tables(old, new)):
                problems.append(Problem(new.source, "", "compatibility",
                                        f"v{old.version} -> v{new.version}: {change}"))
    return problems


def check_registry(registry: Registry, docs: _Docs) -> list[Problem]:
    problems = check_meta_schema(docs)
    for table in registry.tables:
        problems.extend(check_table(table, docs))
    for versions in registry.versions.values():
        for table in versions[:-1]:
            problems.extend(check_table(table, docs))
    problems.extend(check_versions(registry))
    problems.extend(quota_problems(registry))
    return problems
