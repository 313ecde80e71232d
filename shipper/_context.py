"""Fields bound for a scope (request id, user id) that every record in that scope carries.

A `ContextVar` holding an immutable-by-convention dict: binding makes a new dict, so a task or
thread that copied the context keeps its own view, and the hot path reads one variable.
asyncio gives each task a copy of the context at creation; threads see the context they were
started with only through `contextvars.copy_context().run(...)` (thread pools: submit
`ctx.run`), which is what structlog users ask for (structlog #462, #491).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

_EMPTY: dict[str, Any] = {}
_CTX: ContextVar[dict[str, Any]] = ContextVar("shipper_context", default=_EMPTY)

# The logger's hot path calls this: one C call.
get_context = _CTX.get


def bind_context(**fields: Any) -> None:
    """Add fields to every record logged from now on in this context (task, thread, request)."""
    _CTX.set({**_CTX.get(), **fields})


def unbind_context(*keys: str) -> None:
    cur = _CTX.get()
    if any(k in cur for k in keys):
        _CTX.set({k: v for k, v in cur.items() if k not in keys})


def clear_context() -> None:
    _CTX.set(_EMPTY)


@contextmanager
def context(**fields: Any) -> Iterator[None]:
    """Bind fields inside a `with` block; the previous context is restored on exit."""
    token = _CTX.set({**_CTX.get(), **fields})
    try:
        yield
    finally:
        _CTX.reset(token)
