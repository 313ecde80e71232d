"""Helpers shared by test modules (import as `from support import ...`)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
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
