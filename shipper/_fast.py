"""The fast path: per-table Python source, built from the column-rule model, compiled once.

A record that already fits its table (the common case: a str where a STRING is declared, an
int in range, a finite float) costs one dict lookup and one or two `type(v) is ...` tests per
field, then orjson and one write. Anything else - a wrong type, an undeclared field where the
table has no extra column, a secret key, a value orjson refuses, a line over the size limit, a
URL with credentials - raises `_Slow` inside the generated code and the record goes to the slow
path (`_slow.py`), which repairs it and accounts for every change. The tests hold the two paths
to the same output.

How the source is made: the fast path is a target of the column-rule model (`shipper.rules`):
each column's `ColumnRule` becomes a `ColumnSpec` (named kinds, no magic numbers), what the fast
path accepts without repair - a subset of what the rule accepts (the tests hold it to that, and
run the record-verdict vectors through it). Small functions below return the lines of one part
each (the timestamp, the envelope, the loop over context fields, one column parameter, the
encoding, the write), and `method_lines` puts them together. `compile_lines` goes through
`shipper._codegen`, which registers the source with linecache, so that a traceback through
generated code shows its lines. `tests/shipper/logger/golden/` holds the source made for the
shipped tables; `make test` compares.

The level methods of a table are methods of the table's logger class (`_logger.py`), made by a
factory, `make_log_method(SEV)`, compiled once per table and configuration: a logger's bound
fields are an attribute the method reads (`self._bound`), so `bind()` makes an object and
nothing else, like structlog's.

The stdlib bridge (`_stdlib.py`) builds its `handle(record)` from the same parts.
"""

from __future__ import annotations

import keyword
import sys
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple

from . import _codegen
from ._constants import (
    DRIVER_FILLED,
    FLOAT64_MAX,
    INT64_MAX,
    INT64_MIN,
    LOGGER_FILLED,
    LOGGER_KEYS,
    ROUTING_KEY,
)
from .rules import ColumnRule, TableRules
from .rules._model import BOOL, FLOAT64, INT64, STRING

# Keywords that are options of the call, not fields (as in the stdlib): the slow path acts on
# them (the error record, the caller's stack).
CALL_OPTIONS = frozenset({"exc_info", "stack_info"})

# Envelope columns an app does not pass: the logger fills them (its keys, timestamp, service
# from the configuration) or the Docker log driver adds them (container_*); `message` is where
# the event goes, so a caller's message= is a clash (moved to extra and counted on the slow
# path, as severity= is). Every parameter costs every call (~25 ns, passed or not: a default
# to bind, a test), so these are not parameters; passed anyway, they arrive in **kw and take
# the same rules (or the slow path).
NOT_PARAMS = frozenset(LOGGER_FILLED) | frozenset(DRIVER_FILLED) | {"message"}
# Names the generated code uses itself: a column called like one of them is not a parameter
# (it still works, through **kw and the generic loop).
INTERNAL_NAMES = frozenset({"self", "bound", "event", "kw", "ts", "lid", "rec", "ex", "ctx", "k",
                            "v", "s", "t", "u", "c", "line", "n", "size", "kind", "lo", "hi",
                            "takes_none", "required", "D", "created", "name", "record", "x",
                            "fill"})
MAX_PARAMS = 250


class _Missing:
    """The default of every keyword parameter: 'the caller did not pass this field'."""

    def __repr__(self) -> str:
        return "<missing>"


MISSING = _Missing()


class _Slow(Exception):
    """Raised inside generated code: this record needs the slow path."""


# -- named column specs: the fast path's target of the column-rule model --------------------

# Kinds: the model's own for the columns the fast path judges (STRING, INT64, FLOAT64, BOOL,
# imported from shipper.rules), and two of its own.
ENUM = "enum"        # a STRING column with allowed values (hi: a frozenset of them)
SLOW = "slow"        # always the slow path: TIMESTAMP, DATE, RECORD, JSON, REPEATED, the
                     # envelope keys the logger owns, the extra column, secret-named columns


class ColumnSpec(NamedTuple):
    """What the fast path accepts for one column without repair: a subset of what the
    column's rule accepts (exact types, no conversion; a string's UTF-8 is orjson's to refuse).
    The generic loop unpacks it per field (`kind, lo, hi, takes_none, required = s`): one
    tuple, no attribute lookups. STRING: hi = maxLength (sys.maxsize when none); INT64 and
    FLOAT64: lo..hi, the kind's own range and the rule's bounds."""

    kind: str
    lo: Any = None
    hi: Any = None
    takes_none: bool = False  # None is written as is (a NULLABLE column the fast path judges)
    required: bool = False


