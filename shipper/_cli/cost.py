"""`shipper cost`: what a day's logs cost to ingest into BigQuery, streamed or batch-loaded."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ..cli import CliError
from ._common import REGISTRY_HELP, checked_registry


def register(groups: Any) -> None:
    p = groups.add_parser(
        "cost", help="estimate BigQuery ingestion cost: streaming vs batch load jobs",
        description="Monthly ingestion cost of a daily log volume for three choices: stream every "
                    "table (insertAll), the registry's per-table choice (x-bigquery.ingestion), "
                    "batch-load every table. List prices; storage (the same for every path) is "
                    "left out.")
    p.add_argument("--gb-per-day", type=float, nargs="+", default=[10.0, 100.0, 1000.0],
                   metavar="GB", help="daily volumes of log lines, in GB (default: 10 100 1000)")
    p.add_argument("--share", action="append", default=[], metavar="TABLE=FRACTION",
                   help="a table's share of the bytes (default access_log=0.6 app_log=0.35 "
                        "raw_log=0.05; tables not named split the rest)")
    p.add_argument("--registry", type=Path, default=None, help=REGISTRY_HELP)
    p.set_defaults(func=cmd_cost)


def _shares(items: list[str]) -> dict[str, float] | None:
    if not items:
        return None
    out = {}
    for item in items:
        name, sep, value = item.partition("=")
        try:
            out[name] = float(value)
        except ValueError:
            sep = ""
        if not sep or not name:
            raise CliError(f"--share {item!r}: write TABLE=FRACTION, e.g. access_log=0.6")
    return out


def cmd_cost(args: argparse.Namespace) -> int:
    from ..cost import PRICES_SOURCE, estimate

    shares = _shares(args.share)
    registry = checked_registry(args)
    print(f"prices: {PRICES_SOURCE}")
    for gb in args.gb_per_day:
        try:
            scenarios = estimate(registry, gb, shares)
        except ValueError as exc:
            raise CliError(str(exc)) from None
        print(f"\n{gb:,.0f} GB of logs a day:")
        print(f"  {'choice':24} {'USD/month':>10}   tables (mode, USD/month)")
        for s in scenarios:
            detail = ", ".join(f"{t.table} {t.mode} {t.usd_per_month:,.2f}" for t in s.tables)
            print(f"  {s.name:24} {s.usd_per_month:>10,.2f}   {detail}")
    batch = [t for t in registry.tables if t.ingestion.mode == "batch"]
    print("\nlatency: streamed rows are queryable within seconds; batch rows up to their flush "
          "interval later, plus the load job"
          + (" (" + ", ".join(f"{t.name}: {t.ingestion.flush_interval_s // 60} min"
                              for t in batch) + ")" if batch else ""))
    return 0
