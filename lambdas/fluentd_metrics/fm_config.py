"""The handler's settings, read once per cold start from the Lambda's environment.

A setting that makes no sense fails the cold start loudly (ConfigError) rather than publishing
something nobody asked for.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

DIMENSION_KEYS = ("PluginId", "LogStream", "LogGroup")


class ConfigError(ValueError):
    pass


@dataclass(frozen=True)
class Config:
    namespace: str = "fluentd"
    # "emf" (Embedded Metric Format lines on stdout: no API call) or "api" (PutMetricData). EMF is
    # the default: measured per host and month at fluentd's default emit interval it costs a
    # quarter of api mode for a small fluentd and within 10 % for the project's 19-plugin config
    # (lambdas/README.md "Choosing the mode", bench/bench_fluentd_metrics.py), and, making no
    # network call, it can neither time out nor count anything twice.
    mode: str = "emf"
    # Each set is one extra copy of every plugin metric, and so one more billed custom metric
    # per (metric name x distinct dimension values); see lambdas/README.md "Dimensions and cost".
    dimension_sets: tuple[tuple[str, ...], ...] = (("PluginId",),)
    storage_resolution: int = 60  # 60: standard; 1: high resolution (folds per second)
    on_api_failure: str = "emf"  # "emf": re-emit failed data as EMF; "raise": fail the invocation
    carry_state: bool = True  # keep the last value per plugin in a warm container (see README)
    carry_max_age: float = 900.0  # seconds: an older previous value yields no increase
    max_attempts: int = 5  # attempts per PutMetricData call, the first included, within the deadline
    # The cardinality budget (fm_budget): distinct metrics one invocation, one plugin id in one
    # invocation, and this container in one clock hour may publish; the rest is dropped and counted.
    max_metrics_per_invocation: int = 1000
    max_metrics_per_plugin: int = 64
    max_metrics_per_hour: int = 2000
    # The deadline (api mode): every PutMetricData attempt must fit in the function's remaining
    # time minus `deadline_reserve`, which is kept for the EMF fallback and the summary.
    connect_timeout: float = 2.0
    read_timeout: float = 5.0
    deadline_reserve: float = 5.0
    # After CloudWatch did not answer (connect or read timeout, connection refused), the next
    # invocations of this container write EMF directly for this long instead of waiting again.
    api_cooldown: float = 60.0

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Config:
        env = os.environ if env is None else env
        namespace = env.get("METRICS_NAMESPACE", "fluentd").strip() or "fluentd"
        if len(namespace) > 255 or namespace.startswith("AWS/") or ":" in namespace:
            raise ConfigError(f"METRICS_NAMESPACE {namespace!r}: 1-255 chars, no ':', not AWS/")
        mode = env.get("METRICS_MODE", "emf").strip().lower() or "emf"
        if mode not in ("api", "emf"):
            raise ConfigError(f"METRICS_MODE {mode!r}: expected api or emf")
        sets = parse_dimension_sets(env.get("METRICS_DIMENSIONS", "PluginId"))

        def num(key: str, default: float, lo: float, hi: float, kind: type = float) -> Any:
            text = env.get(key, "").strip()
            try:
                value = kind(text) if text else kind(default)
            except ValueError:
                raise ConfigError(f"{key} {text!r}: not a number") from None
            if not lo <= value <= hi:  # (NaN fails this too)
                raise ConfigError(f"{key} {value!r}: {lo:g}..{hi:g}")
            return value

        resolution = num("METRICS_STORAGE_RESOLUTION", 60, 1, 60, int)
        if resolution not in (1, 60):
            raise ConfigError("METRICS_STORAGE_RESOLUTION: 1 or 60")
        on_failure = env.get("METRICS_ON_API_FAILURE", "emf").strip().lower()
        if on_failure not in ("emf", "raise"):
            raise ConfigError("METRICS_ON_API_FAILURE: emf or raise")
        carry = env.get("METRICS_CARRY_STATE", "1").strip().lower() not in ("0", "false", "no", "off")
        return cls(
            namespace=namespace, mode=mode, dimension_sets=sets, storage_resolution=resolution,
            on_api_failure=on_failure, carry_state=carry,
            carry_max_age=num("METRICS_CARRY_MAX_AGE_SECONDS", 900, 0, 86400),
            max_attempts=num("METRICS_MAX_ATTEMPTS", 5, 1, 20, int),
            max_metrics_per_invocation=num("METRICS_MAX_METRICS_PER_INVOCATION", 1000, 1, 100_000, int),
            max_metrics_per_plugin=num("METRICS_MAX_METRICS_PER_PLUGIN", 64, 1, 1000, int),
            max_metrics_per_hour=num("METRICS_MAX_METRICS_PER_HOUR", 2000, 1, 1_000_000, int),
            connect_timeout=num("METRICS_CONNECT_TIMEOUT_SECONDS", 2, 0.1, 60),
            read_timeout=num("METRICS_READ_TIMEOUT_SECONDS", 5, 0.1, 120),
            deadline_reserve=num("METRICS_DEADLINE_RESERVE_SECONDS", 5, 0, 300),
            api_cooldown=num("METRICS_API_COOLDOWN_SECONDS", 60, 0, 3600),
        )


def parse_dimension_sets(text: str) -> tuple[tuple[str, ...], ...]:
    """``"PluginId;PluginId,LogStream"`` -> (("PluginId",), ("PluginId", "LogStream")).

    PluginId must be in every set: a plugin metric summed over all plugins of a fluentd means
    nothing (retries of a healthy stdout output would hide in a failing BigQuery output).
    """
    sets: list[tuple[str, ...]] = []
    for part in text.split(";"):
        keys = tuple(k.strip() for k in part.split(",") if k.strip())
        if not keys:
            continue
        bad = [k for k in keys if k not in DIMENSION_KEYS]
        if bad:
            raise ConfigError(f"METRICS_DIMENSIONS: unknown key(s) {bad}; allowed {list(DIMENSION_KEYS)}")
        if "PluginId" not in keys or len(set(keys)) != len(keys):
            raise ConfigError(f"METRICS_DIMENSIONS: each set needs PluginId once, got {list(keys)}")
        if keys not in sets:
            sets.append(keys)
    if not sets:
        raise ConfigError("METRICS_DIMENSIONS: at least one set, e.g. PluginId")
    return tuple(sets)