def column_spec(rule: ColumnRule, rules: TableRules, redact: Callable[[str], bool]
                ) -> ColumnSpec:
    """The fast path's spec of one column, from its rule (`shipper.rules.rules_for`)."""
    required = rule.required
    if (rule.repeated or redact(rule.name) or rule.name in LOGGER_KEYS
            or rule.name == rules.extra_column):
        return ColumnSpec(SLOW, required=required)
    takes_none = not required
    lo, hi = rule.bounds
    if rule.kind == STRING:
        if rule.enum is not None:
            return ColumnSpec(ENUM, None, frozenset(x for x in rule.enum if x is not None),
                              takes_none, required)
        length = rule.max_length if rule.max_length is not None else sys.maxsize
        return ColumnSpec(STRING, None, length, takes_none, required)
    if rule.kind == INT64:
        return ColumnSpec(INT64, INT64_MIN if lo is None else max(INT64_MIN, lo),
                          INT64_MAX if hi is None else min(INT64_MAX, hi), takes_none, required)
    if rule.kind == FLOAT64:
        return ColumnSpec(FLOAT64, -FLOAT64_MAX if lo is None else lo,
                          FLOAT64_MAX if hi is None else hi, takes_none, required)
    if rule.kind == BOOL:
        return ColumnSpec(BOOL, takes_none=takes_none, required=required)
    return ColumnSpec(SLOW, required=required)


def column_specs(rules: TableRules, redact: Callable[[str], bool]) -> dict[str, ColumnSpec]:
    return {rule.name: column_spec(rule, rules, redact) for rule in rules.columns}


def column_test(spec: ColumnSpec, v: str) -> str | None:
    """The column's rule as one Python expression on the variable `v` (not None); None for a
    SLOW column. None itself is tested separately (`spec.takes_none`)."""
    if spec.kind == STRING:
        return f"type({v}) is str" + (f" and len({v}) <= {spec.hi}" if spec.hi != sys.maxsize
                                      else "")
    if spec.kind == ENUM:
        return f"type({v}) is str and {v} in {tuple(sorted(spec.hi))!r}"
    if spec.kind == INT64:
        return f"type({v}) is int and {spec.lo!r} <= {v} <= {spec.hi!r}"
    if spec.kind == FLOAT64:
        return f"(type({v}) is float or type({v}) is int) and {spec.lo!r} <= {v} <= {spec.hi!r}"
    if spec.kind == BOOL:
        return f"type({v}) is bool"
    return None


def fits(spec: ColumnSpec, v: Any) -> bool:
    """`column_test` as a function, for the few records that take no generated code."""
    if v is None:
        return spec.takes_none
    t = type(v)
    if spec.kind == STRING:
        return t is str and len(v) <= spec.hi
    if spec.kind == ENUM:
        return t is str and v in spec.hi
    if spec.kind == INT64:
        return t is int and spec.lo <= v <= spec.hi
    if spec.kind == FLOAT64:
        return (t is float or t is int) and spec.lo <= v <= spec.hi
    if spec.kind == BOOL:
        return t is bool
    return False


def is_scalar(v: Any) -> bool:
    """A value that goes into the extra column unchanged: orjson writes it exactly as is."""
    t = type(v)
    return (t is str or v is None or t is bool or (t is int and INT64_MIN <= v <= INT64_MAX)
            or (t is float and v - v == 0.0))


# `is_scalar` written out for a variable, one test per type; `scalar_test` puts the expected
# type first, so that the usual case costs one test.
_SCALAR_TESTS: dict[type, str] = {
    str: "type({v}) is str",
    int: f"type({{v}}) is int and {INT64_MIN} <= {{v}} <= {INT64_MAX}",
    float: "type({v}) is float and {v} - {v} == 0.0",
    bool: "type({v}) is bool",
    type(None): "{v} is None",
}


def scalar_test(v: str, expected: type = str) -> str:
    """`is_scalar` on the variable `v` as one expression, testing type `expected` first."""
    order = sorted(_SCALAR_TESTS, key=lambda t: t is not expected)
    return " or ".join(f"({_SCALAR_TESTS[t].format(v=v)})" for t in order)


