"""Registry model -> `fluentd/plugins/out_logbridge_route.rb`: every event becomes one row of one table.

Why a plugin of our own rather than `filter_parser` + `rewrite_tag_filter` (seen on real fluentd
1.19.3; fluentd/README.md lists what was seen): the JSON parser turns a top-level array into one record per
element (`[]` into none), `reserve_data` merges a parsed object's own `log` key back over the
line, rewrite_tag_filter does not match an empty value, and fluent-plugin-bigquery with a schema
converts a value that does not fit ("abc" -> 0). The line contract (fluentd/README.md) needs one
decision per line, in one place, checked against the registry before anything is buffered.

The Ruby is mostly fixed text; what comes from the registry is the table list, the routing key,
the insertId column of each table, the required settings and the raw_log columns a refused
record's envelope values are copied into. The check itself is `logbridge_rules.rb`
(`fluentd_rules.py`), the Ruby target of the column-rule model (`shipper/rules/ruby.py`).
"""

from __future__ import annotations

from .._constants import DEFAULT_TABLE, RAW_TABLE, ROUTING_KEY
from ..registry import Registry, Table
from ..rules.ruby import ruby_str

PLUGIN_FILE = "out_logbridge_route.rb"
OUTPUT_PATH = f"fluentd/plugins/{PLUGIN_FILE}"
PLUGIN_TYPE = "logbridge_route"

# Envelope values of a refused record worth a column of their own in raw_log (also in `text`).
RAW_COPIES = ("service", "request_id", "trace_id")
# A row is one line of a buffer chunk and of an insertAll request (<= 10 MB): a raw line longer
# than this, as JSON, is cut to fit and says so in `reason`.
MAX_ROW_JSON_BYTES = 6 * 1024 * 1024

HEADER = """\
# GENERATED from the schema registry (schemas/) by `shipper fluentd render`: do not edit by hand;
# `make test` fails when this file differs from a fresh render.
#
# logbridge_route: every event of the forward input becomes exactly one row of one table,
# decided here before anything is buffered (the line contract: fluentd/README.md).
# - A Docker log driver record (a `log` string beside `source`/`container_id`): a line that is a
#   JSON object is that record (its own `log` key included) plus the container fields; any other
#   line (empty, whitespace, an array, a scalar, text, invalid UTF-8, a partial message whose last
#   piece never came) is a raw_log row: the line as text, the time Docker read it, container and
#   stream.
# - Any other record (shipper's forward sink) is the record itself.
# - A record goes to the table its routing key names (none: the default table). If the key names
#   no table, or the record does not fit the table (logbridge_rules.rb), it goes whole to raw_log
#   with the reason: it is never altered to fit and never holds back the rows around it.
# - Every row gets its insertId column here, before it is buffered: retries after a lost answer,
#   restarts and replays then store nothing twice.
# Counters (in monitor_agent's status lines for this plugin): routed_records, raw_lines,
# refused_records.
"""

