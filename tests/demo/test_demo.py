"""`make demo` end to end (it must stay well under two minutes; this test allows 60 s)."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_demo_runs_end_to_end_and_prints_results():
    t0 = time.monotonic()
    proc = subprocess.run([sys.executable, str(REPO / "demo" / "run.py")], capture_output=True, text=True,
                          cwd=REPO, timeout=90, check=False)
    took = time.monotonic() - t0
    out = proc.stdout
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert took < 60
    # load: every line of the app's stdout is somewhere: access rows, the traceback, the stray print
    assert "access_log: 241 rows" in out and "raw_log: 1 rows" in out
    assert "app_log: 27 rows" in out  # the traceback, 11 orders created, 15 upstream warnings: every run
    assert "Rejected: 0" in out
    # the analysts' queries ran and printed tables
    assert "latency_avg_ms" in out and "latency_p95_ms" in out and "| /version/endpoint" in out
    assert "KeyError: 'orders'" in out
    # the fluentd stage shows the outage and drew the PNG
    assert "<- outage" in out
    assert (REPO / "build" / "demo" / "fluentd_buffer.png").stat().st_size > 10_000
    # the metrics stage: the Lambda on moto stored metrics, and the alarm replay ran
    assert "metrics stored in namespace fluentd" in out and "retry_count_increase" in out
    assert "retries-rising: ALARM at" in out
    assert "FAILED" not in out and "skipped" not in out.split("=== demo summary")[1].replace("(skipped)", "")
    # the demo writes only under build/demo/
    status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=all", "--", "demo", "schemas"],
                            capture_output=True, text=True, cwd=REPO, check=False).stdout
    assert status == ""
