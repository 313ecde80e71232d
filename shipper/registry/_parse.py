"""JSON Schema files -> the registry model, in one pass.

The type mapping is the one of mozilla/jsonschema-transpiler, restricted to what BigQuery and
the record check can both honour (docs/registry.md, "Types"):

    integer -> INT64          number -> FLOAT64         boolean -> BOOL
    string -> STRING          string + format date-time -> TIMESTAMP
    string + format date -> DATE (we map it; the transpiler leaves it a STRING)
    array -> mode REPEATED of its items' type (no nested arrays, no null items)
    object with properties -> RECORD        object without properties -> JSON (free-form)
    ["T", "null"] or not in `required` -> NULLABLE, else REQUIRED

Anything else (anyOf/oneOf, tuples, nested arrays, unknown formats) is refused with a rule
name, never guessed: a guess here is a row BigQuery rejects later.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from ._model import (
    BATCH,
    BOOL,
    DATE,
    FLOAT64,
    INT64,
    JSON,
    NULLABLE,
    RECORD,
    REPEATED,
    REQUIRED,
    STREAM,
    STRING,
    TIMESTAMP,
    Constraints,
    Field,
    Ingestion,
    Partitioning,
    Registry,
    Table,
)
from ._problems import Problem

TABLE_FILE = re.compile(r"^(?P<table>[A-Za-z_][A-Za-z0-9_]*)\.(?P<version>[1-9][0-9]*)\.schema\.json$")
COMMON_DIR = "_shared"

SCALARS = {"integer": INT64, "number": FLOAT64, "boolean": BOOL, "string": STRING}
FORMATS = {"date-time": TIMESTAMP, "date": DATE}
# Keywords that describe a value in a way BigQuery cannot store or we cannot check exactly.
UNSUPPORTED = ("anyOf", "oneOf", "not", "if", "then", "else", "patternProperties",
               "prefixItems", "dependentSchemas", "dependentRequired", "propertyNames")
OPTION_KEYS = {"partitioning", "clustering", "insert_id_field", "extra_field", "ingestion"}
INGESTION_KEYS = {"mode", "flush_interval"}
# A load job per flush: more often than this is never what a batch table wants (the job itself
# takes seconds to a minute), and less often than a day leaves rows waiting longer than a day.
MIN_BATCH_INTERVAL_S = 60
MAX_BATCH_INTERVAL_S = 86_400
_DURATION = re.compile(r"([0-9]+)(s|m|h)?\Z")


def parse_duration(text: Any) -> int | None:
    """Seconds of a fluentd-style duration: 300, "300", "300s", "5m", "1h"; None if not one."""
    if isinstance(text, int) and not isinstance(text, bool):
        return text if text > 0 else None
    if not isinstance(text, str):
        return None
    m = _DURATION.match(text.strip())
    if m is None:
        return None
    n = int(m.group(1)) * {"s": 1, None: 1, "m": 60, "h": 3600}[m.group(2)]
    return n if n > 0 else None
PARTITION_KEYS = {"field", "granularity", "expiration_days"}


def default_root() -> Path:
    """The registry directory: `SHIPPER_REGISTRY`, the copy inside the wheel, or the checkout's."""
    import os

    env = os.environ.get("SHIPPER_REGISTRY")
    if env:
        return Path(env)
    here = Path(__file__).resolve().parent.parent
    packaged = here / "_registry_files"
    if packaged.is_dir():
        return packaged
    return here.parent / "schemas"


# What `deref` answers for a $ref it could not follow (the problem is already reported).
_BROKEN: Any = object()


