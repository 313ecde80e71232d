# fits() of table raw_log v1, generated from the column-rule model

def fits(r):
    if not r.keys() <= KNOWN:
        return False
    if r.get('log_table', 'raw_log') != 'raw_log':
        return False
    v = r.get('timestamp')
    if v is None:
        return False
    elif (not isinstance(v, str) or not TS_OK(v)):
        return False
    v = r.get('severity')
    if v is None:
        return False
    elif (not isinstance(v, str)) or (not UTF8_OK(v)) or (v not in E_severity):
        return False
    v = r.get('service')
    if v is None:
        pass
    elif (not isinstance(v, str)) or (not UTF8_OK(v)) or (len(v) > 128):
        return False
    v = r.get('log_id')
    if v is None:
        pass
    elif (not isinstance(v, str)) or (not UTF8_OK(v)) or (len(v) > 128):
        return False
    v = r.get('request_id')
    if v is None:
        pass
    elif (not isinstance(v, str)) or (not UTF8_OK(v)) or (len(v) > 128):
        return False
    v = r.get('trace_id')
    if v is None:
        pass
    elif (not isinstance(v, str)) or (not UTF8_OK(v)) or (len(v) > 128):
        return False
    v = r.get('container_name')
    if v is None:
        pass
    elif (not isinstance(v, str)) or (not UTF8_OK(v)) or (len(v) > 256):
        return False
    v = r.get('container_id')
    if v is None:
        pass
    elif (not isinstance(v, str)) or (not UTF8_OK(v)) or (len(v) > 64):
        return False
    v = r.get('stream')
    if v is None:
        return False
    elif (not isinstance(v, str)) or (not UTF8_OK(v)) or (v not in E_stream):
        return False
    v = r.get('text')
    if v is None:
        return False
    elif (not isinstance(v, str)) or (not UTF8_OK(v)):
        return False
    return True
