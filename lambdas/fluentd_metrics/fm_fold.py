"""Fold parsed lines into CloudWatch data points, one datum per metric, dimensions and minute.

CloudWatch stores standard-resolution metrics per minute, so every value one metric gets within a
minute is folded into one datum's ``Values``/``Counts`` (up to 150 distinct values each): the
statistics CloudWatch keeps (Sum, Minimum, Maximum, SampleCount, percentiles) are the same as
with one datum per line, at a fraction of the API calls.

Increases of cumulative counters need the previous value of the same counter from the same
fluentd (log stream) and plugin. ``state`` holds it: a fresh dict per invocation (increases only
within the batch) or a dict that lives as long as the warm Lambda container (see the README for
why that is only exact with reserved concurrency 1).
"""

from __future__ import annotations

from collections import Counter as CounterType
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from operator import itemgetter, sub
from typing import Any, NamedTuple

import fm_catalog as cat
from fm_config import Config
from fm_lines import _LIMIT, LogEvent, Status, number

TWO_WEEKS = 14 * 24 * 3600
TWO_HOURS = 2 * 3600
# Stay this far inside CloudWatch's window: the call happens a moment after the check.
WINDOW_MARGIN = 120
MAX_VALUES_PER_DATUM = 150
MAX_STATE_ENTRIES = 20_000

_NON_METRIC_KEYS = frozenset({"plugin_id", "plugin_category", "type", "output_plugin", "buffer_timekeys",
                              "retry", "config"}) | cat.NOT_METRICS
_KNOWN = {**cat.COUNTERS, **cat.GAUGES}


@dataclass(slots=True)
class Datum:
    """One MetricDatum: a metric at one time with its folded values."""

    name: str
    unit: str
    dims: tuple[tuple[str, str], ...]
    ts: float
    values: tuple[float, ...]
    counts: tuple[int, ...]

    @property
    def timestamp(self) -> datetime:
        return datetime.fromtimestamp(self.ts, tz=timezone.utc)


@dataclass(slots=True)
class Previous:
    ts: float
    names: tuple[str, ...]
    values: tuple[Any, ...]


class _Plan(NamedTuple):
    keys: tuple[str, ...]  # record keys published as metrics, in record order
    counter_names: tuple[str, ...]
    take_counters: Callable[[Any], tuple[Any, ...]]  # values -> the cumulative counters' values
    increase_names: tuple[str, ...]
    ignored: int  # keys that look like neither a known nor a plausible metric
    nulls: tuple[str, ...]  # metric-looking keys that were null when the shape was planned
    take: Callable[[Any], tuple[Any, ...]]  # record -> the values of keys, in C


def _getter(keys: Sequence[Any]) -> Callable[[Any], tuple[Any, ...]]:
    """operator.itemgetter that always returns a tuple (itemgetter of one key returns the item)."""
    if not keys:
        return lambda _obj: ()
    if len(keys) == 1:
        k = keys[0]
        return lambda obj: (obj[k],)
    return itemgetter(*keys)


def _all_keys(plan: _Plan) -> list[str]:
    """The plan's keys plus those that were null, in a stable order, for the general path."""
    return list(plan.keys) + [k for k in plan.nulls if k in _KNOWN or cat.UNKNOWN_KEY_RE.match(k)]


Dims = tuple[tuple[str, str], ...]
_STATUS_NAMES = (cat.STATUS_LINES,)
_ONE = (1.0,)


@dataclass
class Stats:
    status_lines: int = 0
    log_event_lines: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    dropped_values: dict[str, int] = field(default_factory=dict)
    ignored_keys: int = 0
    counter_resets: int = 0

    def skip(self, reason: str, n: int = 1) -> None:
        self.skipped[reason] = self.skipped.get(reason, 0) + n

    def drop(self, reason: str) -> None:
        self.dropped_values[reason] = self.dropped_values.get(reason, 0) + 1


