"""Registry model -> `fluentd/plugins/logbridge_rules.rb`: the record check, in Ruby, for fluentd.

Why Ruby generated from the registry: fluentd must refuse a record that does not fit its table
*before* its output (fluent-plugin-bigquery would otherwise convert "abc" to 0, or BigQuery would
refuse the whole insertAll request with the good rows in it). The check is the same one the
library runs (`shipper._check.check_record`): the same rules, rule names, messages and order
(declared fields in order, then undeclared ones), so a record the library accepts is a record
fluentd accepts. Each table becomes one Ruby method that answers the FIRST rule the record
breaks as `[rule, field, message]`, or nil; it never changes the record.

Built from small functions that return lines (one per column kind), so the generated file reads
like hand-written Ruby and a failure in it points at a line a person can follow.
"""

from __future__ import annotations

from ..registry import (
    BOOL,
    DATE,
    FLOAT64,
    INT64,
    JSON,
    RECORD,
    REPEATED,
    REQUIRED,
    STRING,
    TIMESTAMP,
    Field,
    Registry,
    Table,
)

OUTPUT_PATH = "fluentd/plugins/logbridge_rules.rb"

HEADER = """\
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
"""

# Helpers every table's check uses; plain Ruby, the same for every registry.
HELPERS = r"""
    INT64_MIN = -(2**63)
    INT64_MAX = 2**63 - 1
    UTF_8 = Encoding::UTF_8
    US_ASCII = Encoding::US_ASCII
    # What BigQuery parses as a TIMESTAMP in JSON rows, as shipper/_check.py's valid_timestamp
    # judges it: year 0001-9999, month 01-12, day 01-31, hour 00-23, minute and second 00-59, up
    # to 6 fraction digits, zone Z or +-HH:MM / +-HHMM (HH <= 23, MM <= 59). Days 29-31 are then
    # checked against their month (`timestamp?`).
    TIMESTAMP_RE = /\A(?!0000)[0-9]{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])[T ](?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\.[0-9]{1,6})?(?:[Zz]|[+-](?:[01][0-9]|2[0-3]):?[0-5][0-9])?\z/
    DATE_RE = /\A(?!0000)[0-9]{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])\z/
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
      v.is_a?(String) && (v.encoding == UTF_8 || v.encoding == US_ASCII) && v.valid_encoding?
    end

    # Day 29-31 of a shorter month is the only thing TIMESTAMP_RE / DATE_RE let through.
    def calendar_day?(v)
      d = v.getbyte(8)
      return true if d < 50 || (d == 50 && v.getbyte(9) < 57)  # day < 29
      Date.valid_date?(v[0, 4].to_i, v[5, 2].to_i, v[8, 2].to_i)
    end

    def timestamp?(v)
      TIMESTAMP_RE.match?(v) && calendar_day?(v)
    end

    def date?(v)
      DATE_RE.match?(v) && calendar_day?(v)
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
"""


def ruby_str(s: str) -> str:
    """A Ruby single-quoted string literal."""
    return "'" + s.replace("\\", "\\\\").replace("'", "\\'") + "'"


def ruby_num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() and abs(x) < 2**63 else repr(float(x))


def const_name(*parts: str) -> str:
    return "_".join(p.upper() for p in parts)


def method_name(table: Table, record_path: tuple[str, ...] = ()) -> str:
    return "check_" + "__".join((table.name, *record_path))


class _Path:
    """How a field's path is written in Ruby: a literal at the top, '#{prefix}name' inside a RECORD."""

    def __init__(self, nested: bool) -> None:
        self.nested = nested

    def of(self, name: str) -> str:
        return f'"#{{prefix}}{name}"' if self.nested else ruby_str(name)

    def item(self, name: str) -> str:
        return f'"#{{prefix}}{name}[#{{i}}]"' if self.nested else f'"{name}[#{{i}}]"'


def refuse(rule: str, path: str, message: str) -> str:
    """`return [rule, field, message]`; message is a Ruby double-quoted string body."""
    return f'return [{ruby_str(rule)}, {path}, "{message}"]'


