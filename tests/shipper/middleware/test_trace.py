"""Trace ids from `traceparent` and `X-Amzn-Trace-Id`: strict parsers (hypothesis, hostile
values), and the middlewares putting them on the access record and in the request's context."""

from __future__ import annotations

import asyncio
import json
import re
import shutil
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from support import SCHEMAS
from werkzeug.test import Client

import shipper
from shipper._fit import check_record
from shipper.middleware._trace import (
    MAX_HEADER,
    Trace,
    parse_traceparent,
    parse_xray,
    trace_from,
)
from shipper.registry import load_registry

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
SPAN = "00f067aa0ba902b7"
TRACEPARENT = f"00-{TRACE}-{SPAN}-01"
XRAY_ROOT = "1-5759e988-bd862e3fe1be46a994272793"
XRAY = f"Root={XRAY_ROOT};Parent=53995c3f42cd8ad8;Sampled=1"
TRACE_ID = re.compile(r"[0-9a-f]{32}\Z|1-[0-9a-f]{8}-[0-9a-f]{24}\Z")
SPAN_ID = re.compile(r"[0-9a-f]{16}\Z")
REGISTRY = load_registry(SCHEMAS, full_check=False)

def _hex(n: int) -> st.SearchStrategy[str]:
    return st.text(alphabet="0123456789abcdef", min_size=n, max_size=n)


# --- parsers -----------------------------------------------------------------------------

@given(st.one_of(st.text(max_size=700), st.binary(max_size=700), st.none()))
def test_any_value_gives_none_or_a_well_formed_trace(value: Any) -> None:
    for parse in (parse_traceparent, parse_xray):
        got = parse(value)
        assert got is None or (TRACE_ID.match(got.trace_id) and
                               (got.span_id is None or SPAN_ID.match(got.span_id)))


@given(_hex(2).filter(lambda v: v != "ff"), _hex(32).filter(lambda v: set(v) != {"0"}),
       _hex(16).filter(lambda v: set(v) != {"0"}), _hex(2))
def test_a_valid_traceparent_round_trips(version: str, trace: str, span: str, flags: str) -> None:
    header = f"{version}-{trace}-{span}-{flags}"
    assert parse_traceparent(header) == Trace(trace, span)
    assert parse_traceparent(header.encode()) == Trace(trace, span)
    assert parse_traceparent(f" \t{header} ") == Trace(trace, span)  # optional white space


@given(_hex(32).filter(lambda v: set(v) != {"0"}), _hex(16).filter(lambda v: set(v) != {"0"}),
       st.text(max_size=40))
def test_a_later_version_may_carry_more_fields(trace: str, span: str, rest: str) -> None:
    assert parse_traceparent(f"01-{trace}-{span}-01-{rest}") == Trace(trace, span)
    assert parse_traceparent(f"00-{trace}-{span}-01-{rest}") is None  # 00 has exactly four
    if rest.strip(" \t") and not rest.startswith("-"):  # flags must end the value or meet "-"
        assert parse_traceparent(f"01-{trace}-{span}-01{rest}") is None


@pytest.mark.parametrize("header", [
    f"00-{TRACE.upper()}-{SPAN}-01",            # upper case hex: the spec says lower case
    f"00-{TRACE}-{SPAN.upper()}-01",
    f"ff-{TRACE}-{SPAN}-01",                    # version ff is forbidden
    f"00-{'0' * 32}-{SPAN}-01",                 # all-zero ids are invalid
    f"00-{TRACE}-{'0' * 16}-01",
    f"00-{TRACE[:-1]}-{SPAN}-01",               # wrong lengths
    f"00-{TRACE}0-{SPAN}-01",
    f"00-{TRACE}-{SPAN}-1",
    f"00_{TRACE}_{SPAN}_01",
    f"00-{TRACE}-{SPAN}-01\n",                  # header injection attempts
    f"00-{TRACE}-{SPAN}-01\r\nx-evil: 1",
    f"00-{TRACE}-{SPAN}-01, 00-{TRACE}-{SPAN}-01",  # two headers folded by a server
    f"00-{TRACE}-{SPAN}-0１",                    # a fullwidth digit
    "", "   ", "00", "-" * 55,
    f"01-{TRACE}-{SPAN}-01-" + "x" * MAX_HEADER,  # past the length read
])
def test_invalid_traceparent_is_refused(header: str) -> None:
    assert parse_traceparent(header) is None
    assert parse_traceparent(header.encode("utf-8")) is None


