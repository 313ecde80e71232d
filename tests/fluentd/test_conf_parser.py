"""The fluentd config parser and the tag glob matcher, with examples and Hypothesis."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shipper.fluentd_conf import (
    ConfigSyntaxError,
    Element,
    expand,
    glob_match,
    parse,
    rewrite_tag,
    ruby_regex,
)
from shipper.registry import DEFAULT_TABLE, RAW_TABLE
from shipper.routing import is_unknown_table, route_line, route_table

# ------------------------------------------------------------------ parser: examples


def test_sections_params_quotes_and_comments():
    root = parse("""
# a comment
<source>
  @type forward   # trailing comment
  port 24224
</source>
<label @X>
  <match a.** b.*>
    @type file
    path "/tmp/x #{ENV['A'] || 'b'}"   # comment after a quoted value
    q 'single # not a comment'
    esc "a\\"b\\tc\\n"
    <buffer tag,time>
      timekey 1h
    </buffer>
  </match>
</label>
""")
    src, label = root.elements
    assert (src.name, src.params) == ("source", {"@type": "forward", "port": "24224"})
    (m,) = label.elements
    assert (label.arg, m.arg) == ("@X", "a.** b.*")
    assert m.params["path"] == "/tmp/x #{ENV['A'] || 'b'}"
    assert m.params["q"] == "single # not a comment"
    assert m.params["esc"] == 'a"b\tc\n'
    assert m.children("buffer")[0].arg == "tag,time"


@pytest.mark.parametrize("text, where", [
    ("<match a>\n @type x\n", "never closed"),
    ("</match>\n", "closes"),
    ("<match a>\n</filter>\n", "closes"),
    ("<match a>\n k \"open\n</match>\n", "unterminated"),
    ("<source>\n port 1\n port 2\n</source>\n", "twice"),
    ("@include other.conf\n", "@include"),
])
def test_syntax_errors_name_the_line(text, where):
    with pytest.raises(ConfigSyntaxError, match=where):
        parse(text)


def test_expand_env_forms():
    env = {"A": "x"}
    assert expand("#{ENV['A'] || 'd'}/y", env) == "x/y"
    assert expand("#{ENV['B'] || 'd'}", env) == "d"
    assert expand("#{ENV['B'].to_s}", env) == ""
    assert expand("#{ENV.fetch('A')}", env) == "x"
    with pytest.raises(KeyError):
        expand("#{ENV.fetch('B')}", env)


# ------------------------------------------------------------------ parser: properties

names = st.from_regex(r"[a-z_][a-z0-9_]{0,8}", fullmatch=True)
values = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\n\r\t\x0b\x0c"),
                 max_size=20)


def _quote(v: str) -> str:
    return '"' + v.replace("\\", "\\\\").replace('"', '\\"').replace("#", "\\#") + '"'


@st.composite
def elements(draw, depth=0):
    e = Element(draw(st.sampled_from(["source", "match", "filter", "buffer", "label", "rule"])),
                draw(st.sampled_from(["", "a.**", "b.* c", "{x,y}.z", "@L"])))
    e.params = draw(st.dictionaries(names, values, max_size=4))
    if depth < 2:
        e.elements = draw(st.lists(elements(depth=depth + 1), max_size=3))
    return e


def _dump(e: Element, indent: int = 0) -> str:
    pad = "  " * indent
    head = f"{pad}<{e.name}{' ' + e.arg if e.arg else ''}>\n"
    body = "".join(f"{pad}  {k} {_quote(v)}\n" for k, v in e.params.items())
    body += "".join(_dump(c, indent + 1) for c in e.elements)
    return head + body + f"{pad}</{e.name}>\n"


def _shape(e: Element):
    return (e.name, e.arg, e.params, [_shape(c) for c in e.elements])


@settings(max_examples=200, deadline=None)
@given(st.lists(elements(), max_size=4))
def test_parse_inverts_dump(tree):
    root = parse("# header\n" + "\n".join(_dump(e) for e in tree))
    assert [_shape(e) for e in root.elements] == [_shape(e) for e in tree]


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_parser_never_crashes_on_garbage(text):
    try:
        parse(text)
    except ConfigSyntaxError:
        pass


# ------------------------------------------------------------------ glob matcher

@pytest.mark.parametrize("pattern, tag, ok", [
    ("a.b", "a.b", True), ("a.b", "a.bc", False),
    ("a.*", "a.b", True), ("a.*", "a", False), ("a.*", "a.b.c", False),
    ("a.**", "a", True), ("a.**", "a.b", True), ("a.**", "a.b.c", True), ("a.**", "ab", False),
    ("**", "anything.at.all", True), ("**", "x", True),
    ("**.z", "z", True), ("**.z", "a.b.z", True), ("**.z", "a.bz", False),
    ("{a,b}.c", "a.c", True), ("{a,b}.c", "b.c", True), ("{a,b}.c", "ab.c", False),
    ("a.{b,c.**}", "a.c.d", True), ("a.{b,c.**}", "a.b.d", False),
    ("x y.*", "y.q", True), ("x y.*", "x", True), ("x y.*", "z", False),
    ("bq.app_log bq.app_log.default", "bq.app_log.default", True),
    ("bq.app_log", "bq.app_log.default", False),
])
def test_glob_examples(pattern, tag, ok):
    assert glob_match(pattern, tag) is ok


parts = st.from_regex(r"[a-z0-9_]{1,5}", fullmatch=True)
tags = st.lists(parts, min_size=1, max_size=5).map(".".join)


@settings(max_examples=300, deadline=None)
@given(tags)
def test_glob_literal_and_recursive(tag):
    assert glob_match(tag, tag)
    assert glob_match("**", tag)
    first = tag.split(".")[0]
    assert glob_match(f"{first}.**", tag)
    assert glob_match("*", tag) is ("." not in tag)


@settings(max_examples=300, deadline=None)
@given(tags, tags, tags)
def test_glob_alternatives_are_an_or(a, b, tag):
    assert glob_match(f"{{{a},{b}}}", tag) is (tag in (a, b))
    assert glob_match(f"{a} {b}", tag) is (tag in (a, b))


@settings(max_examples=300, deadline=None)
@given(st.lists(parts, min_size=1, max_size=5))
def test_glob_star_is_one_part(ps):
    tag = ".".join(ps)
    pattern = ".".join("*" for _ in ps)
    assert glob_match(pattern, tag)
    assert not glob_match(pattern + ".*", tag)


# ------------------------------------------------------------------ rewrite_tag_filter semantics

def _rules(*rules):
    e = Element("match", "**", {"@type": "rewrite_tag_filter"})
    for key, pattern, tag, invert in rules:
        r = Element("rule", "", {"key": key, "pattern": pattern, "tag": tag})
        if invert:
            r.params["invert"] = "true"
        e.elements.append(r)
    return e


def test_rewrite_rules_first_match_backrefs_and_empty_values():
    m = _rules(("k", r"/\A(a|b)\z/", "t.$1", False), ("k", "/./", "none.${tag}", True))
    assert rewrite_tag(m, "in", {"k": "a"}) == "t.a"
    assert rewrite_tag(m, "in", {}) == "none.in"  # empty value: only an inverted rule sees it
    assert rewrite_tag(m, "in", {"k": ""}) == "none.in"
    assert rewrite_tag(m, "in", {"k": "c"}) is None  # no rule: fluentd drops the event
    assert rewrite_tag(m, "in", {"k": "x\na"}) is None  # \A...\z, not Ruby's line anchors


def test_ruby_anchors_are_line_anchors():
    assert ruby_regex("/^a$/").search("x\na\ny")
    assert not ruby_regex(r"/\Aa\z/").search("a\n")


# ------------------------------------------------------------------ the routing rule itself

@pytest.mark.parametrize("record, expected", [
    ({}, DEFAULT_TABLE), ({"log_table": None}, DEFAULT_TABLE), ({"log_table": ""}, DEFAULT_TABLE),
    ({"log_table": "access_log"}, "access_log"), ({"log_table": "nope"}, RAW_TABLE),
    ({"log_table": 5}, RAW_TABLE), ({"log_table": False}, RAW_TABLE), ({"log_table": []}, RAW_TABLE),
])
def test_route_table(record, expected):
    assert route_table(record, ("access_log", "app_log", "raw_log")) == expected


def test_route_table_without_the_table_list_takes_any_name():
    assert route_table({"log_table": "nope"}) == "nope"
    assert route_table({}) == DEFAULT_TABLE
    assert is_unknown_table({"log_table": "nope"}, ("app_log",))
    assert not is_unknown_table({}, ("app_log",))


@pytest.mark.parametrize("line, expected", [
    ('{"a": 1}', None), ("text", RAW_TABLE), ("[1]", RAW_TABLE), ("", RAW_TABLE)])
def test_route_line(line, expected):
    assert route_line(line) == expected


def test_env_name_pattern_is_total():
    assert re.findall(r"ENV\['(\w+)'\]", "#{ENV['X'] || 'y'}") == ["X"]
