"""BigQuery's daily modification quota for batch tables, across the whole fleet of writers.

A batch table (`x-bigquery.ingestion.mode: batch`) gets one load job per fluentd buffer flush,
from every fluentd process that flushes (hosts x workers): the jobs per day a table receives are
`instances * 86,400 / flush_interval`. BigQuery caps them per table and per day, whoever sends
them, and the cap cannot be raised; past it, load jobs fail with `quotaExceeded` and rows wait
in the buffer. `shipper schemas check` holds every batch table under the cap with room to spare
for `shipper load` replays.

BigQuery's published limits (https://cloud.google.com/bigquery/quotas, "Load jobs" and
"Partitioned tables"; read 2026-11-30):
- table operations (load, copy and query jobs that append to or overwrite a table) per table per
  day: 1,500;
- for a column-partitioned table that limit is replaced by partition modifications per table
  per day: 30,000, where a job counts once for every partition it writes.
A DAY-partitioned log table's load job writes today's partition, and around midnight (or with
late records) yesterday's too: each job is counted as PARTITIONS_PER_JOB partitions.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from ._model import BATCH, Registry, Table
from ._problems import Problem

TABLE_OPERATIONS_PER_DAY = 1_500
PARTITION_MODIFICATIONS_PER_DAY = 30_000
PARTITIONS_PER_JOB = 2
# Kept free for `shipper load` replays and anything else that loads into the same table.
HEADROOM = 0.8

INSTANCES_ENV = "SHIPPER_FLUENTD_INSTANCES"
DEFAULT_INSTANCES = 10


def fluentd_instances(value: int | str | None = None) -> int:
    """How many fluentd processes flush into each table: the argument, else
    SHIPPER_FLUENTD_INSTANCES, else DEFAULT_INSTANCES (hosts x `workers`)."""
    raw = value if value is not None else os.environ.get(INSTANCES_ENV)
    if raw is None or raw == "":
        return DEFAULT_INSTANCES
    try:
        n = int(raw)
    except (TypeError, ValueError):
        raise ValueError(f"{INSTANCES_ENV}={raw!r} is not a whole number of fluentd processes") from None
    if n < 1:
        raise ValueError(f"{INSTANCES_ENV}={raw!r}: at least one fluentd process writes")
    return n


@dataclass(frozen=True)
class Budget:
    table: str
    jobs_per_day: float
    used_per_day: float  # what the jobs use of the limit (partitions written, for a partitioned table)
    limit_per_day: int
    what: str  # the limit's name, as BigQuery's quotas page says it

    @property
    def share(self) -> float:
        return self.used_per_day / self.limit_per_day

    @property
    def ok(self) -> bool:
        return self.share <= HEADROOM


def budget(table: Table, instances: int) -> Budget | None:
    """The daily quota a batch table's load jobs use; None for a stream table."""
    ing = table.ingestion
    if ing.mode != BATCH or not ing.flush_interval_s:
        return None
    jobs = instances * 86_400 / ing.flush_interval_s
    if table.partitioning is not None:
        return Budget(table.name, jobs, jobs * PARTITIONS_PER_JOB, PARTITION_MODIFICATIONS_PER_DAY,
                      "partition modifications per column-partitioned table per day")
    return Budget(table.name, jobs, jobs, TABLE_OPERATIONS_PER_DAY,
                  "table operations (load jobs) per table per day")


def min_flush_interval_s(table: Table, instances: int) -> int:
    """The shortest flush interval that keeps `table` within its budget at `instances`."""
    per_job = PARTITIONS_PER_JOB if table.partitioning is not None else 1
    limit = PARTITION_MODIFICATIONS_PER_DAY if table.partitioning is not None else TABLE_OPERATIONS_PER_DAY
    return -(-instances * 86_400 * per_job // int(limit * HEADROOM))


def quota_problems(registry: Registry, instances: int | None = None) -> list[Problem]:
    """A problem for every batch table whose fleet would use more than HEADROOM of its quota."""
    try:
        n = fluentd_instances(instances)
    except ValueError as exc:
        if not any(t.ingestion.mode == BATCH for t in registry.tables):
            return []
        return [Problem(str(registry.root), "", "ingestion-quota", str(exc))]
    out = []
    for table in registry.tables:
        b = budget(table, n)
        if b is None or b.ok:
            continue
        out.append(Problem(
            table.source, "/x-bigquery/ingestion/flush_interval", "ingestion-quota",
            f"{n} fluentd processes flushing every {table.ingestion.flush_interval_s} s make "
            f"{b.jobs_per_day:,.0f} load jobs a day into {table.name}, {b.share:.0%} of BigQuery's "
            f"{b.limit_per_day:,} {b.what} (at most {HEADROOM:.0%}): flush every "
            f"{min_flush_interval_s(table, n)} s or more, or stream this table "
            f"({INSTANCES_ENV}={n}; hosts x workers)"))
    return out
