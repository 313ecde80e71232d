# extra= keys ['request_id', 'user', 'count']
def fill(D, rec):
    try:
        v0, v1, v2 = GET(D)
    except KeyError:
        return MISS
    if not (type(v0) is str and len(v0) <= 128 or v0 is None):
        raise _Slow
    rec['request_id'] = v0
    if not ((type(v1) is str) or (type(v1) is int and -9223372036854775808 <= v1 <= 9223372036854775807) or (type(v1) is float and v1 - v1 == 0.0) or (type(v1) is bool) or (v1 is None)):
        raise _Slow
    if not ((type(v2) is int and -9223372036854775808 <= v2 <= 9223372036854775807) or (type(v2) is str) or (type(v2) is float and v2 - v2 == 0.0) or (type(v2) is bool) or (v2 is None)):
        raise _Slow
    return {'user': v1, 'count': v2}
