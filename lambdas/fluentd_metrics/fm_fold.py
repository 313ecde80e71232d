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

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import compress, repeat
from operator import itemgetter, lt, sub
from typing import Any, NamedTuple

import fm_catalog as cat
from fm_budget import Budget, Window
from fm_config import Config
from fm_lines import _LIMIT, LogEvent, Status, number

try:
    from _collections import _count_elements  # what Counter(iterable) runs, in C (CPython)
except ImportError:  # pragma: no cover - other interpreters
    def _count_elements(mapping: dict[Any, int], iterable: Any) -> None:
        for elem in iterable:
            mapping[elem] = mapping.get(elem, 0) + 1

TWO_WEEKS = 14 * 24 * 3600
TWO_HOURS = 2 * 3600
# Stay this far inside CloudWatch's window: the call happens a moment after the check.
WINDOW_MARGIN = 120
MAX_VALUES_PER_DATUM = 150
MAX_STATE_ENTRIES = 20_000

_NON_METRIC_KEYS = frozenset({"plugin_id", "plugin_category", "type", "output_plugin", "buffer_timekeys",
                              "retry", "config"}) | cat.NOT_METRICS
_KNOWN = {**cat.COUNTERS, **cat.GAUGES}


class Datum(NamedTuple):
    """One MetricDatum: a metric at one time with its folded values."""

    name: str
    unit: str
    dims: tuple[tuple[str, str], ...]
    ts: float
    values: tuple[float, ...]
    counts: tuple[int, ...]


# A batch makes about one Datum per line: built with tuple.__new__ (one C call), not through
# the generated __new__ (a Python frame each).
_new_datum = tuple.__new__


# The last counter values of a plugin in a stream: (line time, counter names, their values).
Previous = tuple[float, tuple[str, ...], tuple[Any, ...]]


class _Plan(NamedTuple):
    keys: tuple[str, ...]  # record keys published as metrics, in record order
    counter_names: tuple[str, ...]
    increase_names: tuple[str, ...]
    ignored: int  # keys not taken: neither known nor plausible, or naming a derived metric
    nulls: tuple[str, ...]  # metric keys that were null when the shape was planned
    take: Callable[[Any], tuple[Any, ...]]  # record -> the values of keys, in C
    counter_idx: tuple[int, ...]  # positions of the counters in keys
    reserved: int  # keys naming a derived metric (e.g. retry_count_increase): never taken
    names: frozenset[str]  # every metric name this plan can publish (keys and increases)
    checked: bool  # rows of this plan passed _all_valid: each value in [0, 2^360], so every increase is


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
    return list(plan.keys) + list(plan.nulls)


Dims = tuple[tuple[str, str], ...]


@dataclass
class Stats:
    status_lines: int = 0  # folded into metrics (counted when the batch is folded)
    log_event_lines: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    dropped_values: dict[str, int] = field(default_factory=dict)
    ignored_keys: int = 0
    reserved_keys: int = 0  # keys naming a derived metric, never taken from input
    over_budget_metrics: int = 0  # distinct metrics (name x dimensions) the budget dropped
    counter_resets: int = 0

    def skip(self, reason: str, n: int = 1) -> None:
        self.skipped[reason] = self.skipped.get(reason, 0) + n

    def drop(self, reason: str, n: int = 1) -> None:
        self.dropped_values[reason] = self.dropped_values.get(reason, 0) + n


class _Run:
    """Consecutive status lines of one plugin that share a plan: their times and value rows."""

    __slots__ = ("plan", "rows", "ts")

    def __init__(self, plan: _Plan) -> None:
        self.plan = plan
        self.ts: list[float] = []
        self.rows: list[tuple[Any, ...]] = []


