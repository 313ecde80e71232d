"""The summary's "peak memory" is the loader's own, not its parent's.

Linux keeps a process's largest RSS across exec (`ru_maxrss` of RUSAGE_SELF takes the old
image's high-water mark), so a loader started by a large process (a bench holding a BigQuery
stand-in, a CI runner, pytest) reported the parent's size as its own: 485 MB for a load that
peaked at 120 MB."""

from __future__ import annotations

import re
import subprocess
import sys

import orjson
import pytest

from support import REPO

BALLAST_MB = 400


def _load_summary(args: list[str]) -> str:
    ballast = b"x" * (BALLAST_MB << 20)  # written, so resident in this (the parent) process
    try:
        out = subprocess.run([sys.executable, "-m", "shipper", "load", *args], cwd=REPO,
                             capture_output=True, text=True, timeout=300)
    finally:
        del ballast
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the carried-over RSS is Linux's")
def test_peak_memory_in_the_summary_is_the_loaders_own_not_its_parents(tmp_path):
    src = tmp_path / "app.log"
    src.write_bytes(b"".join(orjson.dumps({"timestamp": "2026-11-28T10:00:00Z", "severity": "INFO",
                                           "message": f"m{i}"}) + b"\n" for i in range(100)))
    out = _load_summary([str(src), "--target", f"duckdb://{tmp_path / 'w.duckdb'}"])
    m = re.search(r"peak memory: ([\d,]+) MB \(loader\) \+ ([\d,]+) MB \(DuckDB process\)", out)
    assert m, out
    loader, duck = (float(x.replace(",", "")) for x in m.groups())
    # A loader of 100 lines is well under the parent's ballast; both numbers are its own.
    assert 10 < loader < BALLAST_MB / 2, out
    assert 10 < duck < BALLAST_MB / 2, out
