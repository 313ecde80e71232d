"""Compile generated Python source so that a person can read it where it matters: in tracebacks.

Generated code in logbridge is built from small functions that return lines (one per rule or
column), joined here. `compile_lines` registers the source with `linecache` under a file name
that says what it is (`<shipper generated: check access_log v1>`), so a traceback through it
shows the generated line, not `???`; `generated_source(name)` gives the text back for tests and
for the golden files.
"""

from __future__ import annotations

import linecache
from collections.abc import Iterable
from typing import Any

_PREFIX = "<shipper generated: "
# name -> source; bounded by the number of distinct generated functions (per table and shape).
_SOURCES: dict[str, str] = {}


def indent(lines: Iterable[str], by: int = 1) -> list[str]:
    """Lines shifted right by `by` levels of four spaces (blank lines stay blank)."""
    pad = "    " * by
    return [pad + line if line else line for line in lines]


def join(lines: Iterable[str]) -> str:
    return "\n".join(lines) + "\n"


def filename(name: str) -> str:
    return f"{_PREFIX}{name}>"


def compile_lines(lines: Iterable[str], name: str, env: dict[str, Any]) -> dict[str, Any]:
    """Execute the generated `lines` in a copy of `env`; return the resulting namespace.

    `name` says what the code is; it becomes the code's file name, registered in linecache so
    that tracebacks and `inspect.getsource` show the generated lines."""
    source = join(lines)
    fname = filename(name)
    _SOURCES[name] = source
    # linecache.cache entries: (size, mtime None = never stale-checked, lines, fullname)
    linecache.cache[fname] = (len(source), None, source.splitlines(keepends=True), fname)
    namespace = dict(env)
    exec(compile(source, fname, "exec"), namespace)  # noqa: S102 - source built from the registry model
    return namespace


def generated_source(name: str) -> str | None:
    """The source last compiled under `name`, or None."""
    return _SOURCES.get(name)