BODY = r"""
require 'fluent/plugin/output'
require 'json'
require 'securerandom'
require_relative 'logbridge_rules'

# fluent-plugin-bigquery's HTTP client (httpclient) loads its cookie store on first use through
# http-cookie's const_missing + require, which is not thread-safe: when two outputs flush their
# first chunk at once, one thread can see the class before its methods exist (seen on real fluentd
# 1.19.3 under load: NoMethodError `implementation' for HTTP::CookieJar::AbstractStore, and the
# chunk went to the secondary file). Load it here, while fluentd reads its config in one thread.
begin
  require 'http/cookie_jar'
  require 'http/cookie_jar/hash_store'
  require 'http/cookie_jar/cookiestxt_saver'
rescue LoadError
  nil # a client without http-cookie has nothing to race on
end

module Fluent
  module Plugin
    class LogbridgeRouteOutput < Output
      Fluent::Plugin.register_output('logbridge_route', self)

      helpers :event_emitter

      desc 'Prefix of the tag rows are emitted with: <prefix><table>.'
      config_param :tag_prefix, :string, default: 'bq.'

      DRIVER_CONTAINER_KEYS = %w[container_id container_name].freeze
      JSON_MAX_NESTING = Logbridge::Rules::JSON_MAX_DEPTH + 1
      UTF8 = Encoding::UTF_8

      def configure(conf)
        super
        missing = REQUIRED_SETTINGS.keys.select { |name| ENV[name].to_s.strip.empty? }
        unless missing.empty?
          raise Fluent::ConfigError, missing.map { |name| "#{name} is not set (#{REQUIRED_SETTINGS[name]})" }.join('; ') +
                                     ': fluentd does not start without it, see fluentd/README.md'
        end
        @id_prefix = "fd-#{SecureRandom.hex(8)}-"
        @id_next = 0
        @id_lock = Mutex.new
        @routed = metrics_create(namespace: 'logbridge', subsystem: 'route', name: 'routed_records',
                                 help_text: 'records sent to the table they name')
        @raw = metrics_create(namespace: 'logbridge', subsystem: 'route', name: 'raw_lines',
                              help_text: 'lines that were not records, sent to raw_log')
        @refused = metrics_create(namespace: 'logbridge', subsystem: 'route', name: 'refused_records',
                                  help_text: 'records that did not fit their table (or named none), sent whole to raw_log with the reason')
      end

      def multi_workers_ready?
        true
      end

      def statistics
        stats = super
        stats['output'] = (stats['output'] || {}).merge(
          'routed_records' => @routed.get, 'raw_lines' => @raw.get, 'refused_records' => @refused.get)
        stats
      end

      def process(tag, es)
        streams = {}
        routed = raw = refused = 0  # added to the metrics once per stream
        es.each do |time, record|
          table, row = route(time, record)
          (streams[table] ||= MultiEventStream.new).add(time, row)
          if table != RAW_TABLE then routed += 1
          elsif row.key?('reason') then refused += 1
          else raw += 1
          end
        end
        @routed.add(routed) if routed > 0
        @raw.add(raw) if raw > 0
        @refused.add(refused) if refused > 0
        streams.each { |table, stream| router.emit_stream(@tag_prefix + table, stream) }
      end

      private

      # [table, row] for one event; never raises (an unexpected error makes a raw_log row).
      def route(time, record)
        line = record.is_a?(Hash) ? record['log'] : nil
        if line.is_a?(String) && (record.key?('source') || record.key?('container_id'))
          from_driver(time, record, line)
        elsif record.is_a?(Hash)
          from_record(time, record.dup, record, nil)
        else
          refuse(time, nil, nil, as_json(record), "not a record: a #{record.class.name} came where a map belongs")
        end
      rescue => e
        refuse(time, nil, nil, as_json(record), "logbridge_route failed on this event (#{e.class}: #{e.message})")
      end

      def from_driver(time, env, line)
        text = line.encoding == UTF8 ? line : line.dup.force_encoding(UTF8)
        unless text.valid_encoding?
          return refuse(time, env, nil, text.scrub("\uFFFD"), 'the line is not valid UTF-8: invalid bytes replaced with U+FFFD')
        end
        if env.key?('partial_message')
          return refuse(time, env, nil, text, "a partial message (#{text.bytesize} bytes): its last piece did not come " \
                                              'within LOGBRIDGE_PARTIAL_TIMEOUT seconds (or fluentd stopped first)')
        end
        return raw_line(time, env, text) unless text.start_with?('{')
        begin
          # NaN / Infinity tokens: the record they mean (refused: not finite), as shipper load judges them
          obj = JSON.parse(text, max_nesting: JSON_MAX_NESTING, allow_nan: true)
        rescue JSON::NestingError
          return refuse(time, env, nil, text, "a JSON object nested deeper than #{JSON_MAX_NESTING - 1} levels")
        rescue JSON::ParserError
          return raw_line(time, env, text)
        end
        return raw_line(time, env, text) unless obj.is_a?(Hash)
        obj['container_id'] = env['container_id'] unless obj.key?('container_id') || !env.key?('container_id')
        obj['container_name'] = env['container_name'] unless obj.key?('container_name') || !env.key?('container_name')
        from_record(time, obj, env, text)
      end

      # obj: the record (a copy this plugin may change); text: the line it came from, if any.
      def from_record(time, obj, env, text)
        key = obj.delete(ROUTING_KEY)
        table = key.nil? || key == '' ? DEFAULT_TABLE : (TABLES.key?(key) ? key : nil)
        if table.nil?
          return refuse(time, env, obj, text || as_json(env), "#{ROUTING_KEY} #{key.inspect[0, 200]} names no table of the registry")
        end
        problem = Logbridge::Rules.check(table, obj)
        if problem
          rule, field, message = problem
          return refuse(time, env, obj, text || as_json(env), "#{table}.#{field}: #{message} [#{rule}]")
        end
        Logbridge::Rules::JSON_COLUMNS[table].each { |c| obj[c] = JSON.generate(obj[c]) unless obj[c].nil? }
        id_column = INSERT_ID[table]
        obj[id_column] = next_id if id_column && obj[id_column].nil?
        [table, obj]
      end

      # A line that was never a record (reason NULL).
      def raw_line(time, env, text)
        [RAW_TABLE, raw_row(time, env, nil, text, nil)]
      end

      # A record that is not a row of its table, whole, with the reason (always set: it is how
      # `process` counts it as refused).
      def refuse(time, env, obj, text, reason)
        [RAW_TABLE, raw_row(time, env, obj, text, reason)]
      end

      def raw_row(time, env, obj, text, reason)
        text, reason = fit_text(text, reason)
        row = {'timestamp' => rfc3339(time), 'severity' => 'DEFAULT', 'stream' => stream_of(env), 'text' => text}
        row['reason'] = reason unless reason.nil?
        bare = row.dup
        if env.is_a?(Hash)
          DRIVER_CONTAINER_KEYS.each { |k| row[k] = env[k] unless env[k].nil? }
        end
        if obj.is_a?(Hash)
          RAW_COPIES.each { |k| row[k] = obj[k] unless obj[k].nil? || row.key?(k) }
        end
        row = bare unless Logbridge::Rules.check(RAW_TABLE, row).nil?  # a copied value that does not fit: text has it
        row[INSERT_ID[RAW_TABLE]] = next_id if INSERT_ID[RAW_TABLE]
        row
      end

      # A row is one line of a chunk and of an insertAll request: cut a giant text to fit, and say so.
      def fit_text(text, reason)
        return [text, reason] if text.bytesize <= MAX_ROW_JSON_BYTES / 6
        size = JSON.generate(text).bytesize
        return [text, reason] if size <= MAX_ROW_JSON_BYTES
        cut = text
        while JSON.generate(cut).bytesize > MAX_ROW_JSON_BYTES
          cut = cut.byteslice(0, cut.bytesize * MAX_ROW_JSON_BYTES / JSON.generate(cut).bytesize * 9 / 10).scrub('')
        end
        note = "text cut to its first #{cut.bytesize} of #{text.bytesize} bytes (a row is at most #{MAX_ROW_JSON_BYTES} bytes as JSON)"
        [cut, reason.nil? ? note : "#{reason}; #{note}"]
      end

      def stream_of(env)
        s = env.is_a?(Hash) ? env['source'] : nil
        s == 'stderr' ? 'stderr' : 'stdout'
      end

      def rfc3339(time)
        t = time.is_a?(Fluent::EventTime) ? Time.at(time.sec, time.nsec, :nsec) : Time.at(time)
        t.utc.strftime('%Y-%m-%dT%H:%M:%S.%6NZ')
      end

      # A record as JSON text for raw_log, whatever it holds (invalid UTF-8 replaced, NaN kept as NaN).
      def as_json(value)
        JSON.generate(value)
      rescue StandardError
        begin
          JSON.generate(scrubbed(value), allow_nan: true)
        rescue StandardError
          value.inspect.scrub("\uFFFD")
        end
      end

      def scrubbed(v)
        case v
        when String then v.dup.force_encoding(UTF8).scrub("\uFFFD")
        when Hash then v.each_with_object({}) { |(k, x), h| h[scrubbed(k.to_s)] = scrubbed(x) }
        when Array then v.map { |x| scrubbed(x) }
        else v
        end
      end

      def next_id
        n = @id_lock.synchronize { @id_next += 1 }
        @id_prefix + n.to_s(36)
      end
    end
  end
end
"""


