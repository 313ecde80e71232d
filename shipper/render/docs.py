"""Registry model -> Markdown column docs for analysts (`docs/tables.md`).

Generated, committed, and checked in CI like every other registry output, so the docs an
analyst reads are always the columns the table has.
"""

from __future__ import annotations

from ..registry import RECORD, Field, Registry, Table


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _constraint_text(f: Field) -> str:
    c = f.constraints
    parts = []
    if c.enum is not None:
        parts.append("one of " + ", ".join(f"`{v}`" for v in c.enum))
    if c.max_length is not None:
        parts.append(f"≤ {c.max_length} chars")
    if c.minimum is not None:
        parts.append(f"≥ {c.minimum}")
    if c.maximum is not None:
        parts.append(f"≤ {c.maximum}")
    return "; ".join(parts)


def _rows(fields: tuple[Field, ...], prefix: str = "") -> list[str]:
    rows = []
    for f in fields:
        rows.append(f"| `{prefix}{f.name}` | {f.type} | {f.mode} | {_cell(f.description)} | {_cell(_constraint_text(f))} |")
        if f.type == RECORD:
            rows.extend(_rows(f.fields, f"{prefix}{f.name}."))
    return rows


def table_markdown(table: Table) -> str:
    lines = [f"## `{table.name}` (version {table.version})", "", table.description, ""]
    p = table.partitioning
    if p is not None:
        exp = f", partitions expire after {p.expiration_days} days" if p.expiration_days else ""
        lines.append(f"- Partitioned by `{p.field}` ({p.granularity}){exp}.")
    if table.clustering:
        lines.append("- Clustered by " + ", ".join(f"`{c}`" for c in table.clustering) + ".")
    if table.insert_id_field:
        lines.append(f"- `{table.insert_id_field}` is the streaming insertId (replays do not duplicate rows).")
    if table.extra_field:
        lines.append(f"- Fields the table does not declare are kept in `{table.extra_field}` (JSON).")
    lines.append(f"- Source: `{table.source}`.")
    lines += ["", "| column | type | mode | description | checked by the logger |", "| --- | --- | --- | --- | --- |"]
    lines += _rows(table.fields)
    return "\n".join(lines) + "\n"


def registry_markdown(registry: Registry) -> str:
    head = [
        "# Log tables",
        "",
        "Generated from `schemas/` by `shipper schemas generate` (`shipper schemas docs` prints it); do not edit by hand.",
        "",
    ]
    return "\n".join(head) + "\n" + "\n".join(table_markdown(t) for t in registry.tables)
