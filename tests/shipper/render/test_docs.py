"""Column docs generated from the registry."""

from __future__ import annotations

from shipper.registry import RECORD, load_registry
from shipper.render.docs import registry_markdown
from support import SCHEMAS


def test_docs_name_every_column_with_type_mode_and_description():
    registry = load_registry(SCHEMAS)
    text = registry_markdown(registry)
    for table in registry.tables:
        assert f"## `{table.name}` (version {table.version})" in text
        section = text.split(f"## `{table.name}` (version", 1)[1].split("\n## ", 1)[0]
        for f in table.fields:
            row = next(line for line in section.splitlines() if line.startswith(f"| `{f.name}` |"))
            assert f"| {f.type} | {f.mode} |" in row and f.description.split(".")[0][:30] in row
            if f.type == RECORD:
                for c in f.fields:
                    assert f"| `{f.name}.{c.name}` |" in text


def test_committed_docs_are_fresh():
    registry = load_registry(SCHEMAS)
    assert (SCHEMAS.parent / "docs" / "tables.md").read_text() == registry_markdown(registry)
