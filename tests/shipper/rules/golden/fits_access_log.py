# fits() of table access_log v1, generated from the column-rule model

def fits(r):
    if not r.keys() <= KNOWN:
        return False
    if r.get('log_table', 'access_log') != 'access_log':
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
    v = r.get('method')
    if v is None:
        return False
    elif (not isinstance(v, str)) or (not UTF8_OK(v)) or (len(v) > 16):
        return False
    v = r.get('path')
    if v is None:
        return False
    elif (not isinstance(v, str)) or (not UTF8_OK(v)) or (len(v) > 2048):
        return False
    v = r.get('route')
    if v is None:
        pass
    elif (not isinstance(v, str)) or (not UTF8_OK(v)) or (len(v) > 512):
        return False
    v = r.get('status_code')
    if v is None:
        return False
    elif (type(v) is bool or not isinstance(v, (int, float))) or (isinstance(v, float) and not v - v == 0.0) or (isinstance(v, float) and not v.is_integer()) or (not -9223372036854775808 <= v <= 9223372036854775807) or (v < 100) or (v > 599):
        return False
    v = r.get('latency')
    if v is None:
        return False
    elif (type(v) is bool or not isinstance(v, (int, float))) or (isinstance(v, float) and not v - v == 0.0) or (v < 0):
        return False
    v = r.get('request_bytes')
    if v is None:
        pass
    elif (type(v) is bool or not isinstance(v, (int, float))) or (isinstance(v, float) and not v - v == 0.0) or (isinstance(v, float) and not v.is_integer()) or (not -9223372036854775808 <= v <= 9223372036854775807) or (v < 0):
        return False
    v = r.get('response_bytes')
    if v is None:
        pass
    elif (type(v) is bool or not isinstance(v, (int, float))) or (isinstance(v, float) and not v - v == 0.0) or (isinstance(v, float) and not v.is_integer()) or (not -9223372036854775808 <= v <= 9223372036854775807) or (v < 0):
        return False
    v = r.get('user_agent')
    if v is None:
        pass
    elif (not isinstance(v, str)) or (not UTF8_OK(v)) or (len(v) > 1024):
        return False
    v = r.get('remote_ip')
    if v is None:
        pass
    elif (not isinstance(v, str)) or (not UTF8_OK(v)) or (len(v) > 64):
        return False
    v = r.get('host')
    if v is None:
        pass
    elif (not isinstance(v, str)) or (not UTF8_OK(v)) or (len(v) > 256):
        return False
    return True
