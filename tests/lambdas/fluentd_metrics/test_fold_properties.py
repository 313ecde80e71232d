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
