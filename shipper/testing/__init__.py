"""Test tools for apps that use shipper, and for logbridge's own tests.

Importing this package must stay cheap: it is loaded by the pytest plugin entry point, so what it
offers is imported on first use.

- `ForwardServer`: a fluentd forward-protocol receiver on 127.0.0.1, for tests of `FluentSink`.
- `shipper.testing.fake_bigquery.FakeBigQueryAPI`: a local stand-in of BigQuery's REST API for
  the real google-cloud-bigquery client.
- `shipper.testing.fluentd`: real fluentd on the generated config, for the project's tests.
- The `shipper_records` pytest fixture (`pytest_plugin`).
"""

from __future__ import annotations

from typing import Any

__all__ = ["ForwardServer"]


def __getattr__(name: str) -> Any:
    if name == "ForwardServer":
        from ._forward_server import ForwardServer

        return ForwardServer
    raise AttributeError(f"module 'shipper.testing' has no attribute {name!r}")
