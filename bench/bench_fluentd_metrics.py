"""Benchmark the fluentd metrics Lambda (lambdas/fluentd_metrics): PutMetricData calls per 1,000
status lines, handler CPU per 10,000 lines, and the handler module's import time.

Lines are the real captured monitor_agent lines (tests/fixtures/fluentd, real fluentd 1.19.3 output), replayed tick after
tick with their clock moved forward, so keys, values and the 5-plugins-per-tick shape are fluentd's.

* Calls are counted on a real boto3 client talking to a local moto server (127.0.0.1), by a
  botocore hook on every sent request.
* CPU is ``time.thread_time()`` around ``handler()``: the handler's own thread, not the moto
  server's threads living in this process. For the api-mode CPU figure every PutMetricData is
  answered ``200 {}`` by a botocore ``before-send`` hook instead of moto (serialization by
  botocore is still measured; the network is not).
* Import time: ``import handler`` in a fresh interpreter, as a Lambda cold start does.

Targets (issue 5): naive design 3,000 calls per 1,000 lines; <= 5 in api mode, 0 in emf mode;
<= 200 ms handler CPU per 10,000 lines. Medians of --runs runs.

    .venv/bin/python bench/bench_fluentd_metrics.py [--runs 5]
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import io
import json
import os
import statistics
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
LAMBDA_DIR = REPO / "lambdas" / "fluentd_metrics"
FIXTURE = REPO / "tests" / "fixtures" / "fluentd" / "monitor_agent_stdout.log"
sys.path.insert(0, str(REPO))


def status_lines(n: int, start: datetime) -> list[str]:
    """n lines: the capture's ticks repeated, each tick 5 s after the previous one."""
    ticks: dict[str, list[str]] = {}
    for line in FIXTURE.read_text().splitlines():
        if line[:4].isdigit():
            ticks.setdefault(line[:29], []).append(line[36:])  # after "<date> <time> +0000"
    bodies = list(ticks.values())
    out: list[str] = []
    i = 0
    while len(out) < n:
        t = start + timedelta(seconds=5 * i)
        stamp = t.strftime("%Y-%m-%d %H:%M:%S.") + f"{t.microsecond * 1000:09d} +0000"
        for body in bodies[i % len(bodies)]:
            out.append(stamp + body)
        i += 1
    return out[:n]


