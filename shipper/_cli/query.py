"""`shipper query SQL --target TARGET`: BigQuery standard SQL, on BigQuery or on a DuckDB file."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ..cli import CliError


def register(groups: Any) -> None:
    p = groups.add_parser(
        "query", help="run BigQuery standard SQL on BigQuery or on the local DuckDB warehouse",
        description="Run one BigQuery standard SQL query. On DuckDB it is transpiled by sqlglot; "
                    "@name parameters are bound by the driver, never pasted into the SQL.",
        epilog="example: shipper query 'SELECT path, AVG(latency) AS latency_avg FROM access_log "
               "WHERE timestamp >= @from GROUP BY path' --param from:TIMESTAMP=2026-11-28T00:00:00Z "
               "--target duckdb:///tmp/logs.duckdb")
    p.add_argument("sql", metavar="SQL", help="the query (BigQuery standard SQL); - reads it from stdin")
    p.add_argument("--target", required=True,
                   help="bigquery://PROJECT/DATASET or duckdb:///path/to/file.duckdb")
    p.add_argument("--param", action="append", default=[], metavar="NAME[:TYPE]=VALUE",
                   help="a query parameter, e.g. from:TIMESTAMP=2026-11-28T00:00:00Z or limit=10 "
                        "(type inferred); repeatable")
    p.add_argument("--format", choices=("table", "json", "csv"), default="table")
    p.add_argument("--show-sql", action="store_true", help="print the SQL that ran (DuckDB: transpiled)")
    p.set_defaults(func=cmd_query)


def cmd_query(args: argparse.Namespace) -> int:
    from ..query import FORMATS, QueryError, parse_param, run_query
    from ..tables import TargetError

    sql = sys.stdin.read() if args.sql == "-" else args.sql
    try:
        params = [parse_param(p) for p in args.param]
        result = run_query(sql, args.target, params)
    except (QueryError, TargetError) as exc:
        raise CliError(str(exc)) from None
    if args.show_sql:
        print(result.sql, file=sys.stderr)
    print(FORMATS[args.format](result))
    return 0
