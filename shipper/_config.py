"""The one shared configuration, from code (`configure`) and from the environment.

Settings start from the environment variables (read at first use, so `import shipper` reads
nothing); `configure(...)` then changes only the settings it is given. Every logger handed out
is rebuilt on each `configure` (its level methods and compiled table code are bound again), so
reconfiguring never leaves an old logger writing with old settings, and the hot path never
has to look the configuration up.
"""

from __future__ import annotations

import os
import threading
import weakref
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ._constants import LEVELS
from ._redact import DEFAULT_REDACT_KEYS, key_words

MODES = ("safe", "strict")
DEFAULT_MAX_LINE_BYTES = 16 * 1024  # Docker's log driver splits longer lines
MIN_LINE_BYTES = 1024  # below this even the envelope of an error record would not fit

ENV = {
    "service": "SHIPPER_SERVICE",
    "level": "SHIPPER_LEVEL",
    "mode": "SHIPPER_MODE",
    "max_line_bytes": "SHIPPER_MAX_LINE_BYTES",
    "redact_keys": "SHIPPER_REDACT_KEYS",
    "registry": "SHIPPER_REGISTRY",
}


@dataclass(frozen=True)
class Config:
    service: str | None = None
    level: int = LEVELS["INFO"]
    mode: str = "safe"
    sink: Any = None  # a shipper.sinks.Sink; None means StdoutSink, made at first use
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES
    redact_keys: frozenset[str] = DEFAULT_REDACT_KEYS
    registry: Any = None  # a path, a Registry, or None (the default registry directory)
    # Bumped on every change: compiled per-table code is cached per version.
    version: int = 0
    _registry_obj: Any = field(default=None, compare=False, repr=False)


def parse_level(level: Any) -> int:
    if isinstance(level, bool):
        raise ValueError(f"level must be a name or a number, got {level!r}")  # noqa: TRY004 - a bad setting
    if isinstance(level, int):
        return level
    name = str(level).strip().upper()
    if name == "WARN":
        name = "WARNING"
    if name in LEVELS:
        return LEVELS[name]
    if name.isdigit():
        return int(name)
    raise ValueError(f"unknown level {level!r} (one of {', '.join(LEVELS)})")


def parse_mode(mode: Any) -> str:
    m = str(mode).strip().lower()
    if m not in MODES:
        raise ValueError(f"unknown mode {mode!r} (safe or strict)")
    return m


def parse_max_line_bytes(n: Any) -> int:
    value = int(n)
    if value < MIN_LINE_BYTES:
        raise ValueError(f"max_line_bytes must be at least {MIN_LINE_BYTES}, got {value}")
    return value


def normalize_key(key: str) -> str:
    """How redaction compares keys: by words, whatever the spelling ("X-Api-Key", "apiKey",
    "API_KEY" -> "x_api_key", "api_key", "api_key")."""
    return "_".join(key_words(key))


def parse_redact_keys(keys: Any) -> frozenset[str]:
    if isinstance(keys, str):
        keys = [k for k in keys.replace(";", ",").split(",")]
    return frozenset(n for n in (normalize_key(str(k)) for k in keys if k) if n)


def from_env(environ: dict[str, str] | None = None) -> Config:
    env = os.environ if environ is None else environ
    kw: dict[str, Any] = {}
    if env.get(ENV["service"]):
        kw["service"] = env[ENV["service"]]
    if env.get(ENV["level"]):
        kw["level"] = parse_level(env[ENV["level"]])
    if env.get(ENV["mode"]):
        kw["mode"] = parse_mode(env[ENV["mode"]])
    if env.get(ENV["max_line_bytes"]):
        kw["max_line_bytes"] = parse_max_line_bytes(env[ENV["max_line_bytes"]])
    if env.get(ENV["redact_keys"]) is not None and ENV["redact_keys"] in env:
        kw["redact_keys"] = parse_redact_keys(env[ENV["redact_keys"]])
    if env.get(ENV["registry"]):
        kw["registry"] = env[ENV["registry"]]
    return Config(**kw)


