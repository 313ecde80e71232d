"""Counters for every change the logger makes to a record, and for every record it writes.

The promise is "no record disappears silently": whatever safe mode repairs, moves, truncates,
redacts or drops is counted here by reason, so `shipper.stats()` accounts for it. The counters
are process-wide (not per logger) because the question is "what happened to my logs", and they
are reset in a forked child, whose parent's counts are not its own.
"""

from __future__ import annotations

import os
import threading

# Every record written carries a log id, and every log id is taken by a record that is then
# written, except the few counted in `_not_emitted` (strict mode raised, an internal failure).
# So "emitted" costs the hot path nothing: it is the log-id counter minus those.
_lock = threading.Lock()
_counts: dict[str, int] = {}
_base = 0
_not_emitted = 0


def _ids() -> int:
    from ._clock import ids_taken

    return ids_taken()


def not_emitted() -> None:
    """A log id was taken for a record that was not written."""
    global _not_emitted
    with _lock:
        _not_emitted += 1


def count_emitted() -> None:
    """Kept for callers that emit without taking a log id (none in shipper itself)."""
    global _base
    with _lock:
        _base -= 1


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
        emitted = _ids() - _base - _not_emitted
    if emitted:
        out["emitted"] = emitted
    return out


def reset_stats() -> None:
    global _base, _not_emitted
    with _lock:
        _counts.clear()
        _base = _ids()
        _not_emitted = 0


def _after_fork() -> None:
    global _lock, _base, _not_emitted
    _lock = threading.Lock()
    _counts.clear()
    _base = 0  # the child's log-id counter starts again at 0 (_clock's fork hook ran first)
    _not_emitted = 0


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork)
