"""What every command group shares: finding the registry, parsing the target, one-line errors.

The registry is found as git finds its repository, so that a command run in a project uses that
project's tables, not the copy installed with the package:
    1. `--registry DIR`
    2. `SHIPPER_REGISTRY`
    3. `schemas/` in the current directory or the nearest parent that has one
    4. the registry packaged with shipper
Every command that reads it says on stderr which one it used and why (stdout stays the output).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..cli import CliError

REGISTRY_DIR = "schemas"
ENV = "SHIPPER_REGISTRY"
REGISTRY_HELP = (f"the schemas/ directory (default: ${ENV}, else ./{REGISTRY_DIR} here or in the "
                 "nearest parent directory, else the registry packaged with shipper)")


@dataclass(frozen=True)
class FoundRegistry:
    path: Path
    how: str  # why this one: for the line every command prints
    packaged: bool = False


def _looks_like_registry(d: Path) -> bool:
    return d.is_dir() and (any(d.glob("*/*.schema.json")) or (d / "_shared").is_dir())


def find_registry(arg: Path | None, cwd: Path | None = None) -> FoundRegistry:
    if arg is not None:
        return FoundRegistry(Path(arg), "--registry")
    env = os.environ.get(ENV)
    if env:
        return FoundRegistry(Path(env), ENV)
    here = (cwd or Path.cwd()).resolve()
    for d in (here, *here.parents):
        candidate = d / REGISTRY_DIR
        if _looks_like_registry(candidate):
            where = "the current directory" if d == here else f"a parent of the current directory ({d})"
            return FoundRegistry(candidate, f"./{REGISTRY_DIR} in {where}")
    from ..registry import default_root

    return FoundRegistry(default_root(), "the registry packaged with shipper (no ./schemas here or above)",
                         packaged=True)


def announce(found: FoundRegistry) -> None:
    print(f"shipper: registry {found.path} ({found.how})", file=sys.stderr)


def checked_registry(args: argparse.Namespace) -> Any:
    """The registry every command uses, with the full check `schemas check` runs (meta-schema
    and BigQuery rules): `load` and `tables apply` refuse the same registries."""
    from ..registry import check

    found = find_registry(getattr(args, "registry", None))
    announce(found)
    args.found_registry = found
    if not found.path.is_dir():
        raise CliError(f"no registry at {found.path} (from {found.how})")
    registry, problems = check(found.path)
    if problems:
        for p in problems:
            print(p, file=sys.stderr)
        raise CliError(f"{len(problems)} problem(s) in the registry at {registry.root}; "
                       "run `shipper schemas check` for the list")
    return registry


def writable_root(args: argparse.Namespace, registry: Any, root: Path | None) -> Path:
    """Where generated files go: never inside an installed package (site-packages)."""
    from .._generated import project_root

    if root is not None:
        return root
    found: FoundRegistry | None = getattr(args, "found_registry", None)
    out = project_root(registry)
    if (found is not None and found.packaged) or _installed(out):
        raise CliError(f"the registry in use is the one installed with shipper ({registry.root}); "
                       "generated files belong next to a project's schemas/: run this in your "
                       "project (where ./schemas is), or pass --registry DIR or --root DIR")
    return out


def _installed(path: Path) -> bool:
    import shipper

    package = Path(shipper.__file__).resolve().parent
    resolved = path.resolve()
    return (resolved == package or package in resolved.parents
            or any(p.name in ("site-packages", "dist-packages") for p in (resolved, *resolved.parents)))


def target_url(text: str) -> Any:
    from ..warehouse import WarehouseError, parse_url

    try:
        return parse_url(text)
    except WarehouseError as exc:
        raise CliError(str(exc)) from None


@contextmanager
def one_line_errors() -> Iterator[None]:
    """The warehouse's errors (missing extra, credentials, a locked file, a bad query) as one line."""
    from ..warehouse import LoadAborted, WarehouseError

    try:
        yield
    except LoadAborted:
        raise  # the caller prints its summary first
    except WarehouseError as exc:
        raise CliError(str(exc)) from None
