"""Wide tables (issue 15, case 5): the widest table the registry allows (2,000 columns, see
`registry._rules.MAX_COLUMNS` for why not BigQuery's 10,000) through `tables apply` and `load` in a
real subprocess, under 300 MB each process; memory linear in columns, not quadratic."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from support import REPO, base_table

COLUMNS = 1_990  # + the envelope's 8 columns: at the registry's 2,000


@pytest.fixture(scope="module")
def wide_registry(tmp_path_factory):
    import shutil

    from support import SCHEMAS

    root = tmp_path_factory.mktemp("wide") / "schemas"
    shutil.copytree(SCHEMAS / "_shared", root / "_shared")
    props = {f"c{i}": {"type": ["string", "null"], "description": f"column {i}"} for i in range(COLUMNS)}
    doc = base_table("wide", **props)
    (root / "wide").mkdir()
    (root / "wide" / "wide.1.schema.json").write_text(json.dumps(doc))
    return root


def _peak_mb(cmd, cwd) -> tuple[float, subprocess.CompletedProcess]:
    # The peak of this process alone: ru_maxrss would carry the parent's (pytest's) size across
    # fork and exec, so the high-water mark is reset first (clear_refs 5) and read as VmHWM.
    wrapper = ("import re, runpy, sys; sys.argv = ['shipper'] + sys.argv[1:];\n"
               "open('/proc/self/clear_refs', 'w').write('5')\n"
               "try:\n    runpy.run_module('shipper', run_name='__main__')\n"
               "finally:\n    print('PEAK', re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read())[1],"
               " file=sys.stderr)")
    out = subprocess.run([sys.executable, "-c", wrapper, *cmd], cwd=cwd, capture_output=True, text=True, timeout=600)
    m = re.search(r"PEAK (\d+)", out.stderr)
    return (int(m[1]) / 1024 if m else float("inf")), out


@pytest.mark.slow
def test_ten_thousand_columns_apply_and_load_in_bounded_memory(wide_registry, tmp_path):
    from shipper.registry import check

    assert check(wide_registry)[1] == []  # at the limit, accepted
    target = f"duckdb://{tmp_path / 'w.duckdb'}"
    peak, out = _peak_mb(["tables", "apply", "--target", target, "--registry", str(wide_registry)], REPO)
    assert out.returncode == 0, out.stderr[-2000:]
    assert peak < 300, f"tables apply peaked at {peak:.0f} MB"
    src = tmp_path / "wide.log"
    rows = [{"log_table": "wide", "timestamp": "2026-11-28T10:00:00Z", "severity": "INFO", "message": f"m{i}",
             **{f"c{j}": f"v{i}" for j in range(0, COLUMNS, 7)}} for i in range(20)]
    src.write_text("".join(json.dumps(r) + "\n" for r in rows))
    peak, out = _peak_mb(["load", str(src), "--target", target, "--registry", str(wide_registry)], REPO)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "wide: 20 rows" in out.stdout
    assert peak < 300, f"load peaked at {peak:.0f} MB"
    m = re.search(r"peak memory: ([\d,]+) MB \(loader\) \+ ([\d,]+) MB \(DuckDB process\)", out.stdout)
    assert m and float(m[2].replace(",", "")) < 300, out.stdout