_lock = threading.RLock()
_current: Config | None = None
# Every Logger handed out, so that configure() can rebuild it (weak: loggers may be dropped).
_listeners: weakref.WeakSet[Any] = weakref.WeakSet()


def current() -> Config:
    global _current
    c = _current
    if c is None:
        with _lock:
            if _current is None:
                _current = from_env()
            c = _current
    return c


def registry() -> Any:
    """The registry model, parsed at first use (never at import): full_check=False, because
    CI runs the full check and an app's start-up should not import jsonschema."""
    global _current
    c = current()
    if c._registry_obj is not None:
        return c._registry_obj
    with _lock:
        c = current()
        if c._registry_obj is None:
            reg = c.registry
            if reg is None or isinstance(reg, (str, Path)):
                from .registry import load_registry

                reg = load_registry(reg, full_check=False)
            c = _current = replace(c, _registry_obj=reg)
        return c._registry_obj


def sink() -> Any:
    global _current
    c = current()
    if c.sink is None:
        with _lock:
            c = current()
            if c.sink is None:
                from .sinks.stdout import StdoutSink

                c = _current = replace(c, sink=StdoutSink())
    return c.sink


class _Keep:
    def __repr__(self) -> str:
        return "<keep>"


KEEP: Any = _Keep()  # configure()'s default: "leave this setting as it is"
SETTINGS = ("service", "level", "mode", "sink", "max_line_bytes", "redact_keys", "registry")


def configure(*, service: Any = KEEP, level: Any = KEEP, mode: Any = KEEP, sink: Any = KEEP,
              max_line_bytes: Any = KEEP, redact_keys: Any = KEEP, registry: Any = KEEP
              ) -> None:
    """Change the given settings (others keep their values) and rebuild every logger.

    None puts a setting back to its default (the environment's value, or the built-in one;
    for `sink`, a StdoutSink made at the next record), so that `configure(**get_config())`
    restores a configuration saved earlier, defaults included."""
    global _current
    given = {"service": service, "level": level, "mode": mode, "sink": sink,
             "max_line_bytes": max_line_bytes, "redact_keys": redact_keys, "registry": registry}
    with _lock:
        c = current()
        defaults = from_env() if any(v is None for v in given.values()) else None
        kw: dict[str, Any] = {}
        for name, value in given.items():
            if value is KEEP:
                continue
            if value is None:
                kw[name] = getattr(defaults, name)
            elif name == "service":
                kw[name] = str(value)
            elif name == "level":
                kw[name] = parse_level(value)
            elif name == "mode":
                kw[name] = parse_mode(value)
            elif name == "sink":
                for method in ("emit", "flush", "close"):
                    if not callable(getattr(value, method, None)):
                        raise TypeError(f"sink {value!r} has no {method}() method")
                kw[name] = value
            elif name == "max_line_bytes":
                kw[name] = parse_max_line_bytes(value)
            elif name == "redact_keys":
                kw[name] = parse_redact_keys(value)
            else:
                kw[name] = value
        if "registry" in kw:
            kw["_registry_obj"] = None
        _current = replace(c, version=c.version + 1, **kw)
        _rebuild_all()


def get_config() -> dict[str, Any]:
    """The settings in force, as `configure` takes them: save them, change what a test or a
    block needs, and put them back with `configure(**saved)` (structlog's get_config)."""
    c = current()
    out = {name: getattr(c, name) for name in SETTINGS}
    if c._registry_obj is not None:
        out["registry"] = c._registry_obj  # parsed already: restoring does not parse again
    return out


def reset() -> None:
    """Back to the environment's settings (tests); loggers handed out are rebuilt."""
    global _current
    with _lock:
        old = _current
        _current = replace(from_env(), version=(old.version + 1) if old else 0)
        _rebuild_all()


def register(logger: Any) -> None:
    _listeners.add(logger)


def _rebuild_all() -> None:
    for lg in list(_listeners):
        lg._rebuild()
