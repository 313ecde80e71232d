"""Which keys are secrets: case-insensitive, at any depth, '-' the same as '_'.

A key is redacted when, normalised, it equals a configured key or ends with '_' + one of them
(`db_password`, `x_api_key`, `csrf_token`, `Set-Cookie`), so the usual prefixed names are
caught without listing each. The answer per key name is cached, because the same few names
come back on every record; the cache is bounded so that hostile key names cannot grow it.
"""

from __future__ import annotations

from collections.abc import Iterable

REDACTED = "[REDACTED]"
_CACHE_LIMIT = 4096


class Redactor:
    def __init__(self, keys: Iterable[str]) -> None:
        self.keys = frozenset(keys)
        self.suffixes = tuple("_" + k for k in self.keys)
        self._cache: dict[str, bool] = {}

    def __call__(self, key: str) -> bool:
        """True when the value under `key` must be replaced by "[REDACTED]"."""
        hit = self._cache.get(key)
        if hit is None:
            norm = key.lower().replace("-", "_")
            hit = norm in self.keys or norm.endswith(self.suffixes)
            if len(self._cache) < _CACHE_LIMIT:
                self._cache[key] = hit
        return hit
