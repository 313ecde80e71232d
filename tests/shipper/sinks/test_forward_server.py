"""The test receiver itself speaks the forward protocol: every mode, EventTime, ack, over TCP."""

from __future__ import annotations

import gzip
import socket
import struct

import msgpack
import pytest

from shipper.testing._forward_server import ForwardServer, free_port


def _send(port: int, *messages: object, expect_ack: bool = False) -> list[object]:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        for m in messages:
            s.sendall(msgpack.packb(m, use_bin_type=True))
        acks = []
        if expect_ack:
            unpacker = msgpack.Unpacker(raw=False)
            while len(acks) < len(messages):
                data = s.recv(4096)
                assert data, "server closed before acking"
                unpacker.feed(data)
                acks.extend(unpacker)
        return acks


def _event_time(sec: int, nsec: int) -> msgpack.ExtType:
    return msgpack.ExtType(0, struct.pack(">II", sec, nsec))


def test_message_mode_with_integer_and_event_time(server: ForwardServer) -> None:
    _send(server.port, ["a.b", 1700000000, {"k": 1}],
          ["a.b", _event_time(1700000001, 500_000_000), {"k": 2}])
    ev = server.wait_for(2)
    assert [(e.tag, e.time, e.record, e.mode) for e in ev] == [
        ("a.b", 1700000000.0, {"k": 1}, "message"),
        ("a.b", 1700000001.5, {"k": 2}, "message")]


def test_forward_mode(server: ForwardServer) -> None:
    _send(server.port, ["t", [[1, {"n": 1}], [2, {"n": 2}], [3, {"n": 3}]]])
    assert [(e.time, e.record["n"], e.mode) for e in server.wait_for(3)] == [
        (1.0, 1, "forward"), (2.0, 2, "forward"), (3.0, 3, "forward")]


@pytest.mark.parametrize("compressed", [False, True])
def test_packed_forward_mode(server: ForwardServer, compressed: bool) -> None:
    blob = b"".join(msgpack.packb([i, {"n": i}]) for i in range(5))
    option = {}
    if compressed:
        blob, option = gzip.compress(blob), {"compressed": "gzip"}
    _send(server.port, ["t", blob, option])
    ev = server.wait_for(5)
    assert [e.record["n"] for e in ev] == [0, 1, 2, 3, 4]
    assert {e.mode for e in ev} == {"packed_forward"}


def test_chunk_option_is_acked_in_every_mode(server: ForwardServer) -> None:
    acks = _send(server.port,
                 ["t", 1, {"m": 1}, {"chunk": "c1"}],
                 ["t", [[1, {"f": 1}]], {"chunk": "c2"}],
                 ["t", msgpack.packb([1, {"p": 1}]), {"chunk": "c3"}],
                 expect_ack=True)
    assert acks == [{"ack": "c1"}, {"ack": "c2"}, {"ack": "c3"}]
    assert server.acks_sent == 3 and len(server.wait_for(3)) == 3


def test_message_split_across_tcp_segments(server: ForwardServer) -> None:
    data = msgpack.packb(["t", 1, {"big": "x" * 100_000}])
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as s:
        for i in range(0, len(data), 777):
            s.sendall(data[i:i + 777])
    assert server.wait_for(1)[0].record["big"] == "x" * 100_000


def test_garbage_is_reported_not_swallowed(server: ForwardServer) -> None:
    _send(server.port, 42)
    with pytest.raises(TimeoutError):
        server.wait_for(1, timeout=0.3)
    assert server.errors and "not a forward-protocol message" in server.errors[0]


def test_stop_refuses_connections_and_restart_reuses_the_port() -> None:
    srv = ForwardServer().start()
    port = srv.port
    srv.stop()
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    with ForwardServer(port=port) as again:
        _send(port, ["t", 1, {"ok": True}])
        assert again.wait_for(1)[0].record == {"ok": True}


def test_free_port_is_closed() -> None:
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", free_port()), timeout=2).close()
