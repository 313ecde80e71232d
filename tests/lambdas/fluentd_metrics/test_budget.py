"""Issue 16, items 2 and 3: what hostile status records can make the Lambda publish. A budget of
distinct metrics per invocation, per plugin id and per hour; derived names never taken from
input; increases beyond CloudWatch's range dropped and counted. EMF mode: every published
metric is a line on stdout, read back here."""

from __future__ import annotations

import json

import pytest
from fm_testsupport import FIXTURE_NOW, emf_lines, load_handler, real_lines, summary_of
from hypothesis import given, settings
from hypothesis import strategies as st
from support_awslogs import build_subscription_event

load_handler()  # the Lambda's directory on sys.path, as the runtime has it
from fm_budget import Budget, Window  # noqa: E402

STATUS = real_lines("monitor_agent_stdout.log")
HEAD = "2026-11-28 09:40:{:02d}.{:06d} +0000 fluentd.status: "
GLOBAL = {"status_lines", "metrics_over_budget", "log_error_events"}


@pytest.fixture
def emf(h, monkeypatch):
    monkeypatch.setenv("METRICS_MODE", "emf")
    h.reset()
    return h


def event(lines, stream="fluentd/a"):
    return build_subscription_event(lines, log_group="/ecs/fluentd", log_stream=stream, timestamp_ms=0)


def published(out: str) -> dict[tuple[str, str], list]:
    """(metric name, PluginId or "") -> all values, from the EMF lines printed."""
    got: dict[tuple[str, str], list] = {}
    for doc in emf_lines(out):
        for m in doc["_aws"]["CloudWatchMetrics"][0]["Metrics"]:
            v = doc[m["Name"]]
            got.setdefault((m["Name"], doc.get("PluginId", "")), []).extend(v if isinstance(v, list) else [v])
    return got


