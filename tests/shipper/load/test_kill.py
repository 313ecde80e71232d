"""A load killed at any moment leaves no process, no lock and no spool behind (issue 15, case 1).

The reproducer, scaled down but real: `shipper load` runs as a subprocess on a file big enough to
take seconds, gets SIGKILL, SIGTERM or SIGINT part way through, and the next run must start (no
`Could not set lock`), remove the dead run's spool, and end with every line loaded exactly once.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from support import REPO

LINES = 400_000


@pytest.fixture(scope="module")
def big_log(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("kill") / "big.log"
    with open(path, "wb") as f:
        for i in range(LINES):
            f.write(b'{"log_table":"app_log","timestamp":"2026-11-29T10:00:00Z","severity":"INFO",'
                    b'"message":"m%d"}\n' % i)
    return path


@pytest.fixture(scope="module")
def full_run_seconds(big_log, tmp_path_factory) -> float:
    """How long an uninterrupted load of `big_log` takes here: kills are timed as fractions of it."""
    db = tmp_path_factory.mktemp("timing") / "t.duckdb"
    t0 = time.monotonic()
    proc = _shipper(str(big_log), "--target", f"duckdb://{db}")
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    return time.monotonic() - t0


def _descendants(pid: int) -> set[int]:
    """Every process whose parent chain leads to `pid` (read from /proc)."""
    children: dict[int, list[int]] = {}
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            stat = (d / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(d.name))
    out: set[int] = set()
    todo = [pid]
    while todo:
        for c in children.get(todo.pop(), []):
            if c not in out:
                out.add(c)
                todo.append(c)
    return out


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _shipper(*args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "shipper", "load", *args], cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _count(db: Path) -> tuple[int, int]:
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute("SELECT count(*), count(DISTINCT message) FROM app_log").fetchone()
    finally:
        con.close()


@pytest.mark.slow
@pytest.mark.parametrize("sig,at", [(signal.SIGKILL, 0.3), (signal.SIGKILL, 0.7), (signal.SIGTERM, 0.5),
                                    (signal.SIGINT, 0.5)],
                         ids=["kill-9-early", "kill-9-late", "sigterm", "sigint"])
def test_killed_load_leaves_nothing_behind_and_rerun_loads_each_line_once(big_log, full_run_seconds,
                                                                         tmp_path, sig, at):
    db = tmp_path / "o.duckdb"
    target = f"duckdb://{db}"
    t0 = time.monotonic()
    proc = _shipper(str(big_log), "--target", target)
    # Kill while the DuckDB child exists (it is forked once the tables are made).
    deadline = time.monotonic() + 30
    family: set[int] = set()
    while time.monotonic() < deadline and not family:
        family = _descendants(proc.pid)
        time.sleep(0.05)
    assert family, "the load never started its DuckDB process"
    time.sleep(max(0.0, full_run_seconds * at - (time.monotonic() - t0)))
    assert proc.poll() is None, "the load ended before the signal: the timing run was not representative"
    family |= _descendants(proc.pid)
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=60)
    # No process is left: the DuckDB child died with its parent, whatever the signal.
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(_alive(p) for p in family):
        time.sleep(0.05)
    assert not [p for p in family if _alive(p)], "a child of the killed load is still running"
    if sig != signal.SIGKILL:
        # A stop it could see: it committed what it had, said where to resume, removed its spool.
        assert proc.returncode == 1, err
        assert b"Re-run the same command" in err and b"stopped at" in err, err
        assert not list(tmp_path.glob(".shipper-load-*"))
    # The next run is not locked out, resumes, and removes a killed run's spool.
    again = _shipper(str(big_log), "--target", target)
    out, err = again.communicate(timeout=120)
    assert again.returncode == 0, err.decode()
    assert not list(tmp_path.glob(".shipper-load-*"))
    assert _count(db) == (LINES, LINES)  # 0 lost, 0 doubled
    assert b"Rejected: 0" in out


def test_stale_spool_of_a_dead_load_is_removed_and_a_live_one_kept(tmp_path):
    import fcntl

    from shipper.warehouse._duckdb_load import remove_stale_spools

    dead = tmp_path / ".shipper-load-dead"
    dead.mkdir()
    (dead / "lock").write_text("")
    (dead / "app_log.1.ndjson").write_bytes(b"x" * 100)
    live = tmp_path / ".shipper-load-live"
    live.mkdir()
    fd = os.open(live / "lock", os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        assert remove_stale_spools(tmp_path) == [dead]
        assert live.exists() and not dead.exists()
    finally:
        os.close(fd)


def test_second_load_while_one_runs_is_one_line_naming_the_other(big_log, tmp_path):
    db = tmp_path / "o.duckdb"
    proc = _shipper(str(big_log), "--target", f"duckdb://{db}")
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not _descendants(proc.pid):
            time.sleep(0.05)
        time.sleep(0.3)
        other = subprocess.run([sys.executable, "-m", "shipper", "query", "SELECT 1", "--target",
                                f"duckdb://{db}"], cwd=REPO, capture_output=True, text=True, timeout=60)
        if proc.poll() is None:
            assert other.returncode == 1
            lines = other.stderr.strip().splitlines()
            assert len(lines) == 1 and "in use by another process" in lines[0], other.stderr
    finally:
        proc.kill()
        proc.wait()
