"""Redaction: key spellings, objects walked before they become text, URL credentials.

Each object case is the issue's: a header object, a model or a mapping logged whole wrote every
field in clear, because only dict keys were looked at.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from collections import namedtuple
from types import MappingProxyType
from typing import Any

import attrs
import pydantic
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.datastructures import Headers as StarletteHeaders
from werkzeug.datastructures import EnvironHeaders
from werkzeug.datastructures import Headers as WerkzeugHeaders

import shipper
from shipper._redact import DEFAULT_REDACT_KEYS, REDACTED, Redactor, key_words

SECRET = "hunter2-secret-value"

SECRET_KEYS = [
    "password", "Password", "PASSWORD", "db_password", "dbPassword", "passwd", "pwd",
    "passphrase", "secret", "client_secret", "clientSecret", "token", "accessToken",
    "access-token", "ACCESS_TOKEN", "refresh_token", "id_token", "idToken", "csrf_token",
    "csrftoken", "csrfmiddlewaretoken", "x-csrf-token", "api_key", "apiKey", "APIKey", "apikey",
    "X-Api-Key", "x-goog-api-key", "privateKey", "private_key", "PRIVATE-KEY",
    "aws_secret_access_key", "AWS_SECRET_ACCESS_KEY", "awsSecretAccessKey", "aws_session_token",
    "X-Amz-Security-Token", "X-Amz-Signature", "X-Amz-Credential", "sessionid", "SESSIONID",
    "session_id", "sessionId", "JSESSIONID", "jwt", "jwtToken", "credentials",
    "GOOGLE_APPLICATION_CREDENTIALS", "authorization", "Authorization", "proxy-authorization",
    "HTTP_AUTHORIZATION", "cookie", "Cookie", "HTTP_COOKIE", "Set-Cookie", "set_cookie",
    "bearer", "basic_auth", "connection_string", "ConnectionString", "AccountKey",
    "oauth2Token", "card_number", "cvv",
]
PLAIN_KEYS = [
    "passwords_tried", "token_count", "tokens_used", "cache_key", "primary_key", "public_key",
    "sort_key", "access_key_id", "private_key_id", "author", "authors", "oauth", "broken",
    "monkey", "keyboard", "status", "path", "user_agent", "request_id", "trace_id", "message",
    "session_count", "secretary_name",
]


@pytest.mark.parametrize("key", SECRET_KEYS)
def test_secret_key_spellings(key: str) -> None:
    assert Redactor(DEFAULT_REDACT_KEYS)(key), key


@pytest.mark.parametrize("key", PLAIN_KEYS)
def test_plain_keys_stay(key: str) -> None:
    assert not Redactor(DEFAULT_REDACT_KEYS)(key), key


def test_key_words() -> None:
    assert key_words("X-Api-Key") == ("x", "api", "key")
    assert key_words("APIKey") == ("api", "key")
    assert key_words("awsSecretAccessKey") == ("aws", "secret", "access", "key")
    assert key_words("HTTP_X_AUTH_TOKEN") == ("http", "x", "auth", "token")
    assert key_words("oauth2Token") == ("oauth2", "token")
    assert key_words("--") == ()


def test_a_configured_list_is_matched_the_same_way() -> None:
    r = Redactor(["ssn", "memberNumber"])
    assert r("SSN") and r("user-ssn") and r("member_number") and r("MEMBER-NUMBER")
    assert not r("password") and not r("ssn_count") and not Redactor([])("password")


@pytest.mark.parametrize(("text", "scrubbed"), [
    ("https://u:hunter2@h/?token=t3", f"https://u:{REDACTED}@h/?token={REDACTED}"),
    ("postgres://u:pw@h/db", f"postgres://u:{REDACTED}@h/db"),
    ("postgresql://app:p@ss@db.internal:5432/x?sslmode=require",
     f"postgresql://app:{REDACTED}@db.internal:5432/x?sslmode=require"),
    ("redis://:pw@cache:6379/0", f"redis://:{REDACTED}@cache:6379/0"),
    ("connect to mongodb+srv://root:pw@c.x.net/db failed",
     f"connect to mongodb+srv://root:{REDACTED}@c.x.net/db failed"),
    ("https://ghp_0123456789abcdefghijklmnopqrstuvwxyz@github.com/o/r.git",
     f"https://{REDACTED}@github.com/o/r.git"),
    ("https://app/cb#access_token=abc&state=1", f"https://app/cb#access_token={REDACTED}&state=1"),
    ("https://b.s3.amazonaws.com/k?X-Amz-Credential=AKIA%2F1&X-Amz-Signature=ab12&x=1",
     f"https://b.s3.amazonaws.com/k?X-Amz-Credential={REDACTED}&X-Amz-Signature={REDACTED}&x=1"),
])
def test_url_credentials_are_scrubbed(text: str, scrubbed: str) -> None:
    assert Redactor(DEFAULT_REDACT_KEYS).scrub(text) == scrubbed


@pytest.mark.parametrize("text", [
    "no url", "https://example.com/p?page=2", "ssh://git@github.com/o/r",
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "https://u@h/", "password=hunter2 in plain text (not a URL: not scrubbed)",
])
def test_strings_without_url_credentials_are_kept(text: str) -> None:
    assert Redactor(DEFAULT_REDACT_KEYS).scrub(text) is None


# -- objects ---------------------------------------------------------------------------------

@dataclasses.dataclass
class DbConfig:
    host: str
    password: str


@attrs.define
class AttrsCreds:
    user: str
    api_key: str


class PydanticCreds(pydantic.BaseModel):
    user: str
    accessToken: str  # noqa: N815 - the issue's spelling
    nested: dict[str, Any] = {}


Creds = namedtuple("Creds", ["access_key", "secret_key", "token"])  # noqa: PYI024 - botocore's shape


def _no_secret(node: Any) -> None:
    import orjson

    text = orjson.dumps(node).decode()
    assert SECRET not in text and "hunter2" not in text, text


OBJECTS = {
    "starlette_headers": (StarletteHeaders({"authorization": f"Bearer {SECRET}",
                                            "cookie": SECRET, "accept": "*/*"}),
                          {"authorization": REDACTED, "cookie": REDACTED, "accept": "*/*"}),
    "werkzeug_headers": (WerkzeugHeaders([("Authorization", f"Bearer {SECRET}"),
                                          ("X-Api-Key", SECRET), ("Accept", "a"),
                                          ("Accept", "b")]),
                         {"Authorization": REDACTED, "X-Api-Key": REDACTED,
                          "Accept": ["a", "b"]}),
    "werkzeug_environ_headers": (EnvironHeaders({"HTTP_AUTHORIZATION": f"Basic {SECRET}",
                                                 "HTTP_HOST": "h"}),
                                 {"Authorization": REDACTED, "Host": "h"}),
    "mapping_proxy": (MappingProxyType({"privateKey": SECRET, "id": 1}),
                      {"privateKey": REDACTED, "id": 1}),
    "pydantic": (PydanticCreds(user="u", accessToken=SECRET, nested={"jwt": SECRET}),
                 {"user": "u", "accessToken": REDACTED, "nested": {"jwt": REDACTED}}),
    "dataclass": (DbConfig("db", SECRET), {"host": "db", "password": REDACTED}),
    "attrs": (AttrsCreds("u", SECRET), {"user": "u", "api_key": REDACTED}),
    "named_tuple": (Creds("AKIA", SECRET, SECRET),
                    {"access_key": REDACTED, "secret_key": REDACTED, "token": REDACTED}),
}


@pytest.mark.parametrize("name", list(OBJECTS))
def test_objects_are_walked_and_redacted(capture: Any, check: Any, name: str) -> None:
    value, expected = OBJECTS[name]
    shipper.get_logger().info("req", obj=value, deep={"list": [value]})
    rec = capture.one()
    assert rec["extra"]["obj"] == expected
    assert rec["extra"]["deep"] == {"list": [expected]}
    _no_secret(rec)
    assert check(rec) == []
    assert shipper.stats()["redacted"] >= 2


def test_the_issue_case_headers_as_a_field(capture: Any) -> None:
    """`log.info("req", headers=request.headers)` with Starlette's request."""
    from starlette.requests import Request

    scope = {"type": "http", "method": "GET", "path": "/", "query_string": b"",
             "headers": [(b"authorization", f"Bearer {SECRET}".encode()),
                         (b"cookie", f"session={SECRET}".encode()), (b"x-trace", b"t")]}
    shipper.get_logger().info("req", headers=Request(scope).headers)
    rec = capture.one()
    assert rec["extra"]["headers"] == {"authorization": REDACTED, "cookie": REDACTED,
                                       "x-trace": "t"}