def status(i: int, record: dict) -> str:
    return HEAD.format(i // 100_000 % 60, i % 100_000) + json.dumps(record)


def test_ten_thousand_plugin_ids_make_at_most_the_budget(emf, capsys):
    """Before: 160,001 custom metrics from one batch of 10,000 lines with 10,000 plugin ids."""
    lines = [status(i, {"plugin_id": f"out_{i:05d}", "plugin_category": "output", "retry_count": i,
                        "buffer_queue_length": 1, "buffer_total_queued_size": 5, "emit_records": 3})
             for i in range(10_000)]
    summary = emf.handler(event(lines), None)
    out = capsys.readouterr().out
    got = published(out)
    per_plugin = {key for key in got if key[0] not in GLOBAL}
    assert len(per_plugin) == 1000  # METRICS_MAX_METRICS_PER_INVOCATION's default, used to the last
    # the rest is dropped, counted in the summary and in one metric of its own (4 keys a plugin:
    # one line each and no previous value, so no increase)
    dropped = summary["over_budget_metrics"]
    assert dropped == 10_000 * 4 - 1000
    assert got[("metrics_over_budget", "")] == [dropped]
    # every line accounted for: folded, or skipped because nothing of its plugin fitted
    assert summary["status_lines"] + summary["skipped_by_reason"]["over_budget"] == 10_000
    warning = [json.loads(x) for x in out.splitlines() if '"metrics over budget"' in x]
    assert warning and warning[0]["dropped_metrics"] == dropped and len(warning[0]["plugins"]) <= 10


def test_one_plugin_with_ever_new_keys_is_capped_per_plugin(emf, capsys):
    """Before: 10,000 lines of one plugin, each with 16 new plausible keys: 160,002 metrics."""
    lines = [status(i, {"plugin_id": "out_bq", "buffer_queue_length": 1,
                        **{f"buffer_made_up_{i}_{k}": k for k in range(16)}}) for i in range(10_000)]
    summary = emf.handler(event(lines), None)
    got = published(capsys.readouterr().out)
    mine = {name for name, pid in got if pid == "out_bq"}
    assert len(mine) == 64 and "buffer_queue_length" in mine  # the catalog's names come first
    assert summary["over_budget_metrics"] == 10_000 * 16 + 1 - 64
    assert summary["status_lines"] == 10_000


def test_the_real_plugins_keep_their_metrics_under_a_flood_of_new_ids(emf, capsys):
    """A warm container that has published the real plugins admits them before new ids."""
    emf.handler(event(STATUS[:5]), None)  # one real tick: 5 plugins
    capsys.readouterr()
    flood = [status(i, {"plugin_id": f"forged_{i}", "retry_count": 1, "buffer_queue_length": 1,
                        "buffer_total_queued_size": 1, "emit_records": 1, "write_count": 1}) for i in range(5000)]
    emf.handler(event(flood + STATUS[5:10]), None)  # the real tick after the flood
    got = published(capsys.readouterr().out)
    real = {pid for _, pid in got if pid and not pid.startswith("forged_")}
    assert real == {"in_forward", "in_monitor_agent", "out_file_app", "out_stdout_status", "filter_parser_json"}
    assert ("retry_count_increase", "out_file_app") in got


def test_the_hourly_budget_holds_across_invocations(emf, capsys, monkeypatch):
    monkeypatch.setenv("METRICS_MAX_METRICS_PER_HOUR", "300")
    emf.reset()
    seen: set = set()
    for batch in range(10):  # each batch new made-up plugins: 500 metrics each, within the invocation's cap
        lines = [status(i, {"plugin_id": f"p{batch}_{i}", "buffer_queue_length": 1, "emit_records": 1,
                            "buffer_total_queued_size": 1, "buffer_stage_length": 1, "write_count": 1})
                 for i in range(100)]
        emf.handler(event(lines), None)
        seen |= {key for key in published(capsys.readouterr().out) if key[0] not in GLOBAL}
    assert len(seen) == 300
    # a new clock hour starts a new count
    monkeypatch.setattr(emf, "CLOCK", lambda: FIXTURE_NOW + 3600)
    emf.handler(event([status(1, {"plugin_id": "late", "buffer_queue_length": 1})]), None)
    assert ("buffer_queue_length", "late") in published(capsys.readouterr().out)


def test_a_forged_increase_is_not_published(emf, capsys):
    """Before: `"retry_count_increase": 999` in a status record fed the retries-rising alarm."""
    lines = [status(0, {"plugin_id": "out_bq", "retry_count": 5, "retry_count_increase": 999,
                        "log_flush_failed": 7, "status_lines": 3, "metrics_over_budget": 1}),
             status(1, {"plugin_id": "out_bq", "retry_count": 6, "retry_count_increase": 999})]
    summary = emf.handler(event(lines), None)
    got = published(capsys.readouterr().out)
    assert got[("retry_count_increase", "out_bq")] == [1]  # 6 - 5, computed here
    assert ("log_flush_failed", "out_bq") not in got and ("status_lines", "out_bq") not in got
    assert got[("status_lines", "")] == [1, 1] and ("metrics_over_budget", "") not in got
    assert summary["reserved_keys"] == 5


def test_a_null_derived_key_later_set_is_still_not_taken(emf, capsys):
    lines = [status(0, {"plugin_id": "out_bq", "retry_count": 5, "retry_count_increase": None}),
             status(1, {"plugin_id": "out_bq", "retry_count": 6, "retry_count_increase": 999})]
    emf.handler(event(lines), None)
    assert published(capsys.readouterr().out)[("retry_count_increase", "out_bq")] == [1]


def test_an_increase_beyond_two_to_the_360_is_dropped_and_counted(emf, capsys):
    """Before: retry_count from -2^360 to 2^360 published an increase of 4.7e108."""
    lines = [status(0, {"plugin_id": "out_bq", "retry_count": -2 ** 360}),
             status(1, {"plugin_id": "out_bq", "retry_count": 2 ** 360}),
             status(2, {"plugin_id": "out_bq", "retry_count": 2 ** 360 + 0})]
    summary = emf.handler(event(lines), None)
    got = published(capsys.readouterr().out)
    assert got[("retry_count_increase", "out_bq")] == [0]  # only the last interval, 2^360 -> 2^360
    assert summary["dropped_values"] == {"increase_out_of_range": 1}
    assert all(abs(v) <= 2 ** 360 for values in got.values() for v in values)


def test_a_negative_counter_gives_no_negative_increase(emf, capsys):
    lines = [status(0, {"plugin_id": "out_bq", "retry_count": 5}), status(1, {"plugin_id": "out_bq", "retry_count": -3}),
             status(2, {"plugin_id": "out_bq", "retry_count": 4})]
    summary = emf.handler(event(lines), None)
    got = published(capsys.readouterr().out)
    assert got[("retry_count_increase", "out_bq")] == [7]  # -3 -> 4; 5 -> -3 is no increase at all
    assert summary["dropped_values"] == {"increase_out_of_range": 1}


@pytest.mark.parametrize("env", [{"METRICS_MAX_METRICS_PER_INVOCATION": "0"}, {"METRICS_MAX_METRICS_PER_PLUGIN": "x"},
                                 {"METRICS_MAX_METRICS_PER_HOUR": "-1"}, {"METRICS_MAX_METRICS_PER_PLUGIN": "nan"}])
def test_bad_budget_settings_fail_the_cold_start(h, monkeypatch, env):
    from fm_config import ConfigError

    for k, v in env.items():
        monkeypatch.setenv(k, v)
    with pytest.raises(ConfigError):
        h.handler(event(STATUS[:1]), None)


# -- the budget itself, any sequence of admissions ---------------------------------------------------

@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from([f"p{i}" for i in range(8)]),
                          st.sets(st.sampled_from([f"m{i}" for i in range(12)] + ["retry_count_increase",
                                                                                  "buffer_queue_length"]),
                                  max_size=8)), max_size=30),
       st.integers(1, 40), st.integers(1, 10), st.integers(1, 60), st.integers(1, 3))
