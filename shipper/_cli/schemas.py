"""`shipper schemas ...`: check the registry, generate its outputs, diff versions, print docs."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from ..cli import CliError
from ._common import REGISTRY_HELP, checked_registry, writable_root


def register(groups: Any) -> None:
    p = groups.add_parser("schemas", help="check the registry and generate what comes from it",
                          description="The schema registry: check, generate, diff, docs.")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    c = sub.add_parser("check", help="validate every schema file and every rule",
                       description="Validate every file against the Draft 2020-12 meta-schema and "
                                   "logbridge's BigQuery rules; one line per problem.")
    c.add_argument("--registry", type=Path, default=None,
                   help=REGISTRY_HELP)
    c.set_defaults(func=cmd_check)

    g = sub.add_parser("generate", help="write every generated file (BigQuery schemas, docs, fluentd config)",
                       description="Write every file generated from the registry; with --check, "
                                   "write nothing and fail if any committed file is stale.")
    g.add_argument("--check", action="store_true", help="compare only; exit 1 if a file differs")
    g.add_argument("--root", type=Path, default=None, help="project root to write into (default: the registry's parent)")
    g.add_argument("--registry", type=Path, default=None,
                   help=REGISTRY_HELP)
    g.set_defaults(func=cmd_generate)

    d = sub.add_parser("diff", help="compare two versions of a table schema",
                       description="Compare two table schema files (OLD then NEW) and list every change; "
                                   "exit 1 if BigQuery would refuse any of them in place.")
    d.add_argument("old", type=Path)
    d.add_argument("new", type=Path)
    d.add_argument("--registry", type=Path, default=None,
                   help=REGISTRY_HELP)
    d.set_defaults(func=cmd_diff)

    s = sub.add_parser("docs", help="print the Markdown column docs",
                       description="Print the Markdown docs of every table and column.")
    s.add_argument("--registry", type=Path, default=None,
                   help=REGISTRY_HELP)
    s.set_defaults(func=cmd_docs)


def _checked(args: argparse.Namespace):
    """The registry (found as `_common` says, announced on stderr), fully checked."""
    return checked_registry(args)


def cmd_check(args: argparse.Namespace) -> int:
    registry = _checked(args)
    n = sum(len(v) for v in registry.versions.values())
    print(f"ok: {len(registry.versions)} tables, {n} schema versions in {registry.root}")
    return 0


def cmd_generate(args: argparse.Namespace) -> int:
    from .._generated import generated_files

    registry = _checked(args)
    root = writable_root(args, registry, args.root)
    stale = []
    for g in generated_files(registry):
        path = root / g.path
        text = g.render(registry)
        current = path.read_text(encoding="utf-8") if path.exists() else None
        if current == text:
            continue
        if args.check:
            stale.append(g)
            print(f"{g.path}: {'missing' if current is None else 'differs from a fresh generation'}; "
                  f"run `{g.command}`", file=sys.stderr)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            print(f"wrote {g.path}")
    if stale:
        raise CliError(f"{len(stale)} generated file(s) are stale")
    if args.check:
        print("ok: every generated file is up to date")
    return 0


def _load_table_file(path: Path, registry_root: Path | None) -> Any:
    """Parse one table file through the registry model (its $refs resolve against the registry)."""
    from ..registry import RegistryError
    from ..registry._parse import parse_table_document

    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CliError(f"{path}: cannot read a JSON schema: {exc}") from None
    table, problems = parse_table_document(doc, str(path), registry_root)
    if table is None:
        raise CliError(str(RegistryError(problems)).replace("\n", "; "))
    return table


def cmd_diff(args: argparse.Namespace) -> int:
    from ..registry import compare_tables

    old = _load_table_file(args.old, args.registry)
    new = _load_table_file(args.new, args.registry)
    if old.name != new.name:
        raise CliError(f"{args.old} is table {old.name!r} and {args.new} is table {new.name!r}: "
                       "diff compares two versions of one table")
    changes = compare_tables(old, new)
    if not changes:
        print("no changes")
        return 0
    bad = 0
    for c in changes:
        mark = "ok  " if c.allowed else "REJECTED"
        bad += not c.allowed
        print(f"{mark} {c}")
    if bad:
        raise CliError(f"{bad} change(s) BigQuery cannot apply in place")
    return 0


def cmd_docs(args: argparse.Namespace) -> int:
    from ..render.docs import registry_markdown

    sys.stdout.write(registry_markdown(_checked(args)))
    return 0