def param_columns(rules: TableRules) -> list[str]:
    """Columns that become keyword parameters of the generated method (C binds them: fast)."""
    out = [c.name for c in rules.columns
           if c.name.isidentifier() and not keyword.iskeyword(c.name)
           and c.name not in INTERNAL_NAMES and c.name not in NOT_PARAMS
           and not c.name.isupper() and not c.name.startswith("_")]
    return out if len(out) <= MAX_PARAMS else []


# -- lines ------------------------------------------------------------------------------------

indent = _codegen.indent


def timestamp_lines(clock: str, cache: str, prefix: str, per_second: int,
                    digits: tuple[str, str]) -> list[str]:
    """Lines that set `ts` from the integer time `clock` evaluates to: the date-and-second text
    is cached (in `_clock.<cache>[0]`, as <CACHE>) with the tick at which its second starts, re-made by
    `prefix` when the clock leaves that second (backwards too); per record one subtraction and
    two lookups in the 3-digit table (see _clock.DIGITS3)."""
    return [f"t = {clock}",
            f"c = {cache.upper()}[0]",
            "u = t - c[0]",
            f"if not 0 <= u < {per_second}:",
            f"    c = {prefix}(t)",
            "    u = t - c[0]",
            f'ts = f"{{c[1]}}{{D3[{digits[0]}]}}{{D3[{digits[1]}]}}Z"']


def now_lines() -> list[str]:
    """`ts` = now, from time.time_ns()."""
    return timestamp_lines("TIME_NS()", "ns_cache", "NS_PREFIX", 1_000_000_000,
                           ("u // 1000000", "u // 1000 % 1000"))


def created_lines() -> list[str]:
    """`ts` = a LogRecord's `created` (a float), from its microseconds."""
    return timestamp_lines("ROUND(created * 1000000)", "us_cache", "US_PREFIX", 1_000_000,
                           ("u // 1000", "u % 1000"))


def envelope_lines(service: bool) -> list[str]:
    """The log id and the record dict with the envelope the logger fills."""
    svc = ', "service": SERVICE' if service else ""
    return ['lid = f"{PFX}{next(SEQ)}"',
            f'rec = {{{ROUTING_KEY!r}: TABLE, "timestamp": ts, "severity": SEV{svc}, "log_id": lid}}',
            "ex = None"]


def to_extra_lines() -> list[str]:
    """An undeclared field `k`, `v` into the extra dict `ex`: a plain JSON scalar under a key
    known to be safe (not a secret, not a name the logger owns), else the slow path."""
    return ["if (k in SAFE_KEYS or LEARN(k)) and (" + scalar_test("v") + "):",
            "    if ex is None:",
            "        ex = {}",
            "    ex[k] = v",
            "else:",
            "    raise _Slow"]


def field_check_lines(undeclared: list[str]) -> list[str]:
    """Judge field `k`, `v` by its column's spec (looked up: the key is not known in advance)
    and put it in `rec`; `undeclared` says what to do with a key the table does not declare."""
    return ["s = SPEC_GET(k)",
            "if s is None:",
            *indent(undeclared),
            "else:",
            "    kind, lo, hi, takes_none, required = s",
            "    t = type(v)",
            "    if t is str:",
            "        if not (kind is STRING and len(v) <= hi or kind is ENUM and v in hi):",
            "            raise _Slow",
            "    elif t is int:",
            "        if not ((kind is INT64 or kind is FLOAT64) and lo <= v <= hi):",
            "            raise _Slow",
            "    elif t is float:",
            "        if not (kind is FLOAT64 and lo <= v <= hi):",
            "            raise _Slow",
            "    elif v is None:",
            "        if not takes_none:",
            "            raise _Slow",
            "    elif t is bool:",
            "        if kind is not BOOL:",
            "            raise _Slow",
            "    else:",
            "        raise _Slow",
            "    rec[k] = v"]


def context_lines(has_extra: bool) -> list[str]:
    """Fields bound with shipper.context() / bind_context(). Context is bound for every table:
    where a table neither declares a context field nor has an extra column, the field is left
    out of that table (documented), not repaired."""
    undeclared = to_extra_lines() if has_extra else ["pass"]
    return ["ctx = CTX_GET()",
            "if ctx:",
            "    for k, v in ctx.items():",
            *indent(field_check_lines(undeclared), 2)]


def loop_lines(mapping: str, has_extra: bool) -> list[str]:
    """The fields in `mapping` (the logger's bound fields, the call's **kw); one `if` when
    there are none."""
    undeclared = to_extra_lines() if has_extra else ["raise _Slow"]
    return [f"if {mapping}:",
            f"    for k, v in {mapping}.items():",
            *indent(field_check_lines(undeclared), 2)]


