"""Trace ids from the request headers a tracer or a load balancer sets.

- W3C Trace Context `traceparent`: `{version}-{trace-id}-{parent-id}-{flags}`, e.g.
  `00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01`
  (https://www.w3.org/TR/trace-context/#traceparent-header).
- AWS X-Ray `X-Amzn-Trace-Id` (set by ALB, API Gateway, the X-Ray SDKs):
  `Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1`
  (https://docs.aws.amazon.com/xray/latest/devguide/xray-concepts.html#xray-concepts-tracingheader).

Both come from the client, so they are parsed strictly: a value is taken only when every
character of the id is what the format allows (lowercase hex for W3C, as the spec requires),
never cleaned or cut into shape. A header that does not parse gives no trace id at all; the
request is served and logged as usual. The header is looked at only up to a fixed length, so
a megabyte of header costs nothing more than a short one.

What is stored: `trace_id` is the W3C trace-id (32 hex) or the X-Ray trace id as X-Ray shows
it (`1-5759e988-bd862e3fe1be46a994272793`), so it can be pasted into the X-Ray console;
`span_id` is the caller's span (W3C parent-id, X-Ray Parent), 16 hex.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# W3C: version 00 is exactly 55 characters; a later version may append "-..." fields, which
# are ignored (the spec tells parsers to read the first four and check what follows is "-").
_TRACEPARENT = re.compile(r"([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?\Z",
                          re.DOTALL)
_XRAY_ROOT = re.compile(r"1-[0-9a-f]{8}-[0-9a-f]{24}\Z")
_HEX16 = re.compile(r"[0-9a-f]{16}\Z")
_ZERO_TRACE = "0" * 32
_ZERO_SPAN = "0" * 16
# Longer than any valid value (a future traceparent version may carry more fields; an X-Ray
# header has a few more keys at most): what is past this is not read.
MAX_HEADER = 512
_OWS = " \t"  # HTTP's optional white space around a header value


@dataclass(frozen=True)
class Trace:
    trace_id: str
    span_id: str | None = None


def _text(value: str | bytes | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, bytes):
        if len(value) > MAX_HEADER:
            return None
        try:
            return value.decode("ascii").strip(_OWS)
        except UnicodeDecodeError:
            return None
    if not isinstance(value, str) or len(value) > MAX_HEADER:
        return None
    return value.strip(_OWS)


def parse_traceparent(value: str | bytes | None) -> Trace | None:
    """The trace in a W3C `traceparent` header, or None when it is not a valid one."""
    text = _text(value)
    if not text:
        return None
    m = _TRACEPARENT.match(text)
    if m is None:
        return None
    version, trace_id, span_id, _flags, rest = m.groups()
    if version == "ff" or (version == "00" and rest is not None):
        return None  # ff is forbidden; version 00 has exactly four fields
    if trace_id == _ZERO_TRACE or span_id == _ZERO_SPAN:
        return None  # all-zero ids are invalid by the spec
    return Trace(trace_id, span_id)


def parse_xray(value: str | bytes | None) -> Trace | None:
    """The trace in an AWS `X-Amzn-Trace-Id` header (its Root, and Parent when valid)."""
    text = _text(value)
    if not text:
        return None
    root: str | None = None
    parent: str | None = None
    for part in text.split(";"):
        key, sep, val = part.partition("=")
        if not sep:
            continue
        key = key.strip(_OWS).lower()
        val = val.strip(_OWS)
        if key == "root":
            if root is not None:
                return None  # two roots: which one the client meant is unknowable
            root = val
        elif key == "parent" and parent is None:
            parent = val
    if root is None or not _XRAY_ROOT.match(root):
        return None
    if parent is not None and (not _HEX16.match(parent) or parent == _ZERO_SPAN):
        parent = None
    return Trace(root, parent)


def trace_from(traceparent: str | bytes | None, xray: str | bytes | None) -> Trace | None:
    """`traceparent` when valid (the app's own tracer, W3C), else the X-Ray header."""
    return parse_traceparent(traceparent) or parse_xray(xray)