class Folder:
    """Collects one batch's lines, then turns them into per-minute values of every metric.

    While lines come in, a status line is only checked and appended to its plugin's current run
    (consecutive lines with the same keys). The work per metric - minute buckets, increases of the
    cumulative counters - is done once per run at the end, on whole columns with C-level
    map/zip/slices instead of a Python step per line and metric: in a 10,000-line batch that was
    most of the handler's CPU. `_increase_row` defines the semantics, line by line; it handles the
    first line of every run and any run whose times are not strictly increasing or have a gap
    above carry_max_age. ``columnar=False`` sends every line that way (the tests hold both paths to
    the same output).
    """

    def __init__(self, config: Config, now: float, state: dict[tuple[str, str, str], Previous],
                 log_group: str, log_stream: str, *, columnar: bool = True, window: Window | None = None) -> None:
        self.config = config
        self.res = config.storage_resolution
        self.now = now
        scope = ",".join(v for k, v in (("LogGroup", log_group), ("LogStream", log_stream))
                         if any(k in keys for keys in config.dimension_sets))
        self.budget = Budget(config.max_metrics_per_invocation, config.max_metrics_per_plugin,
                             config.max_metrics_per_hour, Window() if window is None else window, now,
                             scope, len(config.dimension_sets))
        self.oldest = now - TWO_WEEKS + WINDOW_MARGIN
        self.newest = now + TWO_HOURS - WINDOW_MARGIN
        # The same window for a line's own time: its bucket (a multiple of res) is in
        # [oldest, newest] exactly when the time is in [first bucket >= oldest, last bucket + res).
        res = self.res
        self._ts_lo = self.oldest - self.oldest % res + (res if self.oldest % res else 0)
        self._ts_hi = self.newest - self.newest % res + res
        self.state = state
        self.group = log_group
        self.stream = log_stream
        self.stats = Stats()
        self.columnar = columnar
        self.errors: list[str] = []  # internal errors while folding a plugin's lines (logged by the handler)
        self._runs: dict[str, list[_Run]] = {}  # plugin id -> its runs, in arrival order
        self._status_lines: dict[float, int] = {}  # bucket -> status lines folded (status_lines metric)
        self._global: dict[float, dict[str, list[Any]]] = {}  # bucket -> metrics without PluginId
        self._log_names: dict[str, set[str]] = {}  # plugin id -> log metric names it got
        # (bucket, plugin id) -> metric name -> values, in arrival order
        self._acc: dict[tuple[float, str], dict[str, list[Any]]] = {}
        self._plans: dict[tuple[str, ...], _Plan] = {}
        self._general_plans: dict[tuple[str, ...], _Plan] = {}
        self._dims_cache: dict[str, list[Dims]] = {}
        base = {"LogStream": log_stream, "LogGroup": log_group}
        glob: list[Dims] = []
        for keys in config.dimension_sets:
            d = tuple((k, base[k]) for k in keys if k != "PluginId")
            if d not in glob:
                glob.append(d)
        self._global_dims = glob

    # -- dimensions ---------------------------------------------------------------------------
    def _plugin_dims(self, plugin_id: str) -> list[Dims]:
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
            ignored = unknown = reserved = 0
            for key in shape:
                if key in _KNOWN:
                    (nulls if record[key] is None else keys).append(key)  # null: e.g. retry_count of inputs
                elif key in _NON_METRIC_KEYS:
                    continue
                elif cat.is_reserved(key):
                    reserved += 1
                elif unknown < cat.MAX_UNKNOWN_KEYS and cat.UNKNOWN_KEY_RE.match(key):
                    unknown += 1
                    (nulls if record[key] is None else keys).append(key)
                else:
                    ignored += 1
            plan = _plan_for(tuple(keys), ignored + reserved, tuple(nulls), reserved)
            if len(self._plans) > 1000:
                self._plans.clear()
            self._plans[shape] = plan
        return plan

    def _general(self, plan: _Plan, record: dict[str, Any]) -> tuple[_Plan, tuple[Any, ...]]:
        """A line the plan's fast check refused (a null key that now has a value, a string, NaN,
        a huge number): keep its good values, count the bad ones."""
        kept = [(k, number(record[k])) for k in _all_keys(plan)]
        for _, v in kept:
            if v is False:
                self.stats.drop("non_finite_or_out_of_range")
        kept = [(k, v) for k, v in kept if v is not None and v is not False]
        names = tuple(k for k, _ in kept)
        general = self._general_plans.get(names)
        if general is None:
            general = _plan_for(names, plan.ignored, (), plan.reserved, checked=False)
            if len(self._general_plans) > 1000:
                self._general_plans.clear()
            self._general_plans[names] = general
        return general, tuple(v for _, v in kept)

    def add_status(self, st: Status) -> None:
        ts = st.ts
        if not self._ts_lo <= ts < self._ts_hi:  # (the bucket's window, without a bucket per line)
            self.stats.skip("out_of_window")
            return
        record = st.record
        shape = tuple(record)
        plan = self._plans.get(shape) or self._plan(shape, record)
        values = plan.take(record)  # type: ignore[misc]
        if plan.ignored:
            self.stats.ignored_keys += plan.ignored
            if plan.reserved:
                self.stats.reserved_keys += plan.reserved
        if not (_all_valid(values) and (not plan.nulls or _all_null(record, plan.nulls))):
            plan, values = self._general(plan, record)
        runs = self._runs.get(st.plugin_id)
        if runs is None:
            run = _Run(plan)
            self._runs[st.plugin_id] = [run]
        else:
            run = runs[-1]
            if run.plan is not plan:
                run = _Run(plan)
                runs.append(run)
        run.ts.append(ts)
        run.rows.append(values)

    def add_log_event(self, ev: LogEvent) -> None:
        bucket = self._bucket(ev.ts)
        if bucket is None:
            self.stats.skip("out_of_window")
            return
        self.stats.log_event_lines += 1
        if ev.plugin_id == "":  # fluentd's router: no plugin named
            _append(self._global.setdefault(bucket, {}), cat.GLOBAL_LOG_EVENT_METRICS[ev.event], 1)
            return
        key = (bucket, ev.plugin_id)
        metrics = self._acc.get(key)
        if metrics is None:
            metrics = self._acc[key] = {}
        name = cat.LOG_EVENT_METRICS[ev.event]
        names = self._log_names.setdefault(ev.plugin_id, set())
        names.add(name)
        _append(metrics, name, 1)
        if ev.event == "insert_errors":
            names.add(cat.INSERT_ERROR_ROWS)
            _append(metrics, cat.INSERT_ERROR_ROWS, ev.rows)

    # -- folding ------------------------------------------------------------------------------
    def _finish(self) -> None:
        """Fold the runs collected so far into per-minute values, and carry each plugin's last
        counter values in ``state``. Idempotent; lines added afterwards are folded by the next call.
        A bug while folding one plugin costs that plugin's lines (counted and kept in
        ``errors``), not the batch."""
        runs_by_plugin, self._runs = self._runs, {}
        status_lines = self._status_lines
        budget = self.budget
        known = budget.known
        # plugins this container published lately first: a flood of new ids cannot push them out
        order = sorted(runs_by_plugin, key=lambda p: not known(p))
        for pid in order:
            runs = runs_by_plugin[pid]
            key = (self.group, self.stream, pid)
            names = runs[0].plan.names
            if len(runs) == 1 and len(runs[0].ts) == 1 and key not in self.state:
                names = frozenset(runs[0].plan.keys)  # one line, no previous value: no increase to publish
            if len(runs) > 1 or pid in self._log_names:
                names = names.union(*(run.plan.names for run in runs[1:]), self._log_names.get(pid, ()))
            kept = budget.admit(pid, names)
            if not kept and names:  # nothing of this plugin fits: its lines are not folded at all
                self.stats.skip("over_budget", sum(len(run.ts) for run in runs))
                continue
            prev = self.state.get(key)
            out: dict[float, dict[str, list[Any]]] = {}
            counts: dict[float, int] = {}  # bucket -> status lines
            try:
                for run in runs:
                    prev = self._fold_run(run, prev, out, counts)
            except Exception as exc:  # noqa: BLE001 - contained to this plugin, counted and logged
                self.stats.skip("internal_error", sum(len(run.ts) for run in runs))
                self.errors.append(f"plugin {pid}: {type(exc).__name__}: {exc}"[:300])
                continue
            if len(kept) < len(names):  # over its budget: only the admitted names
                for metrics in out.values():
                    for name in [n for n in metrics if n not in kept]:
                        del metrics[name]
            for bucket, n in counts.items():
                status_lines[bucket] = status_lines.get(bucket, 0) + n
                self.stats.status_lines += n
            if prev is not None:
                if key not in self.state and len(self.state) >= MAX_STATE_ENTRIES:
                    self.state.clear()
                self.state[key] = prev
            for bucket, metrics in out.items():
                have = self._acc.get((bucket, pid))
                if have is None:
                    self._acc[(bucket, pid)] = metrics
                    continue
                for name, values in metrics.items():
                    if name in have:
                        have[name].extend(values)
                    else:
                        have[name] = values

    def _fold_run(self, run: _Run, prev: Previous | None, out: dict[float, dict[str, list[Any]]],
                  counts: dict[float, int]) -> Previous | None:
        plan, ts = run.plan, run.ts
        n = len(ts)
        spans = _spans(ts, self.res)
        names = plan.keys
        cols = list(zip(*run.rows)) if names else []
        for bucket, i, j in spans:
            counts[bucket] = counts.get(bucket, 0) + j - i
            g = out.get(bucket)
            if g is None:
                g = out[bucket] = {}
            for name, col in zip(names, cols):
                have = g.get(name)
                if have is None:
                    g[name] = list(col[i:j])
                else:
                    have.extend(col[i:j])
        if not plan.counter_idx:
            return prev
        cnames, inc_names = plan.counter_names, plan.increase_names
        ccols = [cols[i] for i in plan.counter_idx]
        before = prev
        inc, prev = self._increase_row(prev, ts[0], cnames, tuple(c[0] for c in ccols), inc_names)
        if inc is not None:
            self._add_row(out, ts[0], inc)
        if n == 1:
            return prev
        if self.columnar and prev is not before and _regular(ts, self.config.carry_max_age):
            # Every line is newer than the one before it, which is its previous value.
            diffs = [list(map(sub, c[1:], c[:-1])) for c in ccols]
            restarts: set[int] = set()
            for d in diffs:
                if min(d) < 0:
                    restarts.update(compress(range(len(d)), map(lt, d, repeat(0))))
            if restarts:  # a counter went down: fluentd restarted, that line's increases are its values
                for r in restarts:
                    for d, c in zip(diffs, ccols):
                        d[r] = c[r + 1]
            if not plan.checked and any(min(d) < 0 or max(d) > _LIMIT for d in diffs):
                # values from the general path (negative, or up to ±2^360): an increase beyond
                # what CloudWatch takes; the line-by-line path drops and counts exactly those
                return self._fold_rows(ts, ccols, cnames, inc_names, prev, out)
            if restarts:
                self.stats.counter_resets += len(restarts)
            for bucket, i, j in spans:
                lo = i or 1  # line 0's increase was added above
                if lo >= j:
                    continue
                g = out[bucket]
                for name, d in zip(inc_names, diffs):
                    have = g.get(name)
                    if have is None:
                        g[name] = d[lo - 1:j - 1]
                    else:
                        have.extend(d[lo - 1:j - 1])
            return (ts[-1], cnames, tuple(c[-1] for c in ccols))
        return self._fold_rows(ts, ccols, cnames, inc_names, prev, out, start=1)

    def _fold_rows(self, ts: list[float], ccols: list[Any], cnames: tuple[str, ...], inc_names: tuple[str, ...],
                   prev: Previous | None, out: dict[float, dict[str, list[Any]]], start: int = 1) -> Previous | None:
        for r in range(start, len(ts)):
            inc, prev = self._increase_row(prev, ts[r], cnames, tuple(c[r] for c in ccols), inc_names)
            if inc is not None:
                self._add_row(out, ts[r], inc)
        return prev

    def _increase_row(self, prev: Previous | None, ts: float, names: tuple[str, ...], values: tuple[Any, ...],
                      inc_names: tuple[str, ...]) -> tuple[tuple[tuple[str, ...], list[Any]] | None, Previous | None]:
        """Increase of each cumulative counter of one line since the previous line of its plugin
        and stream, as ((metric names, values) or None without a usable previous value, the
        previous value for the next line).

        A counter that went down means fluentd restarted: it counted up from 0 since, so the
        increase is its new value (as Prometheus' increase() does), never a negative number.
        A line not newer than the previous one (a duplicate, or out of order) adds nothing and
        does not move the previous value back: intervals never overlap, so nothing is counted twice.
        A previous value older than carry_max_age gives no increase (the interval is unknown).
        """
        out: tuple[tuple[str, ...], list[Any]] | None = None
        if prev is not None:
            pts, pnames, pvalues = prev
            if ts <= pts:
                return None, prev
            if ts - pts <= self.config.carry_max_age:
                if pnames == names:
                    diffs = list(map(sub, values, pvalues))
                    if min(diffs) < 0:
                        self.stats.counter_resets += 1
                        diffs = list(values)
                    out = (inc_names, diffs)
                else:  # the plugin's keys changed: match by name; a counter new to it has no increase
                    old = dict(zip(pnames, pvalues))
                    both = [(k, v, old[k]) for k, v in zip(names, values) if k in old]
                    restart = any(v < o for _, v, o in both)
                    if restart:
                        self.stats.counter_resets += 1
                    if both:
                        out = (tuple(k + cat.INCREASE_SUFFIX for k, _, _ in both),
                               [v if restart else v - o for _, v, o in both])
        if out is not None and out[1] and (min(out[1]) < 0 or max(out[1]) > _LIMIT):
            # From -2^360 to 2^360 is an increase of 2^361: beyond what CloudWatch takes (and
            # negative counters are not fluentd's). Such increases are dropped and counted.
            good = [(k, v) for k, v in zip(*out) if 0 <= v <= _LIMIT]
            self.stats.drop("increase_out_of_range", len(out[1]) - len(good))
            out = (tuple(k for k, _ in good), [v for _, v in good]) if good else None
        return out, (ts, names, values)

    def _add_row(self, out: dict[float, dict[str, list[Any]]], ts: float,
                 inc: tuple[tuple[str, ...], list[Any]]) -> None:
        g = out.setdefault(ts - ts % self.res, {})
        for name, v in zip(*inc):
            have = g.get(name)
            if have is None:
                g[name] = [v]
            else:
                have.append(v)

    # -- output -------------------------------------------------------------------------------
    def series(self) -> Iterator[tuple[float, Dims, list[tuple[str, str, list[float]]]]]:
        """Per (minute, dimensions), in time order: every metric with all its values (one per line
        that reported it, unfolded)."""
        self._finish()
        self._budget_log_only()
        unit_of = _unit_cache
        entries: list[tuple[tuple[float, Dims], list[tuple[str, str, list[Any]]]]] = []
        for (bucket, pid), metrics in self._acc.items():
            out = []
            for name, values in metrics.items():
                unit = unit_of.get(name)
                if unit is None:
                    unit = unit_of[name] = cat.unit_of(name)
                out.append((name, unit, values))
            if not out:
                continue
            for dims in self._plugin_dims(pid):
                entries.append(((bucket, dims), out))
        glob: dict[float, list[tuple[str, str, list[Any]]]] = {}
        for bucket, n in self._status_lines.items():
            glob[bucket] = [(cat.STATUS_LINES, "Count", [1] * n)]
        over = self.budget.dropped_metrics
        self.stats.over_budget_metrics = over
        if over:
            now = self.now - self.now % self.res
            _append(self._global.setdefault(now, {}), cat.OVER_BUDGET, over)
        for bucket, metrics in self._global.items():
            glob.setdefault(bucket, []).extend((name, "Count", values) for name, values in metrics.items())
        for bucket, out in glob.items():
            for dims in self._global_dims:
                entries.append(((bucket, dims), out))
        entries.sort(key=itemgetter(0))
        for (bucket, dims), out in entries:
            yield bucket, dims, out

    def _budget_log_only(self) -> None:
        """Log counts of plugins that sent no status line in this batch go through the budget
        too (a flood of warn lines naming made-up plugins is no cheaper to publish)."""
        budget = self.budget
        trimmed: dict[str, set[str]] = {}
        for pid, names in self._log_names.items():
            kept = budget.admit(pid, names)
            if not names <= kept:
                trimmed[pid] = kept
        if not trimmed:
            return
        for (_bucket, pid), metrics in self._acc.items():
            kept = trimmed.get(pid)
            if kept is not None:
                for name in [n for n in metrics if n not in kept and n in cat.LOG_METRICS]:
                    if name != cat.INSERT_ERROR_ROWS:  # (its lines are the log_insert_errors lines)
                        n = len(metrics[name])
                        self.stats.log_event_lines -= n
                        self.stats.skip("over_budget", n)
                    del metrics[name]

    def datums(self) -> list[Datum]:
        """The folded data points: repeated values become Values/Counts; a metric with more than
        150 distinct values in one bucket becomes several datums with the same timestamp
        (CloudWatch adds them up)."""
        result: list[Datum] = []
        append = result.append
        for bucket, dims, metrics in self.series():
            for name, unit, values in metrics:
                counts: dict[float, int] = {}
                _count_elements(counts, values)  # Counter's own C loop, without Counter's wrapper
                if len(counts) <= MAX_VALUES_PER_DATUM:
                    append(_new_datum(Datum, (name, unit, dims, bucket, tuple(counts), tuple(counts.values()))))
                    continue
                items = list(counts.items())
                for i in range(0, len(items), MAX_VALUES_PER_DATUM):
                    part = items[i:i + MAX_VALUES_PER_DATUM]
                    append(Datum(name, unit, dims, bucket, tuple(v for v, _ in part), tuple(c for _, c in part)))
        return result


