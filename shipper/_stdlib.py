"""stdlib `logging` -> `app_log` records, for the app's own loggers and every library's.

`StdlibHandler` turns a `LogRecord` into the fields of an app_log record: `message` from
`getMessage()`, `logger` from the logger name, the time from `record.created` (when the event
happened, not when the handler ran), the level mapped to a severity, `extra={...}` fields to
columns or the `extra` column, `exc_info` to the structured `error` record and `stack_info` to
`extra.stack_info`. It takes the same compiled fast path as `shipper.get_logger("app_log")`, so
stdlib records are fitted, redacted, sized and counted exactly like the logger's own.

This module is the bridge: it knows LogRecords, the core (`_core.Core`) knows tables. The
LogRecord code is generated here, from the core's parts (`_fast`) and against the core's
namespace (`Core.compile`): `handle(record)` (one per handler and table), `log_stdlib` (the
same body for the handler's Python path) and the `fill` functions that place a call site's
`extra=` keys.
"""

from __future__ import annotations

import itertools
import logging
import operator
from collections.abc import Callable
from typing import Any

from . import _config, _stats
from ._clock import from_epoch
from ._constants import DEFAULT_TABLE, LEVEL_NAMES, LEVELS, UNKNOWN_SEVERITY
from ._core import Core
from ._fast import (
    ColumnSpec,
    app_required,
    column_test,
    context_lines,
    created_lines,
    encode_lines,
    envelope_lines,
    event_lines,
    fits,
    guarded_lines,
    indent,
    is_scalar,
    required_lines,
    scalar_test,
    write_lines,
)
from ._fast import _Slow as Slow
from ._logger import core_for
from ._text import show

# The standard levels (logging's numbers); any other level number is mapped by `severity_of`.
SEVERITIES = LEVEL_NAMES
_DESCENDING = sorted(LEVELS.items(), key=lambda kv: -kv[1])

# Attributes every logging.LogRecord has: anything else in record.__dict__ came from `extra=`
# (or from a formatter that ran first: message, asctime).
STANDARD_ATTRS = frozenset({
    "name", "msg", "args", "levelname", "levelno", "pathname", "filename", "module", "exc_info",
    "exc_text", "stack_info", "lineno", "funcName", "created", "msecs", "relativeCreated",
    "thread", "threadName", "processName", "process", "taskName", "message", "asctime",
})
# How many attributes `logging.LogRecord.__init__` sets (20 on 3.11, 21 from 3.12): they come
# first in record.__dict__, so `extra=` keys are its tail.
STANDARD_COUNT = len(logging.LogRecord("", 0, "", 0, "", (), None).__dict__)
FILL_LIMIT = 256  # generated fill functions per table (one per call site's key set)
MAX_FILL_KEYS = 64


def severity_of(levelno: int) -> str:
    """The severity of a custom level: the nearest standard one below it (DEFAULT below
    DEBUG's, for NOTSET and lower)."""
    for name, number in _DESCENDING:
        if levelno >= number:
            return name
    return _DESCENDING[-1][0] if levelno >= 1 else UNKNOWN_SEVERITY


# -- generated code -----------------------------------------------------------------------------

def fill_lines(keys: tuple[Any, ...], specs: dict[str, ColumnSpec], skip: frozenset[str],
               to_extra: Callable[[str], bool], sample: dict[Any, Any] | None = None
               ) -> list[str] | None:
    """Source of `fill(D, rec)` for records whose extra keys (the tail) are exactly `keys`.

    It first takes every key's value with GET (`operator.itemgetter(*keys)`): a missing key
    means another key set (the caller found this function by length and last key only), and
    it returns MISS having changed nothing. Declared columns are checked and set in `rec`; the
    other keys (those `to_extra` accepts) are returned as the extra dict, or None when there
    are none. A key the fast path never takes (a secret, a name the logger owns, a SLOW
    column, an undeclared key where the table has no extra column) makes it raise `_Slow`.
    Keys in `skip` (attributes a formatter added) are not fields. `sample` (the first record's
    dict) gives each undeclared value's expected type: a call site logs the same types every
    time, so that type is tested first (any other scalar still passes, a little later).
    None: no generated code for these keys (a key that is not a str: its repr would not be a
    plain literal; more than MAX_FILL_KEYS keys: a dict logged as extra, not a call site's
    fields, whose code would take long to compile)."""
    if not keys or len(keys) > MAX_FILL_KEYS or any(type(k) is not str for k in keys):
        return None
    names: list[str] = []
    body: list[str] = []
    extra: list[tuple[str, str]] = []
    for i, k in enumerate(keys):
        v = f"v{i}"
        spec = specs.get(k)
        if k in skip:
            names.append("_")
            continue
        names.append(v)
        if spec is not None:
            test = column_test(spec, v)
            if test is None:
                return _always_slow(keys)
            if spec.takes_none:
                test = f"{test} or {v} is None"
            body += [f"if not ({test}):", "    raise _Slow", f"rec[{k!r}] = {v}"]
        elif to_extra(k):
            expected = type(sample.get(k)) if sample is not None else str
            body += [f"if not ({scalar_test(v, expected)}):", "    raise _Slow"]
            extra.append((k, v))
        else:
            return _always_slow(keys)
    ret = ("return {" + ", ".join(f"{k!r}: {v}" for k, v in extra) + "}") if extra \
        else "return None"
    return [*_fill_head(keys, names), *indent([*body, ret])]


