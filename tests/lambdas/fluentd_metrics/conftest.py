"""Fixtures for the fluentd_metrics Lambda: the handler loaded as Lambda loads it, a real moto
server on 127.0.0.1, and the captured fluentd lines."""

from __future__ import annotations

import socket
import sys
import urllib.request
from pathlib import Path

import pytest

sys.path.append(str(Path(__file__).resolve().parent))  # appended: never shadows a module of other tests
from fm_testsupport import ENV_KEYS, FIXTURE_NOW, load_handler


@pytest.fixture
def h(monkeypatch):
    """The handler module with a clean environment and a fixed clock."""
    mod = load_handler()
    for key in ENV_KEYS:
        monkeypatch.delenv(key, raising=False)
    mod.reset()
    monkeypatch.setattr(mod, "CLOCK", lambda: FIXTURE_NOW)
    yield mod
    mod.reset()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def moto_url():
    from moto.server import ThreadedMotoServer

    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def aws(moto_url, monkeypatch):
    """Point boto3 at the moto server with dummy credentials, start from an empty account, and
    publish with PutMetricData (METRICS_MODE=api; the default is emf)."""
    urllib.request.urlopen(urllib.request.Request(f"{moto_url}/moto-api/reset", method="POST"), timeout=10)
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.setenv("METRICS_MODE", "api")
    import boto3

    return boto3.client("cloudwatch", region_name="us-east-1", endpoint_url=moto_url)