def test_stdlib_extra_is_redacted_the_same_way(capture: Any) -> None:
    std = logging.getLogger("tests.redact")
    std.propagate = False
    handler = shipper.install_stdlib(logging.INFO, logger=std)
    try:
        std.info("req %s", "x", extra={"headers": WerkzeugHeaders([("Authorization", SECRET)]),
                                       "accessToken": SECRET, "dsn": f"postgres://u:{SECRET}@h/db",
                                       "creds": Creds("a", SECRET, SECRET)})
    finally:
        std.removeHandler(handler)
    rec = capture.one()
    assert rec["extra"]["headers"] == {"Authorization": REDACTED}
    assert rec["extra"]["accessToken"] == REDACTED
    assert rec["extra"]["dsn"] == f"postgres://u:{REDACTED}@h/db"
    _no_secret(rec)


def test_url_credentials_in_columns_extra_and_exceptions(capture: Any, check: Any) -> None:
    log = shipper.get_logger()
    log.info(f"connecting to postgres://app:{SECRET}@db/x", url=f"https://u:{SECRET}@h/?token=t3")
    try:
        raise ConnectionError(f"could not connect to redis://:{SECRET}@cache:6379")
    except ConnectionError:
        log.exception("failed")
    first, second = capture.records()
    assert first["message"] == f"connecting to postgres://app:{REDACTED}@db/x"
    assert first["extra"]["url"] == f"https://u:{REDACTED}@h/?token={REDACTED}"
    assert second["error"]["message"] == f"could not connect to redis://:{REDACTED}@cache:6379"
    assert REDACTED in second["error"]["stack"]
    _no_secret(capture.records())
    assert all(check(r) == [] for r in capture.records())