def _fill_head(keys: tuple[Any, ...], names: list[str]) -> list[str]:
    target = names[0] if len(keys) == 1 else ", ".join(names)
    return [f"# extra= keys {list(keys)!r}", "def fill(D, rec):", "    try:",
            f"        {target} = GET(D)", "    except KeyError:", "        return MISS"]


def _always_slow(keys: tuple[Any, ...]) -> list[str]:
    return [*_fill_head(keys, ["_"] * len(keys)), "    raise _Slow"]


# stdlib records: the fields are the LogRecord's attributes beyond the standard ones, which
# `LogRecord.__init__` always sets first (NSTD of them), so `extra=` keys are the dict's tail.
# A call site passes the same keys every time: its records are placed by a small function
# generated for exactly those keys (`fill_lines`): the values come out of the dict in one
# itemgetter call, each is checked by its column's rule written out, and the undeclared ones
# become the extra dict in one dict display. The function is found by (len(D), last key):
# two C calls, where the tuple of the tail's keys costs ~0.3 µs more to make and hash. A
# function checks that its keys are all there (with len(D), that is the same key set) and
# returns MISS when they are not; then FILL_EXACT finds the function by the whole key tuple.
# Fields from the context came first; the record's own fields win over them.
def extras_lines() -> list[str]:
    return ["n = len(D)",
            "if n > NSTD:",
            "    fill = FILLS_GET((n, NEXT(REVERSED(D))))",
            "    if fill is None or (x := fill(D, rec)) is MISS:",
            "        x = FILL_EXACT(D)(D, rec)",
            "    if x is not None:",
            "        if ex is None:",
            "            ex = x",
            "        else:",
            "            ex.update(x)"]


def logger_lines(specs: dict[str, ColumnSpec]) -> list[str]:
    """The logger name into the `logger` column, by its rule."""
    spec = specs.get("logger")
    if spec is None:
        return []
    test = column_test(spec, "name")
    if test is None:
        return ["raise _Slow"]
    return [f"if {test}:", "    rec['logger'] = name", "else:", "    raise _Slow"]


def body_lines(core: Core) -> list[str]:
    """A LogRecord's parts (SEV, event, D = its __dict__, created, name) to a line."""
    rules, specs = core.rules, core.specs
    required = [name for name in app_required(rules) if name != "logger"]
    body = [*created_lines(), *envelope_lines(core.cfg.service is not None),
            *context_lines(rules.extra_column is not None),
            *event_lines(rules, specs, kw_may_hold_message=False),
            *logger_lines(specs), *extras_lines(), *required_lines(required),
            *encode_lines()]
    return body


_SLOW_CALL = "SLOW(SEV, event, {'logger': name, **{k: D[k] for k in D.keys() - STANDARD}}, ts, {}, lid)"


def log_stdlib_lines(core: Core) -> list[str]:
    """`log_stdlib(SEV, event, D, created, name)`: the body for the handler's Python path."""
    return [f"# A LogRecord's parts to a {core.name} line, generated by shipper._stdlib.", "",
            "def log_stdlib(SEV, event, D, created, name):",
            *indent(guarded_lines(body_lines(core), [f"return {_SLOW_CALL}"],
                                  write_lines(core.write)))]


