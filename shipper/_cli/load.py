"""`shipper load SOURCE... --target TARGET`: replay JSON lines into BigQuery or a DuckDB file."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ..cli import CliError

EPILOG = """\
sources: an app's stdout (a file, or - for stdin), records as the Docker fluentd driver sends
them, fluentd secondary_file output and backup chunks. Every line ends in a table or in the
reject file (with its reason, source and line). A re-run adds no row twice.

BigQuery: SHIPPER_BIGQUERY_ENDPOINT=http://127.0.0.1:PORT sends the requests to a local
stand-in with anonymous credentials instead of Google (never real credentials there).
exit: 0 loaded (even with rejects), 1 target or input error, 2 usage.
"""


def register(groups: Any) -> None:
    p = groups.add_parser("load", help="load JSON log lines into BigQuery or a local DuckDB file",
                          description="Route, check and insert JSON log lines as fluentd and "
                                      "BigQuery would; keep every refused line in a reject file.",
                          epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("sources", nargs="+", metavar="SOURCE", help="a file of JSON lines, or - for stdin")
    p.add_argument("--target", required=True,
                   help="bigquery://PROJECT/DATASET or duckdb:///path/to/file.duckdb")
    p.add_argument("--rejects", type=Path, default=None, metavar="PATH",
                   help="reject file (JSON lines, appended); default: next to the target")
    p.add_argument("--progress", action="store_true", default=None,
                   help="draw a progress bar on stderr even when it is not a terminal")
    p.add_argument("--registry", type=Path, default=None, help="the schemas/ directory")
    p.set_defaults(func=cmd_load)


def cmd_load(args: argparse.Namespace) -> int:
    from ..load import LoadAborted, load
    from ..registry import RegistryError, load_registry
    from ..tables import TargetError

    try:
        registry = load_registry(args.registry, full_check=False)
    except RegistryError as exc:
        print(exc, file=sys.stderr)
        raise CliError("the registry has problems; run `shipper schemas check`") from None
    if args.sources.count("-") > 1:
        raise CliError("stdin (-) can be read only once")
    try:
        summary = load(args.sources, args.target, rejects=args.rejects, progress=args.progress,
                       registry=registry)
    except LoadAborted as exc:
        if exc.summary is not None:
            print("\n".join(exc.summary.lines_out()))
        raise CliError(str(exc)) from None
    except (TargetError, FileNotFoundError) as exc:
        raise CliError(str(exc)) from None
    print("\n".join(summary.lines_out()))
    return 0
