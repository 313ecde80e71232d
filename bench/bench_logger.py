"""Benchmark the shipper logger against structlog, python-json-logger, loguru and stdlib.

The same access-log record for every case, side by side in one run, each case in a fresh
process with PYTHONUNBUFFERED unset, each record handed to the OS (a write syscall) before the
call returns, as DESIGN.md's "logger's promises" require: shipper writes with os.write; the
others write to a Python file object and flush per record (their StreamHandler / BytesLogger /
loguru stream sink do).

Two sinks:
- /dev/null: the cost of the logger alone.
- stdout as a pipe read by another process: Docker's case (the log driver reads the
  container's stdout pipe). Here shipper takes its pipe path (a lock per line, the line
  handed over whole), and two more shipper cases measure the two ways of keeping lines whole
  when several processes share the pipe (prefork servers): every line under a POSIX record
  lock (`StdoutSink(shared=True)`), or lines at most PIPE_BUF bytes (`max_line_bytes=4096`:
  each write atomic, no lock at all).

The reference is structlog's fastest configuration: the bound logger itself, not the
module-level proxy (`structlog.get_logger()` at module level), which is also reported.

Reported: median µs per record and the ratio to structlog's bound logger; the cost of a call
below the level; `bind()` against structlog's `bind`; `import shipper` time (fresh interpreters,
median, minus a bare interpreter). Every case runs once per round (a fresh process, the median
of --runs timed loops), the case order rotated between rounds; ratios are taken within a round
and their median over --rounds rounds is reported, so load that comes and goes on a shared
machine moves both sides of a ratio. The shipper case first checks that its records fit their
table (check_record on lines written to a temp file).

    .venv/bin/python bench/bench_logger.py [--records 20000] [--runs 5] [--rounds 5] [--quick]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent

FIELDS: dict[str, Any] = {"path": "/version/endpoint", "method": "GET", "status_code": 200,
                          "latency": 0.0123, "request_id": "3f2a9c1e-8d4b-4b8e-9f1a-2c3d4e5f6a7b",
                          "user_agent": "Mozilla/5.0 (X11; Linux x86_64) bench/1.0"}

REFERENCE = "structlog_bound"
# (case, sink)
CASES = [("shipper", "devnull"), ("shipper_stdlib", "devnull"), ("structlog", "devnull"),
         ("structlog_bound", "devnull"), ("python_json_logger", "devnull"), ("loguru", "devnull"),
         ("stdlib_json", "devnull"), ("floor", "devnull"), ("stdlib_floor", "devnull"),
         ("shipper", "pipe"), ("shipper_shared", "pipe"), ("shipper_atomic", "pipe"),
         ("shipper_stdlib", "pipe"), ("structlog_bound", "pipe"), ("python_json_logger", "pipe"),
         ("shipper_bind", "devnull"), ("structlog_bind", "devnull")]
BELOW = ["shipper", "structlog", "structlog_bound", "stdlib_json"]


# -- the cases (each runs in its own process) ------------------------------------------------

def _text_out(sink: str) -> Any:
    return open(os.devnull, "w") if sink == "devnull" else sys.stdout


def _bytes_out(sink: str) -> Any:
    return open(os.devnull, "wb") if sink == "devnull" else sys.stdout.buffer


def setup(case: str, sink: str) -> Any:
    """Return the object the timing loop calls `log.info(...)` on (as an app writes it)."""
    f = FIELDS
    if case.startswith("shipper"):
        import shipper
        from shipper.sinks import FileSink, StdoutSink

        _verify_shipper(case)
        kw: dict[str, Any] = {}
        if sink == "devnull":
            kw["sink"] = FileSink(os.devnull)
        elif case == "shipper_shared":
            kw["sink"] = StdoutSink(shared=True)
        else:
            kw["sink"] = StdoutSink()
            if case == "shipper_atomic":
                kw["max_line_bytes"] = 4096
        shipper.configure(service="bench", level="INFO", **kw)
        if case == "shipper" and sink == "pipe" and kw["sink"].shared:
            raise SystemExit("the bench's pipe was taken for a shared one: it measures the "
                             "single-process case")
        if case == "shipper_stdlib":
            import logging

            shipper.install_stdlib(logging.INFO)
            return logging.getLogger("bench")
        return shipper.get_logger("access_log")
    if case.startswith("structlog"):
        import logging

        import orjson
        import structlog

        structlog.configure(
            processors=[structlog.processors.add_log_level,
                        structlog.processors.TimeStamper(fmt="iso", utc=True),
                        structlog.processors.JSONRenderer(serializer=orjson.dumps)],
            wrapper_class=structlog.make_filtering_bound_logger(logging.INFO),
            logger_factory=structlog.BytesLoggerFactory(file=_bytes_out(sink)),
            cache_logger_on_first_use=True,
        )
        # "structlog": what apps write, `log = structlog.get_logger()` at module level (a lazy
        # proxy, cached on first use). "structlog_bound": the bound logger itself, no proxy:
        # structlog's fastest configuration, the reference.
        slog = structlog.get_logger()
        return slog if case == "structlog" else slog.bind()
    if case == "python_json_logger":
        import logging

        from pythonjsonlogger.orjson import OrjsonFormatter

        handler = logging.StreamHandler(_text_out(sink))
        handler.setFormatter(OrjsonFormatter("%(asctime)s %(levelname)s %(message)s"))
        lg = logging.getLogger("pjl")
        lg.addHandler(handler)
        lg.setLevel(logging.INFO)
        lg.propagate = False
        return lg
    if case == "loguru":
        from loguru import logger

        logger.remove()
        logger.add(_text_out(sink), serialize=True, level="INFO")
        return logger
    if case == "stdlib_json":
        import json
        import logging

        class JsonFormatter(logging.Formatter):
            def format(self, record: logging.LogRecord) -> str:
                d = {"timestamp": self.formatTime(record), "severity": record.levelname,
                     "message": record.getMessage(), **record.__dict__.get("fields", {})}
                return json.dumps(d)

        handler = logging.StreamHandler(_text_out(sink))
        handler.setFormatter(JsonFormatter())
        lg = logging.getLogger("stdjson")
        lg.addHandler(handler)
        lg.setLevel(logging.INFO)
        lg.propagate = False
        return lg
    if case == "stdlib_floor":
        # What every library behind `logging` pays before its handler runs (the LogRecord, the
        # caller's frame lookup, the handler walk): a handler that does nothing.
        import logging

        class NothingHandler(logging.Handler):
            def handle(self, record: logging.LogRecord) -> bool:  # type: ignore[override]
                return True

        lg = logging.getLogger("stdfloor")
        lg.addHandler(NothingHandler())
        lg.setLevel(logging.INFO)
        lg.propagate = False
        return lg
    if case == "floor":
        import orjson

        fd = os.open(os.devnull, os.O_WRONLY)
        dumps, write, now = orjson.dumps, os.write, time.time

        def floor() -> None:
            write(fd, dumps({"timestamp": now(), "severity": "INFO", **f}) + b"\n")

        return floor
    raise SystemExit(f"unknown case {case}")


def _verify_shipper(case: str) -> None:
    """The records measured must fit their table: write some to a file and check them."""
    import tempfile

    import orjson

    import shipper
    from shipper._config import registry
    from shipper.rules import check_record
    from shipper.sinks import FileSink

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "out.jsonl"
        sink = FileSink(path)
        shipper.configure(sink=sink, service="bench")
        if case == "shipper_stdlib":
            import logging

            shipper.install_stdlib(logging.INFO)
            for _ in range(10):
                logging.getLogger("bench").info("request", extra=FIELDS)
        else:
            log = shipper.get_logger("access_log")
            for _ in range(10):
                log.info("request", **FIELDS)
        sink.close()
        lines = path.read_bytes().splitlines()
        assert len(lines) == 10, lines
        for line in lines:
            rec = orjson.loads(line)
            problems = check_record(registry().table(rec["log_table"]), rec)
            assert not problems, problems
        stats = shipper.stats()
        assert stats == {"emitted": 10}, f"the bench record needed repairs: {stats}"
        shipper.reset_stats()


# The call as an app writes it: keyword literals at the call site (no ** unpacking, which
# would add the same dict copy to every case), inside the timing loop (no wrapper call).
_KW = ", ".join(f"{k}={v!r}" for k, v in FIELDS.items())
_EXTRA = "{" + ", ".join(f"{k!r}: {v!r}" for k, v in FIELDS.items()) + "}"
_SHIPPER = (f'log.info("request", {_KW})', f'log.debug("request", {_KW})')
CALLS = {
    "shipper": _SHIPPER,
    "shipper_shared": _SHIPPER,
    "shipper_atomic": _SHIPPER,
    "shipper_stdlib": (f'log.info("request", extra={_EXTRA})', None),
    "structlog": (f'log.info("request", {_KW})', f'log.debug("request", {_KW})'),
    "structlog_bound": (f'log.info("request", {_KW})', f'log.debug("request", {_KW})'),
    "python_json_logger": (f'log.info("request", extra={_EXTRA})', None),
    "loguru": (f'log.info("request", {_KW})', None),
    "stdlib_floor": (f'log.info("request", extra={_EXTRA})', None),
    "stdlib_json": (f'log.info("request", extra={{"fields": {_EXTRA}}})',
                    f'log.debug("request", extra={{"fields": {_EXTRA}}})'),
    "floor": ("log()", None),
    # a per-request bind, as a middleware does it (the logger is not used here: bind alone)
    "shipper_bind": ('log.bind(request_id="3f2a9c1e-8d4b-4b8e-9f1a-2c3d4e5f6a7b")', None),
    "structlog_bind": ('log.bind(request_id="3f2a9c1e-8d4b-4b8e-9f1a-2c3d4e5f6a7b")', None),
}
SETUP_AS = {"shipper_bind": "shipper", "structlog_bind": "structlog_bound"}


def _loop(stmt: str, log: Any) -> Callable[[int], float]:
    src = ("def loop(n):\n    t0 = perf_counter()\n    for _ in range(n):\n"
           f"        {stmt}\n    return (perf_counter() - t0) / n * 1e6\n")
    ns: dict[str, Any] = {"log": log, "perf_counter": time.perf_counter}
    exec(src, ns)  # noqa: S102 - our own fixed statements
    return ns["loop"]


def child(case: str, sink: str, records: int, runs: int) -> None:
    log = setup(SETUP_AS.get(case, case), sink)
    stmt, below_stmt = CALLS[case]
    loop = _loop(stmt, log)
    loop(min(records, 2000))  # warm up
    samples = [loop(records) for _ in range(runs)]
    below_us = -1.0
    if below_stmt is not None:
        below = _loop(below_stmt, log)
        below(min(records, 2000))
        below_us = statistics.median(below(records) for _ in range(runs))
    # stderr: stdout is the sink in the pipe cases
    sys.stderr.write(f"RESULT {case} {statistics.median(samples):.4f} {below_us:.4f}\n")


# -- the parent ---------------------------------------------------------------------------------

DRAIN = "import os\nwhile os.read(0, 1 << 16):\n    pass\n"


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    env.setdefault("SHIPPER_REGISTRY", str(REPO / "schemas"))
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def run_case(case: str, sink: str, records: int, runs: int) -> tuple[float, float | None]:
    cmd = [sys.executable, __file__, "--child", case, "--sink", sink, "--records", str(records),
           "--runs", str(runs)]
    if sink == "pipe":
        # stdout a pipe that another process reads as fast as it can (Docker's log driver)
        reader = subprocess.Popen([sys.executable, "-c", DRAIN], stdin=subprocess.PIPE)
        assert reader.stdin is not None
        proc = subprocess.Popen(cmd, stdout=reader.stdin, stderr=subprocess.PIPE, text=True,
                                env=_env())
        reader.stdin.close()  # the child alone holds the write end (it would not be shared)
        _, err = proc.communicate(timeout=600)
        reader.wait(timeout=60)
        returncode = proc.returncode
    else:
        out = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                             env=_env(), timeout=600, check=False)
        err, returncode = out.stderr, out.returncode
    if returncode != 0:
        raise SystemExit(f"case {case} ({sink}) failed:\n{err}")
    line = next(x for x in err.splitlines() if x.startswith("RESULT"))
    _, _, us, below = line.split()
    return float(us), (float(below) if float(below) >= 0 else None)


def import_time(n: int) -> tuple[float, float]:
    """Median over n interleaved runs of (cost - bare interpreter), in ms: `import shipper`
    alone, and `import shipper` plus the first get_logger (registry parse, code generation)."""
    def wall(code: str) -> float:
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True, env=_env())
        return (time.perf_counter() - t0) * 1000

    imp, first = [], []
    for _ in range(n):
        bare = wall("pass")
        imp.append(wall("import shipper") - bare)
        first.append(wall("import shipper; shipper.get_logger('access_log')") - bare)
    return statistics.median(imp), statistics.median(first)


Round = dict[tuple[str, str], tuple[float, float | None]]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--records", type=int, default=20000)
    ap.add_argument("--runs", type=int, default=5, help="timed runs inside each process (median)")
    ap.add_argument("--rounds", type=int, default=5, help="rounds of every case (median over rounds)")
    ap.add_argument("--quick", action="store_true", help="fewer records and runs")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--sink", default="devnull", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.quick:
        args.records, args.runs, args.rounds = 5000, 3, 3
    if args.child:
        child(args.child, args.sink, args.records, args.runs)
        return
    rounds: list[Round] = []
    for r in range(args.rounds):
        order = CASES[r % len(CASES):] + CASES[:r % len(CASES)]
        rounds.append({c: run_case(c[0], c[1], args.records, args.runs) for c in order})

    def med(case: str, sink: str = "devnull", below: bool = False) -> float:
        return statistics.median(x[(case, sink)][1 if below else 0] for x in rounds)  # type: ignore[misc]

    def ratio(num: str, den: str, sink: str = "devnull", below: bool = False) -> float:
        """How many times faster `den` is than `num` (median over rounds of num/den)."""
        i = 1 if below else 0
        return statistics.median(x[(num, sink)][i] / x[(den, sink)][i] for x in rounds)  # type: ignore[operator]

    print(f"logger benchmark: access-log record, {args.rounds} rounds x {len(CASES)} cases, a fresh "
          f"process per case and round, each the median of {args.runs} runs of {args.records} "
          f"records; a write per record. Medians over rounds; ratios are medians of the "
          f"per-round ratios; reference: structlog's bound logger")
    for sink, title in (("devnull", "/dev/null"),
                        ("pipe", "stdout a pipe read by another process (Docker)")):
        print(f"\n{title}")
        print(f"{'case':<22}{'µs/record':>11}{'records/s':>12}{'vs structlog bound':>20}")
        for case, s in CASES:
            if s != sink or case.endswith("_bind"):
                continue
            us = med(case, sink)
            print(f"{case:<22}{us:>11.2f}{1e6 / us:>12,.0f}{ratio(REFERENCE, case, sink):>19.2f}x")
    print()
    print(f"{'below the level':<22}{'µs/call':>11}{'vs structlog bound':>20}  (cost ratio)")
    for case in BELOW:
        if rounds[0][(case, "devnull")][1] is not None:
            print(f"{case:<22}{med(case, below=True):>11.3f}"
                  f"{ratio(case, REFERENCE, below=True):>19.2f}x")
    bind, sbind = med("shipper_bind"), med("structlog_bind")
    print(f"\nbind(request_id=...): shipper {bind:.3f} µs, structlog {sbind:.3f} µs "
          f"({ratio('shipper_bind', 'structlog_bind'):.2f}x structlog's cost)")
    imp, first = import_time(7 if args.quick else 15)
    print(f"\nimport shipper: {imp:.1f} ms over a bare interpreter (median); "
          f"import + first get_logger (registry parse, code generation): {first:.1f} ms")
    speed = ratio(REFERENCE, "shipper")
    pipe = ratio(REFERENCE, "shipper", "pipe")
    std = ratio("python_json_logger", "shipper_stdlib")
    sfloor = med("stdlib_floor")
    below = ratio("shipper", "structlog", below=True)
    below_bound = ratio("shipper", REFERENCE, below=True)
    shared = ratio("shipper_shared", "shipper", "pipe")
    atomic = ratio("shipper_atomic", "shipper", "pipe")
    per_round = ", ".join(f"{x[(REFERENCE, 'devnull')][0] / x[('shipper', 'devnull')][0]:.2f}"
                          for x in rounds)
    print(f"\nper round: shipper vs structlog bound {per_round}")
    print(f"stdlib path: `logging` itself (a handler that does nothing) {sfloor:.2f} µs of every "
          f"record; the handler's own share: shipper {med('shipper_stdlib') - sfloor:.2f} µs, "
          f"python-json-logger {med('python_json_logger') - sfloor:.2f} µs")
    print(f"prefork on one pipe: every line under the process lock {shared:.2f}x the time of "
          f"the single-process pipe path; lines <= PIPE_BUF without a lock {atomic:.2f}x")
    print("targets: shipper >= 2.5x structlog bound (/dev/null): "
          f"{speed:.2f}x {'OK' if speed >= 2.5 else 'MISSED'}; pipe: {pipe:.2f}x; "
          f"stdlib path >= 1.5x python-json-logger: {std:.2f}x "
          f"{'OK' if std >= 1.5 else 'MISSED'}; below level <= 0.25x structlog's proxy: "
          f"{below:.2f}x {'OK' if below <= 0.25 else 'MISSED'} ({below_bound:.2f}x its bound "
          f"logger's no-op); bind <= 2 µs: {bind:.2f} µs "
          f"{'OK' if bind <= 2 else 'MISSED'}; import <= 40 ms: {imp:.1f} ms "
          f"{'OK' if imp <= 40 else 'MISSED'}")


if __name__ == "__main__":
    main()