# The handler entry: a LogRecord straight from `logging`, turned into the arguments of the
# body in place (no getMessage/emit calls). Anything unusual - filters on the handler, a
# LogRecord subclass (it may format its message its own way), a level without a severity
# name, exc_info, stack_info, a message that is not a str or fails to format - takes the
# handler's generic Python path (PY_HANDLE), before a log id is taken.
def handle_prologue_lines() -> list[str]:
    return ["def handle(record):",
            "    try:",
            "        if H.filters or type(record) is not LOGRECORD:",
            "            return PY_HANDLE(record)",
            "        D = record.__dict__",
            '        event = D["msg"]',
            '        SEV = SEVS_GET(D["levelno"])',
            '        if type(event) is not str or SEV is None or D["exc_info"] or D["stack_info"]:',
            "            return PY_HANDLE(record)",
            '        if D["args"]:',
            '            event = event % D["args"]',
            '        name = D["name"]',
            '        created = D["created"]',
            "    except Exception:",
            "        return PY_HANDLE(record)"]


def handle_lines(core: Core) -> list[str]:
    """`handle(record)`: a StdlibHandler's whole job for one record, returning True."""
    return [f"# StdlibHandler.handle for table {core.name}, generated by shipper._stdlib.", "",
            *handle_prologue_lines(),
            *indent(guarded_lines(body_lines(core),
                                  [_SLOW_CALL, "return True"], write_lines(core.write))),
            "    return True"]


class StdlibCode:
    """The LogRecord code of one core: `log_stdlib`, the handlers' `handle` functions and the
    `fill` functions per key set (bounded)."""

    def __init__(self, core: Core) -> None:
        self.core = core
        self._fills: dict[tuple[Any, ...], Any] = {}
        self._fills_by_end: dict[tuple[int, Any], Any] = {}
        self.env = {"STANDARD": STANDARD_ATTRS, "NSTD": STANDARD_COUNT, "NEXT": next,
                    "REVERSED": reversed, "MISS": MISS, "FILLS_GET": self._fills_by_end.get,
                    "FILL_EXACT": self.fill_exact, "BOUND": {}}
        self.log_stdlib = core.compile(log_stdlib_lines(core), f"{core.name} stdlib body",
                                       self.env)["log_stdlib"]

    def handle(self, handler: logging.Handler, generic: Any) -> Any:
        """`handler.handle` for this table: a LogRecord to a line in one generated function.

        `generic` is the handler's Python path, for the records the prologue leaves to it."""
        return self.core.compile(handle_lines(self.core), f"{self.core.name} stdlib handle", {
            **self.env, "H": handler, "PY_HANDLE": generic, "LOGRECORD": logging.LogRecord,
            "SEVS_GET": SEVERITIES.get})["handle"]

    def fill_exact(self, d: dict[Any, Any]) -> Any:
        """The function that places the extra fields of stdlib records with exactly the keys
        of `d`'s tail (generated at the first such record), filed by (len(d), last key) too.

        One is generated per distinct key tuple (a call site logs the same keys every time), up
        to FILL_LIMIT of them; past that, or for keys that are not all str, `fill_generic`."""
        keys = tuple(itertools.islice(d, STANDARD_COUNT, None))
        fn = self._fills.get(keys)
        if fn is None:
            lines = None
            core = self.core
            if len(self._fills) < FILL_LIMIT:
                lines = fill_lines(keys, core.specs, STANDARD_ATTRS,
                                   core.learn if core.extra is not None else _never, d)
            if lines is None:
                fn = self.fill_generic
            else:
                fn = self._fills[keys] = core.compile(
                    lines, f"{core.name} stdlib fill {len(self._fills)}",
                    {"GET": operator.itemgetter(*keys), "MISS": MISS})["fill"]
        end = (len(d), keys[-1])
        if len(self._fills_by_end) < FILL_LIMIT or end in self._fills_by_end:
            self._fills_by_end[end] = fn
        return fn

    def fill_generic(self, d: dict[Any, Any], rec: dict[str, Any]) -> dict[str, Any] | None:
        """`fill_lines`' rules as a loop, for any keys."""
        core = self.core
        ex: dict[str, Any] | None = None
        for k, v in itertools.islice(d.items(), STANDARD_COUNT, None):
            if k in STANDARD_ATTRS:
                continue
            spec = core.specs.get(k) if type(k) is str else None
            if spec is not None:
                if not fits(spec, v):
                    raise Slow
                rec[k] = v
            elif core.extra is not None and type(k) is str and core.learn(k) and is_scalar(v):
                if ex is None:
                    ex = {}
                ex[k] = v
            else:
                raise Slow
        return ex


