"""`FluentSink`: records straight to fluentd over the forward protocol, never blocking the app.

    from shipper.sinks import FluentSink
    shipper.configure(service="billing", sink=FluentSink("127.0.0.1", 24224))

Why not `fluent.asyncsender.FluentSender` as is (fluent-logger-python's own issues):
- its queue blocks the app when full unless `queue_circular`, and circular mode drops the
  *oldest* record silently, reporting it to the handler as packed bytes (#178, #102, #156);
- `close()` holds the sender lock while the thread drains, one connect timeout per queued
  record when fluentd is unreachable (#175, #154): exit can hang for minutes;
- the sync sender keeps failed bytes in one `pendings` blob, retried only when the next record
  comes, and hands the *whole* blob to the overflow handler past `bufmax` (#25, #86);
- no error signal: failures only land in `last_error` of the thread that sent.

So the app thread here does one thing: append the finished JSON line (immutable bytes; the sink
contract forbids keeping the record dict) to a bounded deque under a lock that is never held
across I/O. A line that does not fit (count or bytes) goes to the overflow handler, on the app
thread, and is counted. One worker thread owns a `fluent.sender.FluentSender` (the synchronous
one) and sends the head of the deque one record at a time; the record leaves the deque only
once the sender wrote it to the socket, so a failure keeps it at the head, in order, and the
sender's own `pendings` buffer is cleared after each failure (we keep the record, not it). The
worker backs off (exponential, capped) while fluentd is down and reports state changes (down,
dropped so many, back up) through `error_handler` (default: one line on stderr).

Delivery is at-least-once only where TCP allows: fluent-logger has no `require_ack_response`,
so records written to the socket just before fluentd dies can be lost, and a record fluentd
read just before closing the connection can be sent again. The record's `log_id` is
BigQuery's insertId, which de-duplicates such a resend.

Exit: an `atexit` hook closes every live sink (drain up to `exit_timeout` seconds, then the
rest goes to the overflow handler and is counted). Fork: `os.register_at_fork` gives the child
an empty buffer, a new lock, a new sender and a new worker (started on the child's first
record): the child never writes on the parent's socket nor sends the parent's records.
"""

from __future__ import annotations

import atexit
import collections
import os
import re
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import orjson

from .. import _stats

DEFAULT_PORT = 24224
_TAG_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")

OverflowHandler = Callable[[bytes], None]
ErrorHandler = Callable[[str, str], None]


@dataclass
class FluentStats:
    """Counters of one sink. `queued` records wait in memory; every other record is in
    exactly one of `sent` or a `dropped_*` counter (nothing disappears uncounted)."""

    enqueued: int = 0
    sent: int = 0
    queued: int = 0
    queued_bytes: int = 0
    dropped_overflow: int = 0  # did not fit the buffer: given to the overflow handler
    dropped_closed: int = 0  # logged after close()
    dropped_at_close: int = 0  # still buffered when close()/exit gave up waiting
    dropped_unsendable: int = 0  # a line that is not a JSON object (never from the logger)
    send_failures: int = 0  # attempts that failed (connect refused, reset, timeout)
    connected: bool = False
    last_error: str | None = None


def _stderr_report(event: str, detail: str) -> None:
    try:
        os.write(2, f"shipper.sinks.fluent: {event}: {detail}\n".encode("utf-8", "replace"))
    except OSError:
        pass


def _tag_part(service: Any) -> str:
    text = _TAG_UNSAFE.sub("_", service) if isinstance(service, str) else ""
    return text.strip("_")[:128] or "unknown"


