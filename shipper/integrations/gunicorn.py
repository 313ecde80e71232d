"""gunicorn's logs through shipper: its `logconfig_dict`.

    # gunicorn.conf.py
    from shipper.integrations import gunicorn as shipper_gunicorn
    logconfig_dict = shipper_gunicorn.log_config()

    # or, with no config file of your own:
    #   gunicorn -c python:shipper.integrations.gunicorn app:app
    # or JSON: python -m shipper.integrations.gunicorn > log.json; gunicorn --log-config-json log.json

What it does, against gunicorn's default (plain text on stderr; no access log unless asked):
- `gunicorn.error` (master and workers: start-up, worker boots and exits, timeouts, "Error
  handling request" with its traceback): app_log records through `shipper.StdlibHandler`; an
  exception the middleware logged already is not logged again.
- `gunicorn.access`: gunicorn writes an access line for every request once a log config is
  given; a request's line is dropped when the shipper middleware logged that request, and is an
  app_log record otherwise.
- `uvicorn.error`, `uvicorn.access`: the same, for gunicorn's uvicorn workers
  (`-k uvicorn.workers.UvicornWorker`), which take gunicorn's handlers for them.
- the root logger: the same handler (what `shipper.install_stdlib()` does).
`--log-level` still sets gunicorn.error's level.

Workers are forked from the master after this config is applied: they inherit the handler,
and each writes its own lines to the shared stdout (shipper's sink writes each line whole).
"""

from __future__ import annotations

from typing import Any

from shipper._constants import DEFAULT_TABLE

from . import _logconfig


def log_config(level: str = "INFO", table: str = DEFAULT_TABLE) -> dict[str, Any]:
    """A dict for gunicorn's `logconfig_dict` (gunicorn replaces its defaults' top-level keys
    with these: root, loggers, handlers and filters are all given)."""
    loggers = {
        # no level: gunicorn sets gunicorn.error's from --log-level before applying this
        "gunicorn.error": _logconfig.error_logger(None),
        "gunicorn.access": _logconfig.access_logger(level),
        "uvicorn.error": _logconfig.error_logger(None),
        "uvicorn.access": _logconfig.access_logger(level),
    }
    return _logconfig.config(loggers, level, table)


def main(argv: list[str] | None = None) -> int:
    return _logconfig.main(log_config, argv, "gunicorn --log-config-json")


# `gunicorn -c python:shipper.integrations.gunicorn`: gunicorn takes the module's attributes
# that are setting names; this is the only one here.
logconfig_dict = log_config()

if __name__ == "__main__":
    raise SystemExit(main())
