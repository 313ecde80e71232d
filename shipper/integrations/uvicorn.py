"""uvicorn's logs through shipper: a logging config for `uvicorn.run(log_config=...)` and
`uvicorn --log-config`.

    import uvicorn
    from shipper.integrations import uvicorn as shipper_uvicorn

    uvicorn.run("app:app", log_config=shipper_uvicorn.log_config())

    # CLI (uvicorn reads a .json file): python -m shipper.integrations.uvicorn > log.json
    #      uvicorn app:app --log-config log.json

What it does, against uvicorn's default config (plain text: its access line on stdout, the rest
with tracebacks on stderr; its loggers do not propagate, so `install_stdlib()` misses them):
- `uvicorn`, `uvicorn.error` (start-up, shutdown, warnings, "Exception in ASGI application"):
  app_log records through `shipper.StdlibHandler`; the traceback of an exception the middleware
  logged already is dropped (one exception, one record).
- `uvicorn.access`: a request's line is dropped when the shipper middleware logged that
  request (its access_log record has all of it and more); without the middleware each line is
  an app_log record. `--no-access-log` still turns them all off.
- the root logger: the same handler, so the app's and its libraries' stdlib logging is shipped
  too (what `shipper.install_stdlib()` does; calling it as well reuses this handler).
`--log-level` still sets the uvicorn loggers' level.
"""

from __future__ import annotations

from typing import Any

from shipper._constants import DEFAULT_TABLE

from . import _logconfig


def log_config(level: str = "INFO", table: str = DEFAULT_TABLE) -> dict[str, Any]:
    """A fresh dictConfig dict (uvicorn changes the dict it is given for `--use-colors`)."""
    loggers = {
        "uvicorn": {"handlers": [_logconfig.HANDLER], "level": level, "propagate": False,
                    "filters": [_logconfig.PLAIN_FILTER]},
        # propagates to "uvicorn" (as in uvicorn's own config), which has the handler
        "uvicorn.error": {"level": level,
                          "filters": [_logconfig.EXCEPTION_FILTER, _logconfig.PLAIN_FILTER]},
        "uvicorn.access": _logconfig.access_logger(level),
    }
    # uvicorn writes `use_colors` into these two formatters when --use-colors/--no-use-colors
    # is given: they exist so that it can; nothing uses them.
    formatters = {"default": {"format": "%(message)s"}, "access": {"format": "%(message)s"}}
    return _logconfig.config(loggers, level, table, formatters=formatters)


def main(argv: list[str] | None = None) -> int:
    return _logconfig.main(log_config, argv, "uvicorn --log-config")


if __name__ == "__main__":
    raise SystemExit(main())