class Folder:
    def __init__(self, config: Config, now: float, state: dict[tuple[str, str, str], Previous],
                 log_group: str, log_stream: str) -> None:
        self.config = config
        self.res = config.storage_resolution
        self.oldest = now - TWO_WEEKS + WINDOW_MARGIN
        self.newest = now + TWO_HOURS - WINDOW_MARGIN
        self.state = state
        self.group = log_group
        self.stream = log_stream
        self.stats = Stats()
        # (bucket, dims) -> metric names of a row shape -> rows of values (one row per line)
        self.acc: dict[tuple[float, Dims], dict[tuple[str, ...], list[Any]]] = {}
        self._plans: dict[tuple[str, ...], _Plan] = {}
        self._groups_cache: dict[tuple[float, str], tuple[list[Any], list[Any]]] = {}
        self._dims_cache: dict[str, list[tuple[tuple[str, str], ...]]] = {}
        base = {"LogStream": log_stream, "LogGroup": log_group}
        glob: list[tuple[tuple[str, str], ...]] = []
        for keys in config.dimension_sets:
            d = tuple((k, base[k]) for k in keys if k != "PluginId")
            if d not in glob:
                glob.append(d)
        self._global_dims = glob

    # -- dimensions ---------------------------------------------------------------------------
    def _plugin_dims(self, plugin_id: str) -> list[tuple[tuple[str, str], ...]]:
        dims = self._dims_cache.get(plugin_id)
        if dims is None:
            vals = {"PluginId": plugin_id, "LogStream": self.stream, "LogGroup": self.group}
            dims = [tuple((k, vals[k]) for k in keys) for keys in self.config.dimension_sets]
            self._dims_cache[plugin_id] = dims
        return dims

    def _bucket(self, ts: float) -> float | None:
        bucket = ts - ts % self.res
        if bucket < self.oldest or bucket > self.newest:
            return None
        return bucket

    def _group(self, bucket: float, dims: Dims) -> dict[tuple[str, ...], list[Any]]:
        key = (bucket, dims)
        g = self.acc.get(key)
        if g is None:
            g = self.acc[key] = {}
        return g

    # -- lines --------------------------------------------------------------------------------
    def _plan(self, shape: tuple[str, ...], record: dict[str, Any]) -> _Plan:
        """Which keys of a record with these keys are metrics. fluentd prints the same keys for a
        plugin on every tick, so this is worked out once per plugin shape, not once per line.
        Keys that were null when the shape was first seen are left out while they stay null
        (checked on every line; a line where one is not null takes the general path)."""
        plan = self._plans.get(shape)
        if plan is None:
            keys: list[str] = []
            nulls: list[str] = []
            ignored = unknown = 0
            for key in shape:
                if record[key] is None:  # e.g. retry_count of inputs and filters: not a value
                    nulls.append(key)
                elif key in _KNOWN:
                    keys.append(key)
                elif key in _NON_METRIC_KEYS:
                    continue
                elif unknown < cat.MAX_UNKNOWN_KEYS and cat.UNKNOWN_KEY_RE.match(key):
                    unknown += 1
                    keys.append(key)
                else:
                    ignored += 1
            counters = tuple(i for i, k in enumerate(keys) if k in cat.COUNTERS)
            plan = _Plan(tuple(keys), tuple(keys[i] for i in counters), _getter(counters),
                         tuple(keys[i] + cat.INCREASE_SUFFIX for i in counters), ignored, tuple(nulls),
                         _getter(keys))
            if len(self._plans) > 1000:
                self._plans.clear()
            self._plans[shape] = plan
        return plan

    def _groups(self, bucket: float, plugin_id: str) -> tuple[list[dict[tuple[str, ...], list[Any]]],
                                                              list[dict[tuple[str, ...], list[Any]]]]:
        """The accumulators a line of this plugin in this bucket adds to: one per plugin dimension
        set, and one per global set (status_lines). Cached: a tick's lines share their bucket."""
        key = (bucket, plugin_id)
        got = self._groups_cache.get(key)
        if got is None:
            got = ([self._group(bucket, d) for d in self._plugin_dims(plugin_id)],
                   [self._group(bucket, d) for d in self._global_dims])
            if len(self._groups_cache) > 10_000:
                self._groups_cache.clear()
            self._groups_cache[key] = got
        return got

    def add_status(self, st: Status) -> None:
        ts = st.ts
        bucket = ts - ts % self.res
        if bucket < self.oldest or bucket > self.newest:
            self.stats.skip("out_of_window")
            return
        self.stats.status_lines += 1
        record = st.record
        shape = tuple(record)
        plan = self._plans.get(shape) or self._plan(shape, record)
        if plan.ignored:
            self.stats.ignored_keys += plan.ignored
        values = plan.take(record)
        if _all_valid(values) and (not plan.nulls or _all_null(record, plan.nulls)):
            names, counter_names = plan.keys, plan.counter_names
            counter_values = plan.take_counters(values)
            inc_names = plan.increase_names
        else:  # a null (inputs' retry_count), a string, NaN or a huge number: keep the good ones
            kept = [(k, number(record[k])) for k in _all_keys(plan)]
            for _, v in kept:
                if v is False:
                    self.stats.drop("non_finite_or_out_of_range")
            kept = [(k, v) for k, v in kept if v is not None and v is not False]
            names = tuple(k for k, _ in kept)
            values = tuple(v for _, v in kept)
            counter_names = tuple(k for k in names if k in cat.COUNTERS)
            counter_values = tuple(v for k, v in kept if k in cat.COUNTERS)
            inc_names = tuple(k + cat.INCREASE_SUFFIX for k in counter_names)
        increases = self._increases(st, counter_names, counter_values, inc_names) if counter_names else None
        plugin_groups, global_groups = self._groups(bucket, st.plugin_id)
        for g in plugin_groups:
            if names:
                rows = g.get(names)
                if rows is None:
                    g[names] = [values]
                else:
                    rows.append(values)
            if increases is not None:
                rows = g.get(increases[0])
                if rows is None:
                    g[increases[0]] = [increases[1]]
                else:
                    rows.append(increases[1])
        for g in global_groups:
            rows = g.get(_STATUS_NAMES)
            if rows is None:
                g[_STATUS_NAMES] = [_ONE]
            else:
                rows.append(_ONE)

    def _increases(self, st: Status, names: tuple[str, ...], values: tuple[Any, ...],
                   inc_names: tuple[str, ...]) -> tuple[tuple[str, ...], list[Any]] | None:
        """Increase of each cumulative counter since the previous line of this plugin and stream,
        as (metric names, values), or None without a usable previous value.

        A counter that went down means fluentd restarted: it counted up from 0 since, so the
        increase is its new value (as Prometheus' increase() does), never a negative number.
        A line not newer than the previous one (a duplicate, or out of order) adds nothing and
        does not move the previous value back: intervals never overlap, so nothing is counted twice.
        """
        key = (self.group, self.stream, st.plugin_id)
        prev = self.state.get(key)
        out: tuple[tuple[str, ...], list[Any]] | None = None
        if prev is not None:
            if st.ts <= prev.ts:
                return None
            if st.ts - prev.ts <= self.config.carry_max_age:
                if prev.names == names:
                    diffs = list(map(sub, values, prev.values))
                    if min(diffs) < 0:
                        self.stats.counter_resets += 1
                        diffs = list(values)
                    out = (inc_names, diffs)
                else:  # the plugin's keys changed: match by name; a counter new to it has no increase
                    old = dict(zip(prev.names, prev.values))
                    both = [(k, v, old[k]) for k, v in zip(names, values) if k in old]
                    restart = any(v < o for _, v, o in both)
                    if restart:
                        self.stats.counter_resets += 1
                    if both:
                        out = (tuple(k + cat.INCREASE_SUFFIX for k, _, _ in both),
                               [v if restart else v - o for _, v, o in both])
        elif len(self.state) >= MAX_STATE_ENTRIES:
            self.state.clear()
        self.state[key] = Previous(st.ts, names, values)
        return out

    def add_log_event(self, ev: LogEvent) -> None:
        bucket = self._bucket(ev.ts)
        if bucket is None:
            self.stats.skip("out_of_window")
            return
        self.stats.log_event_lines += 1
        names = (cat.LOG_EVENT_METRICS[ev.event],)
        for dims in self._plugin_dims(ev.plugin_id):
            g = self._group(bucket, dims)
            rows = g.get(names)
            if rows is None:
                g[names] = [_ONE]
            else:
                rows.append(_ONE)

    # -- output -------------------------------------------------------------------------------
    def series(self) -> Iterator[tuple[float, Dims, list[tuple[str, str, list[float]]]]]:
        """Per (minute, dimensions), in time order: every metric with all its values (one per line
        that reported it, unfolded)."""
        unit_of = _unit_cache
        for (bucket, dims), plans in sorted(self.acc.items(), key=lambda kv: kv[0]):
            merged: dict[str, list[float]] = {}
            for names, rows in plans.items():
                cols = zip(*rows) if len(names) > 1 else ([r[0] for r in rows],)
                for name, col in zip(names, cols):
                    have = merged.get(name)
                    # ints stay ints: JSON (EMF) and botocore's Double both take them as they are
                    if have is None:
                        merged[name] = list(col)
                    else:
                        have.extend(col)
            out = []
            for name, values in merged.items():
                unit = unit_of.get(name)
                if unit is None:
                    unit = unit_of[name] = cat.unit_of(name)
                out.append((name, unit, values))
            yield bucket, dims, out

    def datums(self) -> list[Datum]:
        """The folded data points: repeated values become Values/Counts; a metric with more than
        150 distinct values in one bucket becomes several datums with the same timestamp
        (CloudWatch adds them up)."""
        result: list[Datum] = []
        for bucket, dims, metrics in self.series():
            for name, unit, values in metrics:
                items = list(CounterType(values).items())
                for i in range(0, len(items), MAX_VALUES_PER_DATUM):
                    part = items[i:i + MAX_VALUES_PER_DATUM]
                    result.append(Datum(name, unit, dims, bucket, tuple(v for v, _ in part),
                                        tuple(c for _, c in part)))
        return result


def _all_valid(values: tuple[Any, ...]) -> bool:
    """True when every value is a number CloudWatch takes as it is (the common case), checked
    with C-level builtins: only ints and floats, a finite sum (so no NaN or ±inf), and all within
    ±2^360. A False here only sends the line down the slower per-value path."""
    if not values or not _NUM_TYPES.issuperset(map(type, values)):
        return not values
    total = sum(values)
    return total - total == 0 and -_LIMIT <= min(values) and max(values) <= _LIMIT


def _all_null(record: dict[str, Any], keys: tuple[str, ...]) -> bool:
    for k in keys:
        if record[k] is not None:
            return False
    return True


_NUM_TYPES = frozenset({int, float})


_unit_cache: dict[str, str] = {}
