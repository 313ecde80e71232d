"""Registry model -> fluentd config (`fluentd/fluent.conf`), rendered by `shipper fluentd render`.

Reads only the registry model. The flow it writes (see fluentd/README.md for the why):

  forward :24224 --tag shipper.<service>--> rewrite_tag_filter (route by log_table) --> @TABLES
                 --any other tag (Docker log driver)--> @DOCKER: concat partial messages
                 --> @PARSE: parser on `log` --> rewrite_tag_filter (raw line / table) --> @TABLES
  @TABLES: bq.<table>[.default] -> record_transformer (remove driver fields) -> bigquery_insert
           raw.** (line not JSON) / unknown.** (log_table names no table) -> raw_log
  monitor_agent -> fluentd.status -> stdout (read by the metrics Lambda through awslogs)
  @ERROR -> file (kept for replay); every bigquery_insert has a <secondary> secondary_file.
"""

from __future__ import annotations

from ..registry import DEFAULT_TABLE, RAW_TABLE, ROUTING_KEY, Registry, Table

# The Docker fluentd log driver's record: https://docs.docker.com/engine/logging/drivers/fluentd/
DRIVER_FIELDS = ("container_id", "container_name", "source", "log")
# Tags with a meaning of their own; every other tag is a Docker log driver record.
SHIPPER_TAG = "shipper.**"
STATUS_TAG = "fluentd.status"
ENVELOPE_KEEP = ("service", "request_id", "trace_id", "container_name", "container_id")

HEADER = """\
# fluentd config for logbridge. GENERATED from the schema registry (schemas/) by
# `shipper fluentd render`: do not edit by hand; `make test` fails when it differs from a fresh render.
# Settings come from the environment at start (fluentd evaluates "#{...}"): see fluentd/README.md.
"""


def env(name: str, default: str | None) -> str:
    """A config value read from the environment when fluentd starts (no default: required)."""
    if default is None:
        return f"\"#{{ENV.fetch('{name}')}}\""
    return f"\"#{{ENV['{name}'] || '{default}'}}\""


BUFFER_DIR = "#{ENV['LOGBRIDGE_BUFFER_DIR'] || '/fluentd/buffer'}"
SETTINGS = {
    # name: (default, what it is) -- the README's table is checked against this.
    "LOGBRIDGE_BQ_PROJECT": (None, "Google Cloud project of the BigQuery dataset (required)"),
    "LOGBRIDGE_BQ_DATASET": ("logs", "BigQuery dataset holding the tables"),
    "LOGBRIDGE_BQ_KEY_PATH": ("", "service-account JSON key file; empty: application default credentials"),
    "LOGBRIDGE_BUFFER_DIR": ("/fluentd/buffer", "file buffers, failed chunks (secondary) and error records"),
    "LOGBRIDGE_FLUSH_INTERVAL": ("1s", "how often each table's buffer is flushed to BigQuery"),
    "LOGBRIDGE_BUFFER_TOTAL_LIMIT": ("512m", "disk for each table's buffer before input is refused"),
    "LOGBRIDGE_RETRY_TIMEOUT": ("30m", "retrying a chunk stops after this; the chunk goes to the secondary file"),
    "LOGBRIDGE_EMIT_INTERVAL": ("60", "seconds between monitor_agent status lines on stdout"),
    "LOGBRIDGE_PARTIAL_TIMEOUT": ("5", "seconds to wait for the rest of a Docker partial message"),
    "FLUENTD_LOG_LEVEL": ("info", "fluentd's own log level"),
}


def _env(name: str) -> str:
    return env(name, SETTINGS[name][0])


def _alternatives(names: list[str]) -> str:
    return "|".join(names)


def _route_rules(tables: list[str], *, docker: bool) -> list[str]:
    """rewrite_tag_filter rules: the config form of `shipper.routing.route_table`."""
    rules = []
    if docker:
        rules.append(("log", r"/[\s\S]/", "raw.${tag}", False,
                      "`log` is still there: the line was not a JSON object -> raw_log"))
    rules += [
        (ROUTING_KEY, rf"/\A({_alternatives(tables)})\z/", "bq.$1", False,
         "a registry table -> its output"),
        (ROUTING_KEY, r"/[\s\S]/", "unknown.${tag}", False,
         "a log_table that names no table: no route is made, the record goes whole to raw_log"),
        (ROUTING_KEY, r"/./", f"bq.{DEFAULT_TABLE}.default", True,
         "no log_table (empty or missing): not written by shipper -> app_log, in chunks of its own"),
    ]
    out = []
    for key, pattern, tag, invert, why in rules:
        out += [f"    # {why}", "    <rule>", f"      key {key}", f"      pattern {pattern}"]
        if invert:
            out.append("      invert true")
        out += [f"      tag {tag}", "    </rule>"]
    return out


def _removals(table: Table) -> list[str]:
    """Keys the driver or the router add that the table does not declare: removed before insert."""
    declared = set(table.field_names)
    return [k for k in (ROUTING_KEY, "source", "log") if k not in declared]


