"""Issue 16, item 1: a CloudWatch that never answers. Every PutMetricData attempt and backoff fits
the invocation's remaining time, the data goes out as EMF instead, and the invocation ends in
time and succeeds: Lambda has nothing to retry, so nothing is sent twice and nothing is lost.

The endpoint is a real TCP socket on 127.0.0.1 that accepts connections, reads the requests and
never writes a byte back (`Silent`); boto3 is the real client."""

from __future__ import annotations

import socket
import threading
import time
from collections import defaultdict
from datetime import datetime, timezone

import fm_oracle as oracle
import pytest
from fm_testsupport import emf_lines, real_lines, summary_of
from support_awslogs import build_subscription_event

STATUS = real_lines("monitor_agent_stdout.log")
WARN = real_lines("fluentd_warn_lines.log")


class Silent:
    """Listens on 127.0.0.1, accepts, reads whatever comes, never answers."""

    def __init__(self, accept: bool = True) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self.requests = 0  # HTTP requests seen (their request lines)
        self._open: list[socket.socket] = []
        self._stop = threading.Event()
        if accept:
            threading.Thread(target=self._serve, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _serve(self) -> None:
        self.sock.settimeout(0.1)
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.connections += 1
            self._open.append(conn)
            threading.Thread(target=self._read, args=(conn,), daemon=True).start()

    def _read(self, conn: socket.socket) -> None:
        conn.settimeout(0.1)
        while not self._stop.is_set():
            try:
                data = conn.recv(65536)
            except OSError:
                continue
            if not data:
                return
            self.requests += data.count(b"POST / HTTP/1.1")

    def close(self) -> None:
        self._stop.set()
        for c in self._open:
            c.close()
        self.sock.close()


class Context:
    """The part of Lambda's context object the handler uses: time left, counting down."""

    def __init__(self, timeout_s: float) -> None:
        self.end = time.monotonic() + timeout_s

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.end - time.monotonic()) * 1000))


@pytest.fixture
def silent(h, monkeypatch):
    server = Silent()
    for k, v in {"AWS_ENDPOINT_URL": server.url, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                 "AWS_DEFAULT_REGION": "us-east-1", "METRICS_MODE": "api", "METRICS_CONNECT_TIMEOUT_SECONDS": "0.5",
                 "METRICS_READ_TIMEOUT_SECONDS": "1", "METRICS_DEADLINE_RESERVE_SECONDS": "1"}.items():
        monkeypatch.setenv(k, v)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    h.reset()
    yield server
    server.close()


def event(lines):
    return build_subscription_event(lines, log_group="/ecs/fluentd", log_stream="fluentd/a", timestamp_ms=0)


def emf_values(docs) -> dict:
    got: dict = defaultdict(list)
    for doc in docs:
        t = datetime.fromtimestamp(doc["_aws"]["Timestamp"] / 1000, tz=timezone.utc)
        for m in doc["_aws"]["CloudWatchMetrics"][0]["Metrics"]:
            v = doc[m["Name"]]
            got[(m["Name"], m["Unit"], doc.get("PluginId", ""), t)].extend(v if isinstance(v, list) else [v])
    return {k: sorted(v) for k, v in got.items()}


def test_never_answering_endpoint_ends_in_time_and_loses_nothing(h, silent, capsys):
    """The issue's reproducer, with a 6 s function timeout: before, one call took 8 x 15 s."""
    ctx = Context(6.0)
    started = time.monotonic()
    summary = h.handler(event(STATUS + WARN), ctx)  # returns: no exception, so no Lambda retry
    elapsed = time.monotonic() - started
    assert elapsed < 6.0 - 0.5, elapsed  # ended before the timeout, with the reserve to spare
    assert summary["failed_calls"] + summary["skipped_calls"] >= 1 and summary["level"] == "error"
    assert silent.requests >= 1  # it did try
    # an attempt starts only while a whole one (0.5 + 1 + 1 s) still fits before 6 - 1 s, so by
    # 2.5 s; each waits out its 1 s read timeout: attempts start at 0, >= 1 and >= 2 s at most
    assert silent.requests <= 3
    # nothing lost, nothing twice: the EMF fallback holds every data point exactly once
    out = capsys.readouterr().out
    assert emf_values(emf_lines(out)) == oracle.expected(STATUS, WARN)
    assert summary_of(out)["emf_fallback_lines"] == len(emf_lines(out))


def test_the_next_invocations_do_not_wait_again(h, silent, capsys, monkeypatch):
    monkeypatch.setenv("METRICS_CARRY_STATE", "0")  # so that each batch is its own oracle
    h.reset()
    h.handler(event(STATUS[:20]), Context(6.0))
    seen = silent.requests
    capsys.readouterr()
    started = time.monotonic()
    summary = h.handler(event(STATUS[20:40]), Context(6.0))
    assert time.monotonic() - started < 0.5  # straight to EMF: CloudWatch did not answer a moment ago
    assert summary["api_skipped"] == "cooldown" and summary["api_calls"] == 0 and silent.requests == seen
    out = capsys.readouterr().out
    assert emf_values(emf_lines(out)) == oracle.expected(STATUS[20:40], [])


