"""Logging filters that drop a server's second copy of what the shipper middleware logged.

Both read facts the middleware records (`shipper.middleware._common`), never the text of a
message, and let every other record through: a server's access line for a request that did not
go through the middleware, its start-up lines, its warnings, an exception the middleware never
saw.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from shipper.middleware._common import CURRENT, REQUEST_ID_KEY, take_written, was_logged

# gunicorn passes its access-log atoms as the record's args; each WSGI environ key is an atom
# "{key}e" (lower case), so a request the middleware served carries this one; each response
# header is an atom "{name}o".
GUNICORN_ENVIRON_ATOM = "{" + REQUEST_ID_KEY + "}e"
GUNICORN_REQUEST_ID_ATOM = "{x-request-id}o"


class AccessLineFilter(logging.Filter):
    """For a server's access logger: drop the line of a request the middleware logged.

    - uvicorn writes its access line from inside the app's `send()` (at the response start),
      so in the request's context: the middleware's current request is set there.
    - gunicorn writes it after the response, passing the WSGI environ's keys as atoms: the
      middleware's `shipper.request_id` key is one of them.
    - gunicorn's ASGI worker has no WSGI environ of the app's: the X-Request-ID response header
      the middleware echoed names a request whose record it wrote (with
      `echo_request_id=False` that line is kept).
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if CURRENT.get() is not None:
            return False
        args = record.args
        if isinstance(args, Mapping):
            if GUNICORN_ENVIRON_ATOM in args:
                return False
            request_id = args.get(GUNICORN_REQUEST_ID_ATOM)
            if isinstance(request_id, str) and take_written(request_id):
                return False
        return True


class PlainMessageFilter(logging.Filter):
    """uvicorn adds a copy of some messages with ANSI colour codes (`color_message`) to the
    record: text for a terminal, not a column; removed before the record is shipped."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.__dict__.pop("color_message", None)
        return True


class DuplicateExceptionFilter(logging.Filter):
    """For a server's or framework's error logger: drop a record whose exception the middleware
    logged already (uvicorn's "Exception in ASGI application", gunicorn's "Error handling
    request", Flask's "Exception on ..."): one exception, one app_log record."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc_info = record.exc_info
        return not (exc_info and isinstance(exc_info, tuple) and was_logged(exc_info[1]))