def insert_id_column(table: Table) -> str | None:
    """The column BigQuery's insertId comes from: the registry's, else the envelope's log_id."""
    if table.insert_id_field:
        return table.insert_id_field
    return "log_id" if "log_id" in table.field_names else None


def constants(registry: Registry, required: dict[str, str]) -> list[str]:
    raw = registry.table(RAW_TABLE)
    copies = [c for c in RAW_COPIES if c in raw.field_names]
    ids = ", ".join(f"{ruby_str(t.name)} => {ruby_str(c) if (c := insert_id_column(t)) else 'nil'}"
                    for t in registry.tables)
    settings = ", ".join(f"{ruby_str(k)} => {ruby_str(v)}" for k, v in required.items())
    return [
        "      # From the registry and fluentd/README.md's settings.",
        f"      TABLES = {{{', '.join(ruby_str(t) + ' => true' for t in registry.names)}}}.freeze",
        f"      ROUTING_KEY = {ruby_str(ROUTING_KEY)}",
        f"      DEFAULT_TABLE = {ruby_str(DEFAULT_TABLE)}",
        f"      RAW_TABLE = {ruby_str(RAW_TABLE)}",
        f"      INSERT_ID = {{{ids}}}.freeze",
        f"      RAW_COPIES = [{', '.join(ruby_str(c) for c in copies)}].freeze",
        f"      REQUIRED_SETTINGS = {{{settings}}}.freeze",
        f"      MAX_ROW_JSON_BYTES = {MAX_ROW_JSON_BYTES}",
        "",
    ]


def render_plugin(registry: Registry, required: dict[str, str]) -> str:
    """The plugin's Ruby source; `required`: setting name -> what it is, checked at start."""
    raw = registry.table(RAW_TABLE)
    for need in ("stream", "text", "timestamp", "severity", "reason"):
        if need not in raw.field_names:
            raise ValueError(f"{RAW_TABLE} has no field {need!r}; fluentd fills it")
    body = BODY.strip("\n").splitlines()
    anchor = body.index("      DRIVER_CONTAINER_KEYS = %w[container_id container_name].freeze")
    body[anchor:anchor] = constants(registry, required)
    return HEADER + "\n".join(body) + "\n"
