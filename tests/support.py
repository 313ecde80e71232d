"""Helpers shared by test modules (import as `from support import ...`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
SCHEMAS = REPO / "schemas"


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
