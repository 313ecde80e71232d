"""`make demo`: the whole logbridge pipeline on one laptop, no cloud account, in well under 2 minutes.

Stages (a stage that fails is reported and the others go on; the demo then exits 1):
  1. warehouse  - the local DuckDB warehouse, created from the schema registry
  2. app        - a Starlette app with the shipper ASGI middleware, driven by realistic traffic;
                  its stdout (JSON lines, one stray print, a traceback) goes to a file
  3. load       - `shipper load` of that stdout into the warehouse: summary and rejects
  4. queries    - the analysts' BigQuery SQL, run on DuckDB by `shipper query`
  5. fluentd    - the captured fluentd status lines (healthy, outage, recovery): buffer bytes and
                  retries over time, drawn as a PNG when matplotlib is installed
  6. metrics    - the same lines through the metrics Lambda against a local moto server: the
                  metrics it stored and which alarms would fire
Everything is written under build/demo/.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import itertools
import logging
import os
import re
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

BUILD = REPO / "build" / "demo"
WAREHOUSE = BUILD / "warehouse.duckdb"
TARGET = f"duckdb://{WAREHOUSE}"
STDOUT_LOG = BUILD / "app_stdout.log"
REJECTS = BUILD / "rejects.jsonl"
FIXTURES = REPO / "tests" / "fixtures" / "fluentd"
MONITOR_LOG = FIXTURES / "monitor_agent_stdout.log"
PNG = BUILD / "fluentd_buffer.png"


def banner(n: int, title: str) -> None:
    print(f"\n=== {n}. {title} " + "=" * max(0, 70 - len(title)), flush=True)


def shipper(*args: str) -> int:
    """Run a `shipper` command in-process, as the CLI would (same output, same exit code)."""
    from shipper.cli import main

    code = main(list(args))
    sys.stdout.flush()
    return code


# -- 1. warehouse ------------------------------------------------------------------------------

def stage_warehouse(ctx: dict[str, Any]) -> None:
    from shipper.registry import load_registry
    from shipper.warehouse import CREATE, ensure_tables
    from shipper.warehouse import open_warehouse as open_target

    for p in BUILD.glob("warehouse.duckdb*"):
        p.unlink()
    REJECTS.unlink(missing_ok=True)
    registry = load_registry()
    target = open_target(TARGET)
    try:
        plan = ensure_tables(target, registry)
    finally:
        target.close()
    created = [tp.table.name for tp in plan.tables if tp.action == CREATE]
    print(f"{WAREHOUSE.relative_to(REPO)}: created {', '.join(created)} from schemas/ "
          f"({len(registry.tables)} tables)")
    for table in registry.tables:
        opts = []
        if table.partitioning:
            opts.append(f"partitioned by {table.partitioning.field} ({table.partitioning.granularity}) on BigQuery")
        if table.clustering:
            opts.append("clustered by " + ", ".join(table.clustering))
        print(f"  {table.name} v{table.version}: {table.description}")
        if opts:
            print(f"    {'; '.join(opts)}")
        print("    " + ", ".join(f"{f.name} {f.type}{'' if f.mode == 'NULLABLE' else ' ' + f.mode}"
                                  for f in table.fields))


# -- 2. app ------------------------------------------------------------------------------------

def stage_app(ctx: dict[str, Any]) -> None:
    ctx["traffic_from"] = datetime.now(timezone.utc) - timedelta(seconds=1)
    with open(STDOUT_LOG, "wb") as out:
        proc = subprocess.run([sys.executable, str(REPO / "demo" / "sample_app.py")], stdout=out,
                              stderr=subprocess.PIPE, text=True, check=False, cwd=REPO, timeout=60,
                              env={**os.environ, "PYTHONPATH": str(REPO), "SHIPPER_SERVICE": "demo-api"})
    ctx["traffic_to"] = datetime.now(timezone.utc) + timedelta(seconds=1)
    if proc.returncode != 0:
        raise RuntimeError(f"sample app failed:\n{proc.stderr}")
    print(proc.stderr.strip())
    lines = STDOUT_LOG.read_bytes().splitlines()
    print(f"its stdout: {len(lines)} lines in {STDOUT_LOG.relative_to(REPO)}; the stray print and "
          "the first request's record:")
    first = next(x for x in lines if b'"request_id":"demo-0000"' in x and b'"access_log"' in x)
    for line in (lines[0], first):
        print("  " + line.decode())


# -- 3. load -----------------------------------------------------------------------------------

def stage_load(ctx: dict[str, Any]) -> None:
    code = shipper("load", str(STDOUT_LOG), "--target", TARGET, "--rejects", str(REJECTS))
    if code != 0:
        raise RuntimeError(f"shipper load exited {code}")


# -- 4. queries --------------------------------------------------------------------------------

def stage_queries(ctx: dict[str, Any]) -> None:
    stamp = lambda d: d.strftime("%Y-%m-%dT%H:%M:%SZ")
    queries = [
        ("Failed calls to /version/endpoint in the window (BigQuery's double-quoted literal, @params)",
         ('SELECT timestamp, request_id, status_code, ROUND(latency * 1000, 1) AS latency_ms '
          'FROM access_log WHERE status_code != 200 AND path = "/version/endpoint" '
          'AND timestamp BETWEEN @from AND @to ORDER BY request_id'),
         [f"from:TIMESTAMP={stamp(ctx['traffic_from'])}", f"to:TIMESTAMP={stamp(ctx['traffic_to'])}"]),
        ("Requests and average latency per path (latency is in seconds: shown in ms)",
         ("SELECT path, COUNT(*) AS requests, ROUND(AVG(latency) * 1000, 1) AS latency_avg_ms "
          "FROM access_log GROUP BY path ORDER BY requests DESC, path LIMIT 8"), []),
        ("p95 latency per route",
         ("SELECT route, COUNT(*) AS requests, "
          "ROUND(APPROX_QUANTILES(latency, 100)[OFFSET(95)] * 1000, 1) AS latency_p95_ms "
          "FROM access_log GROUP BY route ORDER BY requests DESC, route"), []),
        ("Errors with their exception (app_log)",
         ("SELECT timestamp, message, error.type AS error_type, "
          "SPLIT(error.stack, '\\n')[SAFE_OFFSET(ARRAY_LENGTH(SPLIT(error.stack, '\\n')) - 2)] AS last_frame "
          "FROM app_log WHERE severity = 'ERROR'"), []),
        ("App events by message, with a field from the extra JSON column",
         ("SELECT severity, message, COUNT(*) AS n, SUM(CAST(JSON_VALUE(extra, '$.qty') AS INT64)) AS qty "
          "FROM app_log GROUP BY severity, message ORDER BY n DESC"), []),
        ("What the app printed that was not JSON (raw_log)",
         "SELECT stream, text FROM raw_log", []),
    ]
    failed = 0
    for title, sql, params in queries:
        print(f"\n-- {title}\n{sql}")
        args = ["query", sql, "--target", TARGET]
        for p in params:
            args += ["--param", p]
        failed += shipper(*args) != 0
    if failed:
        raise RuntimeError(f"{failed} queries failed")


# -- 5. fluentd status lines -------------------------------------------------------------------

STATUS = re.compile(r"^(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2})\.(\d+) \+0000 (\S+): (\{.*\})$")


def read_status_lines() -> list[str]:
    return [line for line in MONITOR_LOG.read_text().splitlines() if STATUS.match(line)]


def output_series(lines: list[str], plugin: str = "out_file_app") -> list[dict[str, Any]]:
    import json

    series = []
    for line in lines:
        m = STATUS.match(line)
        rec = json.loads(m.group(4))
        if rec.get("plugin_id") != plugin:
            continue
        t = datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S").replace(tzinfo=timezone.utc)
        series.append({"time": t, "bytes": int(rec.get("buffer_total_queued_size") or 0),
                       "stage": int(rec.get("buffer_stage_byte_size") or 0),
                       "queue": int(rec.get("buffer_queue_length") or 0),
                       "retry_count": int(rec.get("retry_count") or 0)})
    return series


def buffer_figure(series: list[dict[str, Any]]) -> Any:
    """Queued bytes (a step line) and retries per status line (integer bars) over UTC time."""
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    fig, ax = plt.subplots(figsize=(9, 4))
    times = [p["time"] for p in series]
    ax.step(times, [p["bytes"] for p in series], where="post", label="buffer_total_queued_size (bytes)")
    ax.set_ylabel("bytes")
    ax2 = ax.twinx()
    incs = [0] + [max(0, b["retry_count"] - a["retry_count"]) for a, b in itertools.pairwise(series)]
    ax2.bar(times, incs, width=timedelta(seconds=2), color="tab:red", alpha=0.5, label="retries per 5 s")
    ax2.set_ylabel("retries")
    ax2.yaxis.set_major_locator(MaxNLocator(integer=True))  # retries are counts
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%H:%M:%S", tz=timezone.utc))
    ax.set_xlabel(f"time (UTC, {times[0]:%Y-%m-%d}, as captured)")
    ax.set_title("fluentd out_file_app: buffer and retries (captured run: healthy, outage, recovery)")
    fig.legend(loc="upper left", bbox_to_anchor=(0.09, 0.88), fontsize="small")
    fig.autofmt_xdate()
    fig.tight_layout()
    return fig


def stage_fluentd(ctx: dict[str, Any]) -> None:
    lines = read_status_lines()
    ctx["status_lines"] = lines
    series = output_series(lines)
    first = series[0]["time"] if series else None
    print(f"{len(lines)} status lines that a real fluentd printed while an output failed and "
          f"recovered ({MONITOR_LOG.relative_to(REPO)}, captured {first:%Y-%m-%d}); times are the "
          "capture's own, UTC.")
    print("out_file_app over time (retry_count is cumulative: its increase is the signal):")
    print(f"  {'time':8}  {'queued bytes':>12}  {'queue len':>9}  {'retry_count':>11}  {'+retries':>8}")
    prev = None
    for p in series:
        inc = 0 if prev is None else max(0, p["retry_count"] - prev)
        prev = p["retry_count"]
        flag = "  <- outage" if inc else ""
        print(f"  {p['time']:%H:%M:%S}  {p['bytes']:>12,}  {p['queue']:>9}  {p['retry_count']:>11}  {inc:>8}{flag}")
    os.environ.setdefault("MPLCONFIGDIR", str(BUILD / ".matplotlib"))  # its font cache: under build/ too
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("(matplotlib not installed: no PNG)")
        return
    fig = buffer_figure(series)
    fig.savefig(PNG, dpi=100)
    plt.close(fig)
    print(f"drawn: {PNG.relative_to(REPO)}")


# -- 6. metrics Lambda on moto ------------------------------------------------------------------

def _load_handler() -> Any:
    """handler.py imported as the Lambda runtime does (its directory on sys.path)."""
    lambda_dir = REPO / "lambdas" / "fluentd_metrics"
    path = lambda_dir / "handler.py"
    if str(lambda_dir) not in sys.path:
        sys.path.insert(0, str(lambda_dir))
    spec = importlib.util.spec_from_file_location("fluentd_metrics_handler", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


TIMESTAMP = re.compile(r"^(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2})")


def fluentd_stdout_lines() -> list[tuple[datetime, str]]:
    """What fluentd printed (status lines and its own warn lines), in time order: the log group
    the Lambda is subscribed to. Backtrace lines follow their warn line."""
    out: list[tuple[datetime, str]] = []
    for name in ("monitor_agent_stdout.log", "fluentd_warn_lines.log"):
        last = None
        for line in (FIXTURES / name).read_text().splitlines():
            if not line.strip() or line.startswith("#"):
                continue
            m = TIMESTAMP.match(line)
            if m:
                last = datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S").replace(tzinfo=timezone.utc)
            if last is not None:
                out.append((last, line))
    out.sort(key=lambda tl: tl[0])  # stable: a backtrace stays after its line
    return out


def _shift_to_now(lines: list[tuple[datetime, str]]) -> tuple[list[str], timedelta]:
    """Replay the capture as if it ended a minute or two ago: CloudWatch takes data points up to
    two weeks old only, and the capture is older than that on most days. The shift is a whole
    number of minutes, so every line stays at its second within the minute and the per-minute
    sums below are the same on every run."""
    now = datetime.now(timezone.utc).replace(second=0, microsecond=0)
    delta = now - lines[-1][0].replace(second=0) - timedelta(minutes=2)
    out = []
    for t, line in lines:
        if TIMESTAMP.match(line):
            line = (t + delta).strftime("%Y-%m-%d %H:%M:%S") + line[19:]
        out.append(line)
    return out, delta


def stage_metrics(ctx: dict[str, Any]) -> None:
    module = _load_handler()
    import boto3
    from moto.server import ThreadedMotoServer

    from tests.support_awslogs import build_subscription_event

    lines, delta = _shift_to_now(fluentd_stdout_lines())
    start = fluentd_stdout_lines()[0][0] + delta
    print(f"The capture of stage 5 replayed with its clock moved to now ({start:%H:%M:%S} UTC on): "
          "CloudWatch takes data points at most two weeks old.")
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's per-request access log
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    keys = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL",
            "AWS_SESSION_TOKEN", "AWS_PROFILE", "METRICS_NAMESPACE", "METRICS_MODE")
    saved = {k: os.environ.get(k) for k in keys}
    for k in keys:
        os.environ.pop(k, None)
    os.environ.update({"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                       "AWS_DEFAULT_REGION": "us-east-1", "AWS_ENDPOINT_URL": endpoint,
                       "METRICS_NAMESPACE": "fluentd", "METRICS_MODE": "api"})
    try:
        module.reset()
        summaries = []
        log = io.StringIO()  # the handler's own JSON log lines: kept in a file, not on screen
        with contextlib.redirect_stdout(log):
            for i in range(0, len(lines), 40):  # one subscription event per ~40 lines, as CloudWatch batches
                event = build_subscription_event(lines[i:i + 40], log_group="fluentd",
                                                 log_stream="fluentd/demo")
                summaries.append(module.handler(event, None))
        (BUILD / "lambda_log.jsonl").write_text(log.getvalue())
        calls = sum(s.get("api_calls", 0) for s in summaries)
        print(f"{len(lines)} fluentd stdout lines (status + warn) -> {len(summaries)} subscription events -> "
              f"handler: {sum(s.get('status_lines', 0) for s in summaries)} status lines, "
              f"{sum(s.get('log_event_lines', 0) for s in summaries)} warn lines counted, "
              f"{sum(s.get('metrics', 0) for s in summaries)} metric data, {calls} PutMetricData calls "
              f"(moto CloudWatch at {endpoint}; handler log: {(BUILD / 'lambda_log.jsonl').relative_to(REPO)})")
        cw = boto3.client("cloudwatch", endpoint_url=endpoint, region_name="us-east-1")
        ctx["cloudwatch"] = cw
        _print_metrics(cw)
        _print_alarms(cw, ctx)
    finally:
        server.stop()
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


SHOWN = ("status_lines", "buffer_total_queued_size", "buffer_queue_length", "retry_count_increase",
         "rollback_count_increase", "log_flush_failed", "log_retry_succeeded", "write_count_increase",
         "emit_records_increase")


def _print_metrics(cw: Any) -> None:
    unique: dict[tuple[str, tuple[tuple[str, str], ...]], dict[str, Any]] = {}
    for page in cw.get_paginator("list_metrics").paginate(Namespace="fluentd"):
        for m in page["Metrics"]:  # moto may list a metric once per data point: de-duplicate
            unique[(m["MetricName"], tuple(sorted((d["Name"], d["Value"]) for d in m["Dimensions"])))] = m
    metrics = list(unique.values())
    now = datetime.now(timezone.utc)
    plugins = sorted({d["Value"] for m in metrics for d in m["Dimensions"] if d["Name"] == "PluginId"})
    print(f"metrics stored in namespace fluentd: {len(metrics)} ({len({m['MetricName'] for m in metrics})} names "
          f"x plugins {', '.join(plugins)})")
    print("  out_file_app (the output that failed), per minute:")
    for m in sorted(metrics, key=lambda m: SHOWN.index(m["MetricName"]) if m["MetricName"] in SHOWN else 99):
        dims = {d["Name"]: d["Value"] for d in m["Dimensions"]}
        if m["MetricName"] not in SHOWN or dims.get("PluginId", "out_file_app") != "out_file_app":
            continue
        stats = cw.get_metric_statistics(Namespace="fluentd", MetricName=m["MetricName"], Dimensions=m["Dimensions"],
                                         StartTime=now - timedelta(hours=1), EndTime=now + timedelta(minutes=5),
                                         Period=60, Statistics=["Maximum", "Sum"])
        points = sorted(stats["Datapoints"], key=lambda p: p["Timestamp"])
        stat = "Maximum" if m["MetricName"].startswith("buffer_") else "Sum"
        series = "  ".join(f"{p['Timestamp']:%H:%M}={p[stat]:,.0f}" for p in points)
        print(f"    {m['MetricName']:26} {stat:7} {series}")


def _print_alarms(cw: Any, ctx: dict[str, Any]) -> None:
    from shipper import alarms
    plugins = alarms.watched_plugins(cw)
    production = alarms.AlarmSettings(plugin_ids=plugins)
    applied = alarms.apply(cw, alarms.plan(cw, production))
    print(f"alarms put into (moto) CloudWatch for the outputs {', '.join(plugins)}: {len(applied)}")
    # moto stores alarms but never evaluates them: would_fire replays CloudWatch's M-of-N rule.
    fired = alarms.would_fire(cw, production)
    print("with the production settings (retries in 3 periods in a row, > 64 MiB queued): "
          + ("\n  " + "\n  ".join(fired) if fired else "none would fire (the captured outage lasted"
             " about a minute and queued 32 KB)"))
    scaled = alarms.AlarmSettings(plugin_ids=plugins, retry_periods=1, queued_bytes_threshold=16 * 1024)
    fired = alarms.would_fire(cw, scaled)
    print("with thresholds scaled to the 2-minute capture (retries in 1 period, > 16 KiB queued):")
    for line in fired or ["none would fire"]:
        print(f"  {line}")
    ctx["alarms_fired"] = fired


# -- main --------------------------------------------------------------------------------------

STAGES: list[tuple[str, Callable[[dict[str, Any]], None], tuple[str, ...]]] = [
    ("warehouse: local DuckDB from the registry", stage_warehouse, ()),
    ("app: Starlette + shipper middleware, realistic traffic", stage_app, ()),
    ("load: shipper load app stdout -> warehouse", stage_load, ("app",)),
    ("queries: the analysts' BigQuery SQL on DuckDB", stage_queries, ("load",)),
    ("fluentd: captured status lines, buffer and retries over time", stage_fluentd, ()),
    ("metrics: the metrics Lambda on moto, and alarms", stage_metrics, ()),
]


def main() -> int:
    BUILD.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    ctx: dict[str, Any] = {}
    results: list[tuple[str, str, float]] = []
    done: set[str] = set()
    for n, (title, func, needs) in enumerate(STAGES, start=1):
        short = title.split(":")[0]
        banner(n, title)
        t0 = time.monotonic()
        if any(need not in done for need in needs):
            status = "skipped: needs " + ", ".join(needs)
        else:
            try:
                func(ctx)
                status = "ok"
                done.add(short)
            except Exception:  # noqa: BLE001 - report the stage, go on with the others
                status = "FAILED"
                traceback.print_exc()
        results.append((short, status, time.monotonic() - t0))
    total = time.monotonic() - started
    print(f"\n=== demo summary ({total:.1f} s, output under {BUILD.relative_to(REPO)}/) " + "=" * 20)
    for short, status, secs in results:
        print(f"  {short:10} {secs:5.1f} s  {status}")
    return 1 if any(s == "FAILED" for _, s, _ in results) else 0


if __name__ == "__main__":
    sys.exit(main())