def test_non_ascii_bytes_are_refused() -> None:
    assert parse_traceparent(TRACEPARENT.encode() + b"\xff") is None
    assert parse_traceparent(b"\xff" * 55) is None
    assert parse_xray(XRAY.encode() + b"\xc3\xa9") is None


@given(_hex(8), _hex(24), st.one_of(st.none(), _hex(16)), st.permutations([0, 1, 2]))
def test_a_valid_xray_header_in_any_order(epoch: str, rand: str, parent: str | None,
                                          order: list[int]) -> None:
    root = f"1-{epoch}-{rand}"
    parts = [f"Root={root}", f"Parent={parent}" if parent else "Sampled=0", "Lineage=a:1"]
    header = ";".join(parts[i] for i in order)
    want = Trace(root, parent if parent and set(parent) != {"0"} else None)
    assert parse_xray(header) == want
    assert parse_xray(header.replace(";", " ; ")) == want


@pytest.mark.parametrize("header,want", [
    (XRAY, Trace(XRAY_ROOT, "53995c3f42cd8ad8")),
    (f"Self=1-67891234-12456789abcdef012345678;Root={XRAY_ROOT}", Trace(XRAY_ROOT)),  # ALB
    (f"root={XRAY_ROOT};parent=53995c3f42cd8ad8", Trace(XRAY_ROOT, "53995c3f42cd8ad8")),
    (f"Root={XRAY_ROOT};Parent=nothex0000000000", Trace(XRAY_ROOT)),  # a bad Parent: root only
    (f"Root={XRAY_ROOT.upper()}", None),
    (f"Root=2-{XRAY_ROOT[2:]}", None),          # unknown version
    (f"Root={XRAY_ROOT}x", None),
    (f"Root={XRAY_ROOT};Root=1-00000000-000000000000000000000000", None),  # two roots
    (f"Root={XRAY_ROOT}\r\nx-evil: 1", None),
    ("Parent=53995c3f42cd8ad8", None),
    ("Root", None), ("", None), (";;;", None), ("=" * 50, None),
])
def test_xray_header(header: str, want: Trace | None) -> None:
    assert parse_xray(header) == want


def test_traceparent_wins_over_xray_and_xray_is_the_fallback() -> None:
    assert trace_from(TRACEPARENT, XRAY) == Trace(TRACE, SPAN)
    assert trace_from("garbage", XRAY) == Trace(XRAY_ROOT, "53995c3f42cd8ad8")
    assert trace_from(None, None) is None


# --- the middlewares -----------------------------------------------------------------------

async def _hello(request: Request) -> PlainTextResponse:
    shipper.get_logger().info("inside")
    return PlainTextResponse("hi")


def _asgi(headers: list[tuple[bytes, bytes]]) -> httpx.Response:
    from shipper.middleware.asgi import AccessLogMiddleware

    app = AccessLogMiddleware(Starlette(routes=[Route("/", _hello)]))

    async def go() -> httpx.Response:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url="http://t") as c:
            return await c.get("/", headers=headers)

    return asyncio.run(go())


def _wsgi(environ: dict[str, str]) -> Any:
    from shipper.middleware.wsgi import AccessLogMiddleware

    def app(env: Any, start_response: Any) -> list[bytes]:
        shipper.get_logger().info("inside")
        start_response("200 OK", [])
        return [b"hi"]

    return Client(AccessLogMiddleware(app)).get("/", environ_base=environ)


