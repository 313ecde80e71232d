"""A parser of fluentd's config syntax (v1) and a simulator of how fluentd routes one event.

Used by the tests to check `fluentd/fluent.conf` as fluentd would read it: which `<match>` an event
reaches, through which filters and rewrite_tag_filter rules, into which output. The simulator
implements only the plugins and options the rendered config uses, and raises `Unsupported` on
anything else, so that a config that grows beyond it fails loudly instead of being misjudged.

Syntax covered: `<name arg>` ... `</name>` sections, `key value` parameters (bare, "double-quoted"
with escapes and embedded `#{...}`, 'single-quoted'), `#` comments (a line, or after a value
outside quotes). `@include` is refused.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any


class ConfigSyntaxError(ValueError):
    def __init__(self, line: int, message: str):
        super().__init__(f"line {line}: {message}")
        self.line = line


class Unsupported(NotImplementedError):
    """The simulator does not model this plugin or option."""


@dataclass
class Element:
    name: str
    arg: str = ""
    params: dict[str, str] = field(default_factory=dict)
    elements: list[Element] = field(default_factory=list)
    line: int = 0

    def get(self, key: str, default: str | None = None) -> str | None:
        return self.params.get(key, default)

    def children(self, name: str) -> list[Element]:
        return [e for e in self.elements if e.name == name]

    def walk(self) -> Iterator[Element]:
        yield self
        for e in self.elements:
            yield from e.walk()


_OPEN = re.compile(r"<\s*([A-Za-z_@][\w@.-]*)(?:\s+([^>]*?))?\s*>$")
_CLOSE = re.compile(r"</\s*([A-Za-z_@][\w@.-]*)\s*>$")
_KEY = re.compile(r"([^ \t]+)(?:[ \t]+(.*))?$", re.DOTALL)
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", '"': '"', "#": "#", "0": "\0", "s": " "}


def _double_quoted(text: str, lineno: int) -> tuple[str, str]:
    """Parse a "..." value at the start of text; return (value, rest). `#{...}` is kept verbatim."""
    out = []
    i = 1
    while i < len(text):
        c = text[i]
        if c == "\\":
            if i + 1 >= len(text):
                raise ConfigSyntaxError(lineno, "unterminated escape in a double-quoted value")
            n = text[i + 1]
            out.append(_ESCAPES.get(n, "\\" + n))
            i += 2
            continue
        if c == "#" and text[i + 1:i + 2] == "{":
            depth, j = 0, i + 1
            while j < len(text):
                if text[j] == "{":
                    depth += 1
                elif text[j] == "}":
                    depth -= 1
                    if depth == 0:
                        break
                j += 1
            else:
                raise ConfigSyntaxError(lineno, "unterminated #{...} in a double-quoted value")
            out.append(text[i:j + 1])
            i = j + 1
            continue
        if c == '"':
            return "".join(out), text[i + 1:]
        out.append(c)
        i += 1
    raise ConfigSyntaxError(lineno, "unterminated double-quoted value")


def _value(text: str, lineno: int) -> str:
    text = text.strip()
    if text.startswith('"'):
        value, rest = _double_quoted(text, lineno)
        rest = rest.strip()
        if rest and not rest.startswith("#"):
            raise ConfigSyntaxError(lineno, f"text after a quoted value: {rest!r}")
        return value
    if text.startswith("'"):
        end = text.find("'", 1)
        while end != -1 and text[end - 1] == "\\":
            end = text.find("'", end + 1)
        if end == -1:
            raise ConfigSyntaxError(lineno, "unterminated single-quoted value")
        rest = text[end + 1:].strip()
        if rest and not rest.startswith("#"):
            raise ConfigSyntaxError(lineno, f"text after a quoted value: {rest!r}")
        return text[1:end].replace("\\'", "'")
    # a bare value: a comment starts at " #"
    m = re.search(r"\s#", text)
    return (text[:m.start()] if m else text).rstrip()


def parse(text: str) -> Element:
    """The config as a tree under a root element named `ROOT`."""
    root = Element("ROOT")
    stack = [root]
    for lineno, raw in enumerate(text.split("\n"), start=1):  # fluentd splits on \n only
        line = raw.strip(" \t\r\f\v")
        if not line or line.startswith("#"):
            continue
        if line.startswith("</"):
            m = _CLOSE.match(line)
            if not m:
                raise ConfigSyntaxError(lineno, f"bad closing tag {line!r}")
            if len(stack) == 1 or stack[-1].name != m.group(1):
                raise ConfigSyntaxError(lineno, f"</{m.group(1)}> closes <{stack[-1].name}>")
            stack.pop()
            continue
        if line.startswith("<"):
            m = _OPEN.match(line)
            if not m:
                raise ConfigSyntaxError(lineno, f"bad section tag {line!r}")
            e = Element(m.group(1), (m.group(2) or "").strip(), line=lineno)
            stack[-1].elements.append(e)
            stack.append(e)
            continue
        if line.startswith("@include"):
            raise ConfigSyntaxError(lineno, "@include is not supported")
        m = _KEY.match(line)
        if m is None:  # pragma: no cover - a stripped non-empty line always has a key
            raise ConfigSyntaxError(lineno, f"cannot read {line!r}")
        key, rest = m.group(1), m.group(2) or ""
        if key in stack[-1].params:
            raise ConfigSyntaxError(lineno, f"{key} given twice in <{stack[-1].name}>")
        stack[-1].params[key] = _value(rest, lineno)
    if len(stack) > 1:
        raise ConfigSyntaxError(stack[-1].line, f"<{stack[-1].name}> is never closed")
    return root


# ---------------------------------------------------------------- embedded Ruby (#{...}) values

_ENV_FORMS: list[tuple[re.Pattern[str], Callable[[re.Match[str], Mapping[str, str]], str]]] = [
    (re.compile(r"ENV\['(\w+)'\] \|\| '([^']*)'"), lambda m, e: e.get(m[1]) or m[2]),
    (re.compile(r"ENV\.fetch\('(\w+)'\)"), lambda m, e: _fetch(e, m[1])),
    (re.compile(r"ENV\['(\w+)'\]\.to_s"), lambda m, e: e.get(m[1], "")),
    (re.compile(r"ENV\['(\w+)'\]\.to_s\.empty\? \? '([^']*)' : '([^']*)'"),
     lambda m, e: m[2] if not e.get(m[1], "") else m[3]),
]


def _fetch(environ: Mapping[str, str], name: str) -> str:
    if name not in environ:
        raise KeyError(f"key not found: {name!r} (fluentd would refuse to start)")
    return environ[name]


def env_names(value: str) -> set[str]:
    return set(re.findall(r"ENV(?:\['|\.fetch\(')(\w+)'", value))


def expand(value: str, environ: Mapping[str, str]) -> str:
    """Evaluate the `#{...}` forms the rendered config uses, as fluentd does at start."""
    def one(m: re.Match[str]) -> str:
        code = m.group(1)
        for pattern, fn in _ENV_FORMS:
            mm = pattern.fullmatch(code)
            if mm:
                return fn(mm, environ)
        raise Unsupported(f"embedded Ruby not modelled: #{{{code}}}")

    return re.sub(r"#\{(.*?)\}(?=[^}]|$)", one, value)


# ---------------------------------------------------------------- tag patterns (<match a.** b>)

def _glob_regex(pat: str) -> str:
    out = []
    i = 0
    while i < len(pat):
        c = pat[i]
        if pat.startswith("**", i):
            if pat.startswith("**.", i):  # zero or more leading parts
                out.append(r"(?:.*\.)?")
                i += 3
            else:
                out.append(r".*")
                i += 2
        elif c == "." and pat.startswith(".**", i) and (i + 3 == len(pat)):
            out.append(r"(?:\..*)?")  # a.** matches a as well
            i += 3
        elif c == "*":
            out.append(r"[^.]*")
            i += 1
        elif c == "{":
            depth, j = 1, i + 1
            while j < len(pat) and depth:
                depth += {"{": 1, "}": -1}.get(pat[j], 0)
                j += 1
            if depth:
                raise ValueError(f"unbalanced {{ in pattern {pat!r}")
            alts, buf, d = [], [], 0
            for ch in pat[i + 1:j - 1]:
                if ch == "," and d == 0:
                    alts.append("".join(buf))
                    buf = []
                    continue
                d += {"{": 1, "}": -1}.get(ch, 0)
                buf.append(ch)
            alts.append("".join(buf))
            out.append("(?:" + "|".join(_glob_regex(a) for a in alts) + ")")
            i = j
        else:
            out.append(re.escape(c))
            i += 1
    return "".join(out)


def glob_match(pattern: str, tag: str) -> bool:
    """fluentd's tag matching: `*` one part, `**` zero or more parts, `{a,b}` either; a
    space-separated list matches when any of its patterns does."""
    return any(re.fullmatch(_glob_regex(p), tag, re.DOTALL) is not None for p in pattern.split())


# ---------------------------------------------------------------- the routing simulator

@dataclass
class Delivery:
    """Where one event ended: an output plugin (by @id and @type) with the record it received."""

    plugin_id: str
    plugin_type: str
    tag: str
    record: dict[str, Any]
    output: Element
    path: list[str]  # @ids the event went through, in order

    @property
    def table(self) -> str | None:
        return self.output.get("table")


class Dropped(Exception):
    def __init__(self, reason: str, path: list[str]):
        super().__init__(f"{reason} (through {' -> '.join(path) or 'nothing'})")
        self.reason = reason
        self.path = path


def ruby_to_s(value: Any) -> str:
    if value is None:
        return ""
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)):
        return repr(value)
    return json.dumps(value)  # a Hash/Array inspect: never empty


def ruby_regex(pattern: str) -> re.Pattern[str]:
    """A Ruby /regexp/ literal (as rewrite_tag_filter's `pattern`) as a Python pattern."""
    if not (pattern.startswith("/") and pattern.rstrip("imx").endswith("/")):
        raise Unsupported(f"pattern is not a /regexp/ literal: {pattern!r}")
    body = pattern[1:pattern.rstrip("imx").rfind("/")]
    flags = re.MULTILINE  # Ruby: ^ and $ are always line anchors
    if "m" in pattern[pattern.rfind("/"):]:
        flags |= re.DOTALL
    return re.compile(body.replace(r"\z", r"\Z"), flags)


class Buffered(Exception):
    """The event is held by a filter (a Docker partial message waiting for its other pieces)."""


PARTIAL_KEYS = ("partial_message", "partial_id", "partial_ordinal", "partial_last")


class Router:
    def __init__(self, root: Element):
        self._partials: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.root = root
        self.labels = {e.arg: e for e in root.children("label")}
        self.by_id = {e.get("@id"): e for e in root.walk() if e.get("@id")}

    def _directives(self, label: str | None) -> list[Element]:
        scope = self.root if label is None else self.labels.get(label)
        if scope is None:
            raise Dropped(f"no <label {label}>", [])
        return [e for e in scope.elements if e.name in ("filter", "match")]

    def route(self, tag: str, record: dict[str, Any], *, time: float = 0.0,
              label: str | None = None, _path: list[str] | None = None, _depth: int = 0) -> Delivery:
        path = list(_path or [])
        if _depth > 20:
            raise Dropped("routing loop", path)
        record = dict(record)
        for d in self._directives(label):
            if not glob_match(d.arg, tag):
                continue
            path.append(d.get("@id") or f"<{d.name} {d.arg}>")
            if d.name == "filter":
                record = self._filter(d, tag, record, time, path)
                continue
            t = d.get("@type")
            if t == "relabel":
                return self.route(tag, record, time=time, label=d.get("@label"), _path=path,
                                  _depth=_depth + 1)
            if t == "rewrite_tag_filter":
                new_tag = rewrite_tag(d, tag, record)
                if new_tag is None or new_tag == tag:
                    raise Dropped(f"no rewrite rule matched tag {tag}", path)
                return self.route(new_tag, record, time=time, label=d.get("@label", label),
                                  _path=path, _depth=_depth + 1)
            if t == "copy":
                raise Unsupported("copy")
            return Delivery(d.get("@id") or "", t or "", tag, record, d, path)
        raise Dropped(f"no <match> for tag {tag} in {label or 'the top level'}", path)

    def _filter(self, d: Element, tag: str, record: dict[str, Any], time: float,
                path: list[str]) -> dict[str, Any]:
        t = d.get("@type")
        if t == "concat":
            return self._concat(d, tag, record)
        if t == "parser":
            return parser_filter(d, record)
        if t == "record_transformer":
            return record_transformer(d, tag, record, time)
        raise Unsupported(f"filter @type {t}")


    def _concat(self, d: Element, tag: str, record: dict[str, Any]) -> dict[str, Any]:
        """fluent-plugin-concat with use_partial_metadata (docker-fluentd): pieces carrying
        partial_message "true" are held by partial_id until the one with partial_last "true",
        then joined in partial_ordinal order; a record without the metadata passes as it is."""
        if d.get("use_partial_metadata") != "true" or d.get("partial_key") or d.get("multiline_start_regexp"):
            raise Unsupported("concat other than use_partial_metadata")
        if record.get("partial_message") != "true":
            return record
        key = d.get("key", "message")
        pieces = self._partials.setdefault((tag, str(record.get("partial_id"))), [])
        pieces.append(record)
        if record.get("partial_last") != "true":
            raise Buffered()
        del self._partials[(tag, str(record.get("partial_id")))]
        pieces.sort(key=lambda r: int(r.get("partial_ordinal", 0)))
        out = dict(pieces[0])
        out[key] = (d.get("separator", "\n")).join(str(p.get(key, "")) for p in pieces)
        if d.get("keep_partial_metadata") != "true":
            for k in PARTIAL_KEYS:
                out.pop(k, None)
        return out

    def route_stream(self, events: list[tuple[str, dict[str, Any]]], *, time: float = 0.0) -> list[Delivery]:
        """Route events in order; pieces held by a filter yield no delivery until complete."""
        out = []
        for tag, record in events:
            try:
                out.append(self.route(tag, record, time=time))
            except Buffered:
                continue
        return out


def parser_filter(d: Element, record: dict[str, Any]) -> dict[str, Any]:
    parse_conf = d.children("parse")
    if not parse_conf or parse_conf[0].get("@type") != "json":
        raise Unsupported("parser other than json")
    if d.get("emit_invalid_record_to_error", "true") != "false" or d.get("reserve_data") != "true":
        raise Unsupported("parser without reserve_data / with error events")
    for opt in ("hash_value_field", "inject_key_prefix"):
        if d.get(opt):
            raise Unsupported(f"parser {opt}")
    key = d.get("key_name")
    raw = record.get(key)  # type: ignore[arg-type]
    if raw is None:
        return record
    try:
        parsed = json.loads(raw) if isinstance(raw, str) else None
    except ValueError:
        parsed = None
    if not isinstance(parsed, dict):
        return record
    out = dict(record)
    if d.get("remove_key_name_field") == "true":
        out.pop(key, None)  # type: ignore[arg-type]
    out.update(parsed)
    return out


def _backref(m: re.Match[str], n: int) -> str:
    return (m.group(n) or "") if n <= m.re.groups else ""


def rewrite_tag(d: Element, tag: str, record: dict[str, Any]) -> str | None:
    """rewrite_tag_filter 2.x: the first rule whose key's value (to_s) matches; an empty value
    skips the rule unless `invert true`; no rule: None (fluentd drops the event)."""
    if d.get("remove_tag_prefix") or d.get("hostname_command"):
        raise Unsupported("rewrite_tag_filter tag options")
    for rule in d.children("rule"):
        value = ruby_to_s(record.get(rule.get("key", "")))
        invert = rule.get("invert", "false") == "true"
        if value == "" and not invert:
            continue
        m = ruby_regex(rule.get("pattern", "")).search(value)
        if bool(m) == invert:
            continue
        new = rule.get("tag", "").replace("${tag}", tag)
        if m is not None:
            new = re.sub(r"\$(\d)", lambda g, m=m: _backref(m, int(g[1])), new)
        if "${" in new:
            raise Unsupported(f"tag placeholder in {new!r}")
        return new
    return None


_RUBY_FORMS: list[tuple[re.Pattern[str], Callable[..., Any]]] = [
    (re.compile(r"time\.utc\.strftime\('%Y-%m-%dT%H:%M:%S\.%6NZ'\)"),
     lambda m, rec, t: datetime.fromtimestamp(t, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")),
    (re.compile(r"record\['(\w+)'\] \|\| '([^']*)'"),
     lambda m, rec, t: ruby_to_s(rec[m[1]]) if rec.get(m[1]) is not None and rec.get(m[1]) is not False else m[2]),
    (re.compile(r"record\['(\w+)'\]\.to_s"), lambda m, rec, t: ruby_to_s(rec.get(m[1]))),
    (re.compile(r"record\.to_json"), lambda m, rec, t: json.dumps(rec, separators=(",", ":"))),
]


def record_transformer(d: Element, tag: str, record: dict[str, Any], time: float) -> dict[str, Any]:
    ruby = d.get("enable_ruby") == "true"
    if d.get("renew_record") == "true":
        out = {k: record[k] for k in (d.get("keep_keys") or "").split(",") if k and k in record}
    else:
        out = dict(record)
    for section in d.children("record"):
        for key, value in section.params.items():
            def one(m: re.Match[str]) -> str:
                code = m.group(1)
                if not ruby:
                    raise Unsupported("non-Ruby placeholders")
                for pattern, fn in _RUBY_FORMS:
                    mm = pattern.fullmatch(code)
                    if mm:
                        return fn(mm, record, time)
                raise Unsupported(f"record_transformer expression ${{{code}}}")

            out[key] = re.sub(r"\$\{([^}]+)\}", one, value)
    for k in (d.get("remove_keys") or "").split(","):
        if k:
            out.pop(k, None)
    return out


def load(text: str) -> Router:
    return Router(parse(text))
