"""Where tables live: a BigQuery dataset or a DuckDB file, behind one small interface.

A target reads a live table back into the registry model (so the one compatibility judge in
`shipper.registry` compares like with like) and applies allowed changes. Heavy clients are
imported only when a target of that kind is opened.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlparse

from ..registry import NULLABLE, RECORD, Change, Field, Partitioning, Table
from ..registry._compat import ADD_COLUMN, RELAX_MODE


class TargetError(Exception):
    """The target cannot be reached or used: one line, for the CLI."""


class Target(Protocol):
    url: str
    # Whether the target keeps what BigQuery keeps; DuckDB has no descriptions, nested NOT NULL,
    # partitioning or clustering, and the comparison must not report those as drift.
    tracks_descriptions: bool
    tracks_nested_modes: bool

    def live_table(self, name: str) -> Table | None: ...
    def create(self, table: Table) -> None: ...
    def update(self, table: Table, live: Table, changes: list[Change]) -> None: ...
    def close(self) -> None: ...


@dataclass(frozen=True)
class TargetUrl:
    kind: str  # "bigquery" | "duckdb"
    project: str = ""
    dataset: str = ""
    path: str = ""


def parse_target(url: str) -> TargetUrl:
    parsed = urlparse(url)
    if parsed.scheme == "bigquery":
        dataset = parsed.path.strip("/")
        if not parsed.netloc or not dataset or "/" in dataset:
            raise TargetError(f"bad target {url!r}: expected bigquery://PROJECT/DATASET")
        return TargetUrl("bigquery", project=parsed.netloc, dataset=dataset)
    if parsed.scheme == "duckdb":
        path = url[len("duckdb://"):]
        if not path or path == "/":
            raise TargetError(f"bad target {url!r}: expected duckdb:///path/to/file.duckdb")
        return TargetUrl("duckdb", path=path)
    raise TargetError(f"bad target {url!r}: expected bigquery://PROJECT/DATASET or duckdb:///path/file.duckdb")


def open_target(url: str) -> Target:
    t = parse_target(url)
    if t.kind == "bigquery":
        return BigQueryTarget(url, t.project, t.dataset)
    return DuckDBTarget(url, Path(t.path))


def merged_fields(live: tuple[Field, ...], wanted: tuple[Field, ...]) -> tuple[Field, ...]:
    """The schema to send: live columns in their order (updated), then the new ones.

    BigQuery takes a whole new schema on update; keeping the live order means the update only
    adds and relaxes, whatever order the registry lists its fields in.
    """
    wanted_by = {f.name.lower(): f for f in wanted}
    out: list[Field] = []
    for f in live:
        w = wanted_by.pop(f.name.lower(), None)
        if w is None:
            out.append(f)
        elif f.type == RECORD and w.type == RECORD:
            out.append(replace(w, name=f.name, fields=merged_fields(f.fields, w.fields)))
        else:
            out.append(replace(w, name=f.name))
    out.extend(f for f in wanted if f.name.lower() in wanted_by)
    return tuple(out)


class BigQueryTarget:
    tracks_descriptions = True
    tracks_nested_modes = True

    def __init__(self, url: str, project: str, dataset: str) -> None:
        self.url, self.project, self.dataset = url, project, dataset
        self._client: Any = None

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = make_bigquery_client(self.project)
        return self._client

    def _ref(self, name: str) -> str:
        return f"{self.project}.{self.dataset}.{name}"

    def live_table(self, name: str) -> Table | None:
        from google.api_core.exceptions import NotFound

        from ..targets.bigquery import field_from_json

        try:
            live = self.client.get_table(self._ref(name))
        except NotFound as exc:
            if "Dataset" in str(exc):
                raise TargetError(f"dataset {self.project}:{self.dataset} does not exist "
                                  f"(create it once: bq mk --dataset {self.project}:{self.dataset})") from None
            return None
        resource = live.to_api_repr()
        tp = resource.get("timePartitioning")
        partitioning = None
        if tp:
            exp = tp.get("expirationMs")
            partitioning = Partitioning(tp.get("field") or "_PARTITIONTIME", tp.get("type", "DAY"),
                                        int(exp) // 86_400_000 if exp else None)
        return Table(
            name=name, version=0, description=resource.get("description") or "",
            fields=tuple(field_from_json(f) for f in resource.get("schema", {}).get("fields", [])),
            partitioning=partitioning,
            clustering=tuple((resource.get("clustering") or {}).get("fields", [])),
            source=self._ref(name),
        )

    def create(self, table: Table) -> None:
        from google.cloud import bigquery

        from ..targets.bigquery import table_resource

        self.client.create_table(bigquery.Table.from_api_repr(table_resource(table, self.project, self.dataset)))

    def update(self, table: Table, live: Table, changes: list[Change]) -> None:
        from google.cloud import bigquery

        from ..targets.bigquery import field_to_json, partitioning_to_json

        current = self.client.get_table(self._ref(table.name))
        kinds = {c.kind for c in changes}
        props: list[str] = []
        if any(c.path for c in changes):
            current.schema = [bigquery.SchemaField.from_api_repr(field_to_json(f))
                              for f in merged_fields(live.fields, table.fields)]
            props.append("schema")
        if "change-table-description" in kinds:
            current.description = table.description
            props.append("description")
        if "change-clustering" in kinds:
            current.clustering_fields = list(table.clustering) or None
            props.append("clustering_fields")
        if "change-partition-expiration" in kinds:
            current.time_partitioning = bigquery.TimePartitioning.from_api_repr(
                partitioning_to_json(table.partitioning))
            props.append("time_partitioning")
        if props:
            self.client.update_table(current, props)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()


def make_bigquery_client(project: str) -> Any:
    """A google-cloud-bigquery client; `SHIPPER_BIGQUERY_ENDPOINT` points it at a local stand-in.

    With the override, credentials are anonymous: a stand-in must never receive real ones.
    """
    from google.cloud import bigquery

    endpoint = os.environ.get("SHIPPER_BIGQUERY_ENDPOINT")
    if endpoint:
        from google.api_core.client_options import ClientOptions
        from google.auth.credentials import AnonymousCredentials

        return bigquery.Client(project=project, credentials=AnonymousCredentials(),
                               client_options=ClientOptions(api_endpoint=endpoint))
    return bigquery.Client(project=project)


class DuckDBTarget:
    tracks_descriptions = False
    tracks_nested_modes = False

    def __init__(self, url: str, path: Path) -> None:
        self.url, self.path = url, path
        self._con: Any = None

    @property
    def con(self) -> Any:
        if self._con is None:
            import duckdb

            if str(self.path) != ":memory:":
                self.path.parent.mkdir(parents=True, exist_ok=True)
            self._con = duckdb.connect(str(self.path))
        return self._con

    def live_table(self, name: str) -> Table | None:
        from ..targets.duckdb import live_fields

        fields = live_fields(self.con, name)
        if fields is None:
            return None
        return Table(name=name, version=0, description="", fields=fields, source=f"{self.path}:{name}")

    def create(self, table: Table) -> None:
        from ..targets.duckdb import comment_sql, create_table_sql

        self.con.execute("BEGIN")
        try:
            self.con.execute(create_table_sql(table))
            for stmt in comment_sql(table):
                self.con.execute(stmt)
            self.con.execute("COMMIT")
        except Exception:
            self.con.execute("ROLLBACK")
            raise

    def update(self, table: Table, live: Table, changes: list[Change]) -> None:
        from ..targets.duckdb import add_column_sql, relax_sql

        statements = []
        for c in changes:
            parts = c.path.split(".")
            if c.kind == ADD_COLUMN:
                field = _field_at(table.fields, parts)
                statements.append(add_column_sql(table.name, parts[:-1], field))
            elif c.kind == RELAX_MODE and len(parts) == 1:
                statements.append(relax_sql(table.name, parts[0]))
        self.con.execute("BEGIN")
        try:
            for stmt in statements:
                self.con.execute(stmt)
            self.con.execute("COMMIT")
        except Exception:
            self.con.execute("ROLLBACK")
            raise

    def close(self) -> None:
        if self._con is not None:
            self._con.close()
            self._con = None


def _field_at(fields: tuple[Field, ...], path: list[str]) -> Field:
    for f in fields:
        if f.name.lower() == path[0].lower():
            return f if len(path) == 1 else _field_at(f.fields, path[1:])
    raise KeyError(".".join(path))


__all__ = [
    "NULLABLE",
    "BigQueryTarget",
    "DuckDBTarget",
    "Target",
    "TargetError",
    "TargetUrl",
    "make_bigquery_client",
    "merged_fields",
    "open_target",
    "parse_target",
]