def _plan_for(keys: tuple[str, ...], ignored: int, nulls: tuple[str, ...], reserved: int,
              checked: bool = True) -> _Plan:
    counters = tuple(i for i, k in enumerate(keys) if k in cat.COUNTERS)
    increases = tuple(keys[i] + cat.INCREASE_SUFFIX for i in counters)
    return _Plan(keys, tuple(keys[i] for i in counters), increases, ignored, nulls, _getter(keys), counters,
                 reserved, frozenset(keys + increases), checked)


def _append(metrics: dict[str, list[Any]], name: str, value: Any) -> None:
    have = metrics.get(name)
    if have is None:
        metrics[name] = [value]
    else:
        have.append(value)


def _spans(ts: list[float], res: int) -> list[tuple[float, int, int]]:
    """Consecutive lines in the same bucket, as (bucket, first index, index after the last)."""
    spans: list[tuple[float, int, int]] = []
    t = ts[0]
    cur = t - t % res
    start = 0
    for i in range(1, len(ts)):
        t = ts[i]
        b = t - t % res
        if b != cur:
            spans.append((cur, start, i))
            cur, start = b, i
    spans.append((cur, start, len(ts)))
    return spans


def _regular(ts: list[float], max_age: float) -> bool:
    """Strictly increasing times with no gap above max_age: each line's previous value is the
    line before it, and every increase is defined."""
    gaps = list(map(sub, ts[1:], ts[:-1]))
    return min(gaps) > 0 and max(gaps) <= max_age


def _all_valid(values: tuple[Any, ...]) -> bool:
    """True when every value is a number CloudWatch takes as it is (the common case), checked
    with C-level builtins: only ints and floats, a finite sum (so no NaN or ±inf), none negative
    and the sum within 2^360 (so each is). A False here (a negative number included) only sends
    the line down the slower per-value path, which keeps every good value."""
    if not values or not _NUM_TYPES.issuperset(map(type, values)):
        return not values
    total = sum(values)
    return total - total == 0 and total <= _LIMIT and min(values) >= 0


def _all_null(record: dict[str, Any], keys: tuple[str, ...]) -> bool:
    for k in keys:
        if record[k] is not None:
            return False
    return True


_NUM_TYPES = frozenset({int, float})


_unit_cache: dict[str, str] = {}
