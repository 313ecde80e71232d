"""The handler's settings, read once per cold start from the Lambda's environment.

A setting that makes no sense fails the cold start loudly (ConfigError) rather than publishing
something nobody asked for.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

DIMENSION_KEYS = ("PluginId", "LogStream", "LogGroup")


class ConfigError(ValueError):
    pass


@dataclass(frozen=True)
class Config:
    namespace: str = "fluentd"
    mode: str = "api"  # "api" (PutMetricData) or "emf" (Embedded Metric Format on stdout)
    # Each set is one extra copy of every plugin metric, and so one more billed custom metric
    # per (metric name x distinct dimension values); see lambdas/README.md "Dimensions and cost".
    dimension_sets: tuple[tuple[str, ...], ...] = (("PluginId",),)
    storage_resolution: int = 60  # 60: standard; 1: high resolution (folds per second)
    on_api_failure: str = "emf"  # "emf": re-emit failed data as EMF; "raise": fail the invocation
    carry_state: bool = True  # keep the last value per plugin in a warm container (see README)
    carry_max_age: float = 900.0  # seconds: an older previous value yields no increase
    max_attempts: int = 8  # attempts per PutMetricData call, the first included (botocore standard mode)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Config:
        env = os.environ if env is None else env
        namespace = env.get("METRICS_NAMESPACE", "fluentd").strip() or "fluentd"
        if len(namespace) > 255 or namespace.startswith("AWS/") or ":" in namespace:
            raise ConfigError(f"METRICS_NAMESPACE {namespace!r}: 1-255 chars, no ':', not AWS/")
        mode = env.get("METRICS_MODE", "api").strip().lower() or "api"
        if mode not in ("api", "emf"):
            raise ConfigError(f"METRICS_MODE {mode!r}: expected api or emf")
        sets = parse_dimension_sets(env.get("METRICS_DIMENSIONS", "PluginId"))
        try:
            resolution = int(env.get("METRICS_STORAGE_RESOLUTION", "60"))
            max_age = float(env.get("METRICS_CARRY_MAX_AGE_SECONDS", "900"))
            attempts = int(env.get("METRICS_MAX_ATTEMPTS", "8"))
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
        if resolution not in (1, 60):
            raise ConfigError("METRICS_STORAGE_RESOLUTION: 1 or 60")
        if not 1 <= attempts <= 20:
            raise ConfigError("METRICS_MAX_ATTEMPTS: 1..20")
        on_failure = env.get("METRICS_ON_API_FAILURE", "emf").strip().lower()
        if on_failure not in ("emf", "raise"):
            raise ConfigError("METRICS_ON_API_FAILURE: emf or raise")
        carry = env.get("METRICS_CARRY_STATE", "1").strip().lower() not in ("0", "false", "no", "off")
        return cls(namespace, mode, sets, resolution, on_failure, carry, max_age, attempts)


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
