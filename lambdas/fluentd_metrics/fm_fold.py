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

from dataclasses import dataclass, field
from datetime import datetime, timezone

import fm_catalog as cat
from fm_config import Config
from fm_lines import LogEvent, Status, number

TWO_WEEKS = 14 * 24 * 3600
TWO_HOURS = 2 * 3600
# Stay this far inside CloudWatch's window: the call happens a moment after the check.
WINDOW_MARGIN = 120
MAX_VALUES_PER_DATUM = 150
MAX_STATE_ENTRIES = 20_000

_NON_METRIC_KEYS = frozenset({"plugin_id", "plugin_category", "type", "output_plugin", "buffer_timekeys",
                              "retry", "config"}) | cat.NOT_METRICS
_KNOWN = {**cat.COUNTERS, **cat.GAUGES}


@dataclass(frozen=True, slots=True)
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


@dataclass
class Previous:
    ts: float
    values: dict[str, float]


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
        # (bucket, dims) -> metric name -> value -> count
        self.acc: dict[tuple[float, tuple[tuple[str, str], ...]], dict[str, dict[float, int]]] = {}
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

    def _group(self, bucket: float, dims: tuple[tuple[str, str], ...]) -> dict[str, dict[float, int]]:
        key = (bucket, dims)
        g = self.acc.get(key)
        if g is None:
            g = self.acc[key] = {}
        return g

    # -- lines --------------------------------------------------------------------------------
    def add_status(self, st: Status) -> None:
        bucket = self._bucket(st.ts)
        if bucket is None:
            self.stats.skip("out_of_window")
            return
        self.stats.status_lines += 1
        stats = self.stats
        metrics: list[tuple[str, float]] = []
        counters: dict[str, float] = {}
        unknown = 0
        for key, raw in st.record.items():
            if key in _KNOWN:
                v = number(raw)
                if v is None:
                    continue  # e.g. retry_count: null for inputs and filters
                if v is False:
                    stats.drop("non_finite_or_out_of_range")
                    continue
                metrics.append((key, v))
                if key in cat.COUNTERS:
                    counters[key] = v
            elif key in _NON_METRIC_KEYS:
                continue
            else:
                v = number(raw)
                if v is None:
                    continue
                if v is False:
                    stats.drop("non_finite_or_out_of_range")
                    continue
                if unknown < cat.MAX_UNKNOWN_KEYS and cat.UNKNOWN_KEY_RE.match(key):
                    unknown += 1
                    metrics.append((key, v))
                else:
                    stats.ignored_keys += 1
        metrics.extend(self._increases(st, counters))
        for dims in self._plugin_dims(st.plugin_id):
            g = self._group(bucket, dims)
            for name, v in metrics:
                vals = g.get(name)
                if vals is None:
                    g[name] = {v: 1}
                else:
                    vals[v] = vals.get(v, 0) + 1
        for dims in self._global_dims:
            g = self._group(bucket, dims)
            vals = g.get(cat.STATUS_LINES)
            if vals is None:
                g[cat.STATUS_LINES] = {1.0: 1}
            else:
                vals[1.0] += 1

    def _increases(self, st: Status, counters: dict[str, float]) -> list[tuple[str, float]]:
        """Increase of each cumulative counter since the previous line of this plugin and stream.

        A counter that went down means fluentd restarted: it counted up from 0 since, so the
        increase is its new value (as Prometheus' increase() does), never a negative number.
        A line not newer than the previous one (a duplicate, or out of order) adds nothing and
        does not move the previous value back: intervals never overlap, so nothing is counted twice.
        """
        if not counters:
            return []
        key = (self.group, self.stream, st.plugin_id)
        prev = self.state.get(key)
        out: list[tuple[str, float]] = []
        if prev is not None:
            if st.ts <= prev.ts:
                return out
            if st.ts - prev.ts <= self.config.carry_max_age:
                old = prev.values
                restart = any(v < old[k] for k, v in counters.items() if k in old)
                if restart:
                    self.stats.counter_resets += 1
                for k, v in counters.items():
                    if restart:
                        out.append((k + cat.INCREASE_SUFFIX, v))
                    elif k in old:
                        out.append((k + cat.INCREASE_SUFFIX, v - old[k]))
        elif len(self.state) >= MAX_STATE_ENTRIES:
            self.state.clear()
        self.state[key] = Previous(st.ts, counters)
        return out

    def add_log_event(self, ev: LogEvent) -> None:
        bucket = self._bucket(ev.ts)
        if bucket is None:
            self.stats.skip("out_of_window")
            return
        self.stats.log_event_lines += 1
        name = cat.LOG_EVENT_METRICS[ev.event]
        for dims in self._plugin_dims(ev.plugin_id):
            g = self._group(bucket, dims)
            vals = g.get(name)
            if vals is None:
                g[name] = {1.0: 1}
            else:
                vals[1.0] += 1

    # -- output -------------------------------------------------------------------------------
    def datums(self) -> list[Datum]:
        """The folded data points, in time order; a metric with more than 150 distinct values in
        one bucket becomes several datums with the same timestamp (CloudWatch adds them up)."""
        out: list[Datum] = []
        unit_of = cat.unit_of
        for (bucket, dims), metrics in sorted(self.acc.items(), key=lambda kv: kv[0]):
            for name, vals in metrics.items():
                unit = unit_of(name)
                items = list(vals.items())
                for i in range(0, len(items), MAX_VALUES_PER_DATUM):
                    part = items[i:i + MAX_VALUES_PER_DATUM]
                    out.append(Datum(name, unit, dims, bucket, tuple(v for v, _ in part),
                                     tuple(c for _, c in part)))
        return out
