"""What ingesting logs into BigQuery costs, per path: streaming inserts or batch load jobs.

fluent-plugin-bigquery writes a table either with `insertAll` (legacy streaming: rows queryable
within seconds, billed per byte ingested, each row counted as at least 1 KB) or with load jobs
(free, within per-table daily quotas; rows arrive one flush interval later). Which table takes
which path is the registry's `x-bigquery.ingestion`; `shipper cost` compares three choices for a
daily volume: everything streamed, the registry as it is, everything batched.

Prices are BigQuery's published list prices (https://cloud.google.com/bigquery/pricing,
"Data ingestion pricing", US multi-region, read 2026-11-30): streaming inserts $0.01 per 200 MB,
rows billed at a minimum of 1 KB; batch loading free (shared slot pool). Storage is billed the
same whichever path wrote the rows, so it is left out of the comparison.
"""

from __future__ import annotations

from dataclasses import dataclass

from .registry import Registry
from .registry._model import BATCH

STREAMING_USD_PER_200_MB = 0.01
MB = 1024 * 1024
STREAMING_MIN_ROW_BYTES = 1024
BATCH_USD_PER_GB = 0.0
PRICES_SOURCE = ("https://cloud.google.com/bigquery/pricing (Data ingestion pricing, US "
                 "multi-region, read 2026-11-30)")
DAYS_PER_MONTH = 30

# Where a day's log bytes go when the user does not say: access_log carries a record per
# request (the bulk of a web service's logs), app_log the app's events, raw_log stray lines.
DEFAULT_SHARES = {"access_log": 0.6, "app_log": 0.35, "raw_log": 0.05}
# Bytes of a log line per table, to count rows: measured on the demo's traffic (access_log 386,
# app_log 337 bytes a line on average, 2026-11-30) plus the ~110 bytes of container_id and
# container_name that the Docker log driver adds; raw_log lines are a guess (stray prints and
# stack traces). Other tables: DEFAULT_ROW_BYTES. Every one of these rows is smaller than 1 KB,
# so insertAll bills each at 1 KB: streaming costs per row, not per byte of log.
DEFAULT_ROW_BYTES = 400
ROW_BYTES = {"access_log": 500, "app_log": 450, "raw_log": 200}
STREAM_LATENCY = "seconds (flush every LOGBRIDGE_FLUSH_INTERVAL, 1 s by default)"


@dataclass(frozen=True)
class TableCost:
    table: str
    mode: str
    gb_per_day: float
    rows_per_day: float
    usd_per_month: float
    latency: str


@dataclass(frozen=True)
class Scenario:
    name: str
    tables: tuple[TableCost, ...]

    @property
    def usd_per_month(self) -> float:
        return sum(t.usd_per_month for t in self.tables)


def streaming_usd(bytes_per_day: float, row_bytes: float) -> float:
    """insertAll's price for a day of rows of `row_bytes` each (1 KB minimum per row)."""
    rows = bytes_per_day / row_bytes
    billed = rows * max(row_bytes, STREAMING_MIN_ROW_BYTES)
    return billed / (200 * MB) * STREAMING_USD_PER_200_MB


def shares_for(registry: Registry, shares: dict[str, float] | None = None) -> dict[str, float]:
    """Each table's share of the daily bytes: as given, the rest split evenly."""
    given = dict(DEFAULT_SHARES if shares is None else shares)
    names = registry.names
    unknown = sorted(set(given) - set(names))
    if unknown:
        raise ValueError(f"no such table: {', '.join(unknown)} (registry has: {', '.join(names)})")
    given = {k: v for k, v in given.items() if k in names}
    if any(v < 0 for v in given.values()) or sum(given.values()) > 1 + 1e-9:
        raise ValueError("shares are fractions of the day's bytes: each >= 0, together <= 1")
    rest = [n for n in names if n not in given]
    left = max(0.0, 1 - sum(given.values()))
    return {**given, **{n: left / len(rest) for n in rest}} if rest else given


def scenario(name: str, registry: Registry, gb_per_day: float, shares: dict[str, float],
             mode_of: dict[str, str], row_bytes: dict[str, float] | None = None) -> Scenario:
    rows = []
    for table in registry.tables:
        share = shares.get(table.name, 0.0)
        size = (row_bytes or {}).get(table.name, ROW_BYTES.get(table.name, DEFAULT_ROW_BYTES))
        day_bytes = gb_per_day * 1024 * MB * share
        mode = mode_of[table.name]
        if mode == BATCH:
            usd = day_bytes / (1024 * MB) * BATCH_USD_PER_GB * DAYS_PER_MONTH
            interval = table.ingestion.flush_interval_s or 300
            latency = f"up to {interval // 60} min + the load job (typically under a minute)"
        else:
            usd = streaming_usd(day_bytes, size) * DAYS_PER_MONTH
            latency = STREAM_LATENCY
        rows.append(TableCost(table.name, mode, gb_per_day * share, day_bytes / size, usd, latency))
    return Scenario(name, tuple(rows))


def estimate(registry: Registry, gb_per_day: float, shares: dict[str, float] | None = None,
             row_bytes: dict[str, float] | None = None) -> list[Scenario]:
    """Streaming for all, the registry's choice per table, batch for all."""
    if not gb_per_day > 0:
        raise ValueError(f"a daily volume is a positive number of GB, got {gb_per_day!r}")
    s = shares_for(registry, shares)
    names = registry.names
    return [
        scenario("stream everything", registry, gb_per_day, s, dict.fromkeys(names, "stream"), row_bytes),
        scenario("the registry's choice", registry, gb_per_day, s,
                 {t.name: t.ingestion.mode for t in registry.tables}, row_bytes),
        scenario("batch everything", registry, gb_per_day, s, dict.fromkeys(names, BATCH), row_bytes),
    ]
