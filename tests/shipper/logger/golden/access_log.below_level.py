def log_noop(self, event=None, _positional=_M, /, request_id=_M, trace_id=_M, method=_M, path=_M, route=_M, status_code=_M, latency=_M, request_bytes=_M, response_bytes=_M, user_agent=_M, remote_ip=_M, host=_M, *args, **kw):
    return None
