"""The cardinality budget: how many distinct metrics one batch (and one hour) may create.

CloudWatch bills every distinct (namespace, metric name, dimension values) as one custom metric
for each hour it receives data, so cost grows with what the *input* names: a plugin id, a key.
Status records can come from anyone who reaches fluentd's forward port, so the number of
metrics they can create is capped here, with three settings (fm_config):

* ``max_per_plugin``: distinct metric names per plugin id in one invocation (fluentd's busiest
  plugin has about 40: 18 keys, 10 increases, the log counts);
* ``max_per_invocation``: distinct metrics (names x dimension values) in one invocation;
* ``max_per_hour``: distinct metrics first published in this clock hour by this container
  (with reserved concurrency 1 there is one container; a cold start begins a new count).

Names are admitted in priority order (fm_catalog.PRIORITY: the alarmed ones first, guessed
names last), plugins already published in this or the previous hour before new ones, so a flood
of forged plugin ids cannot push out the real plugins. What does not fit is dropped, counted in
the summary and published as one metric of its own (``metrics_over_budget``). The few metrics
without PluginId (status_lines, log_error_events, metrics_over_budget) are always published.
"""

from __future__ import annotations

from collections.abc import Iterable

import fm_catalog as cat

_LAST = len(cat.PRIORITY)


class Window:
    """What this container has published in the current clock hour (kept while it is warm).
    A plain class: a dataclass would be built at every cold start."""

    __slots__ = ("admitted", "hour", "plugins", "previous_plugins", "used")

    def __init__(self) -> None:
        self.hour = -1
        self.used = 0  # distinct metrics (pairs x dimension sets) first published this hour
        self.admitted: set[tuple[str, str, str]] = set()  # (scope, plugin id, name)
        self.plugins: set[tuple[str, str]] = set()  # (scope, plugin id) of this hour
        self.previous_plugins: set[tuple[str, str]] = set()  # ... of the hour before

    def roll(self, hour: int) -> None:
        if hour != self.hour:
            self.previous_plugins = self.plugins if hour == self.hour + 1 else set()
            self.hour, self.used, self.admitted, self.plugins = hour, 0, set(), set()


class Budget:
    """Admits (plugin id, metric name) pairs for one invocation.

    `scope` separates pairs whose dimension values differ by more than the plugin id (the log
    stream or group, when a dimension set uses them); `n_sets` is the number of dimension sets,
    each of which makes one more metric of every pair."""

    def __init__(self, per_invocation: int, per_plugin: int, per_hour: int, window: Window, now: float,
                 scope: str, n_sets: int) -> None:
        self.per_invocation, self.per_plugin, self.per_hour = per_invocation, per_plugin, per_hour
        self.window = window
        window.roll(int(now // 3600))
        self.scope, self.n = scope, n_sets
        self.used = 0  # distinct metrics admitted in this invocation
        self.kept: dict[str, set[str]] = {}
        self.dropped: dict[str, set[str]] = {}

    def known(self, plugin_id: str) -> bool:
        """Published by this container in this or the previous hour: admitted first."""
        key = (self.scope, plugin_id)
        return key in self.window.plugins or key in self.window.previous_plugins

    @property
    def dropped_metrics(self) -> int:
        return sum(map(len, self.dropped.values())) * self.n

    def admit(self, plugin_id: str, names: Iterable[str]) -> set[str]:
        """The names of `plugin_id` that may be published (those admitted before included)."""
        kept = self.kept.get(plugin_id)
        if kept is None:
            kept = self.kept[plugin_id] = set()
        dropped = self.dropped.get(plugin_id)
        new = [n for n in names if n not in kept and (dropped is None or n not in dropped)]
        if not new:
            return kept
        w, n, scope = self.window, self.n, self.scope
        fresh = [name for name in new if (scope, plugin_id, name) not in w.admitted]
        if (len(kept) + len(new) <= self.per_plugin and self.used + len(new) * n <= self.per_invocation
                and w.used + len(fresh) * n <= self.per_hour):  # the usual case: everything fits
            kept.update(new)
            self.used += len(new) * n
            w.used += len(fresh) * n
            w.admitted.update((scope, plugin_id, name) for name in fresh)
        else:
            for name in sorted(new, key=lambda x: (cat.PRIORITY.get(x, _LAST), x)):
                is_fresh = (scope, plugin_id, name) not in w.admitted
                if (len(kept) >= self.per_plugin or self.used + n > self.per_invocation
                        or (is_fresh and w.used + n > self.per_hour)):
                    if dropped is None:
                        dropped = self.dropped[plugin_id] = set()
                    dropped.add(name)
                    continue
                kept.add(name)
                self.used += n
                if is_fresh:
                    w.used += n
                    w.admitted.add((scope, plugin_id, name))
        if kept:
            w.plugins.add((scope, plugin_id))
        return kept
