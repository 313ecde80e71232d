"""Every file generated from the registry and committed, in one list.

`shipper schemas generate` writes them; `shipper schemas generate --check` (run by `make test`)
fails when any differs from a fresh generation, naming the file and the command that fixes it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .registry import Registry


@dataclass(frozen=True)
class Generated:
    path: str  # relative to the project root
    render: Callable[[Registry], str]
    command: str  # what a person runs to regenerate it


def _bigquery_schema(table_name: str) -> Callable[[Registry], str]:
    def render(registry: Registry) -> str:
        from .render.bigquery import table_to_json

        return json.dumps(table_to_json(registry.table(table_name)), indent=2) + "\n"

    return render


def _docs(registry: Registry) -> str:
    from .render.docs import registry_markdown

    return registry_markdown(registry)


def _fluentd_conf(registry: Registry) -> str:
    from .render.fluentd import render

    return render(registry)


def generated_files(registry: Registry) -> list[Generated]:
    files = [Generated(f"fluentd/schemas/{t.name}.json", _bigquery_schema(t.name), "shipper schemas generate")
             for t in registry.tables]
    files.append(Generated("docs/tables.md", _docs, "shipper schemas generate"))
    files.append(Generated("fluentd/fluent.conf", _fluentd_conf, "shipper fluentd render"))
    return files


def project_root(registry: Registry) -> Path:
    return registry.root.resolve().parent
