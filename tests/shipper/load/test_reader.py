"""The line reader on hostile bytes: every byte accounted for, an oversize line never joined."""

from __future__ import annotations

import io

from hypothesis import given, settings
from hypothesis import strategies as st

from shipper.load._reader import LineReader, Oversize


def read_all(data: bytes, max_line: int, block: int) -> list[tuple[int, bytes, bool, bool]]:
    """(number, bytes, complete, was_oversize) per line, oversize pieces joined by the test."""
    out = []
    for number, item, complete in LineReader(io.BytesIO(data), max_line, block):
        if isinstance(item, Oversize):
            pieces = list(item.pieces)
            assert all(len(p) <= max(block, max_line) + block for p in pieces)
            whole = b"".join(pieces)
            assert item.size == len(whole)
            out.append((number, whole, complete and item.complete, True))
        else:
            out.append((number, item, complete, False))
    return out


chunks = st.lists(st.one_of(st.binary(max_size=40), st.sampled_from([b"\n", b"\r\n", b"\x00", b"\xff",
                                                                       b"{\"a\": 1}", b"\n\n"])),
                  max_size=30)


@settings(max_examples=300, deadline=None)
@given(parts=chunks, max_line=st.integers(1, 64), block=st.integers(1, 17))
def test_every_byte_comes_back_in_order(parts, max_line, block):
    data = b"".join(parts)
    lines = read_all(data, max_line, block)
    assert [n for n, *_ in lines] == list(range(1, len(lines) + 1))
    assert b"\n".join(line for _, line, _, _ in lines) + (b"\n" if data.endswith(b"\n") else b"") == data
    for _, line, _, oversize in lines:
        assert oversize == (len(line) > max_line)
    if lines:
        assert lines[-1][2] == data.endswith(b"\n")
        assert all(c for _, _, c, _ in lines[:-1])


def test_oversize_line_streams_without_being_joined():
    big = b"x" * (5 * 1024 * 1024)
    data = b'{"a":1}\n' + big + b"\n" + b'{"b":2}\n'
    reader = LineReader(io.BytesIO(data), max_line=1024 * 1024, block=64 * 1024)
    seen = []
    for number, item, complete in reader:
        if isinstance(item, Oversize):
            sizes = [len(p) for p in item.pieces]
            assert max(sizes) <= 1024 * 1024 + 64 * 1024  # never the whole line in one piece
            assert sum(sizes) == len(big)
            seen.append((number, "oversize"))
        else:
            seen.append((number, item))
    assert seen == [(1, b'{"a":1}'), (2, "oversize"), (3, b'{"b":2}')]


def test_oversize_not_read_is_skipped_and_truncated_last_line_flagged():
    data = b"a" * 100 + b"\nok\n" + b"tail-without-newline"
    items = list(LineReader(io.BytesIO(data), max_line=10, block=7))
    assert isinstance(items[0][1], Oversize)
    assert items[1][1:] == (b"ok", True)
    assert items[2][1:] == (b"tail-without-newline", False) or isinstance(items[2][1], Oversize)


def test_oversize_last_line_without_newline_is_incomplete():
    lines = read_all(b"ok\n" + b"z" * 50, max_line=10, block=8)
    assert lines == [(1, b"ok", True, False), (2, b"z" * 50, False, True)]
