"""The Ruby target of the column-rule model: each check as a Ruby condition, and the generated
judge fluentd runs (fluentd/plugins/logbridge_rules.rb, assembled by `shipper.render.fluentd_rules`).

The judge answers the FIRST violation of a record as `[rule, field, message]`, or nil: the first
element of what the Python judge (`python.py`) lists, in the same order (the routing key, the
columns in table order, each value's checks in order, RECORD fields inside their column, then
undeclared fields in the record's order), with the same rule names and field paths. fluentd
needs one reason per refused record, and stopping at the first keeps the check cheap per line.

`RUNTIME` is the Ruby of `values.py` (a timestamp BigQuery parses, a calendar date, UTF-8 text,
a JSON value BigQuery stores). Everything is built from small functions that return lines.
"""

from __future__ import annotations

from .._constants import INT64_MAX, INT64_MIN
from ._model import (
    BOOL,
    DATE_FORMAT,
    DATE_WANTED,
    ENUM,
    FLOAT64,
    INT64,
    INT64_RANGE,
    INTEGRAL,
    INVALID_UTF8,
    JSON,
    JSON_VALUE,
    KIND_WANTED,
    MAX_LENGTH,
    MAXIMUM,
    MINIMUM,
    NOT_FINITE,
    RECORD,
    STRING,
    TIMESTAMP_FORMAT,
    TIMESTAMP_WANTED,
    TYPE,
    Check,
    ColumnRule,
    TableRules,
)

RUNTIME = rf"""
INT64_MIN = {INT64_MIN}
INT64_MAX = {INT64_MAX}
UTF_8 = Encoding::UTF_8
US_ASCII = Encoding::US_ASCII
# What BigQuery parses as a TIMESTAMP in JSON rows, as shipper/rules/values.py's valid_timestamp
# judges it: year 0001-9999, month 01-12, day 01-31, hour 00-23, minute and second 00-59, up to
# 6 fraction digits, zone Z or +-HH:MM / +-HHMM (HH <= 23, MM <= 59). Days 29-31 are then checked
# against their month (`calendar_day?`).
TIMESTAMP_RE = /\A(?!0000)[0-9]{{4}}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])[T ](?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\.[0-9]{{1,6}})?(?:[Zz]|[+-](?:[01][0-9]|2[0-3]):?[0-5][0-9])?\z/
DATE_RE = /\A(?!0000)[0-9]{{4}}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])\z/
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
  when Integer then v.between?(INT64_MIN, INT64_MAX) ? nil : ['int64_range', "#{{v}} does not fit INT64"]
  when Float then v.finite? ? nil : ['not_finite', "#{{v}} is not a JSON number"]
  when Hash, Array
    return ['depth', "nested deeper than #{{JSON_MAX_DEPTH}} levels"] if depth > JSON_MAX_DEPTH
    if Hash === v
      v.each do |k, x|
        return ['json_value', "key #{{k.inspect}} is not a string"] unless String === k
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
  else ['json_value', "a #{{v.class.name}} is not a JSON value"]
  end
end
"""

_TYPE_FAILS = {
    STRING: "!(String === {v})",
    INT64: "!(Integer === {v} || Float === {v})",
    FLOAT64: "!(Integer === {v} || Float === {v})",
    BOOL: "!({v} == true || {v} == false)",
    RECORD: "!(Hash === {v})",
}


def ruby_str(s: str) -> str:
    """A Ruby single-quoted string literal."""
    return "'" + s.replace("\\", "\\\\").replace("'", "\\'") + "'"


def ruby_value(x: object) -> str:
    if isinstance(x, str):
        return ruby_str(x)
    if x is None:
        return "nil"
    if isinstance(x, bool):
        return "true" if x else "false"
    if isinstance(x, float) and x.is_integer() and abs(x) < 2**53:
        return repr(x)
    return repr(x)


def dq_text(s: str) -> str:
    """Literal text inside a Ruby double-quoted string (no interpolation, no escapes)."""
    return s.replace("\\", "\\\\").replace('"', '\\"').replace("#", "\\#")


def const_name(*parts: str) -> str:
    return "_".join("".join(ch if ch.isalnum() else "_" for ch in p).upper() for p in parts)


def method_name(table: str, record_path: tuple[str, ...] = ()) -> str:
    return "check_" + "__".join("".join(ch if ch.isalnum() else "_" for ch in p) for p in (table, *record_path))


def enum_line(name: str, values: tuple[object, ...]) -> str:
    """The allowed values as a frozen Hash: one lookup. (The model gives only STRING columns an
    enum; a null among the values says the column is nullable: a non-null value is never it.)"""
    return f"{name} = {{{', '.join(ruby_value(x) + ' => true' for x in values if x is not None)}}}.freeze"


