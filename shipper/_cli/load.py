"""`shipper load SOURCE... --target TARGET`: replay JSON lines into BigQuery or a DuckDB file."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ..cli import CliError
from ._common import REGISTRY_HELP, checked_registry, one_line_errors, target_url

EPILOG = """\
sources: an app's stdout (a file, or - for stdin), records as the Docker fluentd driver sends
them, fluentd secondary_file output and backup chunks; gzip files are read as they are. Every
line ends in a table or in the reject file (with its reason, source and line). A re-run adds no
row twice. A file's last line without a newline may still be being written: it waits for the
next run (--final loads it now).

BigQuery: small inputs stream (insertAll, rows queryable at once, billed per row); from 32 MB
of input on (or with --mode load) rows go in NEWLINE_DELIMITED_JSON load jobs (free; job ids
derived from the content, so a re-run creates no job twice; rows BigQuery refuses go to the
reject file with its reason). --mode stream forces insertAll.

Stopping: Ctrl-C or SIGTERM commits what is read and says where to resume; re-run the same
command to finish. BigQuery: SHIPPER_BIGQUERY_ENDPOINT=http://127.0.0.1:PORT sends the requests
to a local stand-in with anonymous credentials instead of Google (never real credentials there).
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
    p.add_argument("--final", action="store_true",
                   help="the files are complete: load a last line that has no newline")
    p.add_argument("--stdin-name", default=None, metavar="NAME",
                   help="the identity of stdin (default <stdin>): lines without a time of their "
                        "own are keyed by it and their line number")
    p.add_argument("--timeout", type=float, default=None, metavar="SECONDS",
                   help="how long to retry an unreachable BigQuery endpoint (default 600)")
    p.add_argument("--mode", choices=("auto", "load", "stream"), default="auto",
                   help="BigQuery only: load jobs (load), insertAll (stream), or by input size (auto, "
                        "the default: load jobs from 32 MB on)")
    p.add_argument("--registry", type=Path, default=None, help=REGISTRY_HELP)
    p.set_defaults(func=cmd_load)


def cmd_load(args: argparse.Namespace) -> int:
    from ..load import LoadAborted, load
    from ..load._sources import STDIN_NAME

    url = target_url(args.target)
    if args.sources.count("-") > 1:
        raise CliError("stdin (-) can be read only once")
    if args.mode != "auto" and url.kind != "bigquery":
        raise CliError(f"--mode {args.mode} is for BigQuery targets (a DuckDB file is written one way)")
    registry = checked_registry(args)
    try:
        with one_line_errors():
            summary = load(args.sources, url, rejects=args.rejects, progress=args.progress,
                           registry=registry, final=args.final,
                           stdin_name=args.stdin_name or STDIN_NAME, timeout=args.timeout,
                           mode=args.mode)
    except LoadAborted as exc:
        if exc.summary is not None:
            print("\n".join(exc.summary.lines_out()))
        raise CliError(str(exc)) from None
    except FileNotFoundError as exc:
        raise CliError(str(exc)) from None
    print("\n".join(summary.lines_out()))
    return 0
