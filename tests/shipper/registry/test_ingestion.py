"""Per-table ingestion (stream or batch) in the registry, and BigQuery's daily job quota."""

from __future__ import annotations

from typing import Any

import pytest
from support import base_table

from shipper.registry import check, load_registry
from shipper.registry._quota import budget, fluentd_instances, min_flush_interval_s, quota_problems


def table_doc(ingestion: Any = None, partitioned: bool = True) -> dict[str, Any]:
    doc = base_table("t")
    if not partitioned:
        del doc["x-bigquery"]["partitioning"]
    if ingestion is not None:
        doc["x-bigquery"]["ingestion"] = ingestion
    return doc


def test_stream_is_the_default(make_registry: Any) -> None:
    reg = load_registry(make_registry({"t": [table_doc()]}), full_check=False)
    ing = reg.table("t").ingestion
    assert ing.mode == "stream" and ing.flush_interval_s is None


@pytest.mark.parametrize("interval, seconds", [("5m", 300), ("300s", 300), (600, 600), ("1h", 3600)])
def test_batch_with_a_flush_interval(make_registry: Any, interval: Any, seconds: int) -> None:
    reg = load_registry(make_registry({"t": [table_doc({"mode": "batch", "flush_interval": interval})]}),
                        full_check=False)
    assert reg.table("t").ingestion.flush_interval_s == seconds


@pytest.mark.parametrize("ingestion, fragment", [
    ({"mode": "batch"}, "needs a flush_interval"),
    ({"mode": "batch", "flush_interval": "10s"}, "between 60 s"),
    ({"mode": "batch", "flush_interval": "2d"}, "needs a flush_interval"),
    ({"mode": "batch", "flush_interval": "-5m"}, "needs a flush_interval"),
    ({"mode": "stream", "flush_interval": "5m"}, "for batch tables"),
    ({"mode": "load"}, "is not stream or batch"),
    ({"mode": "batch", "flush_interval": "5m", "jobs": 1}, "unknown ingestion option"),
    ("batch", "ingestion is"),
])
def test_bad_ingestion_is_a_problem_with_its_rule(make_registry: Any, ingestion: Any, fragment: str) -> None:
    _, problems = check(make_registry({"t": [table_doc(ingestion)]}))
    assert [p.rule for p in problems] == ["ingestion"] and fragment in problems[0].message


def test_unpartitioned_table_needs_about_ten_minutes_at_ten_hosts(make_registry: Any) -> None:
    # 10 processes x 86,400 / 600 s = 1,440 jobs a day: under BigQuery's 1,500, but over 80% of it
    reg = load_registry(make_registry({"t": [table_doc({"mode": "batch", "flush_interval": "10m"},
                                                       partitioned=False)]}), full_check=False)
    b = budget(reg.table("t"), 10)
    assert b.jobs_per_day == 1440 and b.limit_per_day == 1500 and not b.ok
    assert min_flush_interval_s(reg.table("t"), 10) == 720
    problems = quota_problems(reg, 10)
    assert [p.rule for p in problems] == ["ingestion-quota"]
    assert "1,440 load jobs a day" in problems[0].message and "flush every 720 s" in problems[0].message
    assert quota_problems(reg, 8) == []  # 8 x 144 = 1,152 jobs: 77%


def test_a_partitioned_table_counts_partitions_against_its_own_limit(make_registry: Any) -> None:
    reg = load_registry(make_registry({"t": [table_doc({"mode": "batch", "flush_interval": "5m"})]}),
                        full_check=False)
    b = budget(reg.table("t"), 10)
    assert b.jobs_per_day == 2880 and b.used_per_day == 5760 and b.limit_per_day == 30000 and b.ok
    assert quota_problems(reg, 100) != []  # 100 hosts every 5 min: 57,600 partition writes


def test_the_instance_count_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch,
                                                        make_registry: Any) -> None:
    root = make_registry({"t": [table_doc({"mode": "batch", "flush_interval": "1m"}, partitioned=False)]})
    monkeypatch.delenv("SHIPPER_FLUENTD_INSTANCES", raising=False)
    assert fluentd_instances() == 10
    assert [p.rule for p in check(root)[1]] == ["ingestion-quota"]
    monkeypatch.setenv("SHIPPER_FLUENTD_INSTANCES", "1")  # 1,440 jobs a day: over 80% still
    assert [p.rule for p in check(root)[1]] == ["ingestion-quota"]
    monkeypatch.setenv("SHIPPER_FLUENTD_INSTANCES", "many")
    with pytest.raises(ValueError, match="not a whole number"):
        fluentd_instances()
    problems = check(root)[1]  # a problem line, not a traceback
    assert [p.rule for p in problems] == ["ingestion-quota"] and "not a whole number" in problems[0].message


def test_the_shipped_registry_is_within_its_quotas(registry: Any) -> None:
    assert quota_problems(registry) == []