def test_a_listening_socket_that_never_accepts(h, monkeypatch, capsys):
    """The kernel completes the TCP handshake (backlog) but nobody reads: the read timeout."""
    server = Silent(accept=False)
    try:
        for k, v in {"AWS_ENDPOINT_URL": server.url, "AWS_ACCESS_KEY_ID": "t", "AWS_SECRET_ACCESS_KEY": "t",
                     "AWS_DEFAULT_REGION": "us-east-1", "METRICS_MODE": "api",
                     "METRICS_CONNECT_TIMEOUT_SECONDS": "0.5", "METRICS_READ_TIMEOUT_SECONDS": "0.5",
                     "METRICS_DEADLINE_RESERVE_SECONDS": "0.5"}.items():
            monkeypatch.setenv(k, v)
        h.reset()
        started = time.monotonic()
        summary = h.handler(event(STATUS[:10]), Context(4.0))
        assert time.monotonic() - started < 3.5
        assert summary["failed_calls"] == 1 and "ReadTimeoutError" in summary["errors"][0]
        assert emf_values(emf_lines(capsys.readouterr().out)) == oracle.expected(STATUS[:10], [])
    finally:
        server.close()


def test_no_time_for_an_attempt_means_emf_at_once(h, silent, capsys):
    """Less time left than one attempt needs: nothing is sent, all of it goes out as EMF."""
    started = time.monotonic()
    summary = h.handler(event(STATUS[:10]), Context(2.0))  # 2 - 1 reserve < 0.5 + 1 + 1
    assert time.monotonic() - started < 0.5
    assert summary["api_calls"] == 0 and summary["skipped_calls"] == 1 and silent.connections == 0
    assert emf_values(emf_lines(capsys.readouterr().out)) == oracle.expected(STATUS[:10], [])


# -- publish_api against a clock: the arithmetic of the deadline ------------------------------------

class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t

    def sleep(self, s: float) -> None:
        self.t += s


class TimingOutClient:
    """Each attempt takes `took` seconds on the clock and ends in a botocore ReadTimeoutError."""

    def __init__(self, clock: Clock, took: float, error: Exception | None = None) -> None:
        self.clock, self.took, self.calls, self.error = clock, took, 0, error

    def put_metric_data(self, **_):
        from botocore.exceptions import ReadTimeoutError

        self.calls += 1
        self.clock.t += self.took
        raise self.error or ReadTimeoutError(endpoint_url="http://127.0.0.1:9")


def datums(n: int):
    from fm_fold import Datum

    return [Datum(f"m{i}", "Count", (("PluginId", "p"),), 1795858800.0, (1.0,), (1,)) for i in range(n)]


@pytest.mark.parametrize("deadline", [3.0, 10.0, 30.0, 100.0])
def test_attempts_and_backoffs_never_cross_the_deadline(h, deadline):
    import fm_publish

    clock = Clock()
    client = TimingOutClient(clock, took=2.0)
    res = fm_publish.publish_api(client, "fluentd", datums(2500), 60, deadline=deadline, attempt_seconds=2.0,
                                 max_attempts=20, clock=clock, sleep=clock.sleep, rand=lambda: 1.0)
    assert clock.t <= deadline
    assert client.calls >= 1 and res.unreachable
    # the first batch used its attempts; the other two were not tried (CloudWatch did not answer)
    assert res.calls == 1 and res.skipped_calls == 2 and len(res.failed) == 2500
    assert res.retries == client.calls - 1


def test_a_rejected_call_does_not_stop_the_others(h):
    import fm_publish
    from botocore.exceptions import ClientError

    clock = Clock()
    bad = ClientError({"Error": {"Code": "InvalidParameterValue", "Message": "no"},
                       "ResponseMetadata": {"HTTPStatusCode": 400}}, "PutMetricData")
    client = TimingOutClient(clock, took=0.1, error=bad)
    res = fm_publish.publish_api(client, "fluentd", datums(2500), 60, deadline=60.0, attempt_seconds=2.0,
                                 max_attempts=5, clock=clock, sleep=clock.sleep, rand=lambda: 1.0)
    assert client.calls == 3 and res.failed_calls == 3 and res.retries == 0 and not res.unreachable


@pytest.mark.parametrize("code,status,retry", [("Throttling", 400, True), ("ThrottlingException", 400, True),
                                               ("InternalFailure", 500, True), ("ServiceUnavailable", 503, True),
                                               ("Whatever", 502, True), ("InvalidParameterValue", 400, False),
                                               ("AccessDenied", 403, False), ("InvalidClientTokenId", 403, False)])
def test_which_errors_are_retried(h, code, status, retry):
    import fm_publish
    from botocore.exceptions import ClientError, EndpointConnectionError, ReadTimeoutError

    exc = ClientError({"Error": {"Code": code}, "ResponseMetadata": {"HTTPStatusCode": status}}, "PutMetricData")
    assert fm_publish.classify(exc) == (retry, False)
    assert fm_publish.classify(ReadTimeoutError(endpoint_url="x")) == (True, True)
    assert fm_publish.classify(EndpointConnectionError(endpoint_url="x")) == (True, True)
