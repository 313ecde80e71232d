"""`shipper tables plan|apply --target TARGET`: the log tables' `terraform plan` and `apply`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ..cli import CliError


def register(groups: Any) -> None:
    p = groups.add_parser("tables", help="create or update log tables from the registry",
                          description="Compare the registry with a live dataset and make only the "
                                      "changes BigQuery allows in place.")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name, func, text in (
        ("plan", cmd_plan, "show what apply would change; exit 1 if a change would be rejected"),
        ("apply", cmd_apply, "create missing tables and make the allowed changes; refuse the rest (exit 1)"),
    ):
        c = sub.add_parser(name, help=text, description=text[0].upper() + text[1:] + ".")
        c.add_argument("--target", required=True,
                       help="bigquery://PROJECT/DATASET or duckdb:///path/to/file.duckdb")
        c.add_argument("--table", action="append", default=None, metavar="NAME",
                       help="only this table (repeatable; default: every table)")
        c.add_argument("--registry", type=Path, default=None, help="the schemas/ directory")
        c.set_defaults(func=func)


def _plan(args: argparse.Namespace):
    from ..registry import RegistryError, load_registry
    from ..tables import TargetError, open_target, plan

    try:
        registry = load_registry(args.registry)
    except RegistryError as exc:
        print(exc, file=sys.stderr)
        raise CliError("the registry has problems; run `shipper schemas check`") from None
    if args.table:
        unknown = sorted(set(args.table) - set(registry.names))
        if unknown:
            raise CliError(f"unknown table(s): {', '.join(unknown)} (registry has: {', '.join(registry.names)})")
    try:
        target = open_target(args.target)
        return plan(registry, target, args.table), target
    except TargetError as exc:
        raise CliError(str(exc)) from None


def _print(p) -> None:
    from ..tables import CREATE, REJECT, UPDATE, describe

    for tp in p.tables:
        for line in describe(tp):
            print(line)
    print(f"Plan for {p.target}: {p.count(CREATE)} to create, {p.count(UPDATE)} to update, "
          f"{p.count(REJECT)} rejected.")


def cmd_plan(args: argparse.Namespace) -> int:
    p, target = _plan(args)
    try:
        _print(p)
    finally:
        target.close()
    if not p.ok:
        raise CliError("some changes cannot be made in place (see lines marked !)")
    return 0


def cmd_apply(args: argparse.Namespace) -> int:
    from ..tables import REJECT, TargetError, apply

    p, target = _plan(args)
    try:
        _print(p)
        try:
            done = apply(p, target)
        except TargetError as exc:
            raise CliError(str(exc)) from None
    finally:
        target.close()
    print(f"Applied: {len(done)} table(s) changed." if done else "Applied: no changes.")
    if not p.ok:
        names = ", ".join(tp.table.name for tp in p.tables if tp.action == REJECT)
        raise CliError(f"refused to change {names}: incompatible with the live table (left as it was)")
    return 0
