"""Counters for every change the logger makes to a record, and for every record it writes.

The promise is "no record disappears silently": whatever safe mode repairs, moves, truncates,
redacts or drops is counted here by reason, so `shipper.stats()` accounts for it. The counters
are process-wide (not per logger) because the question is "what happened to my logs", and they
are reset in a forked child, whose parent's counts are not its own.

No lock: a signal handler that logs can interrupt a count on its own thread, and a lock held
there would never be released. Each reason is an `itertools.count`, whose `next()` is one C
call that threads cannot split (the log-id counter in `_clock` works the same way).
"""

from __future__ import annotations

import collections
import itertools
import os

# Every record written carries a log id, and every log id is taken by a record that is then
# written, except the few counted in `_not_emitted` (strict mode raised, an internal failure).
# So "emitted" costs the hot path nothing: it is the log-id counter minus those.
_counters: dict[str, itertools.count[int]] = {}
_base: dict[str, int] = {}  # what each counter stood at the last reset
_ids_base = 0
_not_emitted = itertools.count()
_not_emitted_base = 0


def _value(counter: itertools.count[int]) -> int:
    """How many times `next` was called (repr(count(7)) == "count(7)")."""
    return int(repr(counter)[6:-1])


def _ids() -> int:
    from ._clock import ids_taken

    return ids_taken()


def not_emitted() -> None:
    """A log id was taken for a record that was not written."""
    next(_not_emitted)


def add(reason: str, n: int = 1) -> None:
    """Count `n` events of `reason` (e.g. "truncated", "moved_to_extra")."""
    counter = _counters.get(reason)
    if counter is None:
        counter = _counters.setdefault(reason, itertools.count())
    if n == 1:
        next(counter)
    elif n > 0:
        collections.deque(itertools.islice(counter, n), maxlen=0)  # n steps in C


def add_many(changes: dict[str, int]) -> None:
    for reason, n in changes.items():
        add(reason, n)


def stats() -> dict[str, int]:
    """Counters by reason since start (or `reset_stats()`); "emitted" is records written."""
    out = {}
    for reason, counter in list(_counters.items()):
        n = _value(counter) - _base.get(reason, 0)
        if n:
            out[reason] = n
    emitted = _ids() - _ids_base - (_value(_not_emitted) - _not_emitted_base)
    if emitted:
        out["emitted"] = emitted
    return out


def reset_stats() -> None:
    global _ids_base, _not_emitted_base
    for reason, counter in list(_counters.items()):
        _base[reason] = _value(counter)
    _ids_base = _ids()
    _not_emitted_base = _value(_not_emitted)


def _after_fork() -> None:
    global _ids_base, _not_emitted, _not_emitted_base
    _counters.clear()
    _base.clear()
    _ids_base = 0  # the child's log-id counter starts again at 0 (_clock's fork hook ran first)
    _not_emitted = itertools.count()
    _not_emitted_base = 0


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork)
