"""`shipper cost`: the ingestion price of each path, worked out by hand here."""

from __future__ import annotations

from typing import Any

import pytest
from support import base_table

from shipper.cli import main
from shipper.cost import estimate, shares_for, streaming_usd
from shipper.registry import load_registry

MB = 1024 * 1024


def test_streaming_bills_small_rows_at_one_kilobyte() -> None:
    # 200 MB of 500-byte rows: 419,430.4 rows, each billed as 1 KB = 409.6 MB -> 2 x $0.01 (+)
    assert streaming_usd(200 * MB, 500) == pytest.approx(0.01 * 1024 / 500)
    # rows over 1 KB are billed at their size: 200 MB -> $0.01
    assert streaming_usd(200 * MB, 4096) == pytest.approx(0.01)


def test_three_choices_for_a_registry_with_one_batch_table(make_registry: Any) -> None:
    batch = base_table("b")
    batch["x-bigquery"]["ingestion"] = {"mode": "batch", "flush_interval": "5m"}
    reg = load_registry(make_registry({"b": [batch], "s": [base_table("s")]}), full_check=False)
    everything, registry_choice, none = estimate(reg, 100, {"b": 0.5, "s": 0.5},
                                                 row_bytes={"b": 1024, "s": 1024})
    # 50 GB a day of 1 KB rows streamed: 50 x 1024 / 200 x $0.01 = $2.56 a day, $76.80 a month
    assert everything.usd_per_month == pytest.approx(2 * 76.8)
    assert registry_choice.usd_per_month == pytest.approx(76.8)
    assert [t.mode for t in registry_choice.tables] == ["batch", "stream"]
    assert "up to 5 min" in registry_choice.tables[0].latency
    assert none.usd_per_month == 0


def test_shares_name_tables_of_the_registry(registry: Any) -> None:
    others = [n for n in registry.names if n != "access_log"]
    assert shares_for(registry, {"access_log": 0.5}) == {"access_log": 0.5, **dict.fromkeys(others, 0.5 / len(others))}
    with pytest.raises(ValueError, match="no such table: audit"):
        shares_for(registry, {"audit": 0.5})
    with pytest.raises(ValueError, match="each >= 0, together <= 1"):
        shares_for(registry, {"access_log": 0.9, "app_log": 0.2})


def test_the_command_prints_every_volume_and_refuses_bad_input(capsys: Any) -> None:
    assert main(["cost", "--gb-per-day", "10", "1000"]) == 0
    out = capsys.readouterr().out
    assert "10 GB of logs a day" in out and "1,000 GB of logs a day" in out
    assert "stream everything" in out and "batch everything" in out and "cloud.google.com/bigquery/pricing" in out
    assert main(["cost", "--share", "access_log"]) == 1
    assert "write TABLE=FRACTION" in capsys.readouterr().err
    assert main(["cost", "--gb-per-day", "-5"]) == 1
    assert "positive number of GB" in capsys.readouterr().err
