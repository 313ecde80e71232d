"""`shipper tables plan|apply --target TARGET`: the log tables' `terraform plan` and `apply`."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ..cli import CliError
from ._common import REGISTRY_HELP, checked_registry, one_line_errors, target_url


def register(groups: Any) -> None:
    p = groups.add_parser("tables", help="create or update log tables from the registry",
                          description="Compare the registry with a live dataset and make only the "
                                      "changes BigQuery allows in place.")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name, func, text in (
        ("plan", cmd_plan, ("show what apply would change (changes nothing, creates no file); "
                           "exit 1 if a change would be rejected")),
        ("apply", cmd_apply, "create missing tables and make the allowed changes; refuse the rest (exit 1)"),
    ):
        c = sub.add_parser(name, help=text, description=text[0].upper() + text[1:] + ".")
        c.add_argument("--target", required=True,
                       help="bigquery://PROJECT/DATASET or duckdb:///path/to/file.duckdb")
        c.add_argument("--table", action="append", default=None, metavar="NAME",
                       help="only this table (repeatable; default: every table)")
        c.add_argument("--registry", type=Path, default=None, help=REGISTRY_HELP)
        c.set_defaults(func=func)


def _plan(args: argparse.Namespace):
    from ..warehouse import open_warehouse

    url = target_url(args.target)
    registry = checked_registry(args)
    if args.table:
        unknown = sorted(set(args.table) - set(registry.names))
        if unknown:
            raise CliError(f"unknown table(s): {', '.join(unknown)} (registry has: {', '.join(registry.names)})")
    warehouse = open_warehouse(url)
    try:
        with one_line_errors():
            return warehouse.plan(registry, args.table), warehouse
    except BaseException:
        warehouse.close()
        raise


def _print(p) -> None:
    from ..warehouse import CREATE, REJECT, UPDATE, describe

    for tp in p.tables:
        for line in describe(tp):
            print(line)
    print(f"Plan for {p.target}: {p.count(CREATE)} to create, {p.count(UPDATE)} to update, "
          f"{p.count(REJECT)} rejected.")


def cmd_plan(args: argparse.Namespace) -> int:
    p, warehouse = _plan(args)
    try:
        _print(p)
    finally:
        warehouse.close()
    if not p.ok:
        raise CliError("some changes cannot be made in place (see lines marked !)")
    return 0


def cmd_apply(args: argparse.Namespace) -> int:
    from ..warehouse import REJECT

    p, warehouse = _plan(args)
    try:
        _print(p)
        with one_line_errors():
            done = warehouse.apply(p)
    finally:
        warehouse.close()
    print(f"Applied: {len(done)} table(s) changed." if done else "Applied: no changes.")
    if not p.ok:
        names = ", ".join(tp.table.name for tp in p.tables if tp.action == REJECT)
        raise CliError(f"refused to change {names}: incompatible with the live table (left as it was)")
    return 0
