"""Fixtures for the fluentd_metrics Lambda: the handler loaded as Lambda loads it, a real moto
server on 127.0.0.1, and the captured fluentd lines."""

from __future__ import annotations

import importlib.util
import json
import os
import socket
import sys
import urllib.request
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parents[3]
LAMBDA_DIR = REPO / "lambdas" / "fluentd_metrics"
FIXTURES = REPO.parent / "shared" / "fixtures" / "fluentd"
# Fixture lines are from 2026-11-28 09:37-09:39 UTC; "now" is set a few hours later so they sit
# inside CloudWatch's two-week window whatever day the tests run.
FIXTURE_NOW = 1795867200.0  # 2026-11-28 12:00:00 UTC

ENV_KEYS = ("METRICS_NAMESPACE", "METRICS_MODE", "METRICS_DIMENSIONS", "METRICS_STORAGE_RESOLUTION",
            "METRICS_ON_API_FAILURE", "METRICS_CARRY_STATE", "METRICS_CARRY_MAX_AGE_SECONDS",
            "METRICS_MAX_ATTEMPTS")


def load_handler() -> ModuleType:
    """Import handler.py the way the Lambda runtime does (its directory on sys.path), under a
    unique module name so another Lambda's ``handler`` module cannot shadow it."""
    if str(LAMBDA_DIR) not in sys.path:
        sys.path.insert(0, str(LAMBDA_DIR))
    name = "fluentd_metrics_handler"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, LAMBDA_DIR / "handler.py")
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


def real_lines(name: str) -> list[str]:
    """The verbatim lines of a fixture file, without its '#' annotations and blank separators."""
    path = FIXTURES / name
    if not path.is_file():
        pytest.fail(f"fixture {path} missing (shared/ must sit beside the repo)")
    return [ln.rstrip("\n") for ln in path.read_text(encoding="utf-8").splitlines()
            if ln.strip() and not ln.startswith("#")]


def all_lines(name: str) -> list[str]:
    return (FIXTURES / name).read_text(encoding="utf-8").splitlines()


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
    """Point boto3 at the moto server with dummy credentials, and start from an empty account."""
    urllib.request.urlopen(urllib.request.Request(f"{moto_url}/moto-api/reset", method="POST"), timeout=10)
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    import boto3

    return boto3.client("cloudwatch", region_name="us-east-1", endpoint_url=moto_url)


def emf_lines(out: str) -> list[dict]:
    return [json.loads(line) for line in out.splitlines() if line.startswith('{"_aws"')]


def summary_of(out: str) -> dict:
    found = [json.loads(line) for line in out.splitlines() if '"fluentd_metrics summary"' in line]
    assert len(found) == 1, out[-2000:]
    return found[0]
