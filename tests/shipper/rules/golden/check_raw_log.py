# The judge of table raw_log v1, generated from the column-rule
# model (shipper.rules): every violation of a record, with its field and rule.

def check(r):
    if type(r) is not dict:
        return [V("", "type", f"table raw_log: a record is a JSON object, got {type(r).__name__}")]
    out = []
    routed = r.get('log_table', 'raw_log')
    if routed != 'raw_log':
        out.append(V('log_table', "routing_key", f"log_table: {routed!r} routes this record to another table than 'raw_log'"))
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
    v = r.get('stream')
    if v is None:
        what = 'missing' if 'stream' not in r else 'null'
        out.append(V('stream', "required", f"stream: required field is {what}"))
    else:
        if not isinstance(v, str):
            out.append(V('stream', 'type', f"stream: expected a string, got {type(v).__name__}"))
        else:
            if not UTF8_OK(v):
                out.append(V('stream', 'invalid_utf8', f"stream: lone surrogates are not UTF-8"))
            if v not in E_stream:
                out.append(V('stream', 'enum', f"stream: {v[:40]!r} is not one of ['stdout', 'stderr']"))
    v = r.get('text')
    if v is None:
        what = 'missing' if 'text' not in r else 'null'
        out.append(V('text', "required", f"text: required field is {what}"))
    else:
        if not isinstance(v, str):
            out.append(V('text', 'type', f"text: expected a string, got {type(v).__name__}"))
        else:
            if not UTF8_OK(v):
                out.append(V('text', 'invalid_utf8', f"text: lone surrogates are not UTF-8"))
    for k in r:
        if k not in KNOWN:
            p = str(k)
            out.append(V(p, "unknown_field", f"{p}: field is not declared"))
    return out
