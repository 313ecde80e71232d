def log_noop(self, event=None, _positional=_M, /, request_id=_M, trace_id=_M, logger=_M, error=_M, extra=_M, *args, **kw):
    return None