class _Docs:
    """Every loaded JSON document by file and by `$id`, for resolving `$ref`."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.by_file: dict[str, Any] = {}
        self.by_id: dict[str, str] = {}

    def rel(self, path: Path) -> str:
        try:
            return str(path.relative_to(self.root.parent))
        except ValueError:
            return str(path)

    def resolve(self, ref: str, current_file: str) -> tuple[Any, str, str]:
        """Return (schema, file, pointer) that `ref` names; raises ValueError when it names nothing."""
        base, _, fragment = ref.partition("#")
        file = current_file if not base else self.by_id.get(base)
        if file is None:
            raise ValueError(f"$ref {ref!r} names no schema in the registry")
        node = self.by_file[file]
        pointer = fragment or ""
        for part in [p for p in pointer.split("/") if p]:
            part = part.replace("~1", "/").replace("~0", "~")
            if not isinstance(node, dict) or part not in node:
                raise ValueError(f"$ref {ref!r}: no {part!r} in {file}")
            node = node[part]
        return node, file, pointer


def read_documents(root: Path) -> tuple[_Docs, list[tuple[str, str, int]], list[Problem]]:
    """Load every *.schema.json below `root`; return the docs, the table files and problems."""
    docs = _Docs(root)
    tables: list[tuple[str, str, int]] = []
    problems: list[Problem] = []
    if not root.is_dir():
        problems.append(Problem(str(root), "", "registry-missing", "no such directory"))
        return docs, tables, problems
    for path in sorted(root.rglob("*.json")):
        rel = docs.rel(path)
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except UnicodeDecodeError as exc:
            problems.append(Problem(rel, "", "json-syntax", f"not UTF-8 text: {exc.reason}"))
            continue
        except json.JSONDecodeError as exc:
            problems.append(Problem(rel, "", "json-syntax",
                                    f"line {exc.lineno} column {exc.colno}: {exc.msg}"))
            continue
        if not isinstance(doc, dict):
            problems.append(Problem(rel, "", "schema-object", "a schema file holds one JSON object"))
            continue
        docs.by_file[rel] = doc
        sid = doc.get("$id")
        if isinstance(sid, str):
            if sid in docs.by_id:
                problems.append(Problem(rel, "/$id", "unique-id", f"$id {sid!r} is also used by {docs.by_id[sid]}"))
            docs.by_id[sid] = rel
        directory = path.parent.name
        if path.parent == root or directory == COMMON_DIR:
            continue
        m = TABLE_FILE.match(path.name)
        if not m:
            problems.append(Problem(rel, "", "file-name",
                                    "table files are named <table>/<table>.<version>.schema.json"))
            continue
        if m["table"] != directory:
            problems.append(Problem(rel, "", "file-name",
                                    f"file of table {m['table']!r} is in directory {directory!r}"))
            continue
        tables.append((rel, m["table"], int(m["version"])))
    return docs, tables, problems


class _TableParser:
    def __init__(self, docs: _Docs, file: str, problems: list[Problem]) -> None:
        self.docs = docs
        self.file = file
        self.problems = problems
        # Objects being expanded, as (file, pointer): a $ref back to one of them (`{"$ref": ""}`
        # is the table itself) would make a RECORD that contains itself, without end.
        self.expanding: set[tuple[str, str]] = set()

    def problem(self, file: str, pointer: str, rule: str, message: str) -> None:
        self.problems.append(Problem(file, pointer, rule, message))

    def deref(self, schema: Any, file: str, pointer: str, seen: frozenset[str] = frozenset()) -> tuple[Any, str, str]:
        """Follow `$ref` (siblings such as `description` override the target's)."""
        while isinstance(schema, dict) and "$ref" in schema:
            ref = schema["$ref"]
            key = f"{file}|{ref}"
            if not isinstance(ref, str) or key in seen:
                self.problem(file, pointer + "/$ref", "ref", f"$ref {ref!r} is circular or not a string")
                return _BROKEN, file, pointer
            seen = seen | {key}
            try:
                target, tfile, tpointer = self.docs.resolve(ref, file)
            except ValueError as exc:
                self.problem(file, pointer + "/$ref", "ref", str(exc))
                return _BROKEN, file, pointer
            siblings = {k: v for k, v in schema.items() if k != "$ref"}
            if siblings and isinstance(target, dict):
                target = {**target, **siblings}
            schema, file, pointer = target, tfile, tpointer
        return schema, file, pointer

    def object_members(self, schema: dict[str, Any], file: str, pointer: str) -> tuple[list[tuple[str, Any, bool, str, str]], set[str]]:
        """Properties of an object schema, `allOf` parts first: (name, schema, required, file, pointer)."""
        where = (file, pointer)
        if where in self.expanding:
            self.problem(file, pointer or "/", "ref", "a $ref cycle: this object contains itself")
            return [], set()
        self.expanding.add(where)
        try:
            return self._object_members(schema, file, pointer)
        finally:
            self.expanding.discard(where)

    def _object_members(self, schema: dict[str, Any], file: str, pointer: str) -> tuple[list[tuple[str, Any, bool, str, str]], set[str]]:
        members: list[tuple[str, Any, bool, str, str]] = []
        for i, part in enumerate(schema.get("allOf", []) or []):
            part, pfile, ppointer = self.deref(part, file, f"{pointer}/allOf/{i}")
            if part is _BROKEN:
                continue
            if not isinstance(part, dict):
                self.problem(file, f"{pointer}/allOf/{i}", "allOf", "allOf entries must be object schemas")
                continue
            sub, _ = self.object_members(part, pfile, ppointer)
            members.extend(sub)
        required = schema.get("required", [])
        if not isinstance(required, list):
            self.problem(file, f"{pointer}/required", "required", "required must be a list of names")
            required = []
        props = schema.get("properties", {})
        if not isinstance(props, dict):
            self.problem(file, f"{pointer}/properties", "properties", "properties must be an object")
            props = {}
        for name, sub in props.items():
            esc = name.replace("~", "~0").replace("/", "~1")
            members.append((name, sub, name in required, file, f"{pointer}/properties/{esc}"))
        declared = {m[0] for m in members}
        for name in required:
            if name not in declared:
                self.problem(file, f"{pointer}/required", "required",
                             f"required field {name!r} is not declared in properties")
        return members, set(required)

    def fields(self, schema: dict[str, Any], file: str, pointer: str) -> tuple[Field, ...]:
        where = (file, pointer)
        if where in self.expanding:
            self.problem(file, pointer or "/", "ref", "a $ref cycle: this object contains itself")
            return ()
        members, _ = self.object_members(schema, file, pointer)
        self.expanding.add(where)
        try:
            out: list[Field] = []
            for name, sub, required, mfile, mpointer in members:
                f = self.field(name, sub, required, mfile, mpointer)
                if f is not None:
                    out.append(f)
            return tuple(out)
        finally:
            self.expanding.discard(where)

    def field(self, name: str, schema: Any, required: bool, file: str, pointer: str) -> Field | None:
        schema, file, pointer = self.deref(schema, file, pointer)
        if schema is _BROKEN:
            return None
        if not isinstance(schema, dict):
            self.problem(file, pointer, "field-schema", f"field {name!r} must be described by an object")
            return None
        for kw in UNSUPPORTED:
            if kw in schema:
                self.problem(file, f"{pointer}/{kw}", "unsupported-keyword",
                             f"{kw} has no BigQuery column type; use one type per field")
                return None
        types, nullable = self.types(schema, file, pointer)
        if types is None:
            return None
        mode = NULLABLE if (nullable or not required) else REQUIRED
        if types == "array":
            items = schema.get("items")
            if not isinstance(items, dict):
                self.problem(file, f"{pointer}/items", "array-items",
                             "an array needs one `items` schema (BigQuery REPEATED column)")
                return None
            items, ifile, ipointer = self.deref(items, file, f"{pointer}/items")
            if items is _BROKEN:
                return None
            if not isinstance(items, dict):
                self.problem(ifile, ipointer, "array-items", "`items` must be an object schema")
                return None
            itypes, inull = self.types(items, ifile, ipointer)
            if itypes is None:
                return None
            if itypes == "array":
                self.problem(ifile, ipointer, "nested-array",
                             "arrays of arrays do not exist in BigQuery: wrap the inner array in an object")
                return None
            if inull:
                self.problem(ifile, f"{ipointer}/type", "repeated-null",
                             "a REPEATED column cannot hold null elements")
                return None
            element = self.element(name, items, itypes, ifile, ipointer)
            if element is None:
                return None
            bq_type, children, constraints = element
            description = schema.get("description", items.get("description", ""))
            return Field(name, bq_type, REPEATED, str(description), children, constraints, file, pointer)
        element = self.element(name, schema, types, file, pointer)
        if element is None:
            return None
        bq_type, children, constraints = element
        return Field(name, bq_type, mode, str(schema.get("description", "")), children, constraints, file, pointer)

    def types(self, schema: dict[str, Any], file: str, pointer: str) -> tuple[str | None, bool]:
        raw = schema.get("type")
        if raw is None and "const" in schema:
            raw = {str: "string", bool: "boolean", int: "integer", float: "number"}.get(type(schema["const"]))
        if raw is None and "enum" in schema and isinstance(schema["enum"], list) and schema["enum"]:
            kinds = {type(v) for v in schema["enum"] if v is not None}
            if kinds == {str}:
                raw = ["string", "null"] if None in schema["enum"] else "string"
        listed = [raw] if isinstance(raw, str) else raw
        if not isinstance(listed, list) or not all(isinstance(t, str) for t in listed):
            self.problem(file, f"{pointer}/type", "type", "every field needs a `type` (a name or a list of names)")
            return None, False
        nullable = "null" in listed
        rest = [t for t in listed if t != "null"]
        if len(rest) != 1:
            self.problem(file, f"{pointer}/type", "type",
                         f"one type (plus optional null) per field, got {listed!r}")
            return None, False
        t = rest[0]
        if t not in SCALARS and t not in ("object", "array"):
            self.problem(file, f"{pointer}/type", "type", f"unknown type {t!r}")
            return None, False
        return t, nullable

    def element(self, name: str, schema: dict[str, Any], t: str, file: str, pointer: str) -> tuple[str, tuple[Field, ...], Constraints] | None:
        if t == "object":
            props = schema.get("properties")
            if props:
                return RECORD, self.fields(schema, file, pointer), Constraints()
            if schema.get("additionalProperties") is False:
                self.problem(file, pointer, "empty-record",
                             "an object with no properties and additionalProperties false can hold nothing")
                return None
            return JSON, (), Constraints()
        bq_type = SCALARS[t]
        fmt = schema.get("format")
        if fmt is not None:
            if t != "string" or fmt not in FORMATS:
                self.problem(file, f"{pointer}/format", "format",
                             f"format {fmt!r} on {t} is not supported (supported: date-time, date on strings)")
                return None
            bq_type = FORMATS[fmt]
        enum = schema.get("enum")
        if "const" in schema:
            enum = [schema["const"]]
        constraints = Constraints(
            enum=tuple(enum) if isinstance(enum, list) else None,
            max_length=schema.get("maxLength") if isinstance(schema.get("maxLength"), int) else None,
            minimum=schema.get("minimum") if isinstance(schema.get("minimum"), (int, float)) else None,
            maximum=schema.get("maximum") if isinstance(schema.get("maximum"), (int, float)) else None,
            default=self.default(schema, t, enum, file, pointer),
        )
        return bq_type, (), constraints

    def default(self, schema: dict[str, Any], t: str, enum: Any, file: str, pointer: str) -> Any:
        """A column's `default`: a value of the column's own type (and enum), or a problem."""
        if "default" not in schema:
            return None
        value = schema["default"]
        python = {"string": str, "integer": int, "number": (int, float), "boolean": bool}.get(t)
        ok = (python is not None and isinstance(value, python)
              and (t == "boolean" or not isinstance(value, bool))
              and (not isinstance(enum, list) or value in enum))
        if not ok:
            self.problem(file, f"{pointer}/default", "default",
                         f"default {value!r} is not a value of this {t} column"
                         + (f" (one of {enum})" if isinstance(enum, list) else ""))
            return None
        return value

    def ingestion(self, raw: Any) -> Ingestion:
        """`{"mode": "stream"}` (the default) or `{"mode": "batch", "flush_interval": "5m"}`."""
        where = "/x-bigquery/ingestion"
        if raw is None:
            return Ingestion()
        if not isinstance(raw, dict):
            self.problem(self.file, where, "ingestion", 'ingestion is {"mode": "stream"} or '
                         '{"mode": "batch", "flush_interval": "5m"}')
            return Ingestion()
        for key in raw:
            if key not in INGESTION_KEYS:
                self.problem(self.file, f"{where}/{key}", "ingestion", f"unknown ingestion option {key!r}")
        mode = raw.get("mode", STREAM)
        if mode == STREAM:
            if "flush_interval" in raw:
                self.problem(self.file, f"{where}/flush_interval", "ingestion",
                             "flush_interval is for batch tables (a stream table flushes every "
                             "LOGBRIDGE_FLUSH_INTERVAL)")
            return Ingestion()
        if mode != BATCH:
            self.problem(self.file, f"{where}/mode", "ingestion", f"mode {mode!r} is not stream or batch")
            return Ingestion()
        seconds = parse_duration(raw.get("flush_interval"))
        if seconds is None or not MIN_BATCH_INTERVAL_S <= seconds <= MAX_BATCH_INTERVAL_S:
            self.problem(self.file, f"{where}/flush_interval", "ingestion",
                         f"a batch table needs a flush_interval between {MIN_BATCH_INTERVAL_S} s and "
                         f"{MAX_BATCH_INTERVAL_S // 3600} h (e.g. \"5m\"), got {raw.get('flush_interval')!r}")
            return Ingestion()
        return Ingestion(BATCH, seconds)

    def options(self, doc: dict[str, Any]) -> tuple[Partitioning | None, tuple[str, ...], str | None, str | None, Ingestion]:
        raw = doc.get("x-bigquery", {})
        if not isinstance(raw, dict):
            self.problem(self.file, "/x-bigquery", "table-options", "x-bigquery must be an object")
            return None, (), None, None, Ingestion()
        for key in raw:
            if key not in OPTION_KEYS:
                self.problem(self.file, f"/x-bigquery/{key}", "table-options",
                             f"unknown table option {key!r} (known: {', '.join(sorted(OPTION_KEYS))})")
        partitioning = None
        part = raw.get("partitioning")
        if part is not None:
            if not isinstance(part, dict) or not isinstance(part.get("field"), str):
                self.problem(self.file, "/x-bigquery/partitioning", "partitioning",
                             "partitioning needs a `field` name")
            else:
                for key in part:
                    if key not in PARTITION_KEYS:
                        self.problem(self.file, f"/x-bigquery/partitioning/{key}", "partitioning",
                                     f"unknown partitioning option {key!r}")
                granularity = part.get("granularity", "DAY")
                if granularity not in ("HOUR", "DAY", "MONTH", "YEAR"):
                    self.problem(self.file, "/x-bigquery/partitioning/granularity", "partitioning",
                                 f"granularity {granularity!r} is not HOUR, DAY, MONTH or YEAR")
                exp = part.get("expiration_days")
                if exp is not None and (not isinstance(exp, int) or isinstance(exp, bool) or exp < 1):
                    self.problem(self.file, "/x-bigquery/partitioning/expiration_days", "partitioning",
                                 "expiration_days is a whole number of days, at least 1")
                    exp = None
                partitioning = Partitioning(part["field"], str(granularity), exp)
        clustering = raw.get("clustering", [])
        if not isinstance(clustering, list) or not all(isinstance(c, str) for c in clustering):
            self.problem(self.file, "/x-bigquery/clustering", "clustering", "clustering is a list of field names")
            clustering = []
        insert_id = raw.get("insert_id_field")
        extra = raw.get("extra_field")
        for key, value in (("insert_id_field", insert_id), ("extra_field", extra)):
            if value is not None and not isinstance(value, str):
                self.problem(self.file, f"/x-bigquery/{key}", "table-options", f"{key} is a field name")
        return (partitioning, tuple(clustering),
                insert_id if isinstance(insert_id, str) else None,
                extra if isinstance(extra, str) else None,
                self.ingestion(raw.get("ingestion")))


def resolved_schema(docs: _Docs, file: str) -> dict[str, Any]:
    """The table's schema with every $ref inlined, so it validates without a resolver."""

    def walk(node: Any, current: str, depth: int) -> Any:
        if depth > 64:
            return node
        if isinstance(node, dict):
            if "$ref" in node and isinstance(node["$ref"], str):
                try:
                    target, tfile, _ = docs.resolve(node["$ref"], current)
                except ValueError:
                    return node
                merged = {**target, **{k: v for k, v in node.items() if k != "$ref"}} if isinstance(target, dict) else target
                return walk(merged, tfile, depth + 1)
            return {k: walk(v, current, depth + 1) for k, v in node.items()
                    if k not in ("$id", "$schema", "$defs")}
        if isinstance(node, list):
            return [walk(v, current, depth + 1) for v in node]
        return node

    return walk(docs.by_file[file], file, 0)


def _parse_table(docs: _Docs, file: str, name: str, version: int, problems: list[Problem]) -> Table:
    doc = docs.by_file[file]
    parser = _TableParser(docs, file, problems)
    title = doc.get("title")
    if title != name:
        problems.append(Problem(file, "/title", "title", f"title must be the table name {name!r}, got {title!r}"))
    if doc.get("type") != "object":
        problems.append(Problem(file, "/type", "type", "a table schema is of type object"))
    partitioning, clustering, insert_id, extra, ingestion = parser.options(doc)
    return Table(
        name=name,
        version=version,
        description=str(doc.get("description", "")),
        fields=parser.fields(doc, file, ""),
        partitioning=partitioning,
        clustering=clustering,
        insert_id_field=insert_id,
        extra_field=extra,
        ingestion=ingestion,
        source=file,
        json_schema=resolved_schema(docs, file),
    )


def parse_registry(root: Path | None = None) -> tuple[Registry, list[Problem], _Docs]:
    """Parse every table file; never raises on bad input, it reports problems instead."""
    root = Path(root) if root is not None else default_root()
    docs, table_files, problems = read_documents(root)
    versions: dict[str, list[Table]] = {}
    for file, name, version in table_files:
        versions.setdefault(name, []).append(_parse_table(docs, file, name, version, problems))
    registry = Registry(
        root=root,
        versions={n: tuple(sorted(v, key=lambda t: t.version)) for n, v in versions.items()},
    )
    return registry, problems, docs


def parse_table_document(doc: Any, label: str, root: Path | None = None) -> tuple[Table | None, list[Problem]]:
    """One table schema held in memory (not in the registry), its `$ref`s resolved against it.

    For `to_bigquery(dict)` and `schemas diff OLD NEW`, which judge files outside `schemas/`.
    """
    root = Path(root) if root is not None else default_root()
    docs, _, problems = read_documents(root)
    if not isinstance(doc, dict):
        return None, [Problem(label, "", "schema-object", "a schema file holds one JSON object")]
    m = TABLE_FILE.match(Path(label).name)
    name = m["table"] if m else str(doc.get("title") or "table")
    version = int(m["version"]) if m else 1
    docs.by_file[label] = doc
    if isinstance(doc.get("$id"), str):
        docs.by_id[doc["$id"]] = label
    problems = [p for p in problems if p.file == label]
    table = _parse_table(docs, label, name, version, problems)
    return (None if problems else table), problems