def _output(table: Table) -> list[str]:
    t = table.name
    match = f"bq.{t}"
    if t == DEFAULT_TABLE:
        match += f" bq.{t}.default"
    if t == RAW_TABLE:
        match += " raw.** unknown.**"
    lines = [f"  <match {match}>", "    @type bigquery_insert", f"    @id out_bq_{t}",
             "    auth_method \"#{ENV['LOGBRIDGE_BQ_KEY_PATH'].to_s.empty? ? 'application_default' : 'json_key'}\"",
             "    json_key \"#{ENV['LOGBRIDGE_BQ_KEY_PATH'].to_s}\"",
             f"    project {_env('LOGBRIDGE_BQ_PROJECT')}",
             f"    dataset {_env('LOGBRIDGE_BQ_DATASET')}",
             f"    table {t}",
             f"    schema_path /fluentd/etc/schemas/{t}.json",
             "    fetch_schema false",
             "    # rows the table rejects (insertErrors) are retried, then the whole chunk goes to <secondary>",
             "    allow_retry_insert_errors true",
             "    skip_invalid_rows false",
             "    ignore_unknown_values false",
             "    auto_create_table false"]
    if table.insert_id_field:
        lines.append(f"    insert_id_field {table.insert_id_field}")
    p = table.partitioning
    if p is not None and p.granularity not in ("DAY", "HOUR"):
        # the plugin knows only day/hour partitioning; it matters only when it creates a table
        lines.append(f"    # partitioned by {p.granularity} on {p.field}: made by `shipper tables`, not here")
    elif p is not None:
        lines += [f"    time_partitioning_type {p.granularity.lower()}",
                  f"    time_partitioning_field {p.field}"]
        if p.expiration_days is not None:
            lines.append(f"    time_partitioning_expiration {p.expiration_days}d")
    if table.clustering:
        lines.append("    clustering_fields [" + ", ".join(f'"{c}"' for c in table.clustering) + "]")
    lines += [
        "    request_timeout_sec 60",
        "    # BigQuery takes <= 10 MB and recommends <= 500 rows per insertAll request: a chunk is one",
        "    # request, so 500 records and 5 MB of JSON leave room for the request's own envelope.",
        "    <buffer tag>",
        "      @type file",
        f"      path \"{BUFFER_DIR}/bigquery/{t}\"",
        "      chunk_limit_size 5m",
        "      chunk_limit_records 500",
        f"      total_limit_size {_env('LOGBRIDGE_BUFFER_TOTAL_LIMIT')}",
        "      flush_mode interval",
        f"      flush_interval {_env('LOGBRIDGE_FLUSH_INTERVAL')}",
        "      flush_thread_count 2",
        "      flush_at_shutdown true",
        "      retry_type exponential_backoff",
        "      retry_wait 1s",
        "      retry_max_interval 60s",
        f"      retry_timeout {_env('LOGBRIDGE_RETRY_TIMEOUT')}",
        "      overflow_action throw_exception",
        "    </buffer>",
        "    # a chunk BigQuery will not take is written here as JSON lines: replay with `shipper load`",
        "    <secondary>",
        "      @type secondary_file",
        f"      @id out_bq_{t}_secondary",
        f"      directory \"{BUFFER_DIR}/failed/{t}\"",
        f"      basename {t}.${{chunk_id}}",
        "    </secondary>",
        "  </match>",
    ]
    return lines