def event_lines(rules: TableRules, specs: dict[str, ColumnSpec], kw_may_hold_message: bool
                ) -> list[str]:
    """The event into `message`, by the column's rule; anything else about it is the slow
    path's: not a str (a missing event too), a caller's message= besides it."""
    spec = specs.get("message")
    if spec is None:
        if rules.extra_column is None:
            return []  # neither message nor extra: the event is a label at the call site
        lines = ["if type(event) is not str:", "    raise _Slow"]  # into extra, as `event`
        if kw_may_hold_message:
            lines += ["if 'event' in kw:", "    raise _Slow"]
        return lines + ["if ex is None:", "    ex = {}", "ex['event'] = event"]
    test = column_test(spec, "event")
    if test is None:
        lines = ["raise _Slow"]
    else:
        lines = [f"if not ({test}):", "    raise _Slow"]
    if kw_may_hold_message:
        lines += ["if 'message' in kw:", "    raise _Slow"]
    return lines + ["rec['message'] = event"]


def param_lines(name: str, spec: ColumnSpec) -> list[str]:
    """Check one keyword parameter, with the column's rule written out as constants.

    A REQUIRED column is tested for the good case first (one test when it fits); only when it
    is missing do we look whether context or bound fields gave it. A SLOW column always takes
    the slow path when given; a REQUIRED SLOW column always (missing, it is repaired there)."""
    test = column_test(spec, name)
    if test is None:
        return ["raise _Slow"] if spec.required else [f"if {name} is not _M:", "    raise _Slow"]
    if spec.required:
        return [f"if {test}:",
                f"    rec[{name!r}] = {name}",
                f"elif {name} is not _M or {name!r} not in rec:",
                "    raise _Slow"]
    return [f"if {name} is not _M:",
            f"    if {test}:",
            f"        rec[{name!r}] = {name}",
            f"    elif {name} is None:",
            f"        rec[{name!r}] = None",
            "    else:",
            "        raise _Slow"]


def app_required(rules: TableRules) -> list[str]:
    """REQUIRED columns the app must give: not the ones the logger fills, not `message` (the
    event's)."""
    return [c.name for c in rules.columns
            if c.required and c.filled_by != "logger" and c.name != "message"]


def required_lines(names: Iterable[str]) -> list[str]:
    """REQUIRED columns that are not parameters must have come in through context, bound
    fields or **kw; else the slow path repairs the record (or makes it an error record)."""
    out: list[str] = []
    for name in names:
        out += [f"if {name!r} not in rec:", "    raise _Slow"]
    return out


def encode_lines() -> list[str]:
    """The extra dict into its column, the record to one line (`size` bytes); over the size
    limit, or with a URL that carries credentials (scrubbed there), the slow path.

    A URL's credentials need an "@" (user info) or an "=" (a query parameter): two memchr
    calls on the line (`64 in line`, an int needle: ~12 ns each, where `b"@" in line` costs
    ~90 ns and a search for b"://" more) rule them out for nearly every record; only a line
    with one of them is looked at closer (URL_SECRET)."""
    return ["if ex is not None:",
            "    rec[EXTRA] = ex",
            "line = DUMPS(rec, option=OPT)",
            "if (size := len(line)) > MAXB:",
            "    raise _Slow",
            "if (64 in line or 61 in line) and URL_SECRET(line):  # '@', '='",
            "    raise _Slow"]


# How the finished line leaves, by sink.
WRITE_INLINE = "inline"  # an fd whose writes never interleave: os.write here, no call, no lock
WRITE_LOCKED = "locked"  # an fd where they can (a pipe): its write_line takes the locks
WRITE_SINK = "sink"      # any other sink: its emit(line, record)


def write_lines(how: str) -> list[str]:
    if how == WRITE_INLINE:
        body = ["n = WRITE(FD, line)", "if n != size:", "    FINISH_LOCKED(line, n)"]
    elif how == WRITE_LOCKED:
        body = ["WRITE_LINE(line)"]
    else:
        body = ["EMIT(line, rec)"]
    return ["try:", *indent(body), "except Exception:", "    SINK_ERROR()"]


def guarded_lines(body: list[str], on_slow: list[str], write: list[str]) -> list[str]:
    """`body` (which makes `line`) inside try: any exception means the slow path, which runs
    outside the except block, so that sys.exc_info() is still the caller's exception."""
    return ["ts = lid = None",
            "try:",
            *indent(body),
            "except Exception:",
            "    line = None",
            "if line is None:",
            *indent(on_slow),
            *write]


