"""Benchmark the generated fluentd config on real fluentd against the minimal config a user would write.

The minimal config is the seed design: in_forward -> filter_parser (the Docker line as JSON) ->
bigquery_insert into one table, nothing else (no partial joining, no routing, no check, no
insertIds, unknown fields dropped by BigQuery). The generated one does the whole line contract.
Both run in the same rounds, on the same records (shipper app_log records as Docker's fluentd
driver sends them), with the same buffer settings, into the same BigQuery stand-in (in its own
process), with 1 and 2 workers. Per run: lines/s from the first line sent until the last row is
stored, and fluentd's CPU time per line (supervisor + workers; steadier than wall time on a
shared machine). Ratios are taken within a round; medians over the rounds. Target: generated
>= 0.7x the minimal config's throughput.

    .venv/bin/python bench/bench_fluentd.py [--lines 60000] [--rounds 5] [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import msgpack
import orjson

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from shipper.testing.fluentd import (
    CONTAINER_ID,
    NO_FLUENTD,
    Fluentd,
    event_time,
    find_fluentd,
)

BATCH = 500  # records per forward message, as a busy Docker driver sends them
CONNECTIONS = 8

MINIMAL = """\
# the seed design: in_forward -> parser -> bigquery_insert (one table)
<system>
  workers "#{ENV['LOGBRIDGE_WORKERS'] || '1'}"
  root_dir "#{ENV['LOGBRIDGE_BUFFER_DIR']}/root"
</system>
<source>
  @type forward
  port "#{ENV['LOGBRIDGE_FORWARD_PORT']}"
</source>
<source>
  @type monitor_agent
  bind 127.0.0.1
  port "#{ENV['LOGBRIDGE_MONITOR_PORT']}"
</source>
<filter app.**>
  @type parser
  key_name log
  reserve_data true
  remove_key_name_field true
  <parse>
    @type json
  </parse>
</filter>
<match app.**>
  @type bigquery_insert
  auth_method json_key
  json_key "#{ENV['LOGBRIDGE_BQ_KEY_PATH']}"
  project "#{ENV['LOGBRIDGE_BQ_PROJECT']}"
  dataset "#{ENV['LOGBRIDGE_BQ_DATASET']}"
  table app_log
  ignore_unknown_values true
  <buffer>
    @type file
    path "#{ENV['LOGBRIDGE_BUFFER_DIR']}/bigquery/app_log"
    chunk_limit_size 8m
    chunk_limit_records 500
    flush_mode interval
    flush_interval "#{ENV['LOGBRIDGE_FLUSH_INTERVAL']}"
    flush_thread_count 2
  </buffer>
</match>
"""

STAND_IN = """\
import sys
from shipper.registry import load_registry
from shipper.testing.fluentd import DATASET, PROJECT, BigQueryStandIn
from shipper.warehouse.bigquery import table_resource
tables = {t.name: table_resource(t, PROJECT, DATASET) for t in load_registry().tables}
with BigQueryStandIn(tables) as bq:
    print(bq.endpoint, flush=True)
    sys.stdin.read()
"""


def messages(lines: int) -> list[bytes]:
    """Forward-mode messages (packed once, before timing): shipper app_log records as Docker lines."""
    out, entries = [], []
    t = time.time()
    for i in range(lines):
        rec = {"log_table": "app_log", "timestamp": f"2026-11-28T10:{(i // 60) % 60:02d}:{i % 60:02d}.{i % 999999:06d}Z",
               "severity": "INFO", "service": "api", "log_id": f"bench-{i:09d}", "request_id": f"req-{i:08x}",
               "logger": "app.billing", "message": f"invoice {i} sent to customer {i % 977}"}
        entries.append([event_time(t), {"container_id": CONTAINER_ID, "container_name": "/api-1",
                                        "source": "stdout", "log": orjson.dumps(rec).decode()}])
        if len(entries) == BATCH:
            out.append(msgpack.packb(["app.api", entries, {"chunk": f"c{i}"}], use_bin_type=False))
            entries = []
    if entries:
        out.append(msgpack.packb(["app.api", entries, {"chunk": "last"}], use_bin_type=False))
    return out


def send_all(port: int, msgs: list[bytes]) -> None:
    """CONNECTIONS senders at once, each waiting for fluentd's ack of every message."""
    import socket

    def sender(share: list[bytes]) -> None:
        with socket.create_connection(("127.0.0.1", port), timeout=120) as s:
            unpacker = msgpack.Unpacker(raw=False)
            for m in share:
                s.sendall(m)
                while True:
                    data = s.recv(4096)
                    if not data:
                        raise ConnectionError("fluentd closed the connection")
                    unpacker.feed(data)
                    if any("ack" in x for x in unpacker):
                        break

    threads = [threading.Thread(target=sender, args=(msgs[i::CONNECTIONS],)) for i in range(CONNECTIONS)]
    for th in threads:
        th.start()
        time.sleep(0.01)  # let a busy worker leave the next connection to another
    for th in threads:
        th.join()


def stored(endpoint: str, tables: list[str]) -> int:
    n = 0
    for t in tables:
        with urllib.request.urlopen(f"{endpoint}/bigquery/v2/projects/test-project/datasets/logs/tables/{t}",
                                    timeout=10) as r:
            n += int(json.load(r)["numRows"])
    return n


