"""File-descriptor sinks in real deployments: signal handlers, prefork servers, a closed stdout.

Every case runs real processes writing into a real pipe (Docker's stdout) read by another
process, as the issue's reproducers do.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import orjson
import pytest
from support import REPO, SCHEMAS


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHIPPER_")}
    env["SHIPPER_REGISTRY"] = str(SCHEMAS)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    return env


# Reads the pipe slowly (small reads, a pause now and then), so that writers find it full and
# the kernel splits their writes: the conditions under which lines tear.
SLOW_READER = textwrap.dedent("""
    import os, sys, time
    chunks = []
    while True:
        b = os.read(0, 3000)
        if not b:
            break
        chunks.append(b)
        if len(chunks) % 64 == 0:
            time.sleep(0.001)
    sys.stdout.buffer.write(b"".join(chunks))
""")


def _run_into_pipe(code: str, timeout: float = 60) -> tuple[int, list[bytes]]:
    """Run `code` with stdout a pipe read by another (slow) process; return (rc, lines)."""
    reader = subprocess.Popen([sys.executable, "-c", SLOW_READER], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE)
    assert reader.stdin is not None
    try:
        writer = subprocess.run([sys.executable, "-c", textwrap.dedent(code)],
                                stdout=reader.stdin, env=_env(), timeout=timeout, check=False)
    finally:
        reader.stdin.close()
    assert reader.stdout is not None
    out = reader.stdout.read()
    reader.wait(timeout=timeout)
    return writer.returncode, out.split(b"\n")[:-1]


def _torn(lines: list[bytes]) -> list[bytes]:
    bad = []
    for line in lines:
        try:
            orjson.loads(line)
        except orjson.JSONDecodeError:
            bad.append(line[:80] + b"..." + line[-40:])
    return bad


# -- signal handlers --------------------------------------------------------------------------

SIGTERM_APP = """
    import os, signal, sys, threading
    import shipper
    log = shipper.get_logger()
    signal.signal(signal.SIGTERM, lambda *a: (log.warning("bye"), sys.exit(0)))
    threading.Timer({delay}, os.kill, (os.getpid(), signal.SIGTERM)).start()
    while True:
        log.info("w"{fields})