# -- the logger's methods ---------------------------------------------------------------------

class MethodPlan(NamedTuple):
    """Everything that shapes a table's generated level method."""

    rules: TableRules
    specs: dict[str, ColumnSpec]
    params: list[str]
    service: bool
    write: str   # WRITE_INLINE, WRITE_LOCKED or WRITE_SINK


def plan_for(rules: TableRules, specs: dict[str, ColumnSpec], *, service: bool,
             write: str) -> MethodPlan:
    return MethodPlan(rules, specs, param_columns(rules), service, write)


def signature(params: list[str]) -> str:
    """Columns are positional-or-keyword parameters: their defaults come from a tuple, not a
    dict lookup each (kw-only), ~0.1 µs per call. Fields are keywords by contract; a stray
    positional lands in `_positional` and the call becomes an error record. The event has a
    default too: log.info() and log.info(event="x") must not raise TypeError (the slow path
    takes the event from kw, or makes an error record)."""
    cols = "".join(f"{name}=_M, " for name in params)
    return f"self, event=_M, _positional=_M, /, {cols}**kw"


def all_fields_expr(params: list[str]) -> str:
    """Every field the call passed, as one dict (for the slow path)."""
    if not params:
        return "kw"
    pairs = "".join(f"({name!r}, {name}), " for name in params)
    return "{**{k: v for k, v in (" + pairs + ") if v is not _M}, **kw}"


def method_lines(plan: MethodPlan) -> list[str]:
    """`def log_method(self, ...)`: one record of the table at the level SEV, with the
    logger's bound fields."""
    rules, specs, params = plan.rules, plan.specs, plan.params
    has_extra = rules.extra_column is not None
    required = [name for name in app_required(rules) if name not in params]
    body = ["if _positional is not _M:", "    raise _Slow",
            *now_lines(), *envelope_lines(plan.service), *context_lines(has_extra)]
    body += ["bound = self._bound", *loop_lines("bound", has_extra)]
    body += event_lines(rules, specs, kw_may_hold_message=True)
    for name in params:
        body += param_lines(name, specs[name])
    body += loop_lines("kw", has_extra)
    body += required_lines(required)
    body += encode_lines()
    on_slow = ["if _positional is not _M:",
               "    return POSITIONAL(SEV, event, _positional, ts, self._bound)",
               f"return SLOW(SEV, event, {all_fields_expr(params)}, ts, self._bound, lid)"]
    return [f"def log_method({signature(params)}):",
            *indent(guarded_lines(body, on_slow, write_lines(plan.write)))]


def factory_lines(plan: MethodPlan) -> list[str]:
    """`make_log_method(SEV)`: the table's level method for a severity (a closure over it)."""
    return [f"# The level methods of table {plan.rules.table}, generated by shipper._fast from the",
            "# column-rule model (tests/shipper/logger/golden/ holds a copy).",
            "",
            "def make_log_method(SEV):",
            *indent(method_lines(plan)),
            "    return log_method"]


def noop_lines(rules: TableRules) -> list[str]:
    """The table's below-level method: its signature, and nothing else.

    A call binds its fields to parameters (locals, set in C) instead of building a **kwargs
    dict: with the access-log record, 0.14 µs instead of 0.3 µs for `def f(*a, **kw)`.
    Like that one it takes anything (extra positionals, no event), so that a call below the
    level cannot fail whatever its arguments."""
    cols = "".join(f"{name}=_M, " for name in param_columns(rules))
    return [f"def log_noop(self, event=None, _positional=_M, /, {cols}*args, **kw):",
            "    return None"]


# -- compiling ------------------------------------------------------------------------------

# Names every piece of generated code may use, besides what its caller adds.
BASE_ENV: dict[str, Any] = {"_Slow": _Slow, "_M": MISSING, "STRING": STRING, "ENUM": ENUM,
                            "INT64": INT64, "FLOAT64": FLOAT64, "BOOL": BOOL}


def compile_lines(lines: Iterable[str], name: str, env: dict[str, Any]) -> dict[str, Any]:
    """Execute the generated `lines` in a new namespace made of BASE_ENV and `env`; return it.

    Through `shipper._codegen`: `name` becomes the code's file name, registered in linecache,
    so that tracebacks (and `inspect.getsource`) show the generated lines."""
    return _codegen.compile_lines(lines, name, {**BASE_ENV, **env})


generated_source = _codegen.generated_source
