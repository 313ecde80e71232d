# GENERATED from the schema registry (schemas/) by `shipper fluentd render`: do not edit by hand;
# `make test` fails when this file differs from a fresh render.
#
# Does a record fit its table? The registry's column rules in Ruby, for the logbridge_route plugin
# (out_logbridge_route.rb). Same rules, rule names and order as shipper's record check
# (shipper/_check.py): declared fields in order, then undeclared ones. `check(table, record)`
# answers the FIRST rule the record breaks as [rule, field, message], or nil when it fits; it
# never changes the record.
require 'date'
require 'json'

module Logbridge
  module Rules
    INT64_MIN = -(2**63)
    INT64_MAX = 2**63 - 1
    # What BigQuery parses as a TIMESTAMP in JSON rows (as shipper/_check.py's TIMESTAMP_RE).
    TIMESTAMP_RE = /\A([0-9]{4})-([0-9]{2})-([0-9]{2})[T ]([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.[0-9]{1,6})?(Z|z|[+-][0-9]{2}:[0-9]{2}|[+-][0-9]{4})?\z/
    DATE_RE = /\A([0-9]{4})-([0-9]{2})-([0-9]{2})\z/
    JSON_MAX_DEPTH = 500

    module_function

    # The JSON name of a value's kind, for messages.
    def kind(v)
      case v
      when nil then 'null'
      when true, false then 'boolean'
      when String then 'string'
      when Integer then 'integer'
      when Float then 'number'
      when Hash then 'object'
      when Array then 'array'
      else v.class.name
      end
    end

    # A Ruby String is text BigQuery stores when it is valid UTF-8 (bytes from msgpack's bin type are not).
    def text?(v)
      v.is_a?(String) && (v.encoding == Encoding::UTF_8 || v.encoding == Encoding::US_ASCII) && v.valid_encoding?
    end

    def number?(v)
      v.is_a?(Integer) || v.is_a?(Float)
    end

    def timestamp?(v)
      m = TIMESTAMP_RE.match(v)
      return false if m.nil?
      y, mo, d, h, mi, s = m[1].to_i, m[2].to_i, m[3].to_i, m[4].to_i, m[5].to_i, m[6].to_i
      return false if y < 1 || h > 23 || mi > 59 || s > 59 || !Date.valid_date?(y, mo, d)
      zone = m[7]
      return true if zone.nil? || zone == 'Z' || zone == 'z'
      zone[1, 2].to_i <= 23 && zone[-2, 2].to_i <= 59
    end

    def date?(v)
      m = DATE_RE.match(v)
      !m.nil? && m[1].to_i >= 1 && Date.valid_date?(m[1].to_i, m[2].to_i, m[3].to_i)
    end

    # [rule, message] when v is not a JSON value BigQuery stores (a JSON column), else nil.
    def json_problem(v, depth = 0)
      case v
      when nil, true, false then nil
      when String then text?(v) ? nil : ['invalid_utf8', 'a string that is not valid UTF-8']
      when Integer then v.between?(INT64_MIN, INT64_MAX) ? nil : ['int64_range', "#{v} does not fit INT64"]
      when Float then v.finite? ? nil : ['not_finite', "#{v} is not a JSON number"]
      when Hash, Array
        return ['depth', "nested deeper than #{JSON_MAX_DEPTH} levels"] if depth > JSON_MAX_DEPTH
        if v.is_a?(Hash)
          v.each do |k, x|
            return ['json_value', "key #{k.inspect} is not a string"] unless k.is_a?(String)
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

    # -- access_log (version 1) --------------------------------------------------
    ACCESS_LOG_FIELDS = {'timestamp' => true, 'severity' => true, 'service' => true, 'log_id' => true, 'request_id' => true, 'trace_id' => true, 'container_name' => true, 'container_id' => true, 'method' => true, 'path' => true, 'route' => true, 'status_code' => true, 'latency' => true, 'request_bytes' => true, 'response_bytes' => true, 'user_agent' => true, 'remote_ip' => true, 'host' => true}.freeze
    ACCESS_LOG_SEVERITY_ENUM = ['DEFAULT', 'DEBUG', 'INFO', 'WARNING', 'ERROR', 'CRITICAL'].freeze

    # access_log: the first rule the object breaks, or nil.
    def check_access_log(r)
      v = r['timestamp']
      return ['required', 'timestamp', "required field is #{r.key?('timestamp') ? 'null' : 'missing'}"] if v.nil?
      return ['timestamp_format', 'timestamp', "not a timestamp BigQuery parses (YYYY-MM-DDTHH:MM:SS[.ffffff][Z|+HH:MM])"] unless text?(v) && timestamp?(v)
      v = r['severity']
      return ['required', 'severity', "required field is #{r.key?('severity') ? 'null' : 'missing'}"] if v.nil?
      return ['type', 'severity', "expected a string, got #{kind(v)}"] unless v.is_a?(String)
      return ['invalid_utf8', 'severity', "not valid UTF-8"] unless text?(v)
      return ['enum', 'severity', "#{v[0, 40].inspect} is not one of #{ACCESS_LOG_SEVERITY_ENUM}"] unless ACCESS_LOG_SEVERITY_ENUM.include?(v)
      v = r['service']
      unless v.nil?
        return ['type', 'service', "expected a string, got #{kind(v)}"] unless v.is_a?(String)
        return ['invalid_utf8', 'service', "not valid UTF-8"] unless text?(v)
        return ['maxLength', 'service', "#{v.length} characters, at most 128 allowed"] if v.length > 128
      end
      v = r['log_id']
      unless v.nil?
        return ['type', 'log_id', "expected a string, got #{kind(v)}"] unless v.is_a?(String)
        return ['invalid_utf8', 'log_id', "not valid UTF-8"] unless text?(v)
        return ['maxLength', 'log_id', "#{v.length} characters, at most 128 allowed"] if v.length > 128
      end
      v = r['request_id']
      unless v.nil?
        return ['type', 'request_id', "expected a string, got #{kind(v)}"] unless v.is_a?(String)
        return ['invalid_utf8', 'request_id', "not valid UTF-8"] unless text?(v)
        return ['maxLength', 'request_id', "#{v.length} characters, at most 128 allowed"] if v.length > 128
      end
      v = r['trace_id']
      unless v.nil?
        return ['type', 'trace_id', "expected a string, got #{kind(v)}"] unless v.is_a?(String)
        return ['invalid_utf8', 'trace_id', "not valid UTF-8"] unless text?(v)
        return ['maxLength', 'trace_id', "#{v.length} characters, at most 128 allowed"] if v.length > 128
      end
      v = r['container_name']
      unless v.nil?
        return ['type', 'container_name', "expected a string, got #{kind(v)}"] unless v.is_a?(String)
        return ['invalid_utf8', 'container_name', "not valid UTF-8"] unless text?(v)
        return ['maxLength', 'container_name', "#{v.length} characters, at most 256 allowed"] if v.length > 256
      end
      v = r['container_id']
      unless v.nil?
        return ['type', 'container_id', "expected a string, got #{kind(v)}"] unless v.is_a?(String)
        return ['invalid_utf8', 'container_id', "not valid UTF-8"] unless text?(v)
        return ['maxLength', 'container_id', "#{v.length} characters, at most 64 allowed"] if v.length > 64
      end
      v = r['method']
      return ['required', 'method', "required field is #{r.key?('method') ? 'null' : 'missing'}"] if v.nil?
      return ['type', 'method', "expected a string, got #{kind(v)}"] unless v.is_a?(String)
      return ['invalid_utf8', 'method', "not valid UTF-8"] unless text?(v)
      return ['maxLength', 'method', "#{v.length} characters, at most 16 allowed"] if v.length > 16
      v = r['path']
      return ['required', 'path', "required field is #{r.key?('path') ? 'null' : 'missing'}"] if v.nil?
      return ['type', 'path', "expected a string, got #{kind(v)}"] unless v.is_a?(String)
      return ['invalid_utf8', 'path', "not valid UTF-8"] unless text?(v)
      return ['maxLength', 'path', "#{v.length} characters, at most 2048 allowed"] if v.length > 2048
      v = r['route']
      unless v.nil?
        return ['type', 'route', "expected a string, got #{kind(v)}"] unless v.is_a?(String)
        return ['invalid_utf8', 'route', "not valid UTF-8"] unless text?(v)
        return ['maxLength', 'route', "#{v.length} characters, at most 512 allowed"] if v.length > 512
      end
      v = r['status_code']
      return ['required', 'status_code', "required field is #{r.key?('status_code') ? 'null' : 'missing'}"] if v.nil?
      return ['type', 'status_code', "expected an integer, got #{kind(v)}"] unless number?(v)
      return ['not_finite', 'status_code', "#{v} is not a JSON number"] if v.is_a?(Float) && !v.finite?
      return ['type', 'status_code', "expected an integer, got #{v}"] if v.is_a?(Float) && v != v.floor
      return ['int64_range', 'status_code', "#{v} does not fit INT64"] unless v.between?(INT64_MIN, INT64_MAX)
      return ['minimum', 'status_code', "#{v} is below the minimum 100"] if v < 100
      return ['maximum', 'status_code', "#{v} is above the maximum 599"] if v > 599
      v = r['latency']
      return ['required', 'latency', "required field is #{r.key?('latency') ? 'null' : 'missing'}"] if v.nil?
      return ['type', 'latency', "expected a number, got #{kind(v)}"] unless number?(v)
      return ['not_finite', 'latency', "#{v} is not a JSON number"] if v.is_a?(Float) && !v.finite?
      return ['minimum', 'latency', "#{v} is below the minimum 0"] if v < 0
      v = r['request_bytes']
      unless v.nil?
        return ['type', 'request_bytes', "expected an integer, got #{kind(v)}"] unless number?(v)
        return ['not_finite', 'request_bytes', "#{v} is not a JSON number"] if v.is_a?(Float) && !v.finite?
        return ['type', 'request_bytes', "expected an integer, got #{v}"] if v.is_a?(Float) && v != v.floor
        return ['int64_range', 'request_bytes', "#{v} does not fit INT64"] unless v.between?(INT64_MIN, INT64_MAX)
        return ['minimum', 'request_bytes', "#{v} is below the minimum 0"] if v < 0
      end
      v = r['response_bytes']
      unless v.nil?
        return ['type', 'response_bytes', "expected an integer, got #{kind(v)}"] unless number?(v)
        return ['not_finite', 'response_bytes', "#{v} is not a JSON number"] if v.is_a?(Float) && !v.finite?
        return ['type', 'response_bytes', "expected an integer, got #{v}"] if v.is_a?(Float) && v != v.floor
        return ['int64_range', 'response_bytes', "#{v} does not fit INT64"] unless v.between?(INT64_MIN, INT64_MAX)
        return ['minimum', 'response_bytes', "#{v} is below the minimum 0"] if v < 0
      end
      v = r['user_agent']
      unless v.nil?
        return ['type', 'user_agent', "expected a string, got #{kind(v)}"] unless v.is_a?(String)
        return ['invalid_utf8', 'user_agent', "not valid UTF-8"] unless text?(v)
        return ['maxLength', 'user_agent', "#{v.length} characters, at most 1024 allowed"] if v.length > 1024
      end
      v = r['remote_ip']
      unless v.nil?
        return ['type', 'remote_ip', "expected a string, got #{kind(v)}"] unless v.is_a?(String)
        return ['invalid_utf8', 'remote_ip', "not valid UTF-8"] unless text?(v)
        return ['maxLength', 'remote_ip', "#{v.length} characters, at most 64 allowed"] if v.length > 64
      end
      v = r['host']
      unless v.nil?
        return ['type', 'host', "expected a string, got #{kind(v)}"] unless v.is_a?(String)
        return ['invalid_utf8', 'host', "not valid UTF-8"] unless text?(v)
        return ['maxLength', 'host', "#{v.length} characters, at most 256 allowed"] if v.length > 256
      end
      r.each_key do |k|
        return ['unknown_field', k.to_s, "field is not declared"] unless ACCESS_LOG_FIELDS.key?(k)
      end
      nil
    end

    # -- app_log (version 1) -----------------------------------------------------
    APP_LOG_FIELDS = {'timestamp' => true, 'severity' => true, 'service' => true, 'log_id' => true, 'request_id' => true, 'trace_id' => true, 'container_name' => true, 'container_id' => true, 'logger' => true, 'message' => true, 'error' => true, 'extra' => true}.freeze
    APP_LOG_SEVERITY_ENUM = ['DEFAULT', 'DEBUG', 'INFO', 'WARNING', 'ERROR', 'CRITICAL'].freeze
    APP_LOG_ERROR_FIELDS = {'type' => true, 'message' => true, 'stack' => true}.freeze

    # app_log: the first rule the object breaks, or nil.
    def check_app_log(r)
      v = r['timestamp']
      return ['required', 'timestamp', "required field is #{r.key?('timestamp') ? 'null' : 'missing'}"] if v.nil?
      return ['timestamp_format', 'timestamp', "not a timestamp BigQuery parses (YYYY-MM-DDTHH:MM:SS[.ffffff][Z|+HH:MM])"] unless text?(v) && timestamp?(v)
      v = r['severity']
      return ['required', 'severity', "required field is #{r.key?('severity') ? 'null' : 'missing'}"] if v.nil?
      return ['type', 'severity', "expected a string, got #{kind(v)}"] unless v.is_a?(String)
      return ['invalid_utf8', 'severity', "not valid UTF-8"] unless text?(v)
      return ['enum', 'severity', "#{v[0, 40].inspect} is not one of #{APP_LOG_SEVERITY_ENUM}"] unless APP_LOG_SEVERITY_ENUM.include?(v)
      v = r['service']
      unless v.nil?
        return ['type', 'service', "expected a string, got #{kind(v)}"] unless v.is_a?(String)
        return ['invalid_utf8', 'service', "not valid UTF-8"] unless text?(v)
        return ['maxLength', 'service', "#{v.length} characters, at most 128 allowed"] if v.length > 128
      end
      v = r['log_id']
      unless v.nil?
        return ['type', 'log_id', "expected a string, got #{kind(v)}"] unless v.is_a?(String)
        return ['invalid_utf8', 'log_id', "not valid UTF-8"] unless text?(v)
        return ['maxLength', 'log_id', "#{v.length} characters, at most 128 allowed"] if v.length > 128
      end
      v = r['request_id']
      unless v.nil?
        return ['type', 'request_id', "expected a string, got #{kind(v)}"] unless v.is_a?(String)
        return ['invalid_utf8', 'request_id', "not valid UTF-8"] unless text?(v)
        return ['maxLength', 'request_id', "#{v.length} characters, at most 128 allowed"] if v.length > 128
      end
      v = r['trace_id']
      unless v.nil?
        return ['type', 'trace_id', "expected a string, got #{kind(v)}"] unless v.is_a?(String)
        return ['invalid_utf8', 'trace_id', "not valid UTF-8"] unless text?(v)
        return ['maxLength', 'trace_id', "#{v.length} characters, at most 128 allowed"] if v.length > 128
      end
      v = r['container_name']
      unless v.nil?
        return ['type', 'container_name', "expected a string, got #{kind(v)}"] unless v.is_a?(String)
        return ['invalid_utf8', 'container_name', "not valid UTF-8"] unless text?(v)
        return ['maxLength', 'container_name', "#{v.length} characters, at most 256 allowed"] if v.length > 256
      end
      v = r['container_id']
      unless v.nil?
        return ['type', 'container_id', "expected a string, got #{kind(v)}"] unless v.is_a?(String)
        return ['invalid_utf8', 'container_id', "not valid UTF-8"] unless text?(v)
        return ['maxLength', 'container_id', "#{v.length} characters, at most 64 allowed"] if v.length > 64
      end
      v = r['logger']
      unless v.nil?
        return ['type', 'logger', "expected a string, got #{kind(v)}"] unless v.is_a?(String)
        return ['invalid_utf8', 'logger', "not valid UTF-8"] unless text?(v)
        return ['maxLength', 'logger', "#{v.length} characters, at most 256 allowed"] if v.length > 256
      end
      v = r['message']
      return ['required', 'message', "required field is #{r.key?('message') ? 'null' : 'missing'}"] if v.nil?
      return ['type', 'message', "expected a string, got #{kind(v)}"] unless v.is_a?(String)
      return ['invalid_utf8', 'message', "not valid UTF-8"] unless text?(v)
      v = r['error']
      unless v.nil?
        return ['type', 'error', "expected an object, got #{kind(v)}"] unless v.is_a?(Hash)
        p = check_app_log__error(v, "error.")
        return p if p
      end
      v = r['extra']
      unless v.nil?
        p = json_problem(v)
        return [p[0], 'extra', p[1]] if p
      end
      r.each_key do |k|
        return ['unknown_field', k.to_s, "field is not declared"] unless APP_LOG_FIELDS.key?(k)
      end
      nil
    end

    # app_log.error: the first rule the object breaks, or nil.
    def check_app_log__error(r, prefix)
      v = r['type']
      return ['required', "#{prefix}type", "required field is #{r.key?('type') ? 'null' : 'missing'}"] if v.nil?
      return ['type', "#{prefix}type", "expected a string, got #{kind(v)}"] unless v.is_a?(String)
      return ['invalid_utf8', "#{prefix}type", "not valid UTF-8"] unless text?(v)
      return ['maxLength', "#{prefix}type", "#{v.length} characters, at most 256 allowed"] if v.length > 256
      v = r['message']
      unless v.nil?
        return ['type', "#{prefix}message", "expected a string, got #{kind(v)}"] unless v.is_a?(String)
        return ['invalid_utf8', "#{prefix}message", "not valid UTF-8"] unless text?(v)
      end
      v = r['stack']
      unless v.nil?
        return ['type', "#{prefix}stack", "expected a string, got #{kind(v)}"] unless v.is_a?(String)
        return ['invalid_utf8', "#{prefix}stack", "not valid UTF-8"] unless text?(v)
      end
      r.each_key do |k|
        return ['unknown_field', "#{prefix}#{k}", "field is not declared"] unless APP_LOG_ERROR_FIELDS.key?(k)
      end
      nil
    end

    # -- raw_log (version 2) -----------------------------------------------------
    RAW_LOG_FIELDS = {'timestamp' => true, 'severity' => true, 'service' => true, 'log_id' => true, 'request_id' => true, 'trace_id' => true, 'container_name' => true, 'container_id' => true, 'stream' => true, 'text' => true, 'reason' => true}.freeze
    RAW_LOG_SEVERITY_ENUM = ['DEFAULT', 'DEBUG', 'INFO', 'WARNING', 'ERROR', 'CRITICAL'].freeze
    RAW_LOG_STREAM_ENUM = ['stdout', 'stderr'].freeze

    # raw_log: the first rule the object breaks, or nil.
    def check_raw_log(r)
      v = r['timestamp']
      return ['required', 'timestamp', "required field is #{r.key?('timestamp') ? 'null' : 'missing'}"] if v.nil?
      return ['timestamp_format', 'timestamp', "not a timestamp BigQuery parses (YYYY-MM-DDTHH:MM:SS[.ffffff][Z|+HH:MM])"] unless text?(v) && timestamp?(v)
      v = r['severity']
      return ['required', 'severity', "required field is #{r.key?('severity') ? 'null' : 'missing'}"] if v.nil?
      return ['type', 'severity', "expected a string, got #{kind(v)}"] unless v.is_a?(String)
      return ['invalid_utf8', 'severity', "not valid UTF-8"] unless text?(v)
      return ['enum', 'severity', "#{v[0, 40].inspect} is not one of #{RAW_LOG_SEVERITY_ENUM}"] unless RAW_LOG_SEVERITY_ENUM.include?(v)
      v = r['service']
      unless v.nil?
        return ['type', 'service', "expected a string, got #{kind(v)}"] unless v.is_a?(String)
        return ['invalid_utf8', 'service', "not valid UTF-8"] unless text?(v)
        return ['maxLength', 'service', "#{v.length} characters, at most 128 allowed"] if v.length > 128
      end
      v = r['log_id']
      unless v.nil?
        return ['type', 'log_id', "expected a string, got #{kind(v)}"] unless v.is_a?(String)
        return ['invalid_utf8', 'log_id', "not valid UTF-8"] unless text?(v)
        return ['maxLength', 'log_id', "#{v.length} characters, at most 128 allowed"] if v.length > 128
      end
      v = r['request_id']
      unless v.nil?
        return ['type', 'request_id', "expected a string, got #{kind(v)}"] unless v.is_a?(String)
        return ['invalid_utf8', 'request_id', "not valid UTF-8"] unless text?(v)
        return ['maxLength', 'request_id', "#{v.length} characters, at most 128 allowed"] if v.length > 128
      end
      v = r['trace_id']
      unless v.nil?
        return ['type', 'trace_id', "expected a string, got #{kind(v)}"] unless v.is_a?(String)
        return ['invalid_utf8', 'trace_id', "not valid UTF-8"] unless text?(v)
        return ['maxLength', 'trace_id', "#{v.length} characters, at most 128 allowed"] if v.length > 128
      end
      v = r['container_name']
      unless v.nil?
        return ['type', 'container_name', "expected a string, got #{kind(v)}"] unless v.is_a?(String)
        return ['invalid_utf8', 'container_name', "not valid UTF-8"] unless text?(v)
        return ['maxLength', 'container_name', "#{v.length} characters, at most 256 allowed"] if v.length > 256
      end
      v = r['container_id']
      unless v.nil?
        return ['type', 'container_id', "expected a string, got #{kind(v)}"] unless v.is_a?(String)
        return ['invalid_utf8', 'container_id', "not valid UTF-8"] unless text?(v)
        return ['maxLength', 'container_id', "#{v.length} characters, at most 64 allowed"] if v.length > 64
      end
      v = r['stream']
      return ['required', 'stream', "required field is #{r.key?('stream') ? 'null' : 'missing'}"] if v.nil?
      return ['type', 'stream', "expected a string, got #{kind(v)}"] unless v.is_a?(String)
      return ['invalid_utf8', 'stream', "not valid UTF-8"] unless text?(v)
      return ['enum', 'stream', "#{v[0, 40].inspect} is not one of #{RAW_LOG_STREAM_ENUM}"] unless RAW_LOG_STREAM_ENUM.include?(v)
      v = r['text']
      return ['required', 'text', "required field is #{r.key?('text') ? 'null' : 'missing'}"] if v.nil?
      return ['type', 'text', "expected a string, got #{kind(v)}"] unless v.is_a?(String)
      return ['invalid_utf8', 'text', "not valid UTF-8"] unless text?(v)
      v = r['reason']
      unless v.nil?
        return ['type', 'reason', "expected a string, got #{kind(v)}"] unless v.is_a?(String)
        return ['invalid_utf8', 'reason', "not valid UTF-8"] unless text?(v)
      end
      r.each_key do |k|
        return ['unknown_field', k.to_s, "field is not declared"] unless RAW_LOG_FIELDS.key?(k)
      end
      nil
    end

    # table -> its check; table -> its JSON columns
    CHECKS = {'access_log' => :check_access_log, 'app_log' => :check_app_log, 'raw_log' => :check_raw_log}.freeze
    JSON_COLUMNS = {'access_log' => [].freeze, 'app_log' => ['extra'].freeze, 'raw_log' => [].freeze}.freeze

    # The first rule `record` breaks against `table`, as [rule, field, message]; nil when it fits.
    def check(table, record)
      send(CHECKS.fetch(table), record)
    end
  end
end
