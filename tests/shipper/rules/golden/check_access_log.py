# The judge of table access_log v1, generated from the column-rule
# model (shipper.rules): every violation of a record, with its field and rule.

def check(r):
    if type(r) is not dict:
        return [V("", "type", f"table access_log: a record is a JSON object, got {type(r).__name__}")]
    out = []
    routed = r.get('log_table', 'access_log')
    if routed != 'access_log':
        out.append(V('log_table', "routing_key", f"log_table: {routed!r} routes this record to another table than 'access_log'"))
    v = r.get('timestamp')
    if v is None:
        what = 'missing' if 'timestamp' not in r else 'null'
        out.append(V('timestamp', "required", f"timestamp: required field is {what}"))
    else:
        if not isinstance(v, str) or not TS_OK(v):
            out.append(V('timestamp', 'timestamp_format', f"timestamp: {(v[:40] if isinstance(v, str) else type(v).__name__)!r} is not a timestamp BigQuery parses (YYYY-MM-DDTHH:MM:SS[.ffffff][Z|+HH:MM])"))
    v = r.get('severity')
    if v is None:
        what = 'missing' if 'severity' not in r else 'null'
        out.append(V('severity', "required", f"severity: required field is {what}"))
    else:
        if not isinstance(v, str):
            out.append(V('severity', 'type', f"severity: expected a string, got {type(v).__name__}"))
        else:
            if not UTF8_OK(v):
                out.append(V('severity', 'invalid_utf8', f"severity: lone surrogates are not UTF-8"))
            if v not in E_severity:
                out.append(V('severity', 'enum', f"severity: {v[:40]!r} is not one of ['DEFAULT', 'DEBUG', 'INFO', 'WARNING', 'ERROR', 'CRITICAL']"))
    v = r.get('service')
    if v is None:
        pass
    else:
        if not isinstance(v, str):
            out.append(V('service', 'type', f"service: expected a string, got {type(v).__name__}"))
        else:
            if not UTF8_OK(v):
                out.append(V('service', 'invalid_utf8', f"service: lone surrogates are not UTF-8"))
            if len(v) > 128:
                out.append(V('service', 'maxLength', f"service: {len(v)} characters, at most 128 allowed"))
    v = r.get('log_id')
    if v is None:
        pass
    else:
        if not isinstance(v, str):
            out.append(V('log_id', 'type', f"log_id: expected a string, got {type(v).__name__}"))
        else:
            if not UTF8_OK(v):
                out.append(V('log_id', 'invalid_utf8', f"log_id: lone surrogates are not UTF-8"))
            if len(v) > 128:
                out.append(V('log_id', 'maxLength', f"log_id: {len(v)} characters, at most 128 allowed"))
    v = r.get('request_id')
    if v is None:
        pass
    else:
        if not isinstance(v, str):
            out.append(V('request_id', 'type', f"request_id: expected a string, got {type(v).__name__}"))
        else:
            if not UTF8_OK(v):
                out.append(V('request_id', 'invalid_utf8', f"request_id: lone surrogates are not UTF-8"))
            if len(v) > 128:
                out.append(V('request_id', 'maxLength', f"request_id: {len(v)} characters, at most 128 allowed"))
    v = r.get('trace_id')
    if v is None:
        pass
    else:
        if not isinstance(v, str):
            out.append(V('trace_id', 'type', f"trace_id: expected a string, got {type(v).__name__}"))
        else:
            if not UTF8_OK(v):
                out.append(V('trace_id', 'invalid_utf8', f"trace_id: lone surrogates are not UTF-8"))
            if len(v) > 128:
                out.append(V('trace_id', 'maxLength', f"trace_id: {len(v)} characters, at most 128 allowed"))
    v = r.get('container_name')
    if v is None:
        pass
    else:
        if not isinstance(v, str):
            out.append(V('container_name', 'type', f"container_name: expected a string, got {type(v).__name__}"))
        else:
            if not UTF8_OK(v):
                out.append(V('container_name', 'invalid_utf8', f"container_name: lone surrogates are not UTF-8"))
            if len(v) > 256:
                out.append(V('container_name', 'maxLength', f"container_name: {len(v)} characters, at most 256 allowed"))
    v = r.get('container_id')
    if v is None:
        pass
    else:
        if not isinstance(v, str):
            out.append(V('container_id', 'type', f"container_id: expected a string, got {type(v).__name__}"))
        else:
            if not UTF8_OK(v):
                out.append(V('container_id', 'invalid_utf8', f"container_id: lone surrogates are not UTF-8"))
            if len(v) > 64:
                out.append(V('container_id', 'maxLength', f"container_id: {len(v)} characters, at most 64 allowed"))
    v = r.get('method')
    if v is None:
        what = 'missing' if 'method' not in r else 'null'
        out.append(V('method', "required", f"method: required field is {what}"))
    else:
        if not isinstance(v, str):
            out.append(V('method', 'type', f"method: expected a string, got {type(v).__name__}"))
        else:
            if not UTF8_OK(v):
                out.append(V('method', 'invalid_utf8', f"method: lone surrogates are not UTF-8"))
            if len(v) > 16:
                out.append(V('method', 'maxLength', f"method: {len(v)} characters, at most 16 allowed"))
    v = r.get('path')
    if v is None:
        what = 'missing' if 'path' not in r else 'null'
        out.append(V('path', "required", f"path: required field is {what}"))
    else:
        if not isinstance(v, str):
            out.append(V('path', 'type', f"path: expected a string, got {type(v).__name__}"))
        else:
            if not UTF8_OK(v):
                out.append(V('path', 'invalid_utf8', f"path: lone surrogates are not UTF-8"))
            if len(v) > 2048:
                out.append(V('path', 'maxLength', f"path: {len(v)} characters, at most 2048 allowed"))
    v = r.get('route')
    if v is None:
        pass
    else:
        if not isinstance(v, str):
            out.append(V('route', 'type', f"route: expected a string, got {type(v).__name__}"))
        else:
            if not UTF8_OK(v):
                out.append(V('route', 'invalid_utf8', f"route: lone surrogates are not UTF-8"))
            if len(v) > 512:
                out.append(V('route', 'maxLength', f"route: {len(v)} characters, at most 512 allowed"))
    v = r.get('status_code')
    if v is None:
        what = 'missing' if 'status_code' not in r else 'null'
        out.append(V('status_code', "required", f"status_code: required field is {what}"))
    else:
        if type(v) is bool or not isinstance(v, (int, float)):
            out.append(V('status_code', 'type', f"status_code: expected an integer, got {type(v).__name__}"))
        elif isinstance(v, float) and not v - v == 0.0:
            out.append(V('status_code', 'not_finite', f"status_code: {v} is not a JSON number"))
        elif isinstance(v, float) and not v.is_integer():
            out.append(V('status_code', 'type', f"status_code: expected an integer, got {SHOW(v)}"))
        elif not -9223372036854775808 <= v <= 9223372036854775807:
            out.append(V('status_code', 'int64_range', f"status_code: {SHOW(v)} does not fit INT64"))
        else:
            if v < 100:
                out.append(V('status_code', 'minimum', f"status_code: {SHOW(v)} is below the minimum 100"))
            if v > 599:
                out.append(V('status_code', 'maximum', f"status_code: {SHOW(v)} is above the maximum 599"))
    v = r.get('latency')
    if v is None:
        what = 'missing' if 'latency' not in r else 'null'
        out.append(V('latency', "required", f"latency: required field is {what}"))
    else:
        if type(v) is bool or not isinstance(v, (int, float)):
            out.append(V('latency', 'type', f"latency: expected a number, got {type(v).__name__}"))
        elif isinstance(v, float) and not v - v == 0.0:
            out.append(V('latency', 'not_finite', f"latency: {v} is not a JSON number"))
        else:
            if v < 0:
                out.append(V('latency', 'minimum', f"latency: {SHOW(v)} is below the minimum 0"))
    v = r.get('request_bytes')
    if v is None:
        pass
    else:
        if type(v) is bool or not isinstance(v, (int, float)):
            out.append(V('request_bytes', 'type', f"request_bytes: expected an integer, got {type(v).__name__}"))
        elif isinstance(v, float) and not v - v == 0.0:
            out.append(V('request_bytes', 'not_finite', f"request_bytes: {v} is not a JSON number"))
        elif isinstance(v, float) and not v.is_integer():
            out.append(V('request_bytes', 'type', f"request_bytes: expected an integer, got {SHOW(v)}"))
        elif not -9223372036854775808 <= v <= 9223372036854775807:
            out.append(V('request_bytes', 'int64_range', f"request_bytes: {SHOW(v)} does not fit INT64"))
        else:
            if v < 0:
                out.append(V('request_bytes', 'minimum', f"request_bytes: {SHOW(v)} is below the minimum 0"))
    v = r.get('response_bytes')
    if v is None:
        pass
    else:
        if type(v) is bool or not isinstance(v, (int, float)):
            out.append(V('response_bytes', 'type', f"response_bytes: expected an integer, got {type(v).__name__}"))
        elif isinstance(v, float) and not v - v == 0.0:
            out.append(V('response_bytes', 'not_finite', f"response_bytes: {v} is not a JSON number"))
        elif isinstance(v, float) and not v.is_integer():
            out.append(V('response_bytes', 'type', f"response_bytes: expected an integer, got {SHOW(v)}"))
        elif not -9223372036854775808 <= v <= 9223372036854775807:
            out.append(V('response_bytes', 'int64_range', f"response_bytes: {SHOW(v)} does not fit INT64"))
        else:
            if v < 0:
                out.append(V('response_bytes', 'minimum', f"response_bytes: {SHOW(v)} is below the minimum 0"))
    v = r.get('user_agent')
    if v is None:
        pass
    else:
        if not isinstance(v, str):
            out.append(V('user_agent', 'type', f"user_agent: expected a string, got {type(v).__name__}"))
        else:
            if not UTF8_OK(v):
                out.append(V('user_agent', 'invalid_utf8', f"user_agent: lone surrogates are not UTF-8"))
            if len(v) > 1024:
                out.append(V('user_agent', 'maxLength', f"user_agent: {len(v)} characters, at most 1024 allowed"))
    v = r.get('remote_ip')
    if v is None:
        pass
    else:
        if not isinstance(v, str):
            out.append(V('remote_ip', 'type', f"remote_ip: expected a string, got {type(v).__name__}"))
        else:
            if not UTF8_OK(v):
                out.append(V('remote_ip', 'invalid_utf8', f"remote_ip: lone surrogates are not UTF-8"))
            if len(v) > 64:
                out.append(V('remote_ip', 'maxLength', f"remote_ip: {len(v)} characters, at most 64 allowed"))
    v = r.get('host')
    if v is None:
        pass
    else:
        if not isinstance(v, str):
            out.append(V('host', 'type', f"host: expected a string, got {type(v).__name__}"))
        else:
            if not UTF8_OK(v):
                out.append(V('host', 'invalid_utf8', f"host: lone surrogates are not UTF-8"))
            if len(v) > 256:
                out.append(V('host', 'maxLength', f"host: {len(v)} characters, at most 256 allowed"))
    for k in r:
        if k not in KNOWN:
            p = str(k)
            out.append(V(p, "unknown_field", f"{p}: field is not declared"))
    return out
