"""`shipper query SQL --target TARGET`: BigQuery standard SQL, on BigQuery or on a DuckDB file."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ._common import one_line_errors, target_url

EPILOG = """\
read-only by default: on DuckDB the query runs on a read-only connection with no file, network
or extension access (no COPY ... TO, read_text, read_parquet('https://...'), INSTALL); on
BigQuery a dry run tells the statement type and the bytes it would scan first, and anything but
SELECT is refused. --allow-write runs DML/DDL; --max-bytes refuses a BigQuery query that would
scan more (and caps the job's maximumBytesBilled).

example: shipper query 'SELECT path, AVG(latency) AS latency_avg FROM access_log
  WHERE timestamp >= @from GROUP BY path' --param from:TIMESTAMP=2026-11-28T00:00:00Z
  --target duckdb:///tmp/logs.duckdb
"""


def _bytes(text: str) -> int:
    units = {"": 1, "B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12,
             "KIB": 2**10, "MIB": 2**20, "GIB": 2**30, "TIB": 2**40}
    t = text.strip().upper().replace(" ", "")
    num = t.rstrip("KMGTIB")
    unit = t[len(num):]
    try:
        value = float(num)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (e.g. 1000000000, 10GB, 2GiB)") from None
    if unit not in units or value < 0:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (e.g. 1000000000, 10GB, 2GiB)")
    return int(value * units[unit])


def register(groups: Any) -> None:
    p = groups.add_parser(
        "query", help="run BigQuery standard SQL on BigQuery or on the local DuckDB warehouse",
        description="Run one BigQuery standard SQL statement, read-only unless --allow-write. On "
                    "DuckDB it is transpiled by sqlglot; @name parameters are bound by the driver, "
                    "never pasted into the SQL.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("sql", metavar="SQL", help="the query (BigQuery standard SQL); - reads it from stdin")
    p.add_argument("--target", required=True,
                   help="bigquery://PROJECT/DATASET or duckdb:///path/to/file.duckdb")
    p.add_argument("--param", action="append", default=[], metavar="NAME[:TYPE]=VALUE",
                   help="a query parameter, e.g. from:TIMESTAMP=2026-11-28T00:00:00Z or limit=10 "
                        "(type inferred); repeatable")
    p.add_argument("--format", choices=("table", "json", "csv"), default="table")
    p.add_argument("--show-sql", action="store_true", help="print the SQL that ran (DuckDB: transpiled)")
    p.add_argument("--allow-write", action="store_true",
                   help="run a statement that changes data (INSERT, UPDATE, DELETE, MERGE, CREATE, DROP...)")
    p.add_argument("--max-bytes", type=_bytes, default=None, metavar="BYTES",
                   help="BigQuery: refuse a query whose dry run scans more than this (e.g. 10GB) and "
                        "cap the job's bytes billed; no effect on DuckDB")
    p.set_defaults(func=cmd_query)


def cmd_query(args: argparse.Namespace) -> int:
    from ..query import FORMATS, QueryOptions, parse_param, run_query

    url = target_url(args.target)
    sql = sys.stdin.read() if args.sql == "-" else args.sql
    with one_line_errors():
        params = [parse_param(p) for p in args.param]
        result = run_query(sql, url, params, QueryOptions(allow_write=args.allow_write,
                                                          max_bytes=args.max_bytes))
    if args.show_sql:
        print(result.sql, file=sys.stderr)
    if result.bytes_processed is not None:
        print(f"shipper: {result.statement_type}, {result.bytes_processed:,} bytes processed (dry run)",
              file=sys.stderr)
    print(FORMATS[args.format](result))
    return 0
