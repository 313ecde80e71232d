"""A warehouse URL, parsed once, strictly, at the edge (the CLI or the first API call).

    bigquery://PROJECT/DATASET        a BigQuery dataset
    duckdb:///abs/path/logs.duckdb    a DuckDB file (everything after `duckdb://` is the path)
    duckdb://logs.duckdb              a DuckDB file relative to the current directory

Strict on purpose: `duckdb:logs.duckdb` once wrote `./gs.duckdb` (the first characters were cut
as if they were the `//`). Anything that is not exactly one of the forms above is an error that
shows the forms, never a guess. Query strings and fragments are refused: they would be taken as
part of a file name or ignored, and neither is what the user meant.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from ._errors import WarehouseError

BIGQUERY = "bigquery"
DUCKDB = "duckdb"
FORMS = "bigquery://PROJECT/DATASET or duckdb:///path/to/file.duckdb (or duckdb://relative.duckdb)"

# Project ids: 6-30 of lowercase letters, digits and hyphens (older ones may be domain-scoped,
# `example.com:project`). Dataset ids: letters, digits and underscores, at most 1,024.
_PROJECT = re.compile(r"(?:[a-z0-9.-]+:)?[a-z][a-z0-9-]{4,28}[a-z0-9]\Z")
_DATASET = re.compile(r"[A-Za-z0-9_]{1,1024}\Z")


@dataclass(frozen=True)
class WarehouseUrl:
    """Where the tables live. `text` is what the user wrote (for messages)."""

    kind: str  # BIGQUERY | DUCKDB
    text: str
    project: str = ""
    dataset: str = ""
    path: str = ""  # DuckDB file, as given (relative paths stay relative)

    def __str__(self) -> str:
        return self.text

    @property
    def file(self) -> Path:
        return Path(self.path)


def parse_url(text: str | WarehouseUrl) -> WarehouseUrl:
    """`WarehouseUrl` or `WarehouseError` naming the accepted forms."""
    if isinstance(text, WarehouseUrl):
        return text
    scheme, sep, rest = text.partition("://")
    if not sep or scheme not in (BIGQUERY, DUCKDB):
        hint = ""
        if text.startswith(("duckdb:", "bigquery:")) and "://" not in text:
            hint = f" (did you mean {text.split(':', 1)[0]}://{text.split(':', 1)[1]}?)"
        raise WarehouseError(f"bad target {text!r}{hint}: expected {FORMS}")
    if "?" in rest or "#" in rest:
        raise WarehouseError(f"bad target {text!r}: no '?' or '#' in a target; expected {FORMS}")
    if scheme == BIGQUERY:
        project, _, dataset = rest.partition("/")
        if not _PROJECT.match(project) or not _DATASET.match(dataset):
            raise WarehouseError(f"bad target {text!r}: expected {FORMS} (a project id is 6-30 "
                                 "lowercase letters, digits and hyphens; a dataset letters, digits "
                                 "and underscores)")
        return WarehouseUrl(BIGQUERY, text, project=project, dataset=dataset)
    path = rest
    if not path or path.endswith("/") or "\x00" in path:
        raise WarehouseError(f"bad target {text!r}: expected {FORMS}")
    return WarehouseUrl(DUCKDB, text, path=path)