def _never(key: str) -> bool:
    return False


class _Miss:
    """What a `fill` function returns for a record whose keys are not its keys."""

    def __repr__(self) -> str:
        return "<miss>"


MISS = _Miss()


def stdlib_code(core: Core) -> StdlibCode:
    """The core's LogRecord code, made at the first stdlib record of its table (kept on the
    core, so that it goes when the core goes)."""
    code = core.attached.get("stdlib")
    if code is None:
        code = core.attached["stdlib"] = StdlibCode(core)
    return code


# -- the handler --------------------------------------------------------------------------------

class StdlibHandler(logging.Handler):
    """A logging handler that writes each record as one `app_log` line through shipper.

    The sink does its own locking (and none where a single os.write cannot interleave: a
    regular file, /dev/null), so the handler's lock is not taken (`handle` is overridden): a
    record costs one lock at most, not two.

    After the first record, `handle` is an instance attribute: the table's generated function
    (`StdlibCode.handle`) that reads the LogRecord's __dict__ and writes the line itself, with
    no getMessage/emit/Formatter calls in between. It hands every record it does not expect
    (filters on the handler, a LogRecord subclass, exc_info, stack_info, a custom level, a
    message that is not a str or fails to format) to the methods below, which are the
    reference behaviour. `configure()` drops it (`_rebuild`); a subclass that overrides handle
    or emit keeps its own.
    """

    def __init__(self, level: int = logging.NOTSET, table: str = DEFAULT_TABLE) -> None:
        super().__init__(level)
        self.table = table
        self._core: Core | None = None
        self._code: StdlibCode | None = None
        _config.register(self)

    def _rebuild(self) -> None:
        """Called by `shipper.configure()`: the next record compiles against the new settings."""
        self._core = None
        self._code = None
        self.__dict__.pop("handle", None)

    def _code_for(self) -> StdlibCode:
        core = self._core = core_for(self.table)
        code = self._code = stdlib_code(core)
        cls = type(self)
        if cls.handle is StdlibHandler.handle and cls.emit is StdlibHandler.emit:
            self.handle = code.handle(self, StdlibHandler.handle.__get__(self))  # type: ignore[method-assign]
        return code

    def handle(self, record: logging.LogRecord) -> bool:  # type: ignore[override]
        if self.filters and not self.filter(record):
            return False
        self.emit(record)
        return True

    def emit(self, record: logging.LogRecord) -> None:
        code = self._code
        try:
            if code is None:
                code = self._code_for()
            core = code.core
            severity = SEVERITIES.get(record.levelno) or severity_of(record.levelno)
            try:
                message = record.getMessage()
            except Exception as exc:  # noqa: BLE001 - a bad %-format must not lose the record
                message = f"{show(record.msg, 200)} (message formatting failed: " \
                          f"{type(exc).__name__})"
                record.__dict__.setdefault("args_repr", show(record.args, 1000))
                _stats.add("coerced")
            d = record.__dict__
            has_exc = bool(record.exc_info) and record.exc_info[1] is not None  # type: ignore[index]
            if has_exc or record.stack_info:
                # rare: straight to the slow path, which builds the error record
                fields: dict[str, Any] = {"logger": record.name}
                for key in d.keys() - STANDARD_ATTRS:
                    fields[key] = d[key]
                if has_exc:
                    fields["exc_info"] = record.exc_info
                if record.stack_info:
                    fields["stack_info"] = record.stack_info
                core.slow.slow(severity, message, fields, from_epoch(record.created), {})
                return
            code.log_stdlib(severity, message, d, record.created, record.name)
        except Exception as exc:
            if code is not None and code.core.strict:
                raise
            _stats.add("internal_error")
            if code is not None:  # the documented minimal error record
                code.core.slow.last_resort(exc)


def install_stdlib(level: int | str = logging.INFO, *, logger: logging.Logger | None = None,
                   table: str = DEFAULT_TABLE) -> StdlibHandler:
    """Attach one `StdlibHandler` to the root logger (or `logger`) and set its level.

    Idempotent: an existing StdlibHandler is reused. Other handlers are left in place (remove
    a console handler yourself if you do not want each record twice).
    """
    target = logger if logger is not None else logging.getLogger()
    handler = next((h for h in target.handlers if isinstance(h, StdlibHandler)), None)
    if handler is None:
        handler = StdlibHandler(table=table)
        target.addHandler(handler)
    target.setLevel(level if isinstance(level, int) else str(level).upper())
    return handler
