"""The lines the handler counts, printed again by a real fluentd with fluent-plugin-bigquery (the
capture in tests/fixtures/fluentd/bigquery_error_lines.log is one such run): the handler must
count what this fluentd prints, not what the fixture once said. Skipped, with the reason, where
no fluentd is installed (LOGBRIDGE_FLUENTD, else `fluentd` on PATH; .ci/run installs one)."""

from __future__ import annotations

import os
import re
import shutil
from datetime import datetime, timezone
from pathlib import Path

import fm_real_fluentd
import pytest
from fm_testsupport import REPO, emf_lines
from support_awslogs import build_subscription_event


def _fluentd() -> tuple[str, str] | None:
    """(launcher, bigquery_endpoint.rb) or None."""
    launcher = os.environ.get("LOGBRIDGE_FLUENTD", "").strip() or shutil.which("fluentd")
    if not launcher:
        return None
    for rb in (REPO / "shipper" / "testing" / "fluentd_bigquery_endpoint.rb",
               Path(launcher).resolve().parent.parent / "bigquery_endpoint.rb"):
        if rb.is_file():
            return launcher, str(rb)
    return None


FOUND = _fluentd()
pytestmark = [pytest.mark.slow, pytest.mark.timeout(180), pytest.mark.skipif(
    FOUND is None, reason="no fluentd with the BigQuery endpoint shim: set LOGBRIDGE_FLUENTD to its launcher")]


def test_a_fresh_real_fluentd_run_is_counted_line_for_line(h, tmp_path, monkeypatch, capsys):
    launcher, rb = FOUND  # type: ignore[misc]
    lines = fm_real_fluentd.capture(launcher, rb, tmp_path / "run", seconds=8.0)
    text = "\n".join(lines)
    assert " fluentd.status: {" in text, text[-3000:]
    stamps = [datetime.strptime(m, "%Y-%m-%d %H:%M:%S").replace(tzinfo=timezone.utc).timestamp()
              for m in re.findall(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)", text, re.MULTILINE)]
    monkeypatch.setenv("METRICS_MODE", "emf")
    monkeypatch.setattr(h, "CLOCK", lambda: max(stamps) + 60)
    h.reset()
    capsys.readouterr()
    summary = h.handler(build_subscription_event(lines, log_group="/ecs/fluentd", log_stream="fluentd/real"), None)
    got: dict[tuple[str, str], float] = {}
    for doc in emf_lines(capsys.readouterr().out):
        for m in doc["_aws"]["CloudWatchMetrics"][0]["Metrics"]:
            v = doc[m["Name"]]
            key = (m["Name"], doc.get("PluginId", ""))
            got[key] = got.get(key, 0) + sum(v if isinstance(v, list) else [v])

    def count(pattern: str) -> int:
        return len(re.findall(pattern, text, re.MULTILINE))

    assert got.get(("log_insert_errors", "out_bq_insert_errors"), 0) == count(r"\[out_bq_insert_errors\] insert errors ") >= 1
    assert got.get(("log_secondary_written", "out_bq_secondary"), 0) == count(r"\[out_bq_secondary\] retry succeeded by secondary\.") >= 1
    assert ("log_retry_succeeded", "out_bq_secondary") not in got
    assert got.get(("log_error_events", ""), 0) == count(r"\[warn\]: #0 send an error event") >= 2
    assert got.get(("log_buffer_overflow", "out_file_overflow"), 0) == count(r"\[out_file_overflow\] failed to write data into buffer by buffer overflow")
    assert summary["status_lines"] == count(r" fluentd\.status: \{")
    assert summary["status_lines"] + summary["log_event_lines"] + summary["skipped"] == summary["lines"] == len(lines)
