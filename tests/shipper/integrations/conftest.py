"""The integration tests' helpers (`web_servers`) and test apps (`apps/`) are imported by
name: this directory goes on sys.path (tests/ itself is, by pytest's `pythonpath`)."""

from __future__ import annotations

import sys
from pathlib import Path

_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)
