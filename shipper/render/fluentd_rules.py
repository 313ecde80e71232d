"""Registry -> `fluentd/plugins/logbridge_rules.rb`: the record check fluentd runs, in Ruby.

Why a check inside fluentd: a record that does not fit its table must be refused *before* the
output (fluent-plugin-bigquery would otherwise convert "abc" to 0, or BigQuery would refuse the
whole insertAll request with the good rows in it). The check is a target of the column-rule model
(`shipper.rules`, Ruby translation in `shipper/rules/ruby.py`): the same rules, rule names,
field paths and order as the library's `check_record`, so a record the library accepts is a
record fluentd accepts. This module only assembles the file: header, runtime, one section per
table, the dispatch.
"""

from __future__ import annotations

from ..registry import Registry

OUTPUT_PATH = "fluentd/plugins/logbridge_rules.rb"

HEADER = """\
# GENERATED from the schema registry (schemas/) by `shipper fluentd render`: do not edit by hand;
# `make test` fails when this file differs from a fresh render.
#
# Does a record fit its table? The column-rule model (shipper/rules) in Ruby, for the
# logbridge_route plugin (out_logbridge_route.rb): same rules, rule names, field paths and order as
# shipper's check_record. `check(table, record)` answers the FIRST rule the record breaks as
# [rule, field, message], or nil when it fits; it never changes the record.
require 'date'
"""


def render_rules(registry: Registry) -> str:
    from ..rules import rules_for
    from ..rules.ruby import RUNTIME, dispatch_lines, table_lines

    tables = [rules_for(t) for t in registry.tables]
    body: list[str] = [*RUNTIME.strip("\n").splitlines(), ""]
    for t in tables:
        body += table_lines(t)
    streamed = frozenset(t.name for t in registry.tables if t.ingestion.mode != "batch")
    body += dispatch_lines(tables, streamed)
    lines = [HEADER.rstrip("\n"), "", "module Logbridge", "  module Rules"]
    lines += [f"    {line}" if line else "" for line in body]
    lines += ["  end", "end"]
    return "\n".join(lines) + "\n"
