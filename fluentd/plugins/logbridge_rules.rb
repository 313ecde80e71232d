# GENERATED from the schema registry (schemas/) by `shipper fluentd render`: do not edit by hand;
# `make test` fails when this file differs from a fresh render.
#
# Does a record fit its table? The column-rule model (shipper/rules) in Ruby, for the
# logbridge_route plugin (out_logbridge_route.rb): same rules, rule names, field paths and order as
# shipper's check_record. `check(table, record)` answers the FIRST rule the record breaks as
# [rule, field, message], or nil when it fits; it never changes the record.
require 'date'

module Logbridge
  module Rules
    INT64_MIN = -9223372036854775808
    INT64_MAX = 9223372036854775807
    UTF_8 = Encoding::UTF_8
    US_ASCII = Encoding::US_ASCII
    # What BigQuery parses as a TIMESTAMP in JSON rows, as shipper/rules/values.py's valid_timestamp
    # judges it: year 0001-9999, month 01-12, day 01-31, hour 00-23, minute and second 00-59, up to
    # 6 fraction digits, zone Z or +-HH:MM / +-HHMM (HH <= 23, MM <= 59). Days 29-31 are then checked
    # against their month (`calendar_day?`).
    TIMESTAMP_RE = /\A(?!0000)[0-9]{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])[T ](?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\.[0-9]{1,6})?(?:[Zz]|[+-](?:[01][0-9]|2[0-3]):?[0-5][0-9])?\z/
    DATE_RE = /\A(?!0000)[0-9]{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])\z/
    JSON_MAX_DEPTH = 500

    module_function

    # A value's kind as Python's type name, for messages (the Python judge prints those).
    def kind(v)
      case v
      when nil then 'NoneType'
      when true, false then 'bool'
      when String then 'str'
      when Integer then 'int'
      when Float then 'float'
      when Hash then 'dict'
      when Array then 'list'
      else v.class.name
      end
    end

    # Text BigQuery stores: a String that is valid UTF-8 (msgpack's bin type gives other encodings).
    def text?(v)
      String === v && (v.encoding == UTF_8 || v.encoding == US_ASCII) && v.valid_encoding?
    end

    # Day 29-31 of a shorter month is the only thing TIMESTAMP_RE / DATE_RE let through.
    def calendar_day?(v)
      d = v.getbyte(8)
      return true if d < 50 || (d == 50 && v.getbyte(9) < 57)  # day < 29
      Date.valid_date?(v[0, 4].to_i, v[5, 2].to_i, v[8, 2].to_i)
    end

    def timestamp?(v)
      text?(v) && TIMESTAMP_RE.match?(v) && calendar_day?(v)
    end

    def date?(v)
      text?(v) && DATE_RE.match?(v) && calendar_day?(v)
    end

    # [rule, why] when v is not a JSON value BigQuery stores (a JSON column), else nil.
    def json_problem(v, depth = 0)
      case v
      when nil, true, false then nil
      when String then text?(v) ? nil : ['invalid_utf8', 'a string that is not valid UTF-8']
      when Integer then v.between?(INT64_MIN, INT64_MAX) ? nil : ['int64_range', "#{v} does not fit INT64"]
      when Float then v.finite? ? nil : ['not_finite', "#{v} is not a JSON number"]
      when Hash, Array
        return ['depth', "nested deeper than #{JSON_MAX_DEPTH} levels"] if depth > JSON_MAX_DEPTH
        if Hash === v
          v.each do |k, x|
            return ['json_value', "key #{k.inspect} is not a string"] unless String === k
            p = json_problem(x, depth + 1)
            return p if p
          end
        else
          v.each do |x|
            p = json_problem(x, depth + 1)
            return p if p
          end
        end
        nil
      else ['json_value', "a #{v.class.name} is not a JSON value"]
      end
    end

    # -- access_log (version 1) ------------------------------------------------------------------
    ACCESS_LOG_FIELDS = {'timestamp' => true, 'severity' => true, 'service' => true, 'log_id' => true, 'request_id' => true, 'trace_id' => true, 'container_name' => true, 'container_id' => true, 'method' => true, 'path' => true, 'route' => true, 'status_code' => true, 'latency' => true, 'request_bytes' => true, 'response_bytes' => true, 'user_agent' => true, 'remote_ip' => true, 'host' => true, 'log_table' => true}.freeze
    ACCESS_LOG_SEVERITY_ENUM = {'DEFAULT' => true, 'DEBUG' => true, 'INFO' => true, 'WARNING' => true, 'ERROR' => true, 'CRITICAL' => true}.freeze

    # access_log v1: the first rule the object breaks, or nil.
    def check_access_log(r)
      n = 0  # keys with a value that are declared: when that is every key, none is undeclared
      routed = r.fetch('log_table', 'access_log')
      return ['routing_key', 'log_table', "#{routed.inspect} routes this record to another table than access_log"] if routed != 'access_log'
      n += 1 if r.key?('log_table')
      v = r['timestamp']
      return ['required', 'timestamp', "required field is #{r.key?('timestamp') ? 'null' : 'missing'}"] if v.nil?
      return ['timestamp_format', 'timestamp', "not a timestamp BigQuery parses (YYYY-MM-DDTHH:MM:SS[.ffffff][Z|+HH:MM])"] if !timestamp?(v)
      n += 1
      v = r['severity']
      return ['required', 'severity', "required field is #{r.key?('severity') ? 'null' : 'missing'}"] if v.nil?
      return ['type', 'severity', "expected a string, got #{kind(v)}"] if !(String === v)
      return ['invalid_utf8', 'severity', "not valid UTF-8"] if !text?(v)
      return ['enum', 'severity', "#{v[0, 40].inspect} is not one of ['DEFAULT', 'DEBUG', 'INFO', 'WARNING', 'ERROR', 'CRITICAL']"] if !ACCESS_LOG_SEVERITY_ENUM.key?(v)
      n += 1
      v = r['service']
      unless v.nil?
        return ['type', 'service', "expected a string, got #{kind(v)}"] if !(String === v)
        return ['invalid_utf8', 'service', "not valid UTF-8"] if !text?(v)
        return ['maxLength', 'service', "#{v.length} characters, at most 128 allowed"] if v.length > 128
        n += 1
      end
      v = r['log_id']
      unless v.nil?
        return ['type', 'log_id', "expected a string, got #{kind(v)}"] if !(String === v)
        return ['invalid_utf8', 'log_id', "not valid UTF-8"] if !text?(v)
        return ['maxLength', 'log_id', "#{v.length} characters, at most 128 allowed"] if v.length > 128
        n += 1
      end
      v = r['request_id']
      unless v.nil?
        return ['type', 'request_id', "expected a string, got #{kind(v)}"] if !(String === v)
        return ['invalid_utf8', 'request_id', "not valid UTF-8"] if !text?(v)
        return ['maxLength', 'request_id', "#{v.length} characters, at most 128 allowed"] if v.length > 128
        n += 1
      end
      v = r['trace_id']
      unless v.nil?
        return ['type', 'trace_id', "expected a string, got #{kind(v)}"] if !(String === v)
        return ['invalid_utf8', 'trace_id', "not valid UTF-8"] if !text?(v)
        return ['maxLength', 'trace_id', "#{v.length} characters, at most 128 allowed"] if v.length > 128
        n += 1
      end
      v = r['container_name']
      unless v.nil?
        return ['type', 'container_name', "expected a string, got #{kind(v)}"] if !(String === v)
        return ['invalid_utf8', 'container_name', "not valid UTF-8"] if !text?(v)
        return ['maxLength', 'container_name', "#{v.length} characters, at most 256 allowed"] if v.length > 256
        n += 1
      end
      v = r['container_id']
      unless v.nil?
        return ['type', 'container_id', "expected a string, got #{kind(v)}"] if !(String === v)
        return ['invalid_utf8', 'container_id', "not valid UTF-8"] if !text?(v)
        return ['maxLength', 'container_id', "#{v.length} characters, at most 64 allowed"] if v.length > 64
        n += 1
      end
      v = r['method']
      return ['required', 'method', "required field is #{r.key?('method') ? 'null' : 'missing'}"] if v.nil?
      return ['type', 'method', "expected a string, got #{kind(v)}"] if !(String === v)
      return ['invalid_utf8', 'method', "not valid UTF-8"] if !text?(v)
      return ['maxLength', 'method', "#{v.length} characters, at most 16 allowed"] if v.length > 16
      n += 1
      v = r['path']
      return ['required', 'path', "required field is #{r.key?('path') ? 'null' : 'missing'}"] if v.nil?
      return ['type', 'path', "expected a string, got #{kind(v)}"] if !(String === v)
      return ['invalid_utf8', 'path', "not valid UTF-8"] if !text?(v)
      return ['maxLength', 'path', "#{v.length} characters, at most 2048 allowed"] if v.length > 2048
      n += 1
      v = r['route']
      unless v.nil?
        return ['type', 'route', "expected a string, got #{kind(v)}"] if !(String === v)
        return ['invalid_utf8', 'route', "not valid UTF-8"] if !text?(v)
        return ['maxLength', 'route', "#{v.length} characters, at most 512 allowed"] if v.length > 512
        n += 1
      end
      v = r['status_code']
      return ['required', 'status_code', "required field is #{r.key?('status_code') ? 'null' : 'missing'}"] if v.nil?
      return ['type', 'status_code', "expected an integer, got #{kind(v)}"] if !(Integer === v || Float === v)
      return ['not_finite', 'status_code', "#{v} is not a JSON number"] if Float === v && !v.finite?
      return ['type', 'status_code', "expected an integer, got #{v}"] if Float === v && v != v.floor
      return ['int64_range', 'status_code', "#{v} does not fit INT64"] if !v.between?(INT64_MIN, INT64_MAX)
      return ['minimum', 'status_code', "#{v} is below the minimum 100"] if v < 100
      return ['maximum', 'status_code', "#{v} is above the maximum 599"] if v > 599
      n += 1
      v = r['latency']
      return ['required', 'latency', "required field is #{r.key?('latency') ? 'null' : 'missing'}"] if v.nil?
      return ['type', 'latency', "expected a number, got #{kind(v)}"] if !(Integer === v || Float === v)
      return ['not_finite', 'latency', "#{v} is not a JSON number"] if Float === v && !v.finite?
      return ['minimum', 'latency', "#{v} is below the minimum 0"] if v < 0
      n += 1
      v = r['request_bytes']
      unless v.nil?
        return ['type', 'request_bytes', "expected an integer, got #{kind(v)}"] if !(Integer === v || Float === v)
        return ['not_finite', 'request_bytes', "#{v} is not a JSON number"] if Float === v && !v.finite?
        return ['type', 'request_bytes', "expected an integer, got #{v}"] if Float === v && v != v.floor
        return ['int64_range', 'request_bytes', "#{v} does not fit INT64"] if !v.between?(INT64_MIN, INT64_MAX)
        return ['minimum', 'request_bytes', "#{v} is below the minimum 0"] if v < 0
        n += 1
      end
      v = r['response_bytes']
      unless v.nil?
        return ['type', 'response_bytes', "expected an integer, got #{kind(v)}"] if !(Integer === v || Float === v)
        return ['not_finite', 'response_bytes', "#{v} is not a JSON number"] if Float === v && !v.finite?
        return ['type', 'response_bytes', "expected an integer, got #{v}"] if Float === v && v != v.floor
        return ['int64_range', 'response_bytes', "#{v} does not fit INT64"] if !v.between?(INT64_MIN, INT64_MAX)
        return ['minimum', 'response_bytes', "#{v} is below the minimum 0"] if v < 0
        n += 1
      end
      v = r['user_agent']
      unless v.nil?
        return ['type', 'user_agent', "expected a string, got #{kind(v)}"] if !(String === v)
        return ['invalid_utf8', 'user_agent', "not valid UTF-8"] if !text?(v)
        return ['maxLength', 'user_agent', "#{v.length} characters, at most 1024 allowed"] if v.length > 1024
        n += 1
      end
      v = r['remote_ip']
      unless v.nil?
        return ['type', 'remote_ip', "expected a string, got #{kind(v)}"] if !(String === v)
        return ['invalid_utf8', 'remote_ip', "not valid UTF-8"] if !text?(v)
        return ['maxLength', 'remote_ip', "#{v.length} characters, at most 64 allowed"] if v.length > 64
        n += 1
      end
      v = r['host']
      unless v.nil?
        return ['type', 'host', "expected a string, got #{kind(v)}"] if !(String === v)
        return ['invalid_utf8', 'host', "not valid UTF-8"] if !text?(v)
        return ['maxLength', 'host', "#{v.length} characters, at most 256 allowed"] if v.length > 256
        n += 1
      end
      return nil if n == r.size
      r.each_key do |k|
        return ['unknown_field', k.to_s, "field is not declared"] unless ACCESS_LOG_FIELDS.key?(k)
      end
      nil
    end

    # -- app_log (version 1) ---------------------------------------------------------------------
    APP_LOG_FIELDS = {'timestamp' => true, 'severity' => true, 'service' => true, 'log_id' => true, 'request_id' => true, 'trace_id' => true, 'container_name' => true, 'container_id' => true, 'logger' => true, 'message' => true, 'error' => true, 'extra' => true, 'log_table' => true}.freeze
    APP_LOG_SEVERITY_ENUM = {'DEFAULT' => true, 'DEBUG' => true, 'INFO' => true, 'WARNING' => true, 'ERROR' => true, 'CRITICAL' => true}.freeze
    APP_LOG_ERROR_FIELDS = {'type' => true, 'message' => true, 'stack' => true}.freeze

    # app_log v1: the first rule the object breaks, or nil.
    def check_app_log(r)
      n = 0  # keys with a value that are declared: when that is every key, none is undeclared
      routed = r.fetch('log_table', 'app_log')
      return ['routing_key', 'log_table', "#{routed.inspect} routes this record to another table than app_log"] if routed != 'app_log'
      n += 1 if r.key?('log_table')
      v = r['timestamp']
      return ['required', 'timestamp', "required field is #{r.key?('timestamp') ? 'null' : 'missing'}"] if v.nil?
      return ['timestamp_format', 'timestamp', "not a timestamp BigQuery parses (YYYY-MM-DDTHH:MM:SS[.ffffff][Z|+HH:MM])"] if !timestamp?(v)
      n += 1
      v = r['severity']
      return ['required', 'severity', "required field is #{r.key?('severity') ? 'null' : 'missing'}"] if v.nil?
      return ['type', 'severity', "expected a string, got #{kind(v)}"] if !(String === v)
      return ['invalid_utf8', 'severity', "not valid UTF-8"] if !text?(v)
      return ['enum', 'severity', "#{v[0, 40].inspect} is not one of ['DEFAULT', 'DEBUG', 'INFO', 'WARNING', 'ERROR', 'CRITICAL']"] if !APP_LOG_SEVERITY_ENUM.key?(v)
      n += 1
      v = r['service']
      unless v.nil?
        return ['type', 'service', "expected a string, got #{kind(v)}"] if !(String === v)
        return ['invalid_utf8', 'service', "not valid UTF-8"] if !text?(v)
        return ['maxLength', 'service', "#{v.length} characters, at most 128 allowed"] if v.length > 128
        n += 1
      end
      v = r['log_id']
      unless v.nil?
        return ['type', 'log_id', "expected a string, got #{kind(v)}"] if !(String === v)
        return ['invalid_utf8', 'log_id', "not valid UTF-8"] if !text?(v)
        return ['maxLength', 'log_id', "#{v.length} characters, at most 128 allowed"] if v.length > 128
        n += 1
      end
      v = r['request_id']
      unless v.nil?
        return ['type', 'request_id', "expected a string, got #{kind(v)}"] if !(String === v)
        return ['invalid_utf8', 'request_id', "not valid UTF-8"] if !text?(v)
        return ['maxLength', 'request_id', "#{v.length} characters, at most 128 allowed"] if v.length > 128
        n += 1
      end
      v = r['trace_id']
      unless v.nil?
        return ['type', 'trace_id', "expected a string, got #{kind(v)}"] if !(String === v)
        return ['invalid_utf8', 'trace_id', "not valid UTF-8"] if !text?(v)
        return ['maxLength', 'trace_id', "#{v.length} characters, at most 128 allowed"] if v.length > 128
        n += 1
      end
      v = r['container_name']
      unless v.nil?
        return ['type', 'container_name', "expected a string, got #{kind(v)}"] if !(String === v)
        return ['invalid_utf8', 'container_name', "not valid UTF-8"] if !text?(v)
        return ['maxLength', 'container_name', "#{v.length} characters, at most 256 allowed"] if v.length > 256
        n += 1
      end
      v = r['container_id']
      unless v.nil?
        return ['type', 'container_id', "expected a string, got #{kind(v)}"] if !(String === v)
        return ['invalid_utf8', 'container_id', "not valid UTF-8"] if !text?(v)
        return ['maxLength', 'container_id', "#{v.length} characters, at most 64 allowed"] if v.length > 64
        n += 1
      end
      v = r['logger']
      unless v.nil?
        return ['type', 'logger', "expected a string, got #{kind(v)}"] if !(String === v)
        return ['invalid_utf8', 'logger', "not valid UTF-8"] if !text?(v)
        return ['maxLength', 'logger', "#{v.length} characters, at most 256 allowed"] if v.length > 256
        n += 1
      end
      v = r['message']
      return ['required', 'message', "required field is #{r.key?('message') ? 'null' : 'missing'}"] if v.nil?
      return ['type', 'message', "expected a string, got #{kind(v)}"] if !(String === v)
      return ['invalid_utf8', 'message', "not valid UTF-8"] if !text?(v)
      n += 1
      v = r['error']
      unless v.nil?
        return ['type', 'error', "expected an object, got #{kind(v)}"] if !(Hash === v)
        p = check_app_log__error(v, "error.")
        return p if p
        n += 1
      end
      v = r['extra']
      unless v.nil?
        p = json_problem(v)
        return [p[0], 'extra', p[1]] if p
        n += 1
      end
      return nil if n == r.size
      r.each_key do |k|
        return ['unknown_field', k.to_s, "field is not declared"] unless APP_LOG_FIELDS.key?(k)
      end
      nil
    end

    # app_log.error v1: the first rule the object breaks, or nil.
    def check_app_log__error(r, prefix)
      n = 0  # keys with a value that are declared: when that is every key, none is undeclared
      v = r['type']
      return ['required', "#{prefix}type", "required field is #{r.key?('type') ? 'null' : 'missing'}"] if v.nil?
      return ['type', "#{prefix}type", "expected a string, got #{kind(v)}"] if !(String === v)
      return ['invalid_utf8', "#{prefix}type", "not valid UTF-8"] if !text?(v)
      return ['maxLength', "#{prefix}type", "#{v.length} characters, at most 256 allowed"] if v.length > 256
      n += 1
      v = r['message']
      unless v.nil?
        return ['type', "#{prefix}message", "expected a string, got #{kind(v)}"] if !(String === v)
        return ['invalid_utf8', "#{prefix}message", "not valid UTF-8"] if !text?(v)
        n += 1
      end
      v = r['stack']
      unless v.nil?
        return ['type', "#{prefix}stack", "expected a string, got #{kind(v)}"] if !(String === v)
        return ['invalid_utf8', "#{prefix}stack", "not valid UTF-8"] if !text?(v)
        n += 1
      end
      return nil if n == r.size
      r.each_key do |k|
        return ['unknown_field', "#{prefix}#{k}", "field is not declared"] unless APP_LOG_ERROR_FIELDS.key?(k)
      end
      nil
    end

    # -- raw_log (version 2) ---------------------------------------------------------------------
    RAW_LOG_FIELDS = {'timestamp' => true, 'severity' => true, 'service' => true, 'log_id' => true, 'request_id' => true, 'trace_id' => true, 'container_name' => true, 'container_id' => true, 'stream' => true, 'text' => true, 'reason' => true, 'log_table' => true}.freeze
    RAW_LOG_SEVERITY_ENUM = {'DEFAULT' => true, 'DEBUG' => true, 'INFO' => true, 'WARNING' => true, 'ERROR' => true, 'CRITICAL' => true}.freeze
    RAW_LOG_STREAM_ENUM = {'stdout' => true, 'stderr' => true}.freeze

    # raw_log v2: the first rule the object breaks, or nil.
    def check_raw_log(r)
      n = 0  # keys with a value that are declared: when that is every key, none is undeclared
      routed = r.fetch('log_table', 'raw_log')
      return ['routing_key', 'log_table', "#{routed.inspect} routes this record to another table than raw_log"] if routed != 'raw_log'
      n += 1 if r.key?('log_table')
      v = r['timestamp']
      return ['required', 'timestamp', "required field is #{r.key?('timestamp') ? 'null' : 'missing'}"] if v.nil?
      return ['timestamp_format', 'timestamp', "not a timestamp BigQuery parses (YYYY-MM-DDTHH:MM:SS[.ffffff][Z|+HH:MM])"] if !timestamp?(v)
      n += 1
      v = r['severity']
      return ['required', 'severity', "required field is #{r.key?('severity') ? 'null' : 'missing'}"] if v.nil?
      return ['type', 'severity', "expected a string, got #{kind(v)}"] if !(String === v)
      return ['invalid_utf8', 'severity', "not valid UTF-8"] if !text?(v)
      return ['enum', 'severity', "#{v[0, 40].inspect} is not one of ['DEFAULT', 'DEBUG', 'INFO', 'WARNING', 'ERROR', 'CRITICAL']"] if !RAW_LOG_SEVERITY_ENUM.key?(v)
      n += 1
      v = r['service']
      unless v.nil?
        return ['type', 'service', "expected a string, got #{kind(v)}"] if !(String === v)
        return ['invalid_utf8', 'service', "not valid UTF-8"] if !text?(v)
        return ['maxLength', 'service', "#{v.length} characters, at most 128 allowed"] if v.length > 128
        n += 1
      end
      v = r['log_id']
      unless v.nil?
        return ['type', 'log_id', "expected a string, got #{kind(v)}"] if !(String === v)
        return ['invalid_utf8', 'log_id', "not valid UTF-8"] if !text?(v)
        return ['maxLength', 'log_id', "#{v.length} characters, at most 128 allowed"] if v.length > 128
        n += 1
      end
      v = r['request_id']
      unless v.nil?
        return ['type', 'request_id', "expected a string, got #{kind(v)}"] if !(String === v)
        return ['invalid_utf8', 'request_id', "not valid UTF-8"] if !text?(v)
        return ['maxLength', 'request_id', "#{v.length} characters, at most 128 allowed"] if v.length > 128
        n += 1
      end
      v = r['trace_id']
      unless v.nil?
        return ['type', 'trace_id', "expected a string, got #{kind(v)}"] if !(String === v)
        return ['invalid_utf8', 'trace_id', "not valid UTF-8"] if !text?(v)
        return ['maxLength', 'trace_id', "#{v.length} characters, at most 128 allowed"] if v.length > 128
        n += 1
      end
      v = r['container_name']
      unless v.nil?
        return ['type', 'container_name', "expected a string, got #{kind(v)}"] if !(String === v)
        return ['invalid_utf8', 'container_name', "not valid UTF-8"] if !text?(v)
        return ['maxLength', 'container_name', "#{v.length} characters, at most 256 allowed"] if v.length > 256
        n += 1
      end
      v = r['container_id']
      unless v.nil?
        return ['type', 'container_id', "expected a string, got #{kind(v)}"] if !(String === v)
        return ['invalid_utf8', 'container_id', "not valid UTF-8"] if !text?(v)
        return ['maxLength', 'container_id', "#{v.length} characters, at most 64 allowed"] if v.length > 64
        n += 1
      end
      v = r['stream']
      return ['required', 'stream', "required field is #{r.key?('stream') ? 'null' : 'missing'}"] if v.nil?
      return ['type', 'stream', "expected a string, got #{kind(v)}"] if !(String === v)
      return ['invalid_utf8', 'stream', "not valid UTF-8"] if !text?(v)
      return ['enum', 'stream', "#{v[0, 40].inspect} is not one of ['stdout', 'stderr']"] if !RAW_LOG_STREAM_ENUM.key?(v)
      n += 1
      v = r['text']
      return ['required', 'text', "required field is #{r.key?('text') ? 'null' : 'missing'}"] if v.nil?
      return ['type', 'text', "expected a string, got #{kind(v)}"] if !(String === v)
      return ['invalid_utf8', 'text', "not valid UTF-8"] if !text?(v)
      n += 1
      v = r['reason']
      unless v.nil?
        return ['type', 'reason', "expected a string, got #{kind(v)}"] if !(String === v)
        return ['invalid_utf8', 'reason', "not valid UTF-8"] if !text?(v)
        n += 1
      end
      return nil if n == r.size
      r.each_key do |k|
        return ['unknown_field', k.to_s, "field is not declared"] unless RAW_LOG_FIELDS.key?(k)
      end
      nil
    end

    # table -> its JSON columns sent as JSON text (streamed tables: insertAll reads a string
    # there as JSON text; a batch table's load job takes the raw JSON value)
    JSON_COLUMNS = {'access_log' => [].freeze, 'app_log' => ['extra'].freeze, 'raw_log' => [].freeze}.freeze

    # The first rule `record` breaks against `table`, as [rule, field, message]; nil when it fits.
    def check(table, record)
      return ['type', '', "table #{table}: a record is a JSON object, got #{kind(record)}"] unless Hash === record
      case table
      when 'access_log' then check_access_log(record)
      when 'app_log' then check_app_log(record)
      when 'raw_log' then check_raw_log(record)
      else raise KeyError, "no table #{table}"
      end
    end
  end
end
