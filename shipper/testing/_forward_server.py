"""A small fluentd forward-protocol receiver for tests: real TCP on 127.0.0.1, msgpack framing.

Why our own instead of a real fluentd: the sink's tests must stop and restart "fluentd" at will,
look at every event that arrived (tag, time, record) and in which order, and never need Ruby.
It speaks the parts of the Forward Protocol v1 spec that senders use:

- Message mode:        [tag, time, record, option?]
- Forward mode:        [tag, [[time, record], ...], option?]
- PackedForward mode:  [tag, <bin/str holding a msgpack stream of [time, record]>, option?]
  (CompressedPackedForward when option["compressed"] == "gzip")
- `time` is an integer or the EventTime extension (type 0: 4-byte seconds, 4-byte nanoseconds).
- when option["chunk"] is present the server answers {"ack": chunk} after storing the events.

Not implemented: the HELO/PING/PONG handshake (shared key auth) and heartbeats over UDP.
Every socket has a timeout, so a stuck test fails instead of hanging.
"""

from __future__ import annotations

import gzip
import socket
import struct
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import msgpack

SOCKET_TIMEOUT = 5.0


@dataclass(frozen=True)
class Event:
    """One event as it arrived: its tag, its time (float seconds) and its record."""

    tag: str
    time: float
    record: dict[str, Any]
    mode: str  # "message", "forward" or "packed_forward"


def _ext_hook(code: int, data: bytes) -> Any:
    if code == 0 and len(data) == 8:
        sec, nsec = struct.unpack(">II", data)
        return sec + nsec / 1e9
    return msgpack.ExtType(code, data)


def _as_time(t: Any) -> float:
    if isinstance(t, (int, float)) and not isinstance(t, bool):
        return float(t)
    raise ValueError(f"event time must be an integer or EventTime, got {t!r}")


@dataclass
class ForwardServer:
    """`with ForwardServer() as srv: ... srv.wait_for(n)`; `port=` reuses a port after a stop."""

    port: int = 0
    host: str = "127.0.0.1"
    events: list[Event] = field(default_factory=list)
    acks_sent: int = 0
    connections: int = 0
    errors: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._cond = threading.Condition()
        self._listener: socket.socket | None = None
        self._conns: set[socket.socket] = set()
        self._threads: list[threading.Thread] = []
        self._stopping = threading.Event()

    # -- life cycle -------------------------------------------------------------------------

    def start(self) -> ForwardServer:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        sock.listen(16)
        sock.settimeout(0.2)  # the accept loop wakes up to notice stop()
        self.port = sock.getsockname()[1]
        self._listener = sock
        self._stopping.clear()
        t = threading.Thread(target=self._accept_loop, name="forward-server-accept", daemon=True)
        t.start()
        self._threads.append(t)
        return self

    def stop(self) -> None:
        """Close the listener and every connection (what a fluentd crash looks like)."""
        self._stopping.set()
        if self._listener is not None:
            self._listener.close()
            self._listener = None
        with self._cond:
            conns = list(self._conns)
        for c in conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            c.close()
        for t in self._threads:
            t.join(timeout=SOCKET_TIMEOUT)
        self._threads = []

    def __enter__(self) -> ForwardServer:  # noqa: PYI034 - no typing_extensions.Self on 3.10
        return self.start() if self._listener is None else self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- what arrived -----------------------------------------------------------------------

    def records(self) -> list[dict[str, Any]]:
        with self._cond:
            return [e.record for e in self.events]

    def wait_for(self, n: int, timeout: float = 10.0) -> list[Event]:
        """Block until at least `n` events arrived (or fail after `timeout` seconds)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(self.events) < n:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"{len(self.events)} of {n} events arrived in {timeout} s")
                self._cond.wait(left)
            return list(self.events)

    # -- the protocol -----------------------------------------------------------------------

    def _accept_loop(self) -> None:
        listener = self._listener
        while not self._stopping.is_set() and listener is not None:
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conn.settimeout(SOCKET_TIMEOUT)
            with self._cond:
                self._conns.add(conn)
                self.connections += 1
            t = threading.Thread(target=self._serve, args=(conn,), name="forward-server-conn",
                                 daemon=True)
            t.start()
            self._threads.append(t)

    def _serve(self, conn: socket.socket) -> None:
        unpacker = msgpack.Unpacker(raw=False, ext_hook=_ext_hook, strict_map_key=False)
        try:
            while not self._stopping.is_set():
                try:
                    data = conn.recv(65536)
                except TimeoutError:
                    continue
                except OSError:
                    return
                if not data:
                    return
                unpacker.feed(data)
                for msg in unpacker:
                    self._handle(conn, msg)
        except Exception as exc:  # noqa: BLE001 - a test wants to see it, not a dead thread
            self.errors.append(f"{type(exc).__name__}: {exc}")
        finally:
            with self._cond:
                self._conns.discard(conn)
            conn.close()

    def _handle(self, conn: socket.socket, msg: Any) -> None:
        if not isinstance(msg, (list, tuple)) or len(msg) < 2 or not isinstance(msg[0], str):
            raise ValueError(f"not a forward-protocol message: {msg!r}"[:200])
        tag, second = msg[0], msg[1]
        option: dict[str, Any] = {}
        if isinstance(second, (list, tuple)):  # Forward mode
            entries = [(e[0], e[1]) for e in second]
            option = msg[2] if len(msg) > 2 and isinstance(msg[2], dict) else {}
            mode = "forward"
        elif isinstance(second, (bytes, str)):  # PackedForward
            option = msg[2] if len(msg) > 2 and isinstance(msg[2], dict) else {}
            blob = second.encode("latin-1") if isinstance(second, str) else second
            if option.get("compressed") == "gzip":
                blob = gzip.decompress(blob)
            inner = msgpack.Unpacker(raw=False, ext_hook=_ext_hook, strict_map_key=False)
            inner.feed(blob)
            entries = [(e[0], e[1]) for e in inner]
            mode = "packed_forward"
        else:  # Message mode
            if len(msg) < 3:
                raise ValueError("message mode needs [tag, time, record]")
            entries = [(second, msg[2])]
            option = msg[3] if len(msg) > 3 and isinstance(msg[3], dict) else {}
            mode = "message"
        events = [Event(tag, _as_time(t), rec, mode) for t, rec in entries]
        with self._cond:
            self.events.extend(events)
            self._cond.notify_all()
        chunk = option.get("chunk")
        if chunk is not None:
            with self._cond:
                self.acks_sent += 1  # before the send: a client may look as soon as it reads
            conn.sendall(msgpack.packb({"ack": chunk}))


def free_port() -> int:
    """A port nothing listens on right now (fluentd "down")."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
