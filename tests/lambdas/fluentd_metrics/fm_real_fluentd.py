"""Run a real fluentd with fluent-plugin-bigquery against the project's BigQuery stand-in and
collect everything it prints: the lines the metrics Lambda must count, verbatim.

What the run provokes, one output each (the config is `CONFIG` below):

* ``out_bq_insert_errors``: rows with a field the table lacks -> fluent-plugin-bigquery's
  ``insert errors`` warn line (plugin defaults: no retry, the rows are lost);
* ``out_bq_secondary``: the same rows with ``allow_retry_insert_errors true`` and a
  ``<secondary>`` file -> ``failed to flush the buffer.`` then ``retry succeeded by secondary.``
  (the chunk is in the secondary file, not in BigQuery);
* ``out_file_overflow``: a file output whose directory is a file, with a tiny buffer and
  ``overflow_action throw_exception`` -> ``failed to write data into buffer by buffer overflow``,
  the emit fails and, since an ``@ERROR`` label exists, ``send an error event stream to @ERROR:``;
  after ``retry_max_times`` ``Hit limit for retries``;
* ``filter_parser_json``: a ``log`` that is not JSON -> ``send an error event to @ERROR:``;
* ``in_monitor_agent`` -> ``out_stdout_status``: status lines of all of them (``write_secondary_count``).

Used two ways: ``python tests/lambdas/fluentd_metrics/fm_real_fluentd.py FLUENTD OUT`` wrote
``tests/fixtures/fluentd/bigquery_error_lines.log`` (see SOURCE.md there), and
``test_real_fluentd.py`` runs it again when a fluentd is installed and feeds the fresh lines to
the handler. Needs fluentd with fluent-plugin-bigquery and the ``bigquery_endpoint.rb`` shim
that points the plugin at a local URL (both in the project's fluentd test tool).
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

# The table: the Docker driver's fields plus the app's, so that only the row with a field the
# table lacks is invalid (the others of its request get reason `stopped`).
SCHEMA = [{"name": name, "type": kind, "mode": "NULLABLE"} for name, kind in (
    ("container_id", "STRING"), ("container_name", "STRING"), ("source", "STRING"), ("log", "STRING"),
    ("message", "STRING"), ("n", "INTEGER"))]

PROJECT, DATASET, TABLE = "test-project", "logs", "app_log"

# How both BigQuery outputs reach the table capture() makes in the stand-in.
BIGQUERY_TABLE = f"""\
  auth_method json_key
  json_key {{root}}/key.json
  project {PROJECT}
  dataset {DATASET}
  table {TABLE}
  fetch_schema true"""

CONFIG = """\
<system>
  log_level info
  root_dir {root}/state
</system>

<source>
  @type forward
  @id in_forward
  bind 127.0.0.1
  port {forward_port}
</source>

<source>
  @type monitor_agent
  @id in_monitor_agent
  bind 127.0.0.1
  port {monitor_port}
  emit_interval 1
  tag fluentd.status
</source>

<filter app.**>
  @type parser
  @id filter_parser_json
  key_name log
  reserve_data true
  <parse>
    @type json
  </parse>
</filter>

<match app.insert_errors>
  @type bigquery_insert
  @id out_bq_insert_errors
{bigquery_table}
  <buffer>
    flush_mode interval
    flush_interval 1s
  </buffer>
</match>

<match app.secondary>
  @type bigquery_insert
  @id out_bq_secondary
{bigquery_table}
  allow_retry_insert_errors true
  <buffer>
    flush_mode interval
    flush_interval 1s
    retry_wait 1s
  </buffer>
  <secondary>
    @type secondary_file
    @id out_bq_secondary_file
    directory {root}/secondary
  </secondary>
</match>

<match app.overflow>
  @type file
  @id out_file_overflow
  path {root}/not_a_directory/app
  <buffer>
    @type memory
    chunk_limit_size 512
    total_limit_size 1024
    overflow_action throw_exception
    flush_mode interval
    flush_interval 1s
    retry_wait 1s
    retry_max_times 2
  </buffer>
</match>

<match fluentd.status>
  @type stdout
  @id out_stdout_status
</match>

<label @ERROR>
  <match **>
    @type file
    @id out_file_error_events
    path {root}/error_events/${{tag}}
    <buffer tag>
      flush_mode immediate
    </buffer>
  </match>