"""


@pytest.mark.parametrize("fields", ["", ", pad='x' * 9000"], ids=["short", "over_pipe_buf"])
def test_logging_in_a_sigterm_handler_while_the_main_thread_logs_never_hangs(
        fields: str) -> None:
    """The issue's reproducer (hung 20 of 20 runs): stdout a pipe, the main thread logging in
    a loop, SIGTERM's handler logs "bye" and exits. Several runs at once, with different
    delays, so that the signal lands at different points of a write."""
    readers, writers = [], []
    for i in range(6):
        reader = subprocess.Popen([sys.executable, "-c", SLOW_READER], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE)
        code = textwrap.dedent(SIGTERM_APP.format(delay=0.2 + 0.07 * i, fields=fields))
        writers.append(subprocess.Popen([sys.executable, "-c", code], stdout=reader.stdin,
                                        env=_env()))
        assert reader.stdin is not None
        reader.stdin.close()
        readers.append(reader)
    try:
        codes = [w.wait(timeout=60) for w in writers]
    finally:
        for w in writers:
            if w.poll() is None:
                w.kill()
    outputs = []
    for r in readers:
        assert r.stdout is not None
        outputs.append(r.stdout.read().split(b"\n")[:-1])
        r.wait(timeout=60)
    assert codes == [0] * 6, "a run hung or failed"
    for lines in outputs:
        assert _torn(lines) == []
        messages = [orjson.loads(line)["message"] for line in lines]
        assert messages.count("bye") == 1 and messages[-1] == "bye"
        assert len(messages) > 10


def test_a_handler_that_logs_on_every_timer_tick_loses_and_splits_nothing() -> None:
    """SIGALRM every 0.5 ms while the main thread writes lines over PIPE_BUF into a slowly
    read pipe: each handler record is handed over to the write it interrupted (or written
    directly between writes), none lost, none written twice, no line split."""
    code = """
        import signal, sys
        import shipper
        log = shipper.get_logger()
        ticks = [0]
        def tick(*a):
            ticks[0] += 1
            log.info("tick", n=ticks[0])
        signal.signal(signal.SIGALRM, tick)
        signal.setitimer(signal.ITIMER_REAL, 0.0005, 0.0005)
        for i in range(1500):
            log.info("main", i=i, pad="p" * 12000)
        signal.setitimer(signal.ITIMER_REAL, 0)
        log.info("ticks", n=ticks[0])
    """
    rc, lines = _run_into_pipe(code)
    assert rc == 0 and _torn(lines) == []
    recs = [orjson.loads(line) for line in lines]
    main = [r["extra"]["i"] for r in recs if r["message"] == "main"]
    ticks = [r["extra"]["n"] for r in recs if r["message"] == "tick"]
    (total,) = [r["extra"]["n"] for r in recs if r["message"] == "ticks"]
    assert main == list(range(1500))
    assert total > 20 and sorted(set(ticks)) == list(range(1, total + 1))
    # a line handed over is written at most twice (its log_id is BigQuery's insertId)
    assert len(ticks) - len(set(ticks)) <= 1


def test_a_fork_while_another_thread_holds_the_sink_lock(tmp_path: Path) -> None:
    """The child gets a fresh lock and an empty hand-over queue: it writes at once."""
    code = """
        import os, threading, time
        import shipper
        log = shipper.get_logger()
        stop = False
        def spin():
            while not stop:
                log.info("thread", pad="t" * 6000)
        t = threading.Thread(target=spin)
        t.start()
        time.sleep(0.05)
        for _ in range(20):
            pid = os.fork()
            if pid == 0:
                log.info("child")
                os._exit(0)
            os.waitpid(pid, 0)
        stop = True
        t.join()
    """
    rc, lines = _run_into_pipe(code, timeout=60)
    assert rc == 0 and _torn(lines) == []
    assert [orjson.loads(x)["message"] for x in lines].count("child") == 20


# -- prefork servers --------------------------------------------------------------------------

SIZES = "[0, 100, 3000, 4200, 9000, 15000]"  # around PIPE_BUF and up to max_line_bytes


def test_prefork_processes_sharing_a_pipe_tear_no_line() -> None:
    """The issue's reproducer (4,330 torn lines of 12,000): 4 processes forked after the
    logger was made, on one pipe, lines of every size up to the 16 KiB limit, short ones
    mixed in (a short atomic write can land inside a long one as well)."""
    code = f"""
        import os, shipper
        log = shipper.get_logger()
        log.info("parent ready")
        [os.fork() for _ in range(2)]
        sizes = {SIZES}
        for i in range(1200):
            log.info("w", pid=os.getpid(), i=i, pad="x" * sizes[i % len(sizes)])
    """
    rc, lines = _run_into_pipe(code)
    assert rc == 0
    assert _torn(lines) == []
    recs = [orjson.loads(line) for line in lines if b'"w"' in line]
    by_pid: dict[int, list[int]] = {}
    for r in recs:
        by_pid.setdefault(r["extra"]["pid"], []).append(r["extra"]["i"])
    assert len(by_pid) == 4 and all(v == list(range(1200)) for v in by_pid.values())


def test_workers_that_make_their_logger_after_the_fork_tear_no_line() -> None:
    """gunicorn without --preload: the master forks first, each worker imports the app (and
    shipper) itself. No fork hook ran in the worker; it finds the master holding its pipe."""
    code = f"""
        import os, sys
        pids = []
        for _ in range(3):
            pid = os.fork()
            if pid == 0:
                import shipper
                log = shipper.get_logger()
                sizes = {SIZES}
                for i in range(1000):
                    log.info("w", i=i, pad="y" * sizes[i % len(sizes)])
                os._exit(0)
            pids.append(pid)
        for pid in pids:
            os.waitpid(pid, 0)
    """
    rc, lines = _run_into_pipe(code)
    assert rc == 0 and _torn(lines) == [] and len(lines) == 3000


def test_shared_detection_and_the_atomic_case() -> None:
    from shipper.sinks._fd import PIPE_BUF, FdSink, parent_holds

    r, w = os.pipe()
    try:
        sink = FdSink(w, shared=False)
        assert sink.kind == "pipe" and not sink.shared
        assert sink.atomic_up_to(PIPE_BUF) and not sink.atomic_up_to(PIPE_BUF + 1)
        assert FdSink(w, shared=True).shared
        # pytest's parent (the shell, CI) does not hold a pipe made here
        assert parent_holds(w) is False
    finally:
        os.close(r)
        os.close(w)


def test_lines_at_most_pipe_buf_are_written_inline_without_a_lock() -> None:
    """max_line_bytes <= PIPE_BUF: every write is atomic, so neither lock is needed; many
    processes and threads still tear nothing."""
    code = """
        import os, threading, shipper
        shipper.configure(max_line_bytes=4096)
        log = shipper.get_logger()
        from shipper._logger import core_for
        assert core_for("app_log").write == "inline"
        [os.fork() for _ in range(2)]
        def work(n):
            for i in range(500):
                log.info("w", n=n, i=i, pad="z" * (i * 7 % 5000))
        ts = [threading.Thread(target=work, args=(n,)) for n in range(2)]
        [t.start() for t in ts]
        [t.join() for t in ts]
    """
    rc, lines = _run_into_pipe(code)
    assert rc == 0 and _torn(lines) == [] and len(lines) == 4 * 2 * 500
    assert max(len(x) for x in lines) + 1 <= 4096


# -- a closed stdout -----------------------------------------------------------------------------

def test_records_never_go_into_a_file_that_reuses_fd_1(tmp_path: Path) -> None:
    """The app closes fd 1 and opens a file, which gets fd 1: records keep going to the
    stdout the sink was made with, never into that file."""
    target = tmp_path / "data.txt"
    code = f"""
        import os, shipper
        log = shipper.get_logger()
        log.info("before")
        os.close(1)
        fd = os.open({str(target)!r}, os.O_WRONLY | os.O_CREAT)
        assert fd == 1
        os.write(fd, b"the app's own data\\n")
        log.info("after", n=1)
        log.info("after nan", x=float("nan"))  # the slow path too
    """
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                         env=_env(), timeout=60, check=False)
    assert out.returncode == 0, out.stderr
    assert target.read_bytes() == b"the app's own data\n"
    assert [orjson.loads(x)["message"] for x in out.stdout.splitlines()] == [
        "before", "after", "after nan"]


def test_stdout_closed_from_the_start_counts_every_record(tmp_path: Path) -> None:
    target = tmp_path / "data.txt"
    code = f"""
        import os, sys, shipper
        log = shipper.get_logger()
        log.info("into a closed stdout")
        fd = os.open({str(target)!r}, os.O_WRONLY | os.O_CREAT)
        assert fd == 1
        log.info("still not into the file")
        sys.stderr.write(repr(shipper.stats()))
    """
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], stderr=subprocess.PIPE,
                         preexec_fn=lambda: os.close(1), env=_env(), timeout=60,  # noqa: PLW1509
                         check=False, text=True)
    assert out.returncode == 0, out.stderr
    assert target.read_bytes() == b""
    assert eval(out.stderr)["sink_error"] == 2  # noqa: S307 - our own repr of a dict


def test_sinks_is_usable_right_after_import_shipper() -> None:
    """The README's `shipper.configure(sink=shipper.sinks.FileSink(...))` at start-up."""
    code = ("import shipper, sys\n"
            "assert 'shipper.sinks' not in sys.modules\n"
            "shipper.configure(sink=shipper.sinks.FileSink('/dev/null'))\n"
            "print(shipper.sinks.StdoutSink.__name__)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=_env(), timeout=60, check=False)
    assert out.returncode == 0, out.stderr
    assert out.stdout == "StdoutSink\n"


def test_a_failed_write_is_not_sent_again_later(tmp_path: Any) -> None:
    """A line the kernel refused (EPIPE) is counted once and never written in front of a
    later line on another descriptor state."""
    from shipper.sinks._fd import FdSink

    r, w = os.pipe()
    sink = FdSink(w, shared=False)
    os.close(r)
    with pytest.raises(BrokenPipeError):
        sink.emit(b'{"a":1}\n')
    assert sink._buffer is None
    os.close(w)