class FluentSink:
    """A bounded, non-blocking forward-protocol sink (see the module docstring).

    host, port: fluentd's `in_forward` (a "unix:///path" host works too, as in fluent-logger).
    service: the tag is `shipper.<service>`; None takes each record's `service` field.
    max_records, max_bytes: the buffer bound while fluentd is slow or down (`max_bytes` counts
      the JSON lines; each buffered record adds ~120 bytes of bookkeeping).
    overflow_handler(line): called on the app thread with each JSON line that did not fit (and
      with each line dropped at close); keep it quick. Exceptions from it are swallowed.
    error_handler(event, detail): called on the worker thread when fluentd goes down, comes
      back, or records were dropped; default writes one line to stderr.
    timeout: socket connect/send timeout in the worker (never felt by the app).
    retry_min, retry_max: the worker's backoff between attempts while fluentd is down.
    exit_timeout: how long `close()` (and the atexit hook) waits for the buffer to drain; a send
      in progress may add up to `timeout` + 1 s more (the worker finishes it, then stops).
    """

    def __init__(self, host: str = "127.0.0.1", port: int = DEFAULT_PORT, *,
                 service: str | None = None, tag_prefix: str = "shipper",
                 max_records: int = 10_000, max_bytes: int = 16 * 1024 * 1024,
                 overflow_handler: OverflowHandler | None = None,
                 error_handler: ErrorHandler | None = _stderr_report,
                 timeout: float = 3.0, retry_min: float = 0.05, retry_max: float = 5.0,
                 exit_timeout: float = 5.0) -> None:
        import fluent.sender  # the optional dependency: fail here, not at the first record

        self._sender_cls = fluent.sender.FluentSender
        self._event_time = fluent.sender.EventTime.from_unix_nano
        if max_records < 1 or max_bytes < 1:
            raise ValueError("max_records and max_bytes must be positive")
        self.host, self.port = host, port
        self.service = service
        self.tag_prefix = tag_prefix
        self.max_records, self.max_bytes = max_records, max_bytes
        self.overflow_handler = overflow_handler
        self.error_handler = error_handler
        self.timeout = timeout
        self.retry_min, self.retry_max = retry_min, retry_max
        self.exit_timeout = exit_timeout
        self._fresh_state()
        _live.add(self)
        self._start()  # now, not at the first record: a thread start costs ~0.3 ms

    def _fresh_state(self) -> None:
        """Everything that must not be shared with a forked child."""
        # guards the deque and the counters; never held for I/O. Reentrant: a signal handler
        # that logs can run on this thread while it holds the lock (a deque append is safe)
        self._lock = threading.RLock()
        self._queue: collections.deque[tuple[int, bytes]] = collections.deque()
        self._bytes = 0
        self._wake = threading.Event()  # a record arrived (or close)
        self._kick = threading.Event()  # flush/close: retry now instead of sleeping
        self._closing = False
        self._closed = False
        self._thread: threading.Thread | None = None
        self._sender: Any = None
        self._stats = FluentStats()
        self._tags: dict[Any, str] = {}

    # -- the app thread ---------------------------------------------------------------------

    def emit(self, line: bytes, record: dict[str, Any] | None = None) -> None:
        """Append the line to the buffer, or hand it to the overflow handler. Never blocks on
        the network: the only wait is the buffer lock, held for a deque operation."""
        n = len(line)
        with self._lock:
            if self._closing:
                self._stats.dropped_closed += 1
                fits = None
            elif len(self._queue) < self.max_records and self._bytes + n <= self.max_bytes:
                self._queue.append((time.time_ns(), line))
                self._bytes += n
                self._stats.enqueued += 1
                fits = True
            else:
                self._stats.dropped_overflow += 1
                fits = False
        if fits:
            if self._thread is None:
                self._start()
            if not self._wake.is_set():
                self._wake.set()
            return
        _stats.add("fluent_dropped_closed" if fits is None else "fluent_dropped_overflow")
        self._overflow(line)

    def _overflow(self, line: bytes) -> None:
        handler = self.overflow_handler
        if handler is None or getattr(_handling, "active", False):
            return  # a handler that logs to this sink again: counted, not recursed into
        _handling.active = True
        try:
            handler(line)
        except Exception:  # noqa: BLE001 - the app's handler must not break logging
            _stats.add("fluent_overflow_handler_error")
        finally:
            _handling.active = False

    def _start(self) -> None:
        with self._lock:
            if self._thread is not None or self._closing:
                return
            thread = self._thread = threading.Thread(target=self._run,
                                                     name="shipper-fluent-sink", daemon=True)
        thread.start()  # outside the lock: emit() never waits for a thread to boot

    # -- flush / close / stats ---------------------------------------------------------------

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until the buffer is empty (True) or `timeout` (default exit_timeout) passed."""
        deadline = time.monotonic() + (self.exit_timeout if timeout is None else timeout)
        self._kick.set()
        while True:
            with self._lock:
                if not self._queue:
                    return True
            if time.monotonic() >= deadline or self._thread is None:
                return False
            time.sleep(0.002)

    def close(self, timeout: float | None = None) -> None:
        """Stop taking records, drain up to `timeout`, hand the rest to the overflow handler."""
        with self._lock:
            if self._closed:
                return
            self._closing = True
        self.flush(timeout)
        with self._lock:
            self._closed = True
        self._wake.set()
        self._kick.set()
        # The worker may be inside one send (at most `timeout`): let it finish that one, so a
        # record is never both sent and handed to the overflow handler. It closes the sender.
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            try:
                thread.join(timeout=self.timeout + 1.0)
            except RuntimeError:  # assigned by _start() in another thread, not started yet
                pass
        with self._lock:
            left = list(self._queue)
            self._queue.clear()
            self._bytes = 0
            self._stats.dropped_at_close += len(left)
        if left:
            _stats.add("fluent_dropped_at_close", len(left))
            for _, line in left:
                self._overflow(line)
        _live.discard(self)

    def stats(self) -> dict[str, Any]:
        with self._lock:
            self._stats.queued = len(self._queue)
            self._stats.queued_bytes = self._bytes
            return asdict(self._stats)

    def __repr__(self) -> str:
        return f"FluentSink({self.host!r}, {self.port})"

    # -- the worker thread -------------------------------------------------------------------

    def _tag_label(self, record: dict[str, Any]) -> str:
        service = self.service if self.service is not None else record.get("service")
        key = service if isinstance(service, str) else None
        label = self._tags.get(key)
        if label is None:
            label = _tag_part(key)
            if len(self._tags) < 1024:
                self._tags[key] = label
        return label

    def _report(self, event: str, detail: str) -> None:
        handler = self.error_handler
        if handler is not None:
            try:
                handler(event, detail)
            except Exception:  # noqa: BLE001 - the app's handler must not stop the worker
                _stats.add("fluent_error_handler_error")

    def _run(self) -> None:
        """The worker's body; a bug in it must not leave the buffer without a reader."""
        try:
            self._send_loop()
        except Exception as exc:  # noqa: BLE001
            _stats.add("fluent_worker_error")
            self._report("worker_error", f"{type(exc).__name__}: {exc}; restarting")
            with self._lock:
                self._thread = None  # the next record starts a new worker
                restart = bool(self._queue) and not self._closing
            if restart:
                self._start()

    def _send_loop(self) -> None:
        sender = self._sender = self._sender_cls(
            self.tag_prefix, host=self.host, port=self.port, timeout=self.timeout,
            forward_packet_error=False)
        backoff = self.retry_min
        down_since: float | None = None
        reported_drops = 0
        try:
            while True:
                with self._lock:
                    if self._closed:
                        return
                    head = self._queue[0] if self._queue else None
                    if head is None:
                        self._wake.clear()
                    drops = self._stats.dropped_overflow
                if drops != reported_drops:
                    self._report("dropped", f"{drops - reported_drops} records did not fit the "
                                 f"buffer ({self.max_records} records / {self.max_bytes} bytes)")
                    reported_drops = drops
                if head is None:
                    self._wake.wait(0.5)
                    continue
                t_ns, line = head
                try:
                    record = orjson.loads(line)
                except ValueError:
                    record = None
                if not isinstance(record, dict):  # never from the logger; a hand-made line
                    self._pop(head, sent=False)
                    continue
                label, event_time = self._tag_label(record), self._event_time(t_ns)
                try:
                    ok = sender.emit_with_time(label, event_time, record)
                except (TypeError, ValueError, OverflowError):  # msgpack could not pack it
                    self._pop(head, sent=False)
                    continue
                if ok:
                    self._pop(head, sent=True)
                    if down_since is not None:
                        self._report("connected", f"fluentd at {self.host}:{self.port} is back "
                                     f"after {time.monotonic() - down_since:.1f} s")
                        down_since = None
                    backoff = self.retry_min
                    continue
                # Failed: the record stays at the head; forget fluent-logger's copy of it.
                sender.pendings = None
                err = sender.last_error
                sender.clear_last_error()
                with self._lock:
                    self._stats.send_failures += 1
                    self._stats.connected = False
                    self._stats.last_error = f"{type(err).__name__}: {err}" if err else "unknown"
                    closed = self._closed
                if closed:
                    return
                if down_since is None:
                    down_since = time.monotonic()
                    self._report("disconnected", f"fluentd at {self.host}:{self.port}: "
                                 f"{self._stats.last_error}; buffering up to "
                                 f"{self.max_records} records")
                self._kick.wait(backoff)
                self._kick.clear()
                backoff = min(backoff * 2, self.retry_max)
        finally:
            try:
                sender.close()
            except Exception:  # noqa: BLE001, S110 - closing a socket that is already gone
                pass

    def _pop(self, head: tuple[int, bytes], *, sent: bool) -> None:
        with self._lock:
            if self._queue and self._queue[0] is head:
                self._queue.popleft()
                self._bytes -= len(head[1])
            if sent:
                self._stats.sent += 1
                self._stats.connected = True
            else:
                self._stats.dropped_unsendable += 1
        if not sent:
            _stats.add("fluent_dropped_unsendable")

    # -- fork ---------------------------------------------------------------------------------

    def _after_fork_in_child(self) -> None:
        old = self._sender
        self._fresh_state()
        sock = getattr(old, "socket", None)
        if sock is not None:
            # Close our copy of the parent's fd without shutdown() (that would cut the
            # parent's connection, which fluent-logger's close() does).
            try:
                os.close(sock.detach())
            except OSError:
                pass


_live: weakref.WeakSet[FluentSink] = weakref.WeakSet()
_handling = threading.local()  # set while an overflow handler runs on this thread


def _close_all_at_exit() -> None:
    for sink in list(_live):
        try:
            sink.close()
        except Exception:  # noqa: BLE001, S110 - at exit there is no one left to tell
            pass


def _after_fork_in_child() -> None:
    for sink in list(_live):
        sink._after_fork_in_child()


atexit.register(_close_all_at_exit)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