@pytest.mark.parametrize("kind", ["asgi", "wsgi"])
@pytest.mark.parametrize("name,value,trace_id", [
    ("traceparent", TRACEPARENT, TRACE),
    ("x-amzn-trace-id", XRAY, XRAY_ROOT),
])
def test_trace_id_on_the_access_record_and_the_app_records(lines: Any, kind: str, name: str,
                                                          value: str, trace_id: str) -> None:
    if kind == "asgi":
        _asgi([(name.encode(), value.encode())])
    else:
        _wsgi({"HTTP_" + name.upper().replace("-", "_"): value})
    inside, access = lines.records()
    assert inside["trace_id"] == access["trace_id"] == trace_id
    assert "span_id" not in access and "span_id" not in (inside.get("extra") or {})
    assert check_record(REGISTRY.table("access_log"), access) == []


@given(st.binary(max_size=200).map(lambda b: bytes(x for x in b if x not in (0, 10, 13))),
       st.binary(max_size=200).map(lambda b: bytes(x for x in b if x not in (0, 10, 13))))
def test_hostile_trace_headers_give_a_record_that_fits(traceparent: bytes, xray: bytes) -> None:
    from shipper.middleware._common import Access

    access = Access(method="GET", path="/", request_id="r",
                    trace=trace_from(traceparent, xray))
    fields = access.fields(200, 0.1)
    record = {"timestamp": "2024-01-01T00:00:00.000000Z", "severity": "INFO", **fields}
    record = {k: v for k, v in record.items() if v is not None}
    assert check_record(REGISTRY.table("access_log"), record) == []
    if "trace_id" in fields:
        assert TRACE_ID.match(fields["trace_id"])


@pytest.fixture
def registry_with_span_id(tmp_path: Path) -> Path:
    """The real registry with a span_id column added to the envelope (an app's own registry
    may have one): the middleware then fills it."""
    root = tmp_path / "schemas"
    shutil.copytree(SCHEMAS, root)
    envelope = root / "_shared" / "envelope.1.schema.json"
    doc = json.loads(envelope.read_text())
    doc["properties"]["span_id"] = {"type": ["string", "null"], "maxLength": 16,
                                    "description": "The caller's span."}
    envelope.write_text(json.dumps(doc, indent=2))
    return root


@pytest.mark.parametrize("kind", ["asgi", "wsgi"])
def test_span_id_when_the_table_has_the_column(lines: Any, registry_with_span_id: Path,
                                               kind: str) -> None:
    shipper.configure(registry=registry_with_span_id)
    if kind == "asgi":
        _asgi([(b"traceparent", TRACEPARENT.encode())])
    else:
        _wsgi({"HTTP_TRACEPARENT": TRACEPARENT})
    inside, access = lines.records()
    assert (access["trace_id"], access["span_id"]) == (TRACE, SPAN)
    assert (inside["trace_id"], inside["span_id"]) == (TRACE, SPAN)


def test_text_bounds_come_from_the_registry(lines: Any, tmp_path: Path) -> None:
    """The access_log maxLengths are the registry's, not numbers typed in the middleware: a
    registry with shorter columns gets shorter values."""
    root = tmp_path / "schemas"
    shutil.copytree(SCHEMAS, root)
    path = root / "access_log" / "access_log.1.schema.json"
    doc = json.loads(path.read_text())
    doc["properties"]["user_agent"]["maxLength"] = 10
    doc["properties"]["host"]["maxLength"] = 5
    path.write_text(json.dumps(doc, indent=2))
    envelope = root / "_shared" / "envelope.1.schema.json"
    doc = json.loads(envelope.read_text())
    doc["properties"]["request_id"]["maxLength"] = 40
    envelope.write_text(json.dumps(doc, indent=2))
    shipper.configure(registry=root, mode="strict")
    _asgi([(b"user-agent", b"u" * 50), (b"host", b"h" * 50), (b"x-request-id", b"r" * 41)])
    _asgi([(b"x-request-id", b"r" * 40)])
    access, second = lines.records("access_log")
    assert (access["user_agent"], access["host"]) == ("u" * 10, "h" * 5)
    # a client id longer than the column is replaced (never cut: a cut id joins nothing)
    assert re.fullmatch(r"[0-9a-f]{32}", access["request_id"])
    assert second["request_id"] == "r" * 40
    assert shipper.stats().get("middleware_error") is None