</label>
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _key_file(path: Path) -> None:
    """A service-account key made for the test: the plugin wants one to exist; with
    FLUENTD_BIGQUERY_AUTH=none it is never used to sign anything."""
    pem = subprocess.run(["openssl", "genrsa", "2048"], capture_output=True, text=True, check=True,
                         timeout=60).stdout
    path.write_text(json.dumps({"type": "service_account", "project_id": PROJECT,
                                "private_key_id": "test", "private_key": pem,
                                "client_email": f"fluentd@{PROJECT}.iam.gserviceaccount.com",
                                "client_id": "1", "token_uri": "http://127.0.0.1:9/token"}))


def _wait_port(port: int, proc: subprocess.Popen, timeout: float) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise RuntimeError(f"fluentd exited with {proc.returncode}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise RuntimeError("fluentd did not open its forward port")


def _stop(proc: subprocess.Popen) -> None:
    """SIGTERM to fluentd's process group (it flushes and exits), SIGKILL if it hangs."""
    if proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)


def docker_record(log: str) -> dict:
    """A record as Docker's fluentd log driver sends it."""
    return {"container_id": "5d1c" * 16, "container_name": "/api-1", "source": "stdout", "log": log}


def capture(fluentd: str, endpoint_rb: str, root: Path, seconds: float = 14.0) -> list[str]:
    """Run fluentd for about `seconds` against a fresh BigQuery stand-in; its output lines, with
    the run's directory shown as /var/log/fluent, fluentd's install directory as /opt/fluentd
    and the ports as PORT."""
    from fluent import sender

    from shipper.testing.fake_bigquery import FakeBigQueryAPI

    root.mkdir(parents=True, exist_ok=True)
    (root / "not_a_directory").mkdir()  # out_file checks it at start; replaced by a file below
    _key_file(root / "key.json")
    forward_port, monitor_port = free_port(), free_port()
    conf = root / "fluent.conf"
    conf.write_text(CONFIG.format(root=root, forward_port=forward_port, monitor_port=monitor_port,
                                  bigquery_table=BIGQUERY_TABLE.format(root=root)))
    with FakeBigQueryAPI() as fake:
        client = fake.client()
        client.create_dataset(DATASET)
        from google.cloud import bigquery

        client.create_table(bigquery.Table(f"{PROJECT}.{DATASET}.{TABLE}",
                                           schema=[bigquery.SchemaField(f["name"], f["type"], mode=f["mode"])
                                                   for f in SCHEMA]))
        env = {**os.environ, "FLUENTD_BIGQUERY_URL": fake.endpoint, "FLUENTD_BIGQUERY_AUTH": "none"}
        out = root / "fluentd.out"
        with out.open("wb") as sink:
            proc = subprocess.Popen([fluentd, "-c", str(conf), "-r", endpoint_rb],
                                    stdout=sink, stderr=subprocess.STDOUT, env=env, start_new_session=True)
            try:
                _wait_port(forward_port, proc, 60)
                (root / "not_a_directory").rmdir()
                (root / "not_a_directory").write_text("a file where out_file wants a directory\n")
                time.sleep(1.5)  # a first status tick of the healthy state
                post = sender.FluentSender("app", host="127.0.0.1", port=forward_port)
                good = json.dumps({"message": "fits the table", "n": 1})
                bad = json.dumps({"message": "a field the table lacks", "n": 2, "no_such_column": True})
                for tag in ("insert_errors", "secondary"):
                    for log in (good, bad, good):
                        assert post.emit(tag, docker_record(log)), post.last_error
                assert post.emit("insert_errors", docker_record("plain text line, not JSON")), post.last_error
                for i in range(12):  # 150-byte records into a 1 KiB buffer that cannot flush
                    post.emit("overflow", docker_record(json.dumps({"message": "x" * 100, "n": i})))
                    time.sleep(0.05)
                post.close()
                time.sleep(seconds)
            finally:
                _stop(proc)
    text = out.read_text(encoding="utf-8", errors="replace")
    text = text.replace(str(root), "/var/log/fluent")
    text = text.replace(str(Path(fluentd).resolve().parent.parent), "/opt/fluentd")  # the tool's install dir
    text = re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:PORT", text)
    text = re.sub(r"(\bport )\d+", r"\1PORT", text)
    return text.splitlines()


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print("usage: fm_real_fluentd.py FLUENTD_BIN OUT_FILE  (bigquery_endpoint.rb beside the bin/ dir)",
              file=sys.stderr)
        return 2
    import tempfile

    fluentd = Path(argv[1]).resolve()
    endpoint_rb = fluentd.parent.parent / "bigquery_endpoint.rb"
    with tempfile.TemporaryDirectory() as tmp:
        lines = capture(str(fluentd), str(endpoint_rb), Path(tmp))
    Path(argv[2]).write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"{len(lines)} lines -> {argv[2]}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
