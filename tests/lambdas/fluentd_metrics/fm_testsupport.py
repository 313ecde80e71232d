"""Helpers for the fluentd_metrics tests (a module, since `conftest` is the repo-wide one)."""

from __future__ import annotations

import json
from pathlib import Path
from types import ModuleType

import pytest
from support import load_lambda_handler

REPO = Path(__file__).resolve().parents[3]
LAMBDA_DIR = REPO / "lambdas" / "fluentd_metrics"
FIXTURES = REPO / "tests" / "fixtures" / "fluentd"
# Fixture lines are from 2026-11-28 09:37-09:39 UTC; "now" is set a few hours later so they sit
# inside CloudWatch's two-week window whatever day the tests run.
FIXTURE_NOW = 1795867200.0  # 2026-11-28 12:00:00 UTC

ENV_KEYS = ("METRICS_NAMESPACE", "METRICS_MODE", "METRICS_DIMENSIONS", "METRICS_STORAGE_RESOLUTION",
            "METRICS_ON_API_FAILURE", "METRICS_CARRY_STATE", "METRICS_CARRY_MAX_AGE_SECONDS",
            "METRICS_MAX_ATTEMPTS")


def load_handler() -> ModuleType:
    return load_lambda_handler(LAMBDA_DIR, "fluentd_metrics_handler")


def real_lines(name: str) -> list[str]:
    """The verbatim lines of a fixture file, without its '#' annotations and blank separators."""
    path = FIXTURES / name
    return [ln.rstrip("\n") for ln in path.read_text(encoding="utf-8").splitlines()
            if ln.strip() and not ln.startswith("#")]


def all_lines(name: str) -> list[str]:
    return (FIXTURES / name).read_text(encoding="utf-8").splitlines()


def emf_lines(out: str) -> list[dict]:
    return [json.loads(line) for line in out.splitlines() if line.startswith('{"_aws"')]


def summary_of(out: str) -> dict:
    found = [json.loads(line) for line in out.splitlines() if '"fluentd_metrics summary"' in line]
    assert len(found) == 1, out[-2000:]
    return found[0]
