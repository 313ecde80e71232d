"""Access logging for web apps: one `access_log` record per request, request id in context.

- `shipper.middleware.asgi.AccessLogMiddleware`: pure ASGI (Starlette, FastAPI).
- `shipper.middleware.wsgi.AccessLogMiddleware`: WSGI (Flask, Django); `instrument_flask(app)`
  adds Flask's route template and exception hook.

Nothing here is imported by `import shipper`; the framework packages are never imported by
the ASGI/WSGI middlewares themselves (only `instrument_flask` imports flask).
"""