def value_checks(table: Table, f: Field, v: str, path: str, consts: list[str],
                 record_path: tuple[str, ...]) -> list[str]:
    """Lines that `return` the first rule a non-null value `v` of column `f` breaks.

    Messages are Ruby double-quoted string bodies: `#{...}` interpolates the value."""
    c = f.constraints

    def when(rule: str, message: str, condition: str) -> str:
        return f"{refuse(rule, path, message)} {condition}"

    got = f"got #{{kind({v})}}"
    if f.type == STRING:
        lines = [when("type", f"expected a string, {got}", f"unless String === {v}"),
                 when("invalid_utf8", "not valid UTF-8",
                      f"unless ({v}.encoding == UTF_8 || {v}.encoding == US_ASCII) && {v}.valid_encoding?")]
        if c.enum is not None:
            name = const_name(table.name, *record_path, f.name, "enum")
            consts.append(f"{name} = {{{', '.join(ruby_str(str(e)) + ' => true' for e in c.enum)}}}.freeze")
            lines.append(when("enum", f"#{{{v}[0, 40].inspect}} is not one of #{{{name}.keys}}",
                              f"unless {name}.key?({v})"))
        if c.max_length is not None:
            n = c.max_length
            lines.append(when("maxLength", f"#{{{v}.length}} characters, at most {n} allowed",
                              f"if {v}.length > {n}"))
        return lines
    if f.type in (INT64, FLOAT64):
        want = "an integer" if f.type == INT64 else "a number"
        lines = [when("type", f"expected {want}, {got}", f"unless Integer === {v} || Float === {v}"),
                 when("not_finite", f"#{{{v}}} is not a JSON number", f"if {v}.is_a?(Float) && !{v}.finite?")]
        if f.type == INT64:
            lines += [when("type", f"expected an integer, got #{{{v}}}", f"if {v}.is_a?(Float) && {v} != {v}.floor"),
                      when("int64_range", f"#{{{v}}} does not fit INT64", f"unless {v}.between?(INT64_MIN, INT64_MAX)")]
        if c.minimum is not None:
            m = ruby_num(c.minimum)
            lines.append(when("minimum", f"#{{{v}}} is below the minimum {m}", f"if {v} < {m}"))
        if c.maximum is not None:
            m = ruby_num(c.maximum)
            lines.append(when("maximum", f"#{{{v}}} is above the maximum {m}", f"if {v} > {m}"))
        return lines
    if f.type == BOOL:
        return [when("type", f"expected a boolean, {got}", f"unless {v} == true || {v} == false")]
    if f.type == TIMESTAMP:
        return [when("timestamp_format", "not a timestamp BigQuery parses (YYYY-MM-DDTHH:MM:SS[.ffffff][Z|+HH:MM])",
                     f"unless text?({v}) && timestamp?({v})")]
    if f.type == DATE:
        return [when("date_format", "not a YYYY-MM-DD date", f"unless text?({v}) && date?({v})")]
    if f.type == RECORD:
        inner = method_name(table, (*record_path, f.name))
        # the children's paths: 'error' -> "error.", "#{prefix}error" -> "#{prefix}error."
        prefix = path[:-1] + '."' if path.startswith('"') else f'"{path[1:-1]}."'
        return [when("type", f"expected an object, {got}", f"unless {v}.is_a?(Hash)"),
                f"p = {inner}({v}, {prefix})",
                "return p if p"]
    if f.type == JSON:
        return [f"p = json_problem({v})",
                f"return [p[0], {path}, p[1]] if p"]
    raise ValueError(f"{table.name}.{f.name}: no Ruby check for type {f.type}")