def render(registry: Registry) -> str:
    tables = [t.name for t in registry.tables]
    for need in (DEFAULT_TABLE, RAW_TABLE):
        if need not in tables:
            raise ValueError(f"the registry has no {need} table; fluentd needs it")
    for t in registry.tables:
        if "log" in t.field_names:
            raise ValueError(f"table {t.name} declares a field `log`: the router uses it to tell "
                             "an unparsed Docker line, rename the field")
    raw = registry.table(RAW_TABLE)
    for need in ("stream", "text", "timestamp", "severity"):
        if need not in raw.field_names:
            raise ValueError(f"raw_log has no field {need!r}; fluentd fills it")

    out = [HEADER.rstrip("\n"), f"# tables: {', '.join(tables)}", ""]
    out += [
        "<system>",
        f"  log_level {_env('FLUENTD_LOG_LEVEL')}",
        f"  root_dir \"{BUFFER_DIR}/root\"",
        "</system>",
        "",
        "<source>",
        "  @type forward",
        "  @id in_forward",
        "  bind 0.0.0.0",
        "  port 24224",
        "</source>",
        "",
        "# status of every plugin, every LOGBRIDGE_EMIT_INTERVAL seconds, as stdout lines (-> awslogs",
        "# -> the fluentd_metrics Lambda); the HTTP API on 24220 serves the image's health check.",
        "<source>",
        "  @type monitor_agent",
        "  @id in_monitor_agent",
        "  bind 127.0.0.1",
        "  port 24220",
        f"  emit_interval {_env('LOGBRIDGE_EMIT_INTERVAL')}",
        f"  tag {STATUS_TAG}",
        "</source>",
        "",
        f"<match {STATUS_TAG}>",
        "  @type stdout",
        "  @id out_stdout_status",
        "</match>",
        "",
        "# records from shipper's forward sink: already structured, no `log`; routed as they are",
        f"<match {SHIPPER_TAG}>",
        "  @type rewrite_tag_filter",
        "  @id route_shipper",
        "  @label @TABLES",
        *[line[2:] for line in _route_rules(tables, docker=False)],
        "</match>",
        "",
        "# fluentd's own log events (fluent.*) stay out of the routes below; they still print on stdout",
        "<label @FLUENT_LOG>",
        "  <match **>",
        "    @type null",
        "    @id out_null_fluent_log",
        "  </match>",
        "</label>",
        "",
        "# every other tag: the Docker fluentd log driver (container_id, container_name, source, log)",
        "<match **>",
        "  @type relabel",
        "  @id relabel_docker",
        "  @label @DOCKER",
        "</match>",
        "",
        "<label @DOCKER>",
        "  # Docker splits lines over 16 KiB; join the pieces (partial_id/partial_ordinal/partial_last)",
        "  <filter **>",
        "    @type concat",
        "    @id filter_concat_partial",
        "    key log",
        "    use_partial_metadata true",
        "    separator \"\"",
        f"    flush_interval {_env('LOGBRIDGE_PARTIAL_TIMEOUT')}",
        "    timeout_label @PARSE",
        "  </filter>",
        "  <match **>",
        "    @type relabel",
        "    @id relabel_parse",
        "    @label @PARSE",
        "  </match>",
        "</label>",
        "",
        "<label @PARSE>",
        "  # a JSON line: its fields beside the driver's, `log` removed; any other line: kept as it came",
        "  <filter **>",
        "    @type parser",
        "    @id filter_parser_log",
        "    key_name log",
        "    reserve_data true",
        "    reserve_time true",
        "    remove_key_name_field true",
        "    emit_invalid_record_to_error false",
        "    <parse>",
        "      @type json",
        "    </parse>",
        "  </filter>",
        "  <match **>",
        "    @type rewrite_tag_filter",
        "    @id route_docker",
        "    @label @TABLES",
        *_route_rules(tables, docker=True),
        "  </match>",
        "</label>",
        "",
        "<label @TABLES>",
        "  # a line that was not JSON -> raw_log: its container, stream and text; time received",
        "  <filter raw.**>",
        "    @type record_transformer",
        "    @id filter_raw_line",
        "    enable_ruby true",
        "    renew_record true",
        "    keep_keys container_name,container_id",
        "    <record>",
        "      timestamp ${time.utc.strftime('%Y-%m-%dT%H:%M:%S.%6NZ')}",
        "      severity DEFAULT",
        "      stream ${record['source'] || 'stdout'}",
        "      text ${record['log'].to_s}",
        "    </record>",
        "  </filter>",
        "  # log_table names no table -> raw_log, the whole record as JSON in text (replayable)",
        "  <filter unknown.**>",
        "    @type record_transformer",
        "    @id filter_unknown_table",
        "    enable_ruby true",
        "    renew_record true",
        "    keep_keys " + ",".join(k for k in ENVELOPE_KEEP if k in raw.field_names),
        "    <record>",
        "      timestamp ${time.utc.strftime('%Y-%m-%dT%H:%M:%S.%6NZ')}",
        "      severity DEFAULT",
        "      stream ${record['source'] || 'stdout'}",
        "      text ${record.to_json}",
        "    </record>",
        "  </filter>",
    ]
    for t in registry.tables:
        removals = _removals(t)
        if not removals:
            continue
        pattern = f"bq.{t.name}" + (f" bq.{t.name}.default" if t.name == DEFAULT_TABLE else "")
        out += [
            f"  <filter {pattern}>",
            "    @type record_transformer",
            f"    @id filter_fields_{t.name}",
            f"    remove_keys {','.join(removals)}",
            "  </filter>",
        ]
    for t in registry.tables:
        out += _output(t)
    out += [
        "</label>",
        "",
        "# records a plugin could not handle (error events): kept on disk, never dropped",
        "<label @ERROR>",
        "  <match **>",
        "    @type file",
        "    @id out_file_error",
        f"    path \"{BUFFER_DIR}/error/${{tag}}\"",
        "    append true",
        "    <format>",
        "      @type json",
        "    </format>",
        "    <buffer tag,time>",
        "      @type file",
        f"      path \"{BUFFER_DIR}/error-buffer\"",
        "      timekey 1h",
        "      timekey_wait 1m",
        "      flush_mode interval",
        "      flush_interval 10s",
        "    </buffer>",
        "  </match>",
        "</label>",
    ]
    return "\n".join(out) + "\n"
