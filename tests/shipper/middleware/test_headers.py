"""Hostile header values (hypothesis): request ids, X-Forwarded-For, text cut to the table."""

from __future__ import annotations

import asyncio
import ipaddress
import re
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from support import SCHEMAS

from shipper._fit import check_record
from shipper.middleware._common import REQUEST_ID_MAX, client_address, cut, request_id_from
from shipper.registry import load_registry

SAFE_ID = re.compile(r"[\x21-\x7e]{1,128}\Z")
REGISTRY = load_registry(SCHEMAS, full_check=False)


def test_request_id_bound_fits_the_envelope() -> None:
    assert REGISTRY.table("app_log").field("request_id").constraints.max_length >= REQUEST_ID_MAX


@given(st.one_of(st.text(), st.binary(), st.none(),
                 st.text(alphabet=st.characters(codec="ascii"), min_size=100, max_size=300)))
def test_request_id_is_always_a_bounded_printable_token(value: Any) -> None:
    rid = request_id_from(value)
    assert SAFE_ID.match(rid)
    assert not any(c in rid for c in " \"',;\\")


@given(st.from_regex(r"[A-Za-z0-9._:-]{1,128}", fullmatch=True))
def test_a_sane_request_id_is_kept(value: str) -> None:
    assert request_id_from(value) == value
    assert request_id_from(value.encode()) == value


@given(st.one_of(st.text(max_size=500), st.binary(max_size=500)), st.booleans())
def test_forwarded_for_yields_an_ip_or_the_peer(xff: Any, trust: bool) -> None:
    got = client_address(xff, "192.0.2.1", trust)
    assert got is not None and len(got) <= 64
    ipaddress.ip_address(got)
    if not trust:
        assert got == "192.0.2.1"


@given(st.ip_addresses(), st.lists(st.ip_addresses(), max_size=3))
def test_forwarded_for_first_hop_when_trusted(first: Any, rest: list[Any]) -> None:
    xff = ", ".join(str(x) for x in [first, *rest])
    assert client_address(xff, "192.0.2.1", True) == str(first)


@given(st.text(), st.integers(min_value=1, max_value=50))
def test_cut_is_utf8_and_bounded(text: str, limit: int) -> None:
    out = cut(text, limit)
    assert out is not None and len(out) <= limit
    out.encode("utf-8")


_header_value = st.binary(max_size=3000).map(
    lambda b: bytes(x for x in b if x not in (10, 13, 0)))


async def _ok(request: Any) -> PlainTextResponse:
    return PlainTextResponse("ok")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ua=_header_value, host=_header_value, rid=_header_value, xff=_header_value,
       path=st.text(max_size=3000).map(lambda p: "/" + p))
def test_any_headers_give_a_record_that_fits(lines: Any, ua: bytes, host: bytes, rid: bytes,
                                             xff: bytes, path: str) -> None:
    from shipper.middleware.asgi import AccessLogMiddleware

    app = AccessLogMiddleware(Starlette(routes=[Route("/", _ok)]), trust_forwarded_for=True)
    seen: list[dict[str, Any]] = []

    async def go() -> None:
        scope_path = path.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
        headers = [(b"user-agent", ua), (b"host", host), (b"x-request-id", rid),
                   (b"x-forwarded-for", xff)]
        sent: list[Any] = []

        async def receive() -> Any:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: Any) -> None:
            sent.append(message)

        await app({"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
                   "method": "GET", "scheme": "http", "path": scope_path, "raw_path": b"/",
                   "query_string": b"", "root_path": "", "headers": headers,
                   "client": ("198.51.100.9", 1), "server": ("test", 80)}, receive, send)
        seen.extend(sent)

    before = len(lines.records("access_log"))
    asyncio.run(go())
    recs = lines.records("access_log")
    assert len(recs) == before + 1
    rec = recs[-1]
    assert check_record(REGISTRY.table("access_log"), rec) == []
    echoed = dict(seen[0]["headers"])[b"x-request-id"].decode("ascii")
    assert echoed == rec["request_id"] and SAFE_ID.match(echoed)


_environ_text = st.text(alphabet=st.characters(min_codepoint=1, max_codepoint=255),
                        max_size=3000)


@settings(max_examples=80, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ua=_environ_text, host=_environ_text, rid=_environ_text, xff=_environ_text,
       path=_environ_text, method=_environ_text, length=_environ_text)
def test_any_wsgi_environ_gives_a_record_that_fits(lines: Any, ua: str, host: str, rid: str,
                                                   xff: str, path: str, method: str,
                                                   length: str) -> None:
    from shipper.middleware.wsgi import AccessLogMiddleware

    def app(environ: Any, start_response: Any) -> list[bytes]:
        start_response("200 OK", [])
        return [b"ok"]

    environ = {"REQUEST_METHOD": method, "PATH_INFO": "/" + path, "SCRIPT_NAME": "",
               "HTTP_USER_AGENT": ua, "HTTP_HOST": host, "HTTP_X_REQUEST_ID": rid,
               "HTTP_X_FORWARDED_FOR": xff, "REMOTE_ADDR": "198.51.100.9",
               "CONTENT_LENGTH": length}
    headers: list[Any] = []
    body = AccessLogMiddleware(app, trust_forwarded_for=True)(
        environ, lambda status, h, exc_info=None: headers.extend(h))
    assert b"".join(body) == b"ok"
    body.close()
    rec = lines.records("access_log")[-1]
    assert check_record(REGISTRY.table("access_log"), rec) == []
    assert dict(headers)["X-Request-ID"] == rec["request_id"]
    assert SAFE_ID.match(rec["request_id"])