def field_checks(table: Table, f: Field, paths: _Path, consts: list[str],
                 record_path: tuple[str, ...]) -> list[str]:
    """The lines for one column: null/missing, then array items or the value."""
    path = paths.of(f.name)
    lines = [f"v = r[{ruby_str(f.name)}]"]
    if f.mode == REQUIRED:
        state = f"#{{r.key?({ruby_str(f.name)}) ? 'null' : 'missing'}}"
        lines.append(f"{refuse('required', path, 'required field is ' + state)} if v.nil?")
    if f.mode == REPEATED:
        item = paths.item(f.name)
        body = value_checks(table, f, "x", item, consts, record_path)
        lines += ["unless v.nil?",
                  f"  {refuse('type', path, 'expected an array, got #{kind(v)}')} unless v.is_a?(Array)",
                  "  n += 1",
                  "  v.each_with_index do |x, i|",
                  f"    {refuse('repeated_null', item, 'null inside an array')} if x.nil?",
                  *[f"    {line}" for line in body],
                  "  end",
                  "end"]
        return lines
    body = value_checks(table, f, "v", path, consts, record_path)
    if f.mode == REQUIRED:  # null already answered above
        return [*lines, *body, "n += 1"]
    return [*lines, "unless v.nil?", *[f"  {line}" for line in body], "  n += 1", "end"]


def record_method(table: Table, fields: tuple[Field, ...], record_path: tuple[str, ...],
                  consts: list[str]) -> list[list[str]]:
    """The method checking one object (the row, or a RECORD column's value), plus its children's."""
    nested = bool(record_path)
    paths = _Path(nested)
    name = method_name(table, record_path)
    declared = const_name(table.name, *record_path, "fields")
    consts.append(f"{declared} = {{{', '.join(ruby_str(f.name) + ' => true' for f in fields)}}}.freeze")
    where = ".".join((table.name, *record_path))
    args = "(r, prefix)" if nested else "(r)"
    body: list[str] = ["n = 0  # declared fields with a value: when that is every key, none is undeclared"]
    for f in fields:
        body += field_checks(table, f, paths, consts, record_path)
    unknown = '"#{prefix}#{k}"' if nested else "k.to_s"
    body += ["return nil if n == r.size",
             "r.each_key do |k|",
             f"  {refuse('unknown_field', unknown, 'field is not declared')} unless {declared}.key?(k)",
             "end",
             "nil"]
    methods = [[f"# {where}: the first rule the object breaks, or nil.",
                f"def {name}{args}", *[f"  {line}" for line in body], "end"]]
    for f in fields:
        if f.type == RECORD:
            methods += record_method(table, f.fields, (*record_path, f.name), consts)
    return methods


def table_section(table: Table) -> list[str]:
    consts: list[str] = []
    methods = record_method(table, table.fields, (), consts)
    out = [f"# -- {table.name} (version {table.version}) " + "-" * max(0, 80 - len(table.name) - 20), *consts, ""]
    for m in methods:
        out += [*m, ""]
    return out


def json_columns(table: Table) -> list[str]:
    """Top-level JSON columns: sent to insertAll as JSON text (what BigQuery's API takes)."""
    for f in table.fields:
        if f.type == RECORD and any(c.type == JSON for c in f.fields):
            raise ValueError(f"{table.name}.{f.name}: a JSON column inside a RECORD; the fluentd "
                             "target sends only top-level JSON columns as JSON text")
    return [f.name for f in table.fields if f.type == JSON]


def render_rules(registry: Registry) -> str:
    tables = registry.tables
    body: list[str] = []
    for t in tables:
        body += table_section(t)
    jsons = ", ".join(f"{ruby_str(t.name)} => [{', '.join(ruby_str(c) for c in json_columns(t))}].freeze"
                      for t in tables)
    body += ["# table -> its JSON columns (sent to insertAll as JSON text)",
             f"JSON_COLUMNS = {{{jsons}}}.freeze",
             "",
             "# The first rule `record` breaks against `table`, as [rule, field, message]; nil when it fits.",
             "def check(table, record)",
             "  case table",
             *[f"  when {ruby_str(t.name)} then {method_name(t)}(record)" for t in tables],
             "  else raise KeyError, \"no table #{table}\"",
             "  end",
             "end"]
    lines = [HEADER.rstrip("\n"), "", "module Logbridge", "  module Rules", HELPERS.strip("\n"), ""]
    lines += [f"    {line}" if line else "" for line in body]
    lines += ["  end", "end"]
    return "\n".join(lines) + "\n"