def forwarded(monitor_port: int) -> int:
    """Lines one worker took (its monitor_agent API), to see how connections spread: in_forward's
    emit_records (0 when the source has an @label, as the generated config's has: then the
    router's own count)."""
    url = f"http://127.0.0.1:{monitor_port}/api/plugins.json"
    with urllib.request.urlopen(url, timeout=10) as r:
        return sum(p.get("emit_records") or 0 for p in json.load(r)["plugins"]
                   if p.get("type") in ("forward", "logbridge_route"))


def group_cpu(pgid: int) -> float:
    """CPU seconds (user + system) used so far by the live processes of a process group:
    fluentd's supervisor and its workers, read from /proc (Linux)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:  # fields after the name: state, ppid, pgrp, ...
            total += int(fields[11]) + int(fields[12])
    return total / tick


def run_once(cmd: list[str], config: Path, workers: int, lines: int, msgs: list[bytes],
             work: Path) -> dict[str, float]:
    """One config in a fresh fluentd and stand-in: lines/s end to end (first line sent -> last row
    stored), lines/s in (-> last ack: routed, checked and in the file buffer), fluentd's CPU
    microseconds per line over that window (start-up excluded)."""
    stand_in = subprocess.Popen([sys.executable, "-c", STAND_IN], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                text=True, cwd=REPO)
    try:
        endpoint = stand_in.stdout.readline().strip()
        fd = Fluentd(cmd, work, endpoint, workers=workers, config=config,
                     env={"LOGBRIDGE_FLUSH_INTERVAL": "1s", "LOGBRIDGE_EMIT_INTERVAL": "60"})
        fd.start()
        time.sleep(0.5)  # past start-up work
        pgid = fd.proc.pid
        cpu0 = group_cpu(pgid)
        t0 = time.perf_counter()
        send_all(fd.forward_port, msgs)
        t_in = time.perf_counter() - t0
        deadline = time.monotonic() + 300
        while stored(endpoint, ["app_log", "raw_log"]) < lines:
            if time.monotonic() > deadline:
                fd.stop()
                raise SystemExit(f"{config.name}: rows still missing after 300 s; see {fd.log_path}")
            time.sleep(0.02)
        seconds = time.perf_counter() - t0
        cpu = group_cpu(pgid) - cpu0
        split = [forwarded(fd.monitor_port + w) for w in range(workers)]
        fd.stop()
        got = stored(endpoint, ["app_log", "raw_log"])
        if got != lines:
            raise SystemExit(f"{config.name}: {got} rows for {lines} lines")
        return {"rate": lines / seconds, "rate_in": lines / t_in, "cpu_us": cpu * 1e6 / lines,
                "busiest_worker": max(split) / lines}
    finally:
        stand_in.stdin.close()
        stand_in.wait(30)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lines", type=int, default=60_000)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--quick", action="store_true", help="20,000 lines, 1 round")
    args = ap.parse_args()
    if args.quick:
        args.lines, args.rounds = 20_000, 1
    cmd = find_fluentd()
    if cmd is None:
        print(f"bench_fluentd: skipped: {NO_FLUENTD}")
        return
    msgs = messages(args.lines)
    with tempfile.TemporaryDirectory(prefix="bench-fluentd-") as d:
        tmp = Path(d)
        minimal = tmp / "minimal.conf"
        minimal.write_text(MINIMAL)
        configs = {"generated": REPO / "fluentd" / "fluent.conf", "minimal": minimal}
        print(f"{args.lines:,} lines (app_log records as Docker lines), {CONNECTIONS} connections, "
              f"{args.rounds} round(s); fluentd: {' '.join(cmd)}")
        for workers in args.workers:
            runs: dict[str, list[dict[str, float]]] = {k: [] for k in configs}
            ratios, in_ratios, cpu_ratios = [], [], []
            for rnd in range(args.rounds):
                order = list(configs) if rnd % 2 == 0 else list(configs)[::-1]
                got = {}
                for name in order:
                    got[name] = run_once(cmd, configs[name], workers, args.lines, msgs,
                                         tmp / f"{name}-{workers}-{rnd}")
                    runs[name].append(got[name])
                g, m = got["generated"], got["minimal"]
                ratios.append(g["rate"] / m["rate"])
                in_ratios.append(g["rate_in"] / m["rate_in"])
                cpu_ratios.append(m["cpu_us"] / g["cpu_us"])
                print(f"  workers={workers} round {rnd + 1}: " + "; ".join(
                    f"{n} {r['rate']:,.0f} lines/s end to end, {r['rate_in']:,.0f} lines/s in, "
                    f"{r['cpu_us']:.1f} us CPU/line, busiest worker {r['busiest_worker']:.0%} of the lines"
                    for n, r in (("generated", g), ("minimal", m))))

            def med(name: str, key: str, runs: dict[str, list[dict[str, float]]] = runs) -> float:
                return statistics.median(r[key] for r in runs[name])

            print(f"workers={workers}: end to end generated {med('generated', 'rate'):,.0f} lines/s, minimal "
                  f"{med('minimal', 'rate'):,.0f} lines/s: {statistics.median(ratios):.2f}x (target >= 0.7x); "
                  f"in: {statistics.median(in_ratios):.2f}x; fluentd CPU per line: generated "
                  f"{med('generated', 'cpu_us'):.1f} us, minimal {med('minimal', 'cpu_us'):.1f} us: "
                  f"{statistics.median(cpu_ratios):.2f}x")


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    main()
