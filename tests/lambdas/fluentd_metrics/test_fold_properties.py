"""Properties of the fold: increases of cumulative counters, and nothing lost in Values/Counts."""

from __future__ import annotations

from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st

from fm_testsupport import FIXTURE_NOW, load_handler

load_handler()
from fm_config import Config  # noqa: E402
from fm_fold import Folder  # noqa: E402
from fm_lines import Status  # noqa: E402

T0 = FIXTURE_NOW - 3600


def fold(values, state=None, start=T0):
    f = Folder(Config(), FIXTURE_NOW, {} if state is None else state, "g", "s")
    for i, v in enumerate(values):
        f.add_status(Status(start + 5 * i, "t", "out_x",
                            {"plugin_id": "out_x", "retry_count": v, "buffer_queue_length": v % 7}))
    return f


def published(f, name):
    out = []
    for d in f.datums():
        if d.name == name:
            for v, c in zip(d.values, d.counts):
                out.extend([v] * c)
    return out


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=10**6), min_size=1, max_size=400))
def test_increases_are_never_negative_and_add_up(values):
    f = fold(values)
    inc = published(f, "retry_count_increase")
    assert len(inc) == len(values) - 1 and all(x >= 0 for x in inc)
    # a drop is a restart: the increase is the new value (counted from 0)
    assert sum(inc) == sum(b - a if b >= a else b for a, b in zip(values, values[1:]))
    assert f.stats.counter_resets == sum(1 for a, b in zip(values, values[1:]) if b < a)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=1000), min_size=2, max_size=200),
       st.integers(min_value=1, max_value=199))
def test_carried_state_makes_two_batches_count_like_one(values, cut):
    cut = min(cut, len(values) - 1)
    state: dict = {}
    a = published(fold(values[:cut], state), "retry_count_increase")
    b = published(fold(values[cut:], state, start=T0 + 5 * cut), "retry_count_increase")
    assert Counter(a + b) == Counter(published(fold(values), "retry_count_increase"))


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=10**9), min_size=1, max_size=1000))
def test_values_and_counts_keep_every_data_point(values):
    f = fold(values)
    got = published(f, "buffer_queue_length")
    assert Counter(got) == Counter(v % 7 for v in values)
    assert Counter(published(f, "retry_count")) == Counter(values)
    assert all(len(d.values) <= 150 and len(d.values) == len(d.counts) for d in f.datums())
    assert sum(published(f, "status_lines")) == len(values)


# -- the columnar fold equals the per-line fold ------------------------------------------------

KEYS = ["retry_count", "write_count", "buffer_queue_length", "buffer_total_queued_size", "emit_records"]
counter = st.integers(0, 10**6)
junk = st.sampled_from([None, float("nan"), "12", 2 ** 400, -3, 2.5])
# mostly clean lines with the plugin's usual keys (long runs: the columnar path), sometimes junk,
# a missing key or a restart (a counter that goes down)
value = st.one_of(*[counter] * 12, junk)
record = st.one_of(*[st.fixed_dictionaries({k: value for k in KEYS})] * 6,
                   st.dictionaries(st.sampled_from(KEYS), value, min_size=1))
line = st.tuples(
    st.sampled_from(["out_a", "out_a", "out_b", "in_c"]),  # plugin
    st.sampled_from([5] * 12 + [0, -5, 1200, 61]),  # seconds after the previous line: dupes, late, gaps
    record,
)


def fold_lines(lines, columnar, state, start=T0, res=60):
    from dataclasses import replace

    f = Folder(replace(Config(), storage_resolution=res), FIXTURE_NOW, state, "g", "s", columnar=columnar)
    t = start
    for pid, step, rec in lines:
        t += step
        f.add_status(Status(t, "t", pid, {"plugin_id": pid, **rec}))
    return f


def snapshot(f):
    series = [(b, d, sorted((n, u, repr(v)) for n, u, v in m)) for b, d, m in f.series()]
    return series, f.stats, dict(f.state)


@settings(max_examples=300, deadline=None)
@given(st.lists(line, max_size=120), st.lists(line, max_size=40), st.sampled_from([1, 60]))
def test_columnar_fold_equals_the_per_line_fold(first, second, res):
    """Duplicates, late lines, gaps above carry_max_age, restarts, keys that change, nulls, NaN,
    strings and huge numbers: the columnar path publishes exactly what the per-line path does,
    counts the same, and carries the same state into the next batch."""
    state_a: dict = {}
    state_b: dict = {}
    a = fold_lines(first, True, state_a, res=res)
    b = fold_lines(first, False, state_b, res=res)
    assert snapshot(a) == snapshot(b)
    # the next batch starts from the carried state
    a2 = fold_lines(second, True, state_a, start=T0 + 3000, res=res)
    b2 = fold_lines(second, False, state_b, start=T0 + 3000, res=res)
    assert snapshot(a2) == snapshot(b2)


def test_a_regular_run_takes_the_columnar_path(monkeypatch):
    """Only the first line of a run with increasing times goes line by line."""
    import fm_fold

    rows = []
    real = fm_fold.Folder._increase_row
    monkeypatch.setattr(fm_fold.Folder, "_increase_row", lambda self, *a: rows.append(a) or real(self, *a))
    lines = [("out_a", 5, {"retry_count": i, "buffer_queue_length": 3}) for i in range(50)]
    columnar = snapshot(fold_lines(lines, True, {}))  # lines are folded when the series is read
    assert len(rows) == 1
    per_line = snapshot(fold_lines(lines, False, {}))
    assert len(rows) == 1 + 50
    assert columnar == per_line


def test_a_bug_while_folding_one_plugin_costs_that_plugin_only(monkeypatch):
    import fm_fold

    real = fm_fold.Folder._fold_run

    def flaky(self, run, prev, out, counts):
        if run.plan.keys == ("retry_count",):
            raise KeyError("simulated bug")
        return real(self, run, prev, out, counts)

    monkeypatch.setattr(fm_fold.Folder, "_fold_run", flaky)
    f = Folder(Config(), FIXTURE_NOW, {}, "g", "s")
    for i in range(10):
        f.add_status(Status(T0 + 5 * i, "t", "out_bad", {"plugin_id": "out_bad", "retry_count": i}))
        f.add_status(Status(T0 + 5 * i, "t", "out_ok", {"plugin_id": "out_ok", "write_count": i}))
    names = {(d.name, d.dims) for d in f.datums()}
    assert ("write_count_increase", (("PluginId", "out_ok"),)) in names
    assert not any(dict(dims).get("PluginId") == "out_bad" for _, dims in names)
    assert f.stats.skipped == {"internal_error": 10} and f.stats.status_lines == 10
    assert sum(published(f, "status_lines")) == 10
    assert f.errors and "out_bad" in f.errors[0] and "simulated bug" in f.errors[0]


@settings(max_examples=500, deadline=None)
@given(st.floats(min_value=-30 * 86400, max_value=30 * 86400, allow_nan=False),
       st.floats(min_value=1.7e9, max_value=1.9e9, allow_nan=False), st.sampled_from([1, 60]))
def test_the_status_window_test_is_the_bucket_window(offset, now, res):
    """add_status compares a line's time with precomputed bounds; log lines bucket first. Both
    must take and refuse the same times (CloudWatch's two weeks back, two hours ahead)."""
    f = Folder(Config(storage_resolution=res), now, {}, "g", "s")
    ts = now + offset
    assert (f._ts_lo <= ts < f._ts_hi) == (f._bucket(ts) is not None)
