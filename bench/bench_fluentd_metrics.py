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
* Cost per fluentd host and month, both modes, at fluentd's default emit interval (read from
  fluentd/fluent.conf): one hour of one host replayed as CloudWatch Logs delivers it (one
  subscription event per tick), counting the PutMetricData requests and the bytes the handler
  writes to its log group (EMF lines, summaries), priced with CloudWatch's published prices
  (PRICES below, with their source and date). What is the same in both modes (the custom metrics
  themselves, Lambda invocations) is printed but not what decides.

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


# CloudWatch's published prices, US East (N. Virginia), read 2026-11-30 from
# https://aws.amazon.com/cloudwatch/pricing/ (as quoted, with their dates, by cloudburn.io's
# "Amazon CloudWatch pricing" of February 2026 and c3x.dev's "CloudWatch Logs cost optimization"
# of June 2026): metrics API requests (PutMetricData) $0.01 per 1,000; logs ingestion (Standard
# class, also what Lambda's log group pays in the first tier) $0.50 per GB; log storage $0.03 per
# GB-month; custom metrics $0.30 per metric-month (first 10,000, prorated by the hour); Lambda
# $0.20 per million requests and $0.0000166667 per GB-second (x86). Before the free tier.
PRICES = {"api_request": 0.01 / 1000, "log_gb": 0.50, "log_gb_month": 0.03, "metric_month": 0.30,
          "lambda_request": 0.20 / 1e6, "lambda_gb_second": 0.0000166667}
HOURS_PER_MONTH = 730  # AWS's monthly pricing convention
LAMBDA_MEMORY_GB = 0.25  # deploy/terraform/logbridge/metrics_lambda.tf memory_size 256
LOG_RETENTION_DAYS = 14  # variables_metrics.tf metrics_log_retention_days
FLUENT_CONF = REPO / "fluentd" / "fluent.conf"


def default_emit_interval() -> int:
    """fluentd/fluent.conf's default for LOGBRIDGE_EMIT_INTERVAL (seconds between status ticks)."""
    import re

    text = FLUENT_CONF.read_text() if FLUENT_CONF.is_file() else ""
    m = re.search(r"LOGBRIDGE_EMIT_INTERVAL'\]\s*\|\|\s*'(\d+)'", text)
    return int(m.group(1)) if m else 60


def config_plugins(text: str) -> list[tuple[str, str]]:
    """(plugin @id, kind) of every plugin monitor_agent reports for a fluent.conf: kind is input,
    filter, buffered (a <match> with a <buffer> or a buffered type) or output. <secondary>
    outputs are not reported on their own."""
    import re

    stack: list[list[str]] = []  # [directive, @id, buffered]
    out: list[tuple[str, str]] = []
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip() if not raw.strip().startswith('"') else raw.strip()
        m = re.match(r"<(/?)(\w+)", line)
        if m and m.group(1):
            if stack and stack[-1][0] == m.group(2):
                d, pid, buffered = stack.pop()
                if pid and d in ("source", "filter", "match"):
                    kind = {"source": "input", "filter": "filter"}.get(d) or ("buffered" if buffered else "output")
                    out.append((pid, kind))
            continue
        if m:
            stack.append([m.group(2), "", ""])
            if m.group(2) == "buffer" and len(stack) > 1:
                stack[-2][2] = "yes"
            continue
        m = re.match(r"@id\s+(\S+)", line)
        if m and stack:
            stack[-1][1] = m.group(1)
        m = re.match(r"@type\s+(\S+)", line)
        if m and stack and m.group(1).strip('"') in ("bigquery_insert", "file", "forward", "s3"):
            stack[-1][2] = "yes"
    return out


