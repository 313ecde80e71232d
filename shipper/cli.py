"""The `shipper` command line.

Each command group lives in its own module under `shipper._cli` and registers itself through
`register(subparsers)`; this file only assembles them, so that a group's heavy imports
(google-cloud-bigquery, boto3, duckdb) happen only when that group runs.

Exit codes: 0 ok, 1 rejected or invalid input, 2 usage error (argparse's own).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

# One line per command group. Add a group by adding its module here.
COMMAND_MODULES: tuple[str, ...] = (
    "shipper._cli.schemas",
    "shipper._cli.tables",
    "shipper._cli.load",
    "shipper._cli.query",
    "shipper._cli.alarms",
    "shipper._cli.fluentd",
    "shipper._cli.cost",
)


class CliError(Exception):
    """A rejected or invalid input: printed as one line on stderr, exit 1."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="shipper",
        description="logbridge: schema registry, tables, fluentd config, loads and queries.",
    )
    groups = parser.add_subparsers(dest="group", metavar="COMMAND")
    groups.required = True
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(groups)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except CliError as exc:
        print(f"shipper: error: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:  # a warehouse error a command did not word: still one line
        from .warehouse import WarehouseError

        if not isinstance(exc, WarehouseError):
            raise
        print(f"shipper: error: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}",
              file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("shipper: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
