"""The README's install, as a user does it: a wheel built from the clone, into a fresh venv.

The installed package carries its registry; `shipper` works outside any project; a logger writes
a record; nothing is written into site-packages by the commands that generate files.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from support import SHIPPED_TABLES

REPO = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_a_wheel_from_the_clone_installs_and_runs(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(dist), str(REPO)],
                   check=True, capture_output=True, timeout=300)
    (wheel,) = dist.glob("logbridge-*.whl")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    py = venv / "bin" / "python"
    subprocess.run([str(py), "-m", "pip", "install", "-q", str(wheel)], check=True, capture_output=True,
                   timeout=300)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    check = subprocess.run([str(venv / "bin" / "shipper"), "schemas", "check"], cwd=elsewhere,
                           capture_output=True, text=True, timeout=120)
    assert check.returncode == 0 and check.stdout.startswith(f"ok: {len(SHIPPED_TABLES)} tables"), check.stderr
    assert "packaged with shipper" in check.stderr
    gen = subprocess.run([str(venv / "bin" / "shipper"), "schemas", "generate"], cwd=elsewhere,
                         capture_output=True, text=True, timeout=120)
    assert gen.returncode == 1 and "installed" in gen.stderr  # never writes into site-packages
    app = subprocess.run([str(py), "-c", "import shipper; shipper.get_logger('access_log').info("
                          "'r', method='GET', path='/', status_code=200, latency=0.01)"],
                         cwd=elsewhere, capture_output=True, text=True, timeout=60)
    assert app.returncode == 0 and '"log_table":"access_log"' in app.stdout
    light = subprocess.run([str(py), "-c", "import sys, shipper; print(sorted(m for m in sys.modules "
                            "if m.split('.')[0] in ('orjson', 'jsonschema', 'duckdb', 'google')))"],
                           capture_output=True, text=True, timeout=60)
    assert light.stdout.strip() == "[]"  # import shipper loads none of its dependencies yet