def fails_expr(check: Check, v: str, enum_const: str | None = None) -> str:
    """A Ruby condition, true when the non-null value `v` fails `check` (the stopping checks
    before it having passed)."""
    n = check.name
    if n == TYPE:
        return _TYPE_FAILS[check.arg].format(v=v)
    if n == NOT_FINITE:
        return f"Float === {v} && !{v}.finite?"
    if n == INTEGRAL:
        return f"Float === {v} && {v} != {v}.floor"
    if n == INT64_RANGE:
        return f"!{v}.between?(INT64_MIN, INT64_MAX)"
    if n == INVALID_UTF8:
        return f"!text?({v})"
    if n == ENUM:
        return f"!{enum_const}.key?({v})"
    if n == MAX_LENGTH:
        return f"{v}.length > {check.arg!r}"
    if n == MINIMUM:
        return f"{v} < {ruby_value(check.arg)}"
    if n == MAXIMUM:
        return f"{v} > {ruby_value(check.arg)}"
    if n == TIMESTAMP_FORMAT:
        return f"!timestamp?({v})"
    if n == DATE_FORMAT:
        return f"!date?({v})"
    raise ValueError(f"no Ruby for check {n!r}")


def message(check: Check, v: str) -> str:
    """The reason a failing check gives, as the body of a Ruby double-quoted string."""
    n = check.name
    if n == TYPE:
        return f"expected {KIND_WANTED[check.arg]}, got #{{kind({v})}}"
    if n == INTEGRAL:
        return f"expected an integer, got #{{{v}}}"
    if n == NOT_FINITE:
        return f"#{{{v}}} is not a JSON number"
    if n == INT64_RANGE:
        return f"#{{{v}}} does not fit INT64"
    if n == INVALID_UTF8:
        return "not valid UTF-8"
    if n == ENUM:
        return f"#{{{v}[0, 40].inspect}} is not one of {dq_text(repr(list(check.arg)))}"
    if n == MAX_LENGTH:
        return f"#{{{v}.length}} characters, at most {check.arg} allowed"
    if n == MINIMUM:
        return f"#{{{v}}} is below the minimum {check.arg}"
    if n == MAXIMUM:
        return f"#{{{v}}} is above the maximum {check.arg}"
    if n == TIMESTAMP_FORMAT:
        return f"not {TIMESTAMP_WANTED}"
    if n == DATE_FORMAT:
        return f"not {DATE_WANTED}"
    raise ValueError(f"no message for check {n!r}")


class Path:
    """A field path in generated Ruby: a literal at the top, interpolated inside a RECORD or an
    array ("#{prefix}name", "tags[#{i}]")."""

    def __init__(self, expr: str) -> None:
        self.expr = expr  # a Ruby expression giving the path string

    @classmethod
    def top(cls, name: str) -> Path:
        return cls(ruby_str(name))

    @classmethod
    def nested(cls, name: str) -> Path:
        return cls(f'"#{{prefix}}{name}"')

    def item(self) -> Path:
        inner = self.expr[1:-1]
        return Path(f'"{inner}[#{{i}}]"')

    def child_prefix(self) -> str:
        inner = self.expr[1:-1]
        return f'"{inner}."'


def refuse(rule: str, path: Path, why: str) -> str:
    return f'return [{ruby_str(rule)}, {path.expr}, "{why}"]'


def value_lines(rule: ColumnRule, v: str, path: Path, table: str, consts: list[str],
                record_path: tuple[str, ...]) -> list[str]:
    """Lines that `return` the first check the non-null value `v` fails (a RECORD's fields by
    the record's own method, once its type is right)."""
    lines = []
    for check in rule.checks:
        if check.name == JSON_VALUE:
            lines += [f"p = json_problem({v})", f"return [p[0], {path.expr}, p[1]] if p"]
            continue
        enum_const = None
        if check.name == ENUM:
            enum_const = const_name(table, *record_path, rule.name, "enum")
            consts.append(enum_line(enum_const, check.arg))
        lines.append(f"{refuse(check.rule, path, message(check, v))} if {fails_expr(check, v, enum_const)}")
    if rule.kind == RECORD:
        lines += [f"p = {method_name(table, (*record_path, rule.name))}({v}, {path.child_prefix()})",
                  "return p if p"]
    return lines


