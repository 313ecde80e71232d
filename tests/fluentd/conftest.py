"""Real fluentd for the tests in this folder: found through LOGBRIDGE_FLUENTD or PATH, else skipped."""

from __future__ import annotations

import pytest
from support import SCHEMAS

from shipper.registry import load_registry
from shipper.testing.fluentd import NO_FLUENTD, find_fluentd


@pytest.fixture(scope="session")
def fluentd_cmd() -> list[str]:
    cmd = find_fluentd()
    if cmd is None:
        pytest.skip(NO_FLUENTD)
    return cmd


@pytest.fixture(scope="session")
def registry():
    return load_registry(SCHEMAS)
