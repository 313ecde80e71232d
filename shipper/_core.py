"""A table's compiled code under one configuration: the fast path's namespace and factories.

`Core` knows tables, not LogRecords: it turns a registry table, the configuration and the sink
into the generated level methods (`_fast.py`), which the table's logger class takes
(`_logger.py`), and the slow path behind them (`_slow.py`). The
stdlib bridge (`_stdlib.py`) asks it for the shared namespace (`env`) and compiles its own
LogRecord code against it (`compile`); nothing here imports `logging`.

Cores are cached per (table, configuration version) in `_logger.core_for`.
"""

from __future__ import annotations

import os
import threading
import time
import weakref
from typing import Any

import orjson

from . import _clock, _stats
from ._constants import LEVEL_METHODS, LEVELS, LOGGER_KEYS
from ._context import get_context
from ._fast import (
    CALL_OPTIONS,
    WRITE_INLINE,
    WRITE_LOCKED,
    WRITE_SINK,
    compile_lines,
    factory_lines,
    noop_lines,
    plan_for,
)
from ._fast import column_specs as make_specs
from ._redact import Redactor
from ._slow import SlowPath
from .rules import rules_for
from .sinks._fd import FdSink

_SAFE_KEY_LIMIT = 4096


def write_mode(sink: Any, max_line_bytes: int) -> str:
    """How generated code hands a line to `sink` (see `_fast.write_lines`)."""
    if type(sink).emit is not FdSink.emit:
        return WRITE_SINK
    return WRITE_INLINE if sink.atomic_up_to(max_line_bytes) else WRITE_LOCKED


class Core:
    """Everything one table needs under one configuration: specs, namespace, factories."""

    def __init__(self, table: Any, cfg: Any, sink: Any) -> None:
        self.table = table
        self.name = table.name
        self.cfg = cfg
        self.version = cfg.version
        self.strict = cfg.mode == "strict"
        self.sink = sink
        self.rules = rules_for(table)
        self.redact = Redactor(cfg.redact_keys)
        self.specs = make_specs(self.rules, self.redact)
        self.extra = self.rules.extra_column
        self.write = write_mode(sink, cfg.max_line_bytes)
        self._safe_keys: set[str] = set()
        self.slow = SlowPath(self.rules, cfg, sink, self.redact, self.learn)
        self.env = self._env()
        # every namespace compiled for this core, for the fork hook (a handful: the methods,
        # the no-op, the stdlib bridge's code; loggers and bind() add none)
        self._namespaces: list[dict[str, Any]] = []
        self._lock = threading.RLock()
        self.noop = self.compile(noop_lines(self.rules), f"{self.name} below the level")["log_noop"]
        # code other modules compile for this table (the stdlib bridge's), kept with the core
        self.attached: dict[str, Any] = {}
        _live_cores.add(self)

    def learn(self, key: str) -> bool:
        """Whether an undeclared key may go into extra on the fast path: a str that is not a
        secret, not a name the logger owns or a call option (exc_info, stack_info), not a
        declared column, not the extra column. The
        answer for a good key is remembered (bounded)."""
        ok = (type(key) is str and key not in LOGGER_KEYS and key not in CALL_OPTIONS
              and key not in self.specs and key != self.extra and not self.redact(key))
        if ok and len(self._safe_keys) < _SAFE_KEY_LIMIT:
            self._safe_keys.add(key)
        return ok

    def _env(self) -> dict[str, Any]:
        """The names generated code of this table uses (see `_fast`)."""
        sink, cfg = self.sink, self.cfg
        env: dict[str, Any] = {
            "TABLE": self.name, "SERVICE": cfg.service, "TIME_NS": time.time_ns,
            "NS_CACHE": _clock.ns_cache, "US_CACHE": _clock.us_cache,
            "NS_PREFIX": _clock.ns_prefix, "US_PREFIX": _clock.us_prefix, "D3": _clock.DIGITS3,
            "ROUND": round, "CTX_GET": get_context, "SPEC_GET": self.specs.get,
            "SAFE_KEYS": self._safe_keys, "LEARN": self.learn, "EXTRA": self.extra,
            "DUMPS": orjson.dumps, "OPT": orjson.OPT_APPEND_NEWLINE,
            "MAXB": cfg.max_line_bytes, "URL_SECRET": self.redact.line_has_credentials,
            "SINK_ERROR": _sink_error, "SLOW": self.slow.slow,
            "POSITIONAL": self.slow.positional, "PFX": _clock._prefix, "SEQ": _clock._seq,
        }
        if self.write == WRITE_SINK:
            env["EMIT"] = sink.emit
        elif self.write == WRITE_LOCKED:
            env["WRITE_LINE"] = sink.write_line
        else:
            env.update({"FD": sink.fd, "WRITE": os.write, "FINISH_LOCKED": sink.finish_locked})
        return env

    def compile(self, lines: list[str], name: str, env: dict[str, Any] | None = None
                ) -> dict[str, Any]:
        """Compile generated lines against this core's namespace (plus `env`); the namespace
        is kept for the fork hook."""
        ns = compile_lines(lines, name, {**self.env, **(env or {})})
        with self._lock:
            self._namespaces.append(ns)
        return ns

    def methods(self) -> dict[str, Any]:
        """The five level methods (debug..critical) of the table's logger class: below the
        configured level the shared no-op, else the table's generated method for the level
        (the factory is compiled once per core)."""
        plan = plan_for(self.rules, self.specs, service=self.cfg.service is not None,
                        write=self.write)
        make = self.compile(factory_lines(plan), f"{self.name} methods")["make_log_method"]
        level = self.cfg.level
        return {method: make(severity) if LEVELS[severity] >= level else self.noop
                for method, severity in LEVEL_METHODS}

    def after_fork(self) -> None:
        """A forked child takes new log ids (a new prefix and counter): every namespace of
        this core gets them (they are globals of the generated code: a module attribute lookup
        per record would cost more)."""
        for ns in self._namespaces:
            ns.update(PFX=_clock._prefix, SEQ=_clock._seq)
        self.env.update(PFX=_clock._prefix, SEQ=_clock._seq)


def _sink_error() -> None:
    _stats.add("sink_error")


_live_cores: weakref.WeakSet[Core] = weakref.WeakSet()


def _after_fork() -> None:
    for core in list(_live_cores):
        core.after_fork()


_clock.fork_hooks.append(_after_fork)