def one_tick_per_event(start: datetime, interval: int, ticks: int,
                       plugins: list[tuple[str, str]] | None = None) -> list[list[str]]:
    """`ticks` monitor_agent ticks of one host, `interval` s apart, one subscription event each.
    Without `plugins`: the capture's own 5 plugins, tick after tick. With them: each plugin's
    record is the capture's record of a plugin of its kind (in_forward, filter_parser_json,
    out_file_app, out_stdout_status), renamed, its counters growing tick by tick."""
    per_tick: dict[str, list[str]] = {}
    for line in FIXTURE.read_text().splitlines():
        if line[:4].isdigit():
            per_tick.setdefault(line[:29], []).append(line[36:])
    bodies = list(per_tick.values())
    templates: dict[str, dict] = {}
    if plugins:
        by_id = {json.loads(b.split(": ", 1)[1])["plugin_id"]: json.loads(b.split(": ", 1)[1]) for b in bodies[-1]}
        templates = {"input": by_id["in_forward"], "filter": by_id["filter_parser_json"],
                     "buffered": by_id["out_file_app"], "output": by_id["out_stdout_status"]}
    out = []
    for i in range(ticks):
        t = start + timedelta(seconds=interval * i)
        stamp = t.strftime("%Y-%m-%d %H:%M:%S.") + f"{t.microsecond * 1000:09d} +0000"
        if not plugins:
            out.append([stamp + body for body in bodies[i % len(bodies)]])
            continue
        tick = []
        for pid, kind in plugins:
            rec = {k: (v + 3 * i if k in COUNTER_KEYS and isinstance(v, int) else v)
                   for k, v in templates[kind].items()}
            rec["plugin_id"] = pid
            tick.append(f"{stamp} fluentd.status: {json.dumps(rec, separators=(',', ':'))}")
        out.append(tick)
    return out


COUNTER_KEYS = {"emit_records", "emit_count", "write_count", "flush_time_count", "emit_size"}


def cost_per_host(h, now: float, start: datetime, interval: int,
                  plugins: list[tuple[str, str]] | None = None) -> dict[str, dict[str, float]]:
    """One hour of one host in each mode: requests, log bytes and wall time per invocation,
    scaled to a month and priced."""
    from tests.support_awslogs import build_subscription_event

    ticks = one_tick_per_event(start, interval, 3600 // interval, plugins)
    events = [build_subscription_event(t, log_group="fluentd", log_stream="fluentd/host-1") for t in ticks]
    out: dict[str, dict[str, float]] = {}
    for mode in ("api", "emf"):
        set_env(METRICS_MODE=mode, AWS_ENDPOINT_URL="http://127.0.0.1:9")  # api: answered by the hook
        h.reset()
        counter = CallCounter(h.client(h.config()), answer_locally=True) if mode == "api" else None
        h.CLOCK = lambda: now
        sink = io.StringIO()
        wall = 0.0
        for ev in events:
            with contextlib.redirect_stdout(sink):
                t = time.perf_counter()
                s = h.handler(ev, None)
                wall += time.perf_counter() - t
        log_bytes = len(sink.getvalue().encode())
        per_month = HOURS_PER_MONTH / 1.0  # the replay is one hour
        requests = (counter.calls if counter else 0) * per_month
        gb = log_bytes * per_month / 1e9
        invocations = len(events) * per_month
        out[mode] = {
            "invocations": invocations, "api_requests": requests, "log_bytes_per_invocation": log_bytes / len(events),
            "log_gb": gb, "wall_ms_per_invocation": wall * 1000 / len(events),
            "requests_usd": requests * PRICES["api_request"],
            "logs_usd": gb * PRICES["log_gb"] + gb * LOG_RETENTION_DAYS / 30 * PRICES["log_gb_month"],
            "lambda_usd": invocations * PRICES["lambda_request"]
            + invocations * (wall / len(events)) * LAMBDA_MEMORY_GB * PRICES["lambda_gb_second"],
            "status_lines": s.get("status_lines", 0),
        }
        out[mode]["deciding_usd"] = out[mode]["requests_usd"] + out[mode]["logs_usd"]
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

    # 3. what one fluentd host costs per month in each mode, at the default emit interval: the
    # capture's 5 plugins, and the plugins the project's fluentd/fluent.conf makes monitor_agent report
    interval = default_emit_interval()
    results["default emit interval (fluentd/fluent.conf), s"] = interval
    conf = config_plugins(FLUENT_CONF.read_text()) if FLUENT_CONF.is_file() else []
    kinds = {k: sum(1 for _, kind in conf if kind == k) for k in ("input", "filter", "buffered", "output")}
    for label, plugins in (("capture, 5 plugins", None),
                           (f"fluent.conf, {len(conf)} plugins {kinds}", conf or None)):
        costs = cost_per_host(h, now, start, interval, plugins)
        for mode, c in costs.items():
            results[f"{label}: {mode}: PutMetricData requests / host / month"] = round(c["api_requests"])
            results[f"{label}: {mode}: log bytes / invocation (EMF + summary)"] = round(c["log_bytes_per_invocation"])
            results[f"{label}: {mode}: requests + logs $ / host / month"] = round(c["deciding_usd"], 4)
            results[f"{label}: {mode}: Lambda $ / host / month (same both)"] = round(c["lambda_usd"], 4)
        results[f"{label}: cheaper mode"] = min(costs, key=lambda m: costs[m]["deciding_usd"])

    # 4. cold import of the handler module
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
