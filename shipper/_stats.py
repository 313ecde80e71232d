"""Counters for every change the logger makes to a record, and for every record it writes.

The promise is "no record disappears silently": whatever safe mode repairs, moves, truncates,
redacts or drops is counted here by reason, so `shipper.stats()` accounts for it. The counters
are process-wide (not per logger) because the question is "what happened to my logs", and they
are reset in a forked child, whose parent's counts are not its own.
"""

from __future__ import annotations

import itertools
import os
import threading

# The hot path counts emitted records with `next()` on an itertools.count: one C call, atomic
# under the GIL, no lock. Everything else (repairs) is rare and takes a lock.
_lock = threading.Lock()
_counts: dict[str, int] = {}
_emitted = itertools.count()
_emitted_base = 0

# Bound once; the logger calls this per record.
count_emitted = _emitted.__next__


def _emitted_now() -> int:
    # repr(count(7)) == "count(7)": the only way to read an itertools.count without advancing it.
    return int(repr(_emitted)[6:-1])


def add(reason: str, n: int = 1) -> None:
    """Count `n` events of `reason` (e.g. "truncated", "moved_to_extra")."""
    with _lock:
        _counts[reason] = _counts.get(reason, 0) + n


def add_many(changes: dict[str, int]) -> None:
    with _lock:
        for reason, n in changes.items():
            _counts[reason] = _counts.get(reason, 0) + n


def stats() -> dict[str, int]:
    """Counters by reason since start (or `reset_stats()`); "emitted" is records written."""
    with _lock:
        out = dict(_counts)
    emitted = _emitted_now() - _emitted_base
    if emitted:
        out["emitted"] = out.get("emitted", 0) + emitted
    return out


def reset_stats() -> None:
    global _emitted_base
    with _lock:
        _counts.clear()
        _emitted_base = _emitted_now()


def _after_fork() -> None:
    global _lock
    _lock = threading.Lock()
    reset_stats()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork)