def load_handler():
    sys.path.insert(0, str(LAMBDA_DIR))
    spec = importlib.util.spec_from_file_location("fluentd_metrics_handler", LAMBDA_DIR / "handler.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


def set_env(**kw: str) -> None:
    os.environ.update({"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench",
                       "AWS_DEFAULT_REGION": "us-east-1", **kw})


class CallCounter:
    def __init__(self, client, answer_locally: bool):
        self.calls = 0
        self.answer = answer_locally
        client.meta.events.register("before-send.cloudwatch.PutMetricData", self)

    def __call__(self, request, **_):
        self.calls += 1
        if self.answer:
            from botocore.awsrequest import AWSResponse

            class Raw:
                def stream(self, **_):
                    yield b"{}"
            ctype = str(request.headers.get("Content-Type", "application/x-amz-json-1.0"))
            return AWSResponse(request.url, 200, {"Content-Type": ctype, "x-amzn-requestid": "bench"}, Raw())
        return None


def run(h, lines: list[str], batch: int, now: float) -> tuple[float, list[dict]]:
    """Handler CPU seconds and summaries for `lines` delivered in events of `batch` lines."""
    from tests.support_awslogs import build_subscription_event

    events = [build_subscription_event(lines[i:i + batch], log_group="fluentd", log_stream="fluentd/bench")
              for i in range(0, len(lines), batch)]
    h.CLOCK = lambda: now
    cpu = 0.0
    summaries = []
    sink = io.StringIO()
    for ev in events:
        with contextlib.redirect_stdout(sink):
            t = time.thread_time()
            summaries.append(h.handler(ev, None))
            cpu += time.thread_time() - t
        sink.seek(0)
        sink.truncate()
    return cpu, summaries


def import_time(runs: int) -> list[float]:
    code = ("import sys, time; sys.path.insert(0, sys.argv[1]); t = time.perf_counter(); import handler; "
            "print(time.perf_counter() - t)")
    out = []
    for _ in range(runs):
        r = subprocess.run([sys.executable, "-c", code, str(LAMBDA_DIR)], capture_output=True, text=True, check=True)
        out.append(float(r.stdout.strip()))
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    if not FIXTURE.is_file():
        print(f"fixture missing: {FIXTURE}", file=sys.stderr)
        return 1
    now_dt = datetime.now(timezone.utc).replace(microsecond=0)
    start = now_dt - timedelta(hours=1)
    now = now_dt.timestamp()
    lines_1k, lines_10k = status_lines(1000, start), status_lines(10_000, start - timedelta(hours=13))
    h = load_handler()
    results: dict[str, object] = {}

    # 1. API calls per 1,000 status lines, real client -> moto
    import logging

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        for batch in (1000, 40, 5):
            set_env(AWS_ENDPOINT_URL=f"http://{host}:{port}", METRICS_MODE="api")
            calls = []
            for _ in range(args.runs):
                h.reset()
                counter = CallCounter(h.client(h.config()), answer_locally=False)
                _, sums = run(h, lines_1k, batch, now)
                assert all(s.get("failed_calls", 0) == 0 for s in sums)
                calls.append(counter.calls)
            results[f"api calls per 1,000 status lines, events of {batch} lines"] = statistics.median(calls)
    finally:
        server.stop()
    set_env(METRICS_MODE="emf")
    os.environ.pop("AWS_ENDPOINT_URL", None)
    h.reset()
    _, sums = run(h, lines_1k, 1000, now)
    results["emf calls per 1,000 status lines"] = sum(s["api_calls"] for s in sums)
    results["emf lines per 1,000 status lines"] = sum(s["emf_lines"] for s in sums)

    # 2. handler CPU per 10,000 lines (one event), emf and api (answered locally)
    for mode in ("emf", "api"):
        set_env(METRICS_MODE=mode, AWS_ENDPOINT_URL="http://127.0.0.1:9")  # never reached: answered by the hook
        cpus = []
        for _ in range(args.runs):
            h.reset()
            if mode == "api":
                CallCounter(h.client(h.config()), answer_locally=True)
            cpu, sums = run(h, lines_10k, 10_000, now + 13 * 3600)
            assert sums[0]["status_lines"] == 10_000, sums[0]
            cpus.append(cpu * 1000)
        results[f"{mode} handler CPU ms per 10,000 lines"] = round(statistics.median(cpus), 1)
        results[f"{mode} handler CPU ms per 10,000 lines (all runs)"] = [round(c, 1) for c in cpus]

    # 3. cold import of the handler module
    imports = [t * 1000 for t in import_time(args.runs)]
    results["handler import ms (fresh interpreter)"] = round(statistics.median(imports), 1)
    results["handler import ms (all runs)"] = [round(t, 1) for t in imports]
    results["runs"] = args.runs
    results["naive design: calls per 1,000 lines"] = 3000

    for k, v in results.items():
        print(f"{k:60} {v}")
    targets = {
        "api calls per 1,000 lines <= 5": results["api calls per 1,000 status lines, events of 1000 lines"] <= 5,
        "emf calls per 1,000 lines == 0": results["emf calls per 1,000 status lines"] == 0,
        "emf handler CPU per 10,000 lines <= 200 ms": results["emf handler CPU ms per 10,000 lines"] <= 200,
        "api handler CPU per 10,000 lines <= 200 ms": results["api handler CPU ms per 10,000 lines"] <= 200,
    }
    for name, met in targets.items():
        print(f"{'met' if met else 'MISSED':6} {name}")
    print(json.dumps({"bench": "fluentd_metrics", "targets_met": all(targets.values())}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
