"""Registry model -> the fluentd image's files, rendered by `shipper fluentd render`.

`fluentd/fluent.conf` (this module), `fluentd/plugins/out_logbridge_route.rb` (fluentd_plugin.py)
and `fluentd/plugins/logbridge_rules.rb` (fluentd_rules.py). Reads only the registry model.
The flow (fluentd/README.md says why):

  forward :24224 --@INPUT--> concat (Docker partial messages) --> @ROUTE: logbridge_route
      (line -> record or raw line; route by log_table; check against the table; insertId)
      --bq.<table>--> @TABLES: one output per table, by its registry `ingestion`:
          stream: bigquery_insert (insertAll per flush, LOGBRIDGE_FLUSH_INTERVAL)
          batch:  bigquery_load (a load job per flush of the table's flush_interval)
        each with a file buffer and a <secondary> file for what BigQuery refuses
  monitor_agent --@STATUS (a label: no input can send there)--> stdout status lines
  @ERROR -> files (kept for replay)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..registry import DEFAULT_TABLE, RAW_TABLE, Registry, Table
from .fluentd_plugin import PLUGIN_FILE, PLUGIN_TYPE, insert_id_column

CONFIG_PATH = "fluentd/fluent.conf"
# The Docker fluentd log driver's record: https://docs.docker.com/engine/logging/drivers/fluentd/
DRIVER_FIELDS = ("container_id", "container_name", "source", "log")
STATUS_TAG = "fluentd.status"
ROW_TAG_PREFIX = "bq."

HEADER = """\
# fluentd config for logbridge. GENERATED from the schema registry (schemas/) by
# `shipper fluentd render`: do not edit by hand; `make test` fails when it differs from a fresh render.
# Settings come from the environment at start (fluentd evaluates "#{...}"): see fluentd/README.md.
# Needs the plugins in fluentd/plugins/ (`fluentd -p /fluentd/plugins`, as the image runs it).
"""

BUFFER_DIR = "#{ENV['LOGBRIDGE_BUFFER_DIR'] || '/fluentd/buffer'}"


@dataclass(frozen=True)
class Setting:
    default: str | None  # None: required, fluentd does not start without it
    what: str


SETTINGS = {
    # name -> Setting; fluentd/README.md's table is checked against this.
    "LOGBRIDGE_BQ_PROJECT": Setting(None, "the Google Cloud project of the BigQuery dataset"),
    "LOGBRIDGE_BQ_DATASET": Setting("logs", "BigQuery dataset holding the tables"),
    "LOGBRIDGE_BQ_KEY_PATH": Setting("", "service-account JSON key file; empty: application default credentials"),
    "LOGBRIDGE_BUFFER_DIR": Setting("/fluentd/buffer", "file buffers, failed chunks (secondary) and error records"),
    "LOGBRIDGE_WORKERS": Setting("1", "fluentd worker processes (one CPU core each)"),
    "LOGBRIDGE_FORWARD_PORT": Setting("24224", "port of the forward input (TCP; UDP for heartbeats)"),
    "LOGBRIDGE_MONITOR_PORT": Setting("24220", "monitor_agent HTTP API on 127.0.0.1 (worker N: this + N)"),
    "LOGBRIDGE_FLUSH_INTERVAL": Setting("1s", "how often each table's buffer is flushed to BigQuery"),
    "LOGBRIDGE_BUFFER_TOTAL_LIMIT": Setting("512m", "disk for each table's buffer (per worker) before input is refused"),
    "LOGBRIDGE_RETRY_TIMEOUT": Setting("30m", "retrying a chunk stops after this; the chunk goes to the secondary file"),
    "LOGBRIDGE_EMIT_INTERVAL": Setting("60", "seconds between monitor_agent status lines on stdout"),
    "LOGBRIDGE_PARTIAL_TIMEOUT": Setting("5", "seconds to wait for the rest of a Docker partial message"),
    "FLUENTD_LOG_LEVEL": Setting("info", "fluentd's own log level"),
}


def required_settings() -> dict[str, str]:
    return {name: s.what for name, s in SETTINGS.items() if s.default is None}


def env(name: str) -> str:
    """A config value read from the environment when fluentd starts.

    A required setting reads as empty here when unset: the logbridge_route plugin refuses to
    start with one line naming it (a Ruby error inside the config would print a backtrace)."""
    default = SETTINGS[name].default
    if default is None:
        return f"\"#{{ENV['{name}'].to_s}}\""
    return f"\"#{{ENV['{name}'] || '{default}'}}\""


def _section(name: str, arg: str, body: list[str], indent: str = "") -> list[str]:
    head = f"{indent}<{name} {arg}>" if arg else f"{indent}<{name}>"
    return [head, *[f"{indent}  {line}" if line else "" for line in body], f"{indent}</{name}>"]


def system() -> list[str]:
    return _section("system", "", [
        f"log_level {env('FLUENTD_LOG_LEVEL')}",
        f"root_dir \"{BUFFER_DIR}/root\"",
        "# one process per CPU core; each has its own buffers (<dir>/worker<N>/) and monitor port",
        f"workers {env('LOGBRIDGE_WORKERS')}",
    ])


def sources() -> list[str]:
    return [
        "# the apps' records: Docker's fluentd log driver and shipper's forward sink. Whatever the tag,",
        "# they go to @INPUT: no tag sent here can reach the status stream or skip the check.",
        *_section("source", "", ["@type forward", "@id in_forward", "@label @INPUT",
                                 "bind 0.0.0.0", f"port {env('LOGBRIDGE_FORWARD_PORT')}"]),
        "",
        "# status of every plugin, every LOGBRIDGE_EMIT_INTERVAL seconds, as stdout lines (-> awslogs",
        "# -> the fluentd_metrics Lambda); the HTTP API (24220 + worker id) serves the health check.",
        *_section("source", "", ["@type monitor_agent", "@id in_monitor_agent", "@label @STATUS",
                                 "bind 127.0.0.1", f"port {env('LOGBRIDGE_MONITOR_PORT')}",
                                 f"emit_interval {env('LOGBRIDGE_EMIT_INTERVAL')}",
                                 f"tag {STATUS_TAG}"]),
    ]


def status_label() -> list[str]:
    return [
        "# Only monitor_agent emits into this label (inputs send to @INPUT). Each line says its worker.",
        *_section("label", "@STATUS", [
            *_section("filter", "**", ["@type record_transformer", "@id filter_status_worker",
                                       *_section("record", "", ["worker_id \"#{worker_id}\""])]),
            *_section("match", "**", ["@type stdout", "@id out_stdout_status"]),
        ]),
    ]


def fluent_log_label() -> list[str]:
    return [
        "# fluentd's own log events (fluent.*) stay out of the tables; they still print on stdout",
        *_section("label", "@FLUENT_LOG", [
            *_section("match", "**", ["@type null", "@id out_null_fluent_log"]),
        ]),
    ]


def input_label() -> list[str]:
    return _section("label", "@INPUT", [
        "# Docker splits lines over 16 KiB; join the pieces (partial_id/partial_ordinal/partial_last).",
        "# A partial whose last piece never comes is routed as it is after LOGBRIDGE_PARTIAL_TIMEOUT.",
        *_section("filter", "**", ["@type concat", "@id filter_concat_partial", "key log",
                                   "use_partial_metadata true", "separator \"\"",
                                   "# a joined line's time is when its first piece was read",
                                   "use_first_timestamp true",
                                   f"flush_interval {env('LOGBRIDGE_PARTIAL_TIMEOUT')}",
                                   "timeout_label @ROUTE"]),
        *_section("match", "**", ["@type relabel", "@id relabel_route", "@label @ROUTE"]),
    ])


def plugin_type_loading_its_file() -> str:
    """`@type logbridge_route`, written so that the config loads the plugin's file itself.

    The plugin sits beside the config (`plugins/out_logbridge_route.rb`, as in fluentd/ and in the
    image's /fluentd/etc/), so a plain `fluentd -c fluent.conf` starts it with no `-p`. The value
    is Ruby that fluentd evaluates while it parses the file, before any plugin is looked up:
    `basepath` is the directory of the config being parsed (a local of fluentd 1.x's
    `Fluent::Config.parse`, whose binding is where embedded code runs); the file is required
    only if it is there, so an install with the plugin elsewhere (`-p DIR`) works as before."""
    here = "(local_variable_get(:basepath) rescue Dir.pwd)"
    code = (f"f = File.expand_path(File.join({here}, 'plugins', '{PLUGIN_FILE}')); "
            f"require f if File.exist?(f); '{PLUGIN_TYPE}'")
    return f'@type "#{{{code}}}"'


def route_label() -> list[str]:
    return _section("label", "@ROUTE", [
        "# one row per event, checked against its table (fluentd/plugins/out_logbridge_route.rb);",
        "# its file is loaded from beside this config, so `fluentd -c fluent.conf` needs no -p",
        *_section("match", "**", [plugin_type_loading_its_file(), "@id route", "@label @TABLES",
                                  f"tag_prefix {ROW_TAG_PREFIX}"]),
    ])


def _bigquery_common(table: Table, stream: bool = True) -> list[str]:
    lines = [
        "auth_method \"#{ENV['LOGBRIDGE_BQ_KEY_PATH'].to_s.empty? ? 'application_default' : 'json_key'}\"",
        "json_key \"#{ENV['LOGBRIDGE_BQ_KEY_PATH'].to_s}\"",
        f"project {env('LOGBRIDGE_BQ_PROJECT')}",
        f"dataset {env('LOGBRIDGE_BQ_DATASET')}",
        f"table {table.name}",
        "# no schema: rows go as logbridge_route checked them (with a schema the plugin would",
        "# convert values that do not fit, \"abc\" -> 0); the tables come from `shipper tables apply`",
        "auto_create_table false",
        *(["skip_invalid_rows false"] if stream else []),
        "ignore_unknown_values false",
    ]
    column = insert_id_column(table)
    if not stream:
        return lines
    if column:
        lines += ["# set on every row by logbridge_route before buffering: BigQuery de-duplicates retries",
                  f"insert_id_field {column}"]
    else:
        lines.append("# no insertId: the table has no log_id column (a retry may store a row twice)")
    return lines


def _buffer(table: Table) -> list[str]:
    return _section("buffer", "", [
        "@type file",
        "# a directory: with workers > 1 each worker gets its own (worker<N>/)",
        f"path \"{BUFFER_DIR}/bigquery/{table.name}\"",
        "# one chunk is one insertAll request: BigQuery takes <= 10 MB and recommends <= 500 rows",
        "chunk_limit_size 8m",
        "chunk_limit_records 500",
        f"total_limit_size {env('LOGBRIDGE_BUFFER_TOTAL_LIMIT')}",
        "flush_mode interval",
        f"flush_interval {env('LOGBRIDGE_FLUSH_INTERVAL')}",
        "flush_thread_count 2",
        "flush_at_shutdown true",
        "retry_type exponential_backoff",
        "retry_wait 1s",
        "retry_max_interval 60s",
        f"retry_timeout {env('LOGBRIDGE_RETRY_TIMEOUT')}",
        "overflow_action throw_exception",
    ])


def _secondary(table: Table) -> list[str]:
    return [
        "# a chunk BigQuery refuses (what the check could not know: a missing table, a live schema",
        "# older than the registry) is written here as JSON lines: replay it with `shipper load`",
        *_section("secondary", "", ["@type secondary_file", f"@id out_bq_{table.name}_secondary",
                                    f"directory \"{BUFFER_DIR}/failed/{table.name}\"",
                                    f"basename {table.name}.${{chunk_id}}"]),
    ]


def insert_output(table: Table) -> list[str]:
    """Streaming inserts (tabledata.insertAll) into the table."""
    lines = ["@type bigquery_insert", f"@id out_bq_{table.name}", *_bigquery_common(table),
             "# a chunk refused for insertErrors goes to <secondary> at once (retrying cannot help)",
             "allow_retry_insert_errors true"]
    lines += [*_partitioning(table), "request_timeout_sec 60", *_buffer(table), *_secondary(table)]
    return _section("match", f"{ROW_TAG_PREFIX}{table.name}", lines, indent="  ")


def _partitioning(table: Table) -> list[str]:
    p = table.partitioning
    lines = []
    if p is not None and p.granularity not in ("DAY", "HOUR"):
        lines.append(f"# partitioned by {p.granularity} on {p.field}: made by `shipper tables`, not here")
    elif p is not None:
        lines += [f"time_partitioning_type {p.granularity.lower()}", f"time_partitioning_field {p.field}"]
        if p.expiration_days is not None:
            lines.append(f"time_partitioning_expiration {p.expiration_days}d")
    if table.clustering:
        lines.append("clustering_fields [" + ", ".join(f'"{c}"' for c in table.clustering) + "]")
    return lines


# A batch table's flush interval is the registry's (`schemas check` holds the fleet's load jobs
# under BigQuery's daily quota with it); the comment line before it lets tests on real fluentd
# find it and flush sooner in their own copy of the config.
BATCH_FLUSH_MARK = "# the table's x-bigquery.ingestion.flush_interval (shipper schemas check: quota)"


def load_buffer(table: Table) -> list[str]:
    interval = table.ingestion.flush_interval_s or 300
    return _section("buffer", "", [
        "@type file",
        "# a directory: with workers > 1 each worker gets its own (worker<N>/)",
        f"path \"{BUFFER_DIR}/bigquery/{table.name}\"",
        "# one chunk is one load job (NEWLINE_DELIMITED_JSON, uploaded from this file)",
        "chunk_limit_size 256m",
        f"total_limit_size {env('LOGBRIDGE_BUFFER_TOTAL_LIMIT')}",
        "flush_mode interval",
        BATCH_FLUSH_MARK,
        f"flush_interval {interval}s",
        "flush_thread_interval 1",
        "flush_at_shutdown true",
        "retry_type exponential_backoff",
        "retry_wait 5s",
        "retry_max_interval 5m",
        f"retry_timeout {env('LOGBRIDGE_RETRY_TIMEOUT')}",
        "overflow_action throw_exception",
    ])


def load_output(table: Table) -> list[str]:
    """Batch loads: a load job per buffer flush (free; rows arrive a flush interval later)."""
    lines = ["@type bigquery_load", f"@id out_bq_{table.name}", *_bigquery_common(table, stream=False),
             "source_format json",
             "# a job is all or nothing: a chunk with a row BigQuery refuses goes whole to <secondary>",
             "max_bad_records 0",
             "# the job id is derived from the chunk id (and table, schema, options): a flush retried",
             "# after a lost answer or a restart asks for the same job, BigQuery answers 409 and the",
             "# plugin reads that job back instead of loading the chunk twice",
             "prevent_duplicate_load true",
             "# the chunk stays in the buffer until its job is DONE (polled every wait_job_interval)",
             "use_delayed_commit true",
             "wait_job_interval 2",
             *_partitioning(table),
             "request_timeout_sec 120", *load_buffer(table), *_secondary(table)]
    return _section("match", f"{ROW_TAG_PREFIX}{table.name}", lines, indent="  ")


# How rows reach a table, by the registry's `x-bigquery.ingestion.mode`.
OUTPUT_KINDS: dict[str, Callable[[Table], list[str]]] = {"stream": insert_output, "batch": load_output}


def output_kind(table: Table) -> str:
    mode = table.ingestion.mode
    if mode not in OUTPUT_KINDS:
        raise ValueError(f"table {table.name} asks for {mode} ingestion; the fluentd config renders "
                         f"{', '.join(sorted(OUTPUT_KINDS))}")
    return mode


def tables_label(registry: Registry) -> list[str]:
    out = ["<label @TABLES>"]
    for t in registry.tables:
        out += OUTPUT_KINDS[output_kind(t)](t)
    out.append("</label>")
    return out


def error_label() -> list[str]:
    return [
        "# records a plugin could not handle (error events): kept on disk, never dropped",
        *_section("label", "@ERROR", _section("match", "**", [
            "@type file", "@id out_file_error",
            f"path \"{BUFFER_DIR}/error/${{tag}}\"",
            "append true",
            *_section("format", "", ["@type json"]),
            *_section("buffer", "tag,time", ["@type file", f"path \"{BUFFER_DIR}/error-buffer\"",
                                             "timekey 1h", "timekey_wait 1m",
                                             "flush_mode interval", "flush_interval 10s"]),
        ])),
    ]


def check_registry(registry: Registry) -> None:
    for need in (DEFAULT_TABLE, RAW_TABLE):
        if need not in registry.names:
            raise ValueError(f"the registry has no {need} table; fluentd needs it")
    for t in registry.tables:
        if "log" in t.field_names:
            raise ValueError(f"table {t.name} declares a field `log`: the router uses it to tell "
                             "an unparsed Docker line, rename the field")


def render(registry: Registry) -> str:
    check_registry(registry)
    blocks = [
        [HEADER.rstrip("\n"), f"# tables: {', '.join(registry.names)}"],
        system(), sources(), status_label(), fluent_log_label(), input_label(), route_label(),
        tables_label(registry), error_label(),
    ]
    return "\n\n".join("\n".join(b) for b in blocks) + "\n"


@dataclass(frozen=True)
class ImageFile:
    path: str  # relative to the project root
    render: Callable[[Registry], str]


def _plugin(registry: Registry) -> str:
    from .fluentd_plugin import render_plugin

    check_registry(registry)
    return render_plugin(registry, required_settings())


def _rules(registry: Registry) -> str:
    from .fluentd_rules import render_rules

    return render_rules(registry)


def image_files() -> list[ImageFile]:
    """Every file of the fluentd image generated from the registry (`shipper fluentd render`)."""
    from .fluentd_plugin import OUTPUT_PATH as PLUGIN_PATH
    from .fluentd_rules import OUTPUT_PATH as RULES_PATH

    return [ImageFile(CONFIG_PATH, render), ImageFile(PLUGIN_PATH, _plugin), ImageFile(RULES_PATH, _rules)]
