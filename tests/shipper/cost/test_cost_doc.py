"""docs/cost.md's numbers are `shipper cost`'s output for the shipped registry, and its quota
sentence is the registry's own budget: a change of prices, shares or defaults fails here until the
document says the same."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from shipper.cost import estimate
from shipper.registry._quota import DEFAULT_INSTANCES, HEADROOM, budget, min_flush_interval_s

DOC = Path(__file__).resolve().parents[3] / "docs" / "cost.md"


def _money(cell: str) -> float:
    cell = cell.strip()
    return 0.0 if cell == "$0" else float(cell.removeprefix("$").split(" ")[0].replace(",", ""))


def table_rows() -> dict[float, list[float]]:
    out = {}
    for line in DOC.read_text(encoding="utf-8").splitlines():
        m = re.match(r"\| ([0-9,]+) \| (.+) \| (.+) \| (.+) \|$", line)
        if m:
            out[float(m[1].replace(",", ""))] = [_money(m[i]) for i in (2, 3, 4)]
    return out


def test_the_cost_table_is_the_commands_output(registry: Any) -> None:
    rows = table_rows()
    assert sorted(rows) == [10.0, 100.0, 1000.0]
    for gb, doc in rows.items():
        got = [round(s.usd_per_month, 2) for s in estimate(registry, gb)]
        assert doc == pytest.approx(got, abs=0.005), (gb, doc, got)


def test_the_shipped_defaults_and_their_quota_are_as_documented(registry: Any) -> None:
    text = DOC.read_text(encoding="utf-8")
    access = registry.table("access_log")
    assert access.ingestion.mode == "batch" and access.ingestion.flush_interval_s == 300
    assert {t.name for t in registry.tables if t.ingestion.mode == "stream"} == {"app_log", "raw_log"}
    b = budget(access, DEFAULT_INSTANCES)
    assert f"{b.jobs_per_day:,.0f} load jobs x 2 partitions = {b.used_per_day:,.0f}" in text
    assert f"({b.share:.0%})" in text and b.share <= HEADROOM
    assert f"at least {min_flush_interval_s(access, DEFAULT_INSTANCES)} seconds" in text