def test_the_budget_never_admits_more_than_its_caps(calls, per_invocation, per_plugin, per_hour, n_sets):
    window = Window()
    budget = Budget(per_invocation, per_plugin, per_hour, window, FIXTURE_NOW, "", n_sets)
    asked: dict[str, set] = {}
    for pid, names in calls:
        kept = budget.admit(pid, names)
        asked.setdefault(pid, set()).update(names)
        assert kept <= asked[pid]
    total = sum(len(k) for k in budget.kept.values())
    assert all(len(k) <= per_plugin for k in budget.kept.values())
    assert total * n_sets <= per_invocation and window.used <= per_hour
    # every name asked is either kept or counted as dropped, never both, never forgotten
    for pid, names in asked.items():
        assert budget.kept.get(pid, set()) | budget.dropped.get(pid, set()) == names
        assert not budget.kept.get(pid, set()) & budget.dropped.get(pid, set())
    assert budget.dropped_metrics == sum(len(d) for d in budget.dropped.values()) * n_sets


def test_the_budget_keeps_alarmed_then_known_then_guessed_names():
    budget = Budget(1000, 3, 1000, Window(), FIXTURE_NOW, "", 1)
    kept = budget.admit("out_bq", ["buffer_made_up_size", "emit_size", "retry_count_increase", "write_count",
                                   "buffer_total_queued_size"])
    assert kept == {"retry_count_increase", "buffer_total_queued_size", "write_count"}
    assert budget.dropped["out_bq"] == {"buffer_made_up_size", "emit_size"}


def test_summary_and_published_counts_agree_with_a_plain_count(emf, capsys):
    """The default caps on a normal fluentd: nothing dropped (the fixture's 5 plugins)."""
    summary = emf.handler(event(STATUS), None)
    assert summary["over_budget_metrics"] == 0 and "over_budget" not in summary["skipped_by_reason"]
    out = capsys.readouterr().out
    assert ("metrics_over_budget", "") not in published(out)
    assert summary_of(out)["over_budget_metrics"] == 0


def test_warn_lines_naming_made_up_plugins_are_capped_too(emf, capsys, monkeypatch):
    """No status line at all, 5,000 plugin ids in fluentd-shaped warn lines: the same budget."""
    monkeypatch.setenv("METRICS_MAX_METRICS_PER_INVOCATION", "100")
    emf.reset()
    lines = [f"2026-11-28 09:40:{i % 60:02d} +0000 [warn]: #0 [forged_{i}] failed to flush the buffer. retry_times=0"
             for i in range(5000)]
    summary = emf.handler(event(lines), None)
    got = published(capsys.readouterr().out)
    assert len([k for k in got if k[0] == "log_flush_failed"]) == 100
    assert summary["over_budget_metrics"] == 4900 and got[("metrics_over_budget", "")] == [4900]
    assert summary["log_event_lines"] == 100 and summary["skipped_by_reason"] == {"over_budget": 4900}
    assert summary["log_event_lines"] + summary["skipped"] == summary["lines"] == 5000
