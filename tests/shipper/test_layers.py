"""The package's layers, kept by walking every module's imports.

A module may import from its own layer or the ones below it, never from above; no two modules
import each other, directly or round a cycle; the logger core never imports `logging` (the
stdlib bridge owns that, as in structlog); and `import shipper` pulls in nothing but itself.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PACKAGE = REPO / "shipper"

# Lowest first. A module belongs to the first layer with a prefix matching its name.
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("foundation", ("shipper._constants", "shipper._errors", "shipper._codegen", "shipper._memory")),
    ("registry and rules", ("shipper.registry", "shipper.rules")),
    ("logger core", ("shipper._text", "shipper._clock", "shipper._stats", "shipper._context", "shipper._config",
                     "shipper._redact", "shipper._encode", "shipper._fast", "shipper._fit",
                     "shipper._check", "shipper._logger", "shipper._core", "shipper._slow",
                     "shipper.sinks", "shipper.routing")),
    ("bridges", ("shipper._stdlib", "shipper.stdlib", "shipper.middleware", "shipper.integrations",
                 "shipper.testing")),
    ("tools", ("shipper.render", "shipper.targets", "shipper.warehouse", "shipper.load", "shipper.query",
               "shipper.tables", "shipper.cost", "shipper.alarms", "shipper._generated")),
    ("command line", ("shipper.cli", "shipper._cli", "shipper.__main__")),
    ("package", ("shipper",)),
]
CORE = dict(LAYERS)["logger core"]


def module_name(path: Path) -> str:
    rel = path.relative_to(REPO).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def layer_of(name: str) -> int:
    if name == "shipper":
        return len(LAYERS) - 1
    for i, (_, prefixes) in enumerate(LAYERS[:-1]):
        if any(name == p or name.startswith(p + ".") for p in prefixes):
            return i
    raise AssertionError(f"{name} is in no layer: add it to LAYERS")


def _runtime_nodes(tree: ast.AST) -> list[ast.AST]:
    """Every node of `tree` except what sits under `if TYPE_CHECKING:` (never imported at run
    time: annotations only)."""
    out: list[ast.AST] = []
    todo = [tree]
    while todo:
        node = todo.pop()
        out.append(node)
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and getattr(child.test, "id", None) == "TYPE_CHECKING":
                todo.extend(child.orelse)
                continue
            todo.append(child)
    return out


def imports(path: Path) -> set[str]:
    """Every shipper module `path` imports, at any depth in the file (lazy imports included)."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out = set()
    for node in _runtime_nodes(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            out.add(mod)
            for a in node.names:  # `from . import _stats`: the submodule
                out.add(f"{mod}.{a.name}")
    modules = {module_name(p) for p in PACKAGE.rglob("*.py")}
    return {m for m in out if m in modules and m != name}


def graph() -> dict[str, set[str]]:
    return {module_name(p): imports(p) for p in PACKAGE.rglob("*.py")}


def test_no_module_imports_from_a_layer_above_it() -> None:
    upward = []
    for mod, deps in graph().items():
        for dep in deps:
            if dep == "shipper":  # `from shipper import x` inside the package: lazy attribute
                continue
            if layer_of(dep) > layer_of(mod):
                upward.append(f"{mod} ({LAYERS[layer_of(mod)][0]}) imports {dep} "
                              f"({LAYERS[layer_of(dep)][0]})")
    assert upward == []


def test_no_import_cycle() -> None:
    g = graph()
    cycles = []
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(m: str) -> None:
        state[m] = 1
        stack.append(m)
        for d in sorted(g.get(m, ())):
            if d == "shipper" or d.startswith("shipper") and m.startswith(d + "."):
                continue  # a module's own package __init__ (lazy exports)
            if state.get(d) == 1:
                cycles.append(" -> ".join(stack[stack.index(d):] + [d]))
            elif d not in state:
                visit(d)
        stack.pop()
        state[m] = 2

    for m in sorted(g):
        if m not in state:
            visit(m)
    assert cycles == []


def test_the_logger_core_never_imports_logging() -> None:
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        name = module_name(path)
        if layer_of(name) <= 2:
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                         else [node.module] if isinstance(node, ast.ImportFrom) and not node.level
                         else [])
                if any(n == "logging" or (n or "").startswith("logging.") for n in names):
                    offenders.append(name)
    assert offenders == []


def test_import_shipper_loads_nothing_else() -> None:
    code = ("import sys; before = set(sys.modules); import shipper; "
            "print(sorted(m for m in set(sys.modules) - before))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=REPO).stdout
    assert set(eval(out)) <= {"shipper", "__future__"}  # noqa: S307 - a list we printed