def test_access_log_values_with_urls(capture: Any) -> None:
    """A declared column on the fast path: a URL with credentials takes the slow path and is
    scrubbed; a URL without them (a crawler's user agent) stays on the fast path, unchanged."""
    log = shipper.get_logger("access_log")
    bot = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
    log.info("request", path="/", method="GET", status_code=200, latency=0.1, user_agent=bot)
    assert shipper.stats() == {"emitted": 1}
    log.info("request", path="/", method="GET", status_code=200, latency=0.1,
             user_agent=f"curl https://u:{SECRET}@h/")
    recs = capture.records()
    assert recs[0]["user_agent"] == bot
    assert recs[1]["user_agent"] == f"curl https://u:{REDACTED}@h/"
    assert shipper.stats()["redacted"] == 1


def test_objects_in_a_string_column_are_walked_too(capture: Any) -> None:
    shipper.get_logger("access_log").info(
        "request", path="/", method="GET", status_code=200, latency=0.1,
        user_agent=MappingProxyType({"token": SECRET}))
    rec = capture.one()
    assert rec["user_agent"] == '{"token":"[REDACTED]"}'


def test_an_object_whose_walk_fails_falls_back_to_its_text(capture: Any) -> None:
    class Broken(pydantic.BaseModel):
        a: int

        def model_dump(self, **kw: Any) -> Any:
            raise RuntimeError("no")

        def __str__(self) -> str:
            return "Broken(a=1)"

    shipper.get_logger().info("m", b=Broken(a=1))
    assert capture.one()["extra"]["b"] == "Broken(a=1)"


def test_redaction_env_variable_replaces_the_list(capture: Any, monkeypatch: Any) -> None:
    monkeypatch.setenv("SHIPPER_REDACT_KEYS", "ssn,memberId")
    from shipper import _config

    _config.reset()
    shipper.configure(sink=shipper.sinks.FileSink(os.fspath(capture.path)))
    shipper.get_logger().info("m", member_id=1, password="visible", SSN="x")
    assert capture.one()["extra"] == {"member_id": REDACTED, "password": "visible",
                                      "SSN": REDACTED}


@settings(max_examples=400, deadline=None)
@given(user=st.text(max_size=12), password=st.text(min_size=1, max_size=12),
       key=st.sampled_from(["token", "page", "X-Amz-Signature", "apiKey"]),
       value=st.text(max_size=12), around=st.text(max_size=8))
def test_the_fast_paths_line_check_never_misses_what_scrub_finds(
        user: str, password: str, key: str, value: str, around: str) -> None:
    """The fast path writes a line unscrubbed only when `line_has_credentials` says no; that
    must hold for any string `scrub` would change, JSON escapes and all."""
    import orjson

    r = Redactor(DEFAULT_REDACT_KEYS)
    for text in (f"{around}https://{user}:{password}@h/x", f"{around}https://h/p?{key}={value}",
                 f"postgres://{user}{password}@h{around}"):
        try:
            line = orjson.dumps({"m": text, "n": 1})
        except TypeError:  # lone surrogates: never the fast path
            continue
        if r.scrub(text) is not None:
            assert (64 in line or 61 in line) and r.line_has_credentials(line), text
