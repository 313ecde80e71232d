def log_noop(self, event=None, _positional=_M, /, request_id=_M, trace_id=_M, stream=_M, text=_M, reason=_M, *args, **kw):
    return None
