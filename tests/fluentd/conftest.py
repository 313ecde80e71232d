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


@pytest.fixture(scope="session")
def bq_tables():
    """registry (, names) -> the BigQuery stand-in's tables, as `shipper tables apply` makes them."""
    from shipper.testing.fluentd import DATASET, PROJECT
    from shipper.warehouse.bigquery import table_resource

    def make(registry, names=None):
        return {n: table_resource(registry.table(n), PROJECT, DATASET) for n in (names or registry.names)}

    return make
