"""The logger core's layers, read from the source: the core knows tables, not LogRecords.

- The core (everything the logger needs except the stdlib bridge) never imports `logging` nor
  the bridge (`_stdlib`): the bridge imports the core, never the other way round.
- No import cycle among shipper's modules (module-level and lazy imports alike).
"""

from __future__ import annotations

import ast
from pathlib import Path

from support import REPO

PACKAGE = REPO / "shipper"
CORE = ["_core", "_fast", "_slow", "_logger", "_fit", "_encode", "_check", "_redact", "_clock",
        "_stats", "_context", "_config", "_text", "_errors", "sinks._fd", "sinks.stdout",
        "sinks.file", "sinks._base", "sinks"]


def _module_path(name: str) -> Path:
    parts = name.split(".")
    path = PACKAGE.joinpath(*parts)
    return path / "__init__.py" if path.is_dir() else path.with_suffix(".py")


def _imports(name: str) -> set[str]:
    """Every module `name` imports (at any depth of its code), as dotted names: shipper's own
    relative to the package, others absolute with a leading '!'."""
    tree = ast.parse(_module_path(name).read_text(encoding="utf-8"))
    package = name.rsplit(".", 1)[0] if "." in name or _module_path(name).name == "__init__.py" \
        else ""
    if _module_path(name).name == "__init__.py":
        package = name
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == "shipper" or alias.name.startswith("shipper."):
                    out.add(alias.name.removeprefix("shipper").lstrip("."))
                else:
                    out.add("!" + alias.name)
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0:
                mod = node.module or ""
                if mod == "shipper" or mod.startswith("shipper."):
                    base = mod.removeprefix("shipper").lstrip(".")
                    out.update(f"{base}.{a.name}".lstrip(".") if _is_module(
                        f"{base}.{a.name}".lstrip(".")) else base for a in node.names)
                else:
                    out.add("!" + mod)
                continue
            parts = package.split(".") if package else []
            if node.level > 1:
                parts = parts[: len(parts) - (node.level - 1)]
            base = ".".join([*parts, *([node.module] if node.module else [])])
            for a in node.names:
                sub = f"{base}.{a.name}".lstrip(".")
                out.add(sub if _is_module(sub) else base)
    out.discard("")
    return out


def _is_module(name: str) -> bool:
    parts = name.split(".")
    path = PACKAGE.joinpath(*parts)
    return path.with_suffix(".py").exists() or (path / "__init__.py").exists()


def test_the_core_never_imports_logging_nor_the_stdlib_bridge() -> None:
    for name in CORE:
        imports = _imports(name)
        assert "!logging" not in imports, name
        assert "_stdlib" not in imports, name


def test_the_bridge_imports_the_core() -> None:
    imports = _imports("_stdlib")
    assert {"_core", "_fast", "_logger"} <= imports and "!logging" in imports


def test_no_import_cycle_among_the_logger_modules() -> None:
    names = [*CORE, "_stdlib", "__init__"]
    graph = {n: {m for m in _imports(n if n != "__init__" else "") if _is_module(m)}
             for n in names if n != "__init__"}
    seen: dict[str, int] = {}  # 1 = on the path, 2 = done

    def visit(node: str, path: list[str]) -> None:
        state = seen.get(node)
        if state == 1:
            raise AssertionError("import cycle: " + " -> ".join([*path, node]))
        if state == 2:
            return
        seen[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if nxt in graph:
                visit(nxt, [*path, node])
        seen[node] = 2

    for n in graph:
        visit(n, [])
