"""Shared test fixtures: where the repo, the registry and the captured fixtures are."""

from __future__ import annotations

import copy
import json
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from support import SCHEMAS

REPO = Path(__file__).resolve().parent.parent
# Real fluentd captures, copied into the repository (tests/fixtures/fluentd/README.md says how they
# were made): the suite reads nothing outside the clone.
FIXTURES = REPO / "tests" / "fixtures"


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    return FIXTURES


@pytest.fixture
def make_registry(tmp_path: Path) -> Callable[..., Path]:
    """Write a registry into tmp_path: the real envelope plus the given table documents.

    `make_registry({"t": [doc_v1, doc_v2]})`; a value that is a str is written verbatim
    (for malformed-file tests).
    """

    def make(tables: dict[str, list[Any]], with_real_tables: bool = False) -> Path:
        root = tmp_path / f"schemas{len(list(tmp_path.glob('schemas*')))}"
        if with_real_tables:
            shutil.copytree(SCHEMAS, root)
        else:
            shutil.copytree(SCHEMAS / "_shared", root / "_shared")
        for name, docs in tables.items():
            (root / name).mkdir(exist_ok=True)
            for version, doc in enumerate(docs, start=1):
                text = doc if isinstance(doc, str) else json.dumps(doc, indent=2)
                if not isinstance(doc, str):
                    d = copy.deepcopy(doc)
                    d["$id"] = f"urn:logbridge:table:{name}:{version}:test"
                    text = json.dumps(d, indent=2)
                (root / name / f"{name}.{version}.schema.json").write_text(text, encoding="utf-8")
        return root

    return make


@pytest.fixture
def clean(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """shipper's configuration, context and counters as in a fresh process, restored after."""
    from shipper import _config, _context, _stats

    for var in _config.ENV.values():
        monkeypatch.delenv(var, raising=False)
    _config.reset()
    _context.clear_context()
    _stats.reset_stats()
    yield
    _context.clear_context()
    _config.reset()


@pytest.fixture(scope="session")
def vector_registry(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The registry the record-verdict vectors are judged against (shipped + every_kind)."""
    from support import vector_schemas

    from shipper.registry import load_registry

    return load_registry(vector_schemas(tmp_path_factory.mktemp("vectors")))


@pytest.fixture(scope="session")
def registry() -> Any:
    """The shipped registry (schemas/), parsed once."""
    from shipper.registry import load_registry

    return load_registry(SCHEMAS, full_check=False)