def column_lines(rule: ColumnRule, table: str, consts: list[str], record_path: tuple[str, ...]) -> list[str]:
    """Presence, mode and value checks of one column of the object `r`; counts it in `n` when
    it has a value."""
    path = Path.nested(rule.name) if record_path else Path.top(rule.name)
    name = ruby_str(rule.name)
    lines = [f"v = r[{name}]"]
    if rule.required:
        state = f"#{{r.key?({name}) ? 'null' : 'missing'}}"
        lines.append(f"{refuse('required', path, 'required field is ' + state)} if v.nil?")
    if rule.repeated:
        item = path.item()
        body = value_lines(rule, "x", item, table, consts, record_path)
        return lines + ["unless v.nil?",
                        f"  {refuse('type', path, 'expected an array, got #{kind(v)}')} unless Array === v",
                        "  v.each_with_index do |x, i|",
                        f"    {refuse('repeated_null', item, 'null inside an array')} if x.nil?",
                        *[f"    {line}" for line in body],
                        "  end",
                        "  n += 1",
                        "end"]
    body = value_lines(rule, "v", path, table, consts, record_path)
    if rule.required:  # null answered above
        return [*lines, *body, "n += 1"]
    return [*lines, "unless v.nil?", *[f"  {line}" for line in body], "  n += 1", "end"]


def object_methods(rules: TableRules, columns: tuple[ColumnRule, ...], consts: list[str],
                   record_path: tuple[str, ...] = ()) -> list[list[str]]:
    """The method judging one object (the record, or a RECORD column's value), then its
    RECORD children's methods."""
    table = rules.table
    nested = bool(record_path)
    declared = const_name(table, *record_path, "fields")
    names = [c.name for c in columns] + ([] if nested else [rules.routing_key])
    consts.append(f"{declared} = {{{', '.join(ruby_str(x) + ' => true' for x in names)}}}.freeze")
    body = ["n = 0  # keys with a value that are declared: when that is every key, none is undeclared"]
    if not nested:
        key, name = ruby_str(rules.routing_key), ruby_str(table)
        why = f"#{{routed.inspect}} routes this record to another table than {dq_text(table)}"
        body += [f"routed = r.fetch({key}, {name})",
                 f"{refuse('routing_key', Path(key), why)} if routed != {name}",
                 f"n += 1 if r.key?({key})"]
    for c in columns:
        body += column_lines(c, table, consts, record_path)
    unknown = '"#{prefix}#{k}"' if nested else "k.to_s"
    body += ["return nil if n == r.size",
             "r.each_key do |k|",
             f"  {refuse('unknown_field', Path(unknown), 'field is not declared')} unless {declared}.key?(k)",
             "end",
             "nil"]
    where = ".".join((table, *record_path))
    args = "(r, prefix)" if nested else "(r)"
    methods = [[f"# {where} v{rules.version}: the first rule the object breaks, or nil.",
                f"def {method_name(table, record_path)}{args}", *[f"  {line}" for line in body], "end"]]
    for c in columns:
        if c.kind == RECORD:
            methods += object_methods(rules, c.children, consts, (*record_path, c.name))
    return methods


def table_lines(rules: TableRules) -> list[str]:
    """The constants and methods judging one table."""
    consts: list[str] = []
    methods = object_methods(rules, rules.columns, consts)
    out = [f"# -- {rules.table} (version {rules.version}) " + "-" * max(0, 76 - len(rules.table)), *consts, ""]
    for m in methods:
        out += [*m, ""]
    return out


def json_columns(rules: TableRules) -> tuple[str, ...]:
    """Top-level JSON columns: insertAll takes their values as JSON text."""
    for c in rules.columns:
        if c.kind == RECORD and any(x.kind == JSON for x in c.children):
            raise ValueError(f"{rules.table}.{c.name}: a JSON column inside a RECORD; the Ruby target "
                             "sends only top-level JSON columns as JSON text")
    return tuple(c.name for c in rules.columns if c.kind == JSON)


def dispatch_lines(tables: list[TableRules], json_text: frozenset[str] | None = None) -> list[str]:
    """`check(table, record)` and the table -> JSON columns map. `json_text`: the tables whose
    JSON columns are sent as JSON text (streamed ones: insertAll reads a string there as JSON
    text); None: all. A batch table's load job stores a JSON column's raw JSON value, so its
    values stay as they are."""
    jsons = ", ".join(f"{ruby_str(t.table)} => [{', '.join(ruby_str(c) for c in json_columns(t))}].freeze"
                      if json_text is None or t.table in json_text else f"{ruby_str(t.table)} => [].freeze"
                      for t in tables)
    return ["# table -> its JSON columns sent as JSON text (streamed tables: insertAll reads a string",
            "# there as JSON text; a batch table's load job takes the raw JSON value)",
            f"JSON_COLUMNS = {{{jsons}}}.freeze",
            "",
            "# The first rule `record` breaks against `table`, as [rule, field, message]; nil when it fits.",
            "def check(table, record)",
            "  return ['type', '', \"table #{table}: a record is a JSON object, got #{kind(record)}\"] unless Hash === record",
            "  case table",
            *[f"  when {ruby_str(t.table)} then {method_name(t.table)}(record)" for t in tables],
            "  else raise KeyError, \"no table #{table}\"",
            "  end",
            "end"]
