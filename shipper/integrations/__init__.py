"""Web servers' own logs through shipper: uvicorn, gunicorn (and Flask's, via the middleware).

A server logs on its own loggers, which do not propagate to the root logger, so
`shipper.install_stdlib()` never sees them: they print plain text (into raw_log once Docker
ships it), an access line per request that duplicates the middleware's access_log record, and
tracebacks on stderr. The logging configs here send them through `shipper.StdlibHandler` as
app_log records instead, with two filters that drop only what the middleware already wrote:

- `shipper.integrations.uvicorn.log_config()`: for `uvicorn.run(log_config=...)`;
  `python -m shipper.integrations.uvicorn > log.json` for `uvicorn --log-config log.json`.
- `shipper.integrations.gunicorn.log_config()`: gunicorn's `logconfig_dict` (also for gunicorn's
  uvicorn workers); `gunicorn -c python:shipper.integrations.gunicorn` uses it as it is.
- `AccessLineFilter`, `DuplicateExceptionFilter` (`_filters`): the filters, for a logging
  config of your own.

Nothing here imports uvicorn or gunicorn: a config is a plain dict that names shipper's handler
and filters by their import paths.
"""

from __future__ import annotations

from ._filters import AccessLineFilter, DuplicateExceptionFilter, PlainMessageFilter

__all__ = ["AccessLineFilter", "DuplicateExceptionFilter", "PlainMessageFilter"]
