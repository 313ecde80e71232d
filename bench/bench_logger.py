"""Benchmark the shipper logger against structlog, python-json-logger, loguru and stdlib.

The same access-log record for every case, side by side in one run. Every case runs in a fresh
process with PYTHONUNBUFFERED unset and writes to a real file descriptor (/dev/null), each
record handed to the OS (a write syscall) before the call returns, as DESIGN.md's "logger's
promises" require: shipper's FileSink writes with os.write; the others write to a Python file
object and flush per record (their StreamHandler / BytesLogger / loguru stream sink do).

Reported: median µs per record, records/s, speed relative to structlog's fastest configuration;
the cost of a call below the level; `import shipper` time (fresh interpreters, median, minus a
bare interpreter). Every case runs once per round (a fresh process, the median of --runs timed
loops), the case order rotated between rounds; ratios are taken within a round and their median
over --rounds rounds is reported, so load that comes and goes on a shared machine moves both
sides of a ratio. The shipper case first checks that its records fit their table (check_record
on lines written to a temp file).

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

CASES = ["shipper", "shipper_stdlib", "structlog", "structlog_bound", "python_json_logger",
         "loguru", "stdlib_json", "floor"]
BELOW = ["shipper", "structlog", "structlog_bound", "stdlib_json"]


# -- the cases (each runs in its own process) ------------------------------------------------

def _devnull_text() -> Any:
    return open(os.devnull, "w")


def setup(case: str) -> Any:
    """Return the object the timing loop calls `log.info(...)` on (as an app writes it)."""
    f = FIELDS
    if case in ("shipper", "shipper_stdlib"):
        import shipper
        from shipper.sinks import FileSink

        _verify_shipper(case)
        shipper.configure(sink=FileSink(os.devnull), service="bench", level="INFO")
        if case == "shipper":
            log = shipper.get_logger("access_log")
            return log
        import logging

        shipper.install_stdlib(logging.INFO)
        std = logging.getLogger("bench")
        return std
    if case in ("structlog", "structlog_bound"):
        import logging

        import orjson
        import structlog

        structlog.configure(
            processors=[structlog.processors.add_log_level,
                        structlog.processors.TimeStamper(fmt="iso", utc=True),
                        structlog.processors.JSONRenderer(serializer=orjson.dumps)],
            wrapper_class=structlog.make_filtering_bound_logger(logging.INFO),
            logger_factory=structlog.BytesLoggerFactory(file=open(os.devnull, "wb")),  # noqa: SIM115
            cache_logger_on_first_use=True,
        )
        # "structlog": what apps write, `log = structlog.get_logger()` at module level (a lazy
        # proxy, cached on first use). "structlog_bound": the bound logger itself, no proxy.
        slog = structlog.get_logger()
        return slog.bind() if case == "structlog_bound" else slog
    if case == "python_json_logger":
        import logging

        from pythonjsonlogger.orjson import OrjsonFormatter

        handler = logging.StreamHandler(_devnull_text())
        handler.setFormatter(OrjsonFormatter("%(asctime)s %(levelname)s %(message)s"))
        lg = logging.getLogger("pjl")
        lg.addHandler(handler)
        lg.setLevel(logging.INFO)
        lg.propagate = False
        return lg
    if case == "loguru":
        from loguru import logger

        logger.remove()
        logger.add(_devnull_text(), serialize=True, level="INFO")
        return logger
    if case == "stdlib_json":
        import json
        import logging

        class JsonFormatter(logging.Formatter):
            def format(self, record: logging.LogRecord) -> str:
                d = {"timestamp": self.formatTime(record), "severity": record.levelname,
                     "message": record.getMessage(), **record.__dict__.get("fields", {})}
                return json.dumps(d)

        handler = logging.StreamHandler(_devnull_text())
        handler.setFormatter(JsonFormatter())
        lg = logging.getLogger("stdjson")
        lg.addHandler(handler)
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
    from shipper._fit import check_record
    from shipper.sinks import FileSink

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "out.jsonl"
        sink = FileSink(path)
        shipper.configure(sink=sink, service="bench")
        if case == "shipper":
            log = shipper.get_logger("access_log")
            for _ in range(10):
                log.info("request", **FIELDS)
        else:
            import logging

            shipper.install_stdlib(logging.INFO)
            for _ in range(10):
                logging.getLogger("bench").info("request", extra=FIELDS)
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
CALLS = {
    "shipper": (f'log.info("request", {_KW})', f'log.debug("request", {_KW})'),
    "shipper_stdlib": (f'log.info("request", extra={_EXTRA})', None),
    "structlog": (f'log.info("request", {_KW})', f'log.debug("request", {_KW})'),
    "structlog_bound": (f'log.info("request", {_KW})', f'log.debug("request", {_KW})'),
    "python_json_logger": (f'log.info("request", extra={_EXTRA})', None),
    "loguru": (f'log.info("request", {_KW})', None),
    "stdlib_json": (f'log.info("request", extra={{"fields": {_EXTRA}}})',
                    f'log.debug("request", extra={{"fields": {_EXTRA}}})'),
    "floor": ("log()", None),
}


def _loop(stmt: str, log: Any) -> Callable[[int], float]:
    src = ("def loop(n):\n    t0 = perf_counter()\n    for _ in range(n):\n"
           f"        {stmt}\n    return (perf_counter() - t0) / n * 1e6\n")
    ns: dict[str, Any] = {"log": log, "perf_counter": time.perf_counter}
    exec(src, ns)  # noqa: S102 - our own fixed statements
    return ns["loop"]


def child(case: str, records: int, runs: int) -> None:
    log = setup(case)
    stmt, below_stmt = CALLS[case]
    loop = _loop(stmt, log)
    loop(min(records, 2000))  # warm up
    samples = [loop(records) for _ in range(runs)]
    below_us = -1.0
    if below_stmt is not None:
        below = _loop(below_stmt, log)
        below(min(records, 2000))
        below_us = statistics.median(below(records) for _ in range(runs))
    print(f"RESULT {case} {statistics.median(samples):.4f} {below_us:.4f}")


# -- the parent ---------------------------------------------------------------------------------

def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    env.setdefault("SHIPPER_REGISTRY", str(REPO / "schemas"))
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def run_case(case: str, records: int, runs: int) -> tuple[float, float | None]:
    out = subprocess.run([sys.executable, __file__, "--child", case, "--records", str(records),
                          "--runs", str(runs)], capture_output=True, text=True, env=_env(),
                         timeout=600, check=False)
    if out.returncode != 0:
        raise SystemExit(f"case {case} failed:\n{out.stderr}")
    line = next(x for x in out.stdout.splitlines() if x.startswith("RESULT"))
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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--records", type=int, default=20000)
    ap.add_argument("--runs", type=int, default=5, help="timed runs inside each process (median)")
    ap.add_argument("--rounds", type=int, default=5, help="rounds of every case (median over rounds)")
    ap.add_argument("--quick", action="store_true", help="fewer records and runs")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.quick:
        args.records, args.runs, args.rounds = 5000, 3, 3
    if args.child:
        child(args.child, args.records, args.runs)
        return
    # Rounds: every case once per round, in a fresh process, the order rotated from round to
    # round; a ratio is taken within a round (cases measured seconds apart) and the median over
    # rounds is reported. Load that comes and goes on a shared machine then moves both sides of
    # a ratio instead of one case's whole measurement.
    rounds: list[dict[str, tuple[float, float | None]]] = []
    for r in range(args.rounds):
        order = CASES[r % len(CASES):] + CASES[:r % len(CASES)]
        rounds.append({case: run_case(case, args.records, args.runs) for case in order})

    def med(case: str, below: bool = False) -> float:
        return statistics.median(x[case][1 if below else 0] for x in rounds)  # type: ignore[misc]

    def ratio(num: str, den: str, below: bool = False) -> float:
        i = 1 if below else 0
        return statistics.median(x[num][i] / x[den][i] for x in rounds)  # type: ignore[operator]

    print(f"logger benchmark: access-log record, {args.rounds} rounds x {len(CASES)} cases, a fresh "
          f"process per case and round, each the median of {args.runs} runs of {args.records} "
          f"records; os-level write per record to /dev/null. Medians over rounds; ratios are "
          f"medians of the per-round ratios")
    print(f"{'case':<22}{'µs/record':>11}{'records/s':>12}{'vs structlog':>14}")
    for case in CASES:
        us = med(case)
        print(f"{case:<22}{us:>11.2f}{1e6 / us:>12,.0f}{ratio('structlog', case):>13.2f}x")
    print()
    print(f"{'below the level':<22}{'µs/call':>11}{'vs structlog':>14}")
    for case in BELOW:
        if rounds[0][case][1] is not None:
            print(f"{case:<22}{med(case, True):>11.3f}{ratio(case, 'structlog', True):>13.2f}x")
    imp, first = import_time(7 if args.quick else 15)
    print()
    print(f"import shipper: {imp:.1f} ms over a bare interpreter (median); "
          f"import + first get_logger (registry parse, code generation): {first:.1f} ms")
    speed, std, below = ratio("structlog", "shipper"), ratio("python_json_logger", "shipper_stdlib"), \
        ratio("shipper", "structlog", True)
    per_round = ", ".join(f"{x['structlog'][0] / x['shipper'][0]:.2f}" for x in rounds)
    std_round = ", ".join(f"{x['python_json_logger'][0] / x['shipper_stdlib'][0]:.2f}" for x in rounds)
    print()
    print(f"per round: shipper vs structlog {per_round}; shipper_stdlib vs python-json-logger {std_round}")
    print("targets: shipper >= 3x structlog: "
          f"{speed:.2f}x {'OK' if speed >= 3 else 'MISSED'}; "
          f"stdlib path >= 1.5x python-json-logger: {std:.2f}x "
          f"{'OK' if std >= 1.5 else 'MISSED'}; "
          f"below level <= 0.25x structlog: {below:.2f}x {'OK' if below <= 0.25 else 'MISSED'}; "
          f"import <= 40 ms: {imp:.1f} ms {'OK' if imp <= 40 else 'MISSED'}")


if __name__ == "__main__":
    main()
