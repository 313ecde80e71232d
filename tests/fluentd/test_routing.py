"""The committed fluentd/fluent.conf, parsed and routed as fluentd would route events.

Records: the real captures in fixtures/fluentd/parser_filter_output.jsonl (turned back into
what the Docker log driver sent: container_id, container_name, source, log), Docker-driver
records made here, and records as shipper's forward sink sends them (tag shipper.<service>).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support import REPO, SCHEMAS

from shipper.fluentd_conf import Dropped, Element, Router, expand, glob_match, load, parse
from shipper.registry import DEFAULT_TABLE, RAW_TABLE, load_registry
from shipper.routing import route_line, route_table
from shipper.render.fluentd import DRIVER_FIELDS, SETTINGS

CONF = REPO / "fluentd" / "fluent.conf"
T0 = 1795860000.25  # the time fluentd received the event


@pytest.fixture(scope="module")
def registry():
    return load_registry(SCHEMAS)


@pytest.fixture(scope="module")
def router() -> Router:
    return load(CONF.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def columns(registry):
    return {t.name: set(t.field_names) for t in registry.tables}


def docker(line: str, source: str = "stdout") -> dict:
    return {"container_id": "f9811b73ac5d", "container_name": "/api-1", "source": source, "log": line}


def fixture_records(fixtures_dir: Path) -> list[dict]:
    lines = (fixtures_dir / "fluentd" / "parser_filter_output.jsonl").read_text().splitlines()
    return [json.loads(x) for x in lines if x.strip()]


# ------------------------------------------------------------------ the captured records

def test_fixture_records_follow_the_intended_route(router, fixtures_dir, columns):
    records = fixture_records(fixtures_dir)
    assert len(records) == 7
    for captured in records:
        sent = {k: captured[k] for k in DRIVER_FIELDS}
        d = router.route("app.access", sent, time=T0)
        parsed = "timestamp" in captured  # the capture's parser filter lifted the JSON fields
        if parsed:
            # no log_table: not written by shipper -> app_log, in chunks of their own
            assert (d.table, d.tag) == (DEFAULT_TABLE, "bq.app_log.default")
            expected = {k: v for k, v in captured.items() if k not in ("log", "source")}
            assert d.record == expected  # nothing lost, driver fields removed except envelope
            # path/seq/... are not app_log columns: BigQuery rejects these rows and the chunk
            # goes whole to the secondary file (replayable), so the output must have one
            assert set(d.record) - columns[DEFAULT_TABLE] == {"path", "status_code", "latency", "seq"}
            assert d.output.children("secondary")
        else:
            assert d.table == RAW_TABLE and d.tag == "raw.app.access"
            assert d.record == {"container_name": "/api-1", "container_id": captured["container_id"],
                                "timestamp": "2026-11-28T10:00:00.250000Z", "severity": "DEFAULT",
                                "stream": "stderr", "text": "plain text line, not JSON"}
            assert set(d.record) <= columns[RAW_TABLE]
        assert d.path[:4] == ["relabel_docker", "filter_concat_partial", "relabel_parse", "filter_parser_log"]


def test_parser_filter_matches_the_captured_output(router, fixtures_dir):
    """Our parser filter does what the captured one did, plus removing `log` on success."""
    from shipper.fluentd_conf import parser_filter

    (f,) = [e for e in router.root.walk() if e.get("@id") == "filter_parser_log"]
    for captured in fixture_records(fixtures_dir):
        out = parser_filter(f, {k: captured[k] for k in DRIVER_FIELDS})
        if "timestamp" in captured:
            assert out == {k: v for k, v in captured.items() if k != "log"}
        else:
            assert out == captured


# ------------------------------------------------------------------ Docker driver records

@pytest.mark.parametrize("table", ["access_log", "app_log", "raw_log"])
def test_a_shipper_line_goes_to_its_table_with_declared_fields_only(router, columns, table):
    rec = {"log_table": table, "timestamp": "2026-11-28T10:00:00.000001Z", "severity": "INFO",
           "log_id": "01J", "service": "api"}
    d = router.route("app.api.abc123", docker(json.dumps(rec)), time=T0)
    assert d.table == table and d.plugin_id == f"out_bq_{table}"
    assert "log_table" not in d.record and "log" not in d.record and "source" not in d.record
    assert d.record["container_name"] == "/api-1" and d.record["container_id"] == "f9811b73ac5d"
    assert set(d.record) <= columns[table]


def test_docker_default_tag_without_dots_is_still_a_docker_record(router):
    d = router.route("f9811b73ac5d", docker("hello"), time=T0)
    assert d.table == RAW_TABLE and d.record["text"] == "hello"


@pytest.mark.parametrize("line", ["not json", "", "[1, 2]", "42", "\"a string\"", "{broken", "null"])
def test_a_line_that_is_not_a_json_object_goes_to_raw_log(router, line):
    try:
        d = router.route("app.x", docker(line, "stderr"), time=T0)
    except Dropped as exc:  # pragma: no cover - the assertion below explains
        pytest.fail(f"dropped: {exc}")
    if line == "":
        # an empty `log` cannot be told from a parsed record by rewrite_tag_filter (empty values
        # skip rules): it goes to app_log's default chunks and, lacking message, to the secondary
        assert d.table == DEFAULT_TABLE
        return
    assert route_line(line) == RAW_TABLE
    assert d.table == RAW_TABLE
    assert d.record["text"] == line and d.record["stream"] == "stderr"
    assert d.record["severity"] == "DEFAULT"


def test_unknown_table_creates_no_route_and_keeps_the_record(router, registry):
    rec = {"log_table": "billing_log", "timestamp": "2026-11-28T10:00:00Z", "severity": "INFO",
           "amount": 3, "service": "billing"}
    d = router.route("app.billing", docker(json.dumps(rec)), time=T0)
    assert d.table == RAW_TABLE and d.tag == "unknown.app.billing"
    kept = json.loads(d.record["text"])
    assert kept["log_table"] == "billing_log" and kept["amount"] == 3
    assert d.record["service"] == "billing" and d.record["stream"] == "stdout"
    # no output, filter or rule names it
    assert "billing_log" not in CONF.read_text()
    assert route_table(rec, registry.names) == RAW_TABLE


# ------------------------------------------------------------------ shipper's forward sink

@pytest.mark.parametrize("table", ["access_log", "app_log"])
def test_shipper_sink_records_are_routed_without_the_parser(router, table):
    rec = {"log_table": table, "timestamp": "2026-11-28T10:00:00Z", "severity": "INFO", "log_id": "x"}
    d = router.route("shipper.api", rec, time=T0)
    assert d.table == table and d.path[0] == "route_shipper"
    assert "filter_parser_log" not in d.path and "filter_concat_partial" not in d.path
    assert d.record == {k: v for k, v in rec.items() if k != "log_table"}


def test_shipper_sink_record_with_unknown_table(router):
    d = router.route("shipper.api", {"log_table": "nope", "x": 1}, time=T0)
    assert d.table == RAW_TABLE and json.loads(d.record["text"]) == {"log_table": "nope", "x": 1}


def test_status_events_go_to_stdout(router):
    d = router.route("fluentd.status", {"plugin_id": "in_forward"}, time=T0)
    assert d.plugin_type == "stdout" and d.plugin_id == "out_stdout_status"


# ------------------------------------------------------------------ the routing rule

log_table_values = st.one_of(
    st.none(), st.just(""), st.sampled_from(["access_log", "app_log", "raw_log", "audit_log"]),
    st.text(max_size=12), st.integers(), st.booleans(), st.lists(st.integers(), max_size=2))


@settings(max_examples=150, deadline=None)
@given(value=log_table_values, via_docker=st.booleans(), present=st.booleans())
def test_config_routes_as_shipper_routing_says(router, registry, value, via_docker, present):
    rec = {"timestamp": "2026-11-28T10:00:00Z", "severity": "INFO", "message": "m"}
    if present:
        rec["log_table"] = value
    if via_docker:
        d = router.route("app.x", docker(json.dumps(rec)), time=T0)
    else:
        d = router.route("shipper.svc", rec, time=T0)
    assert d.table == route_table(rec, registry.names)


# ------------------------------------------------------------------ the config's shape

def test_every_registry_table_has_a_route_schema_file_and_secondary(router, registry):
    outputs = [e for e in router.root.walk() if e.get("@type") == "bigquery_insert"]
    assert sorted(o.get("table") for o in outputs) == sorted(registry.names)
    for o in outputs:
        assert (REPO / "fluentd" / "schemas" / f"{o.get('table')}.json").is_file()
        (sec,) = o.children("secondary")
        assert sec.get("@type") == "secondary_file" and sec.get("@id")
        assert glob_match(o.arg, f"bq.{o.get('table')}")


def test_every_plugin_has_a_unique_id(router):
    plugins = [e for e in router.root.walk()
               if e.name in ("source", "filter", "match", "secondary") and e.get("@type")]
    ids = [p.get("@id") for p in plugins]
    assert all(ids), [p.arg for p in plugins if not p.get("@id")]
    assert len(ids) == len(set(ids))


def _examples(pattern: str) -> list[str]:
    """Tags a pattern matches: `**` -> two parts, `*` -> one part, each {a,b} alternative."""
    out = []
    for p in pattern.split():
        m = re.search(r"\{([^{}]*)\}", p)
        if m:
            out += [t for alt in m.group(1).split(",")
                    for t in _examples(p[:m.start()] + alt + p[m.end():])]
            continue
        out.append(p.replace("**", "q.r").replace("*", "z"))
    return out


def _scopes(root: Element) -> list[list[Element]]:
    return [[e for e in s.elements if e.name == "match"] for s in [root, *root.children("label")]]


def test_no_match_pattern_shadows_another(router):
    for matches in _scopes(router.root):
        for i, m in enumerate(matches):
            examples = _examples(m.arg)
            reachable = [t for t in examples if not any(glob_match(e.arg, t) for e in matches[:i])]
            assert reachable, f"<match {m.arg}> is shadowed by an earlier <match>"


def test_internal_tags_all_reach_an_output(router):
    """Every tag a rewrite rule can produce has a <match> in @TABLES."""
    tables = router.labels["@TABLES"]
    for rule in (r for e in router.root.walk() if e.get("@type") == "rewrite_tag_filter"
                 for r in e.children("rule")):
        tag = rule.get("tag").replace("${tag}", "app.x")
        tags = [tag.replace("$1", t) for t in ("access_log", "app_log", "raw_log")] if "$1" in tag else [tag]
        for t in tags:
            assert any(glob_match(m.arg, t) for m in tables.children("match")), t


def test_the_status_stream_is_printed_as_in_the_capture(router, fixtures_dir):
    (src,) = [e for e in router.root.children("source") if e.get("@type") == "monitor_agent"]
    assert src.get("tag") == "fluentd.status" and src.get("emit_interval")
    (out,) = [e for e in router.root.children("match") if e.arg == "fluentd.status"]
    assert out.get("@type") == "stdout" and not out.elements  # default format = the captured lines
    # the first <match> at the top level: nothing before it can take the status events
    assert router.root.children("match")[0] is out
    line = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{9} \+0000 fluentd\.status: \{.*\}$")
    lines = [x for x in (fixtures_dir / "fluentd" / "monitor_agent_stdout.log").read_text().splitlines()
             if x and not x.startswith("#")]
    assert lines and all(line.match(x) for x in lines)
    ids = {json.loads(x.split(": ", 1)[1])["plugin_id"] for x in lines}
    assert "out_stdout_status" in ids and "in_monitor_agent" in ids
    assert {"out_stdout_status", "in_monitor_agent", "in_forward"} <= {
        e.get("@id") for e in router.root.walk()}


def test_fluentd_own_logs_do_not_enter_the_routes(router):
    d = router.route("fluent.warn", {"message": "x"}, label="@FLUENT_LOG")
    assert d.plugin_type == "null"


def test_settings_come_from_the_environment_with_defaults():
    text = CONF.read_text()
    names = set(re.findall(r"ENV(?:\['|\.fetch\(')(\w+)'", text))
    assert names == set(SETTINGS)
    readme = (REPO / "fluentd" / "README.md").read_text()
    for name in SETTINGS:
        assert f"`{name}`" in readme, f"{name} is not documented in fluentd/README.md"
    root = parse(text)
    with pytest.raises(KeyError, match="LOGBRIDGE_BQ_PROJECT"):
        [expand(v, {}) for e in root.walk() for v in e.params.values()]
    env = {"LOGBRIDGE_BQ_PROJECT": "p"}
    values = {(e.get("@id"), k): expand(v, env) for e in root.walk() for k, v in e.params.items()
              if e.get("@id")}
    assert values[("out_bq_app_log", "auth_method")] == "application_default"
    assert values[("out_bq_app_log", "dataset")] == "logs"
    assert values[("in_monitor_agent", "emit_interval")] == "60"
    keyed = {**env, "LOGBRIDGE_BQ_KEY_PATH": "/run/secrets/k.json"}
    (o,) = [e for e in root.walk() if e.get("@id") == "out_bq_app_log"]
    assert expand(o.get("auth_method"), keyed) == "json_key"
    assert expand(o.get("json_key"), keyed) == "/run/secrets/k.json"
    (buf,) = o.children("buffer")
    assert expand(buf.get("path"), {"LOGBRIDGE_BUFFER_DIR": "/b"}) == "/b/bigquery/app_log"


# ------------------------------------------------------------------ partial messages

def test_docker_partial_messages_are_joined_before_parsing(router):
    rec = {"log_table": "app_log", "timestamp": "2026-11-28T10:00:00Z", "severity": "INFO",
           "message": "m" * 40_000, "log_id": "p1"}
    line = json.dumps(rec)
    pieces = [line[i:i + 16384] for i in range(0, len(line), 16384)]
    assert len(pieces) == 3
    events = []
    for n, piece in enumerate(pieces, start=1):
        meta = {"partial_message": "true", "partial_id": "abc", "partial_ordinal": str(n),
                "partial_last": "true" if n == len(pieces) else "false"}
        events.append(("app.api", {**docker(piece), **meta}))
    # another container's whole line in between is not held back
    events.insert(1, ("app.web", docker("plain")))
    out = router.route_stream(events, time=T0)
    assert [d.table for d in out] == [RAW_TABLE, DEFAULT_TABLE]
    joined = out[1].record
    assert joined["message"] == rec["message"] and joined["log_id"] == "p1"
    assert not any(k.startswith("partial_") for k in joined)


# ------------------------------------------------------------------ replay through shipper load

@pytest.mark.parametrize("table", ["access_log", "app_log", "raw_log"])
def test_a_secondary_row_with_its_table_put_back_routes_to_the_same_table(router, table):
    """README's replay recipe: rows of failed/<table>/ plus log_table -> shipper load's route."""
    from shipper.load._records import parse_line

    line = "not json" if table == RAW_TABLE else json.dumps(
        {"log_table": table, "timestamp": "2026-11-28T10:00:00Z", "severity": "INFO", "message": "m"})
    d = router.route("app.api", docker(line), time=T0)
    assert d.table == table
    replayed = json.dumps({**d.record, "log_table": table}).encode()
    assert parse_line(replayed, True, lambda: "2026-11-28T10:00:00Z").table == table


def test_a_structured_record_under_another_tag_still_reaches_its_table(router):
    """FluentSink(tag_prefix=...) other than `shipper`: the Docker path is a superset (no `log`:
    concat and parser leave the record alone, the same table rules apply)."""
    rec = {"log_table": "access_log", "timestamp": "2026-11-28T10:00:00Z", "severity": "INFO"}
    d = router.route("myco.api", rec, time=T0)
    assert d.table == "access_log" and d.record == {k: v for k, v in rec.items() if k != "log_table"}
