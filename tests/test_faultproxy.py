"""Tests of the fault-injecting proxy itself, against a tiny stdlib upstream.

Each fault kind is checked in isolation (``rate=1.0`` and a single fault), pinning down both what
reaches the upstream (so tests built on the proxy can rely on "not forwarded" vs "processed but the
answer was lost") and exactly which ``requests`` exception each fault produces.
"""

from __future__ import annotations

import hashlib
import json
import random
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests
import urllib3

from _faultproxy import DEFAULT_FAULTS, FaultProxy

BIG = random.Random(1234).randbytes(5 * 1024 * 1024)  # 5 MB, incompressible like a zip
PAD = "x" * 200_000


class Upstream:
    """A ThreadingHTTPServer on loopback that records what reached it."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.count = 0
        self.seen: list[dict[str, Any]] = []  # method, path, headers of every request handled
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(self))
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def hits(self, path: str) -> int:
        with self.lock:
            return sum(1 for s in self.seen if s["path"] == path)


def _make_handler(up: Upstream) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # needed for chunked responses and Content-Length framing

        def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
            pass

        def _record(self) -> None:
            with up.lock:
                up.seen.append({"method": self.command, "path": self.path, "headers": dict(self.headers.items())})

        def _send(self, status: int, body: bytes, ctype: str = "application/json") -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _read_body(self) -> bytes:
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                data = b""
                while True:
                    size = int(self.rfile.readline().split(b";")[0], 16)
                    if size == 0:
                        while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                            pass
                        return data
                    data += self.rfile.read(size)
                    self.rfile.read(2)
            return self.rfile.read(int(self.headers.get("Content-Length", "0")))

        def do_GET(self) -> None:
            self._record()
            if self.path == "/big":
                self._send(200, BIG, "application/zip")
            elif self.path == "/chunked":
                self.send_response(200)
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                for i in range(30):
                    piece = bytes([65 + i % 26]) * 10_000
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                self.wfile.write(b"0\r\n\r\n")
            elif self.path == "/close":
                # No Content-Length: the body ends when the connection closes.
                self.send_response(200)
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(b"until-close " * 5000)
                self.close_connection = True
            elif self.path == "/empty":
                self.send_response(204)
                self.end_headers()
            else:
                body = {"path": self.path, "host": self.headers.get("Host"), "pad": PAD}
                self._send(200, json.dumps(body).encode())

        def do_POST(self) -> None:
            data = self._read_body()
            self._record()
            with up.lock:
                up.count += 1
                n = up.count
            body = {"count": n, "received": len(data), "sha256": hashlib.sha256(data).hexdigest()}
            self._send(201, json.dumps(body).encode())

    return Handler


@pytest.fixture(scope="module")
def upstream() -> Iterator[Upstream]:
    up = Upstream()
    up.thread.start()
    yield up
    up.server.shutdown()
    up.server.server_close()


def _proxy_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("faultproxy")]


def _only(fault: str, upstream: Upstream, **kw: Any) -> FaultProxy:
    """A started proxy that hits every request with *fault*."""
    return FaultProxy(upstream.url, rate=1.0, faults=(fault,), **kw).start()


def _port(proxy: FaultProxy) -> int:
    return int(proxy.url.rsplit(":", 1)[1])


def _raw_get(proxy: FaultProxy, path: str) -> bytes:
    """Everything the proxy sends for a GET, read until it closes the connection."""
    with socket.create_connection(("127.0.0.1", _port(proxy)), timeout=5) as sock:
        sock.sendall(b"GET %s HTTP/1.1\r\nHost: test\r\n\r\n" % path.encode())
        data = bytearray()
        while chunk := sock.recv(65536):
            data += chunk
    return bytes(data)


# ------------------------------------------------------------------------------- clean forwarding


@pytest.mark.parametrize("path", ["/echo?q=1", "/big", "/chunked", "/close", "/empty"])
def test_rate_zero_forwards_byte_identically(upstream: Upstream, path: str) -> None:
    direct = requests.get(upstream.url + path, timeout=10)
    with FaultProxy(upstream.url, rate=0.0) as proxy:
        via = requests.get(proxy.url + path, timeout=10)
        assert proxy.stats == Counter({"requests": 1, "forwarded": 1})
    assert via.status_code == direct.status_code
    assert via.headers.get("Content-Type") == direct.headers.get("Content-Type")
    if path == "/echo?q=1":  # the echo contains the Host, which differs by design
        assert via.json()["pad"] == direct.json()["pad"]
        assert via.json()["path"] == direct.json()["path"]
    else:
        assert via.content == direct.content
    if path == "/big":
        assert via.content == BIG
    assert via.headers["Connection"] == "close"


def test_post_bodies_forwarded_including_chunked(upstream: Upstream) -> None:
    payload = json.dumps({"jobs": list(range(20_000))}).encode()
    with FaultProxy(upstream.url, rate=0.0) as proxy:
        r = requests.post(proxy.url + "/count", data=payload, headers={"Content-Type": "application/json"}, timeout=10)
        assert r.status_code == 201
        assert r.json()["sha256"] == hashlib.sha256(payload).hexdigest()
        # A generator body makes requests send Transfer-Encoding: chunked; it is relayed as-is.
        r = requests.post(proxy.url + "/count", data=iter([payload[:1000], payload[1000:]]), timeout=10)
        assert r.status_code == 201
        assert r.json()["received"] == len(payload)
        assert r.json()["sha256"] == hashlib.sha256(payload).hexdigest()
        assert upstream.seen[-1]["headers"].get("Transfer-Encoding") == "chunked"


def test_host_header_reaches_upstream_unchanged(upstream: Upstream) -> None:
    with FaultProxy(upstream.url, rate=0.0) as proxy:
        # The upstream sees the proxy's address as Host, so URLs it builds point back at the proxy.
        assert requests.get(proxy.url + "/echo", timeout=10).json()["host"] == proxy.url.removeprefix("http://")
        r = requests.get(proxy.url + "/echo", headers={"Host": "files.example.test:8080"}, timeout=10)
        assert r.json()["host"] == "files.example.test:8080"


def test_expect_100_continue_is_answered_by_the_proxy(upstream: Upstream) -> None:
    with FaultProxy(upstream.url, rate=0.0) as proxy, socket.create_connection(
        ("127.0.0.1", _port(proxy)), timeout=5
    ) as sock:
        sock.sendall(b"POST /count HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n")
        assert sock.recv(100) == b"HTTP/1.1 100 Continue\r\n\r\n"
        sock.sendall(b"hello")
        reply = b""
        while chunk := sock.recv(65536):
            reply += chunk
    assert reply.startswith(b"HTTP/1.1 201 ")
    assert json.loads(reply.split(b"\r\n\r\n", 1)[1])["sha256"] == hashlib.sha256(b"hello").hexdigest()
    assert "Expect" not in upstream.seen[-1]["headers"]


# ------------------------------------------------------------------------------- each fault alone


@pytest.mark.parametrize(("retry_after", "header"), [("0", "0"), ("3", "3"), (None, None)])
def test_429_is_answered_by_proxy_with_retry_after(upstream: Upstream, retry_after: str | None,
                                                   header: str | None) -> None:
    before = upstream.count
    proxy = _only("429", upstream, retry_after=retry_after)
    try:
        r = requests.post(proxy.url + "/count", json={"a": 1}, timeout=10)
    finally:
        proxy.stop()
    assert r.status_code == 429
    assert r.headers.get("Retry-After") == header
    assert r.json() == {"detail": "Request was throttled (injected)."}
    assert upstream.count == before  # never forwarded
    assert proxy.stats == Counter({"requests": 1, "429": 1})


@pytest.mark.parametrize(("fault", "retry_after"), [("503", "0"), ("502", None), ("504", None), ("500", None)])
def test_5xx_is_answered_by_proxy(upstream: Upstream, fault: str, retry_after: str | None) -> None:
    before = upstream.count
    with FaultProxy(upstream.url, rate=1.0, faults=(fault,)) as proxy:
        r = requests.post(proxy.url + "/count", json={"a": 1}, timeout=10)
        assert proxy.stats == Counter({"requests": 1, fault: 1})
    assert r.status_code == int(fault)
    assert r.headers.get("Retry-After") == retry_after  # only 503 (and 429) carry Retry-After
    assert "(injected)" in r.json()["detail"]
    assert upstream.count == before


def test_reset_before_raises_connection_error_and_does_not_forward(upstream: Upstream) -> None:
    before = upstream.count
    with _only("reset_before", upstream) as proxy:
        with pytest.raises(requests.ConnectionError) as info:
            requests.post(proxy.url + "/count", json={"a": 1}, timeout=10)
        assert proxy.stats == Counter({"requests": 1, "reset_before": 1})
    assert type(info.value) is requests.ConnectionError
    assert isinstance(info.value.args[0], urllib3.exceptions.ProtocolError)
    assert isinstance(info.value.args[0].args[1], ConnectionResetError)  # a real RST, not a FIN
    assert upstream.count == before


def test_drop_closes_without_an_answer_and_does_not_forward(upstream: Upstream) -> None:
    before = upstream.count
    with _only("drop", upstream) as proxy:
        with pytest.raises(requests.ConnectionError) as info:
            requests.post(proxy.url + "/count", json={"a": 1}, timeout=10)
        assert proxy.stats == Counter({"requests": 1, "drop": 1})
    assert "RemoteDisconnected" in repr(info.value)  # a clean close (FIN) with no response, not a RST
    assert upstream.count == before


def test_reset_after_raises_connection_error_but_upstream_processed_it(upstream: Upstream) -> None:
    before = upstream.count
    with _only("reset_after", upstream) as proxy:
        with pytest.raises(requests.ConnectionError) as info:
            requests.post(proxy.url + "/count", json={"a": 1}, timeout=10)
        assert proxy.stats == Counter({"requests": 1, "reset_after": 1, "forwarded": 1})
    assert type(info.value) is requests.ConnectionError
    assert isinstance(info.value.args[0].args[1], ConnectionResetError)
    assert upstream.count == before + 1  # the effect happened; only the answer was lost


@pytest.mark.parametrize("path", ["/echo", "/big", "/chunked", "/close"])
def test_cut_raises_chunked_encoding_error(upstream: Upstream, path: str) -> None:
    with _only("cut", upstream) as proxy:
        # requests reads the body eagerly; urllib3 raises ProtocolError(IncompleteRead) for a body
        # shorter than its Content-Length, and requests turns that into ChunkedEncodingError,
        # which is NOT a subclass of requests.ConnectionError.
        with pytest.raises(requests.exceptions.ChunkedEncodingError) as info:
            requests.get(proxy.url + path, timeout=10)
        assert not isinstance(info.value, requests.ConnectionError)
        assert isinstance(info.value.args[0], urllib3.exceptions.ProtocolError)
        incomplete = info.value.args[0].args[1]
        assert isinstance(incomplete, urllib3.exceptions.IncompleteRead)
        assert incomplete.expected >= 1  # at least one byte missing

        # Streaming: headers arrive intact, the error comes while reading the body.
        r = requests.get(proxy.url + path, stream=True, timeout=10)
        assert r.status_code == 200
        with pytest.raises(requests.exceptions.ChunkedEncodingError):
            for _ in r.iter_content(65536):
                pass

        # On the wire: the full body's Content-Length (even if upstream used chunked or
        # close-delimited framing), then exactly the first half of the body, then a clean close.
        full_body = requests.get(upstream.url + path, headers={"Host": "test"}, timeout=10).content
        head, _, body = _raw_get(proxy, path).partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200 ")
        assert b"\r\nContent-Length: %d\r\n" % len(full_body) in head + b"\r\n"
        assert b"Transfer-Encoding" not in head
        assert body == full_body[: len(full_body) // 2]
        assert proxy.stats == Counter({"requests": 3, "cut": 3, "forwarded": 3})


def test_cut_of_an_empty_body_cuts_the_status_line(upstream: Upstream) -> None:
    with _only("cut", upstream) as proxy, pytest.raises(requests.ConnectionError) as info:
        requests.get(proxy.url + "/empty", timeout=10)
    assert type(info.value) is requests.ConnectionError
    assert "BadStatusLine" in repr(info.value)


def test_delay_then_forwards(upstream: Upstream) -> None:
    with _only("delay", upstream, delay=0.3) as proxy:
        t0 = time.monotonic()
        r = requests.get(proxy.url + "/echo?d=1", timeout=10)
        elapsed = time.monotonic() - t0
        assert proxy.stats == Counter({"requests": 1, "delay": 1, "forwarded": 1})
    assert elapsed >= 0.3
    assert r.status_code == 200
    assert r.json()["path"] == "/echo?d=1"
    assert r.json()["pad"] == PAD


# ------------------------------------------------------------------------------- decisions, stats


def _outcome_of(url: str) -> str:
    """Classify what the client saw, to check it matches the proxy's decision."""
    try:
        r = requests.get(url, timeout=10)
    except requests.exceptions.ChunkedEncodingError:
        return "cut"
    except requests.ConnectionError:
        return "reset"
    return {200: "ok", 429: "429", 502: "502", 503: "503"}[r.status_code]


def test_same_seed_same_faults_and_stats_match(upstream: Upstream) -> None:
    runs = []
    for seed in (7, 7, 8):
        with FaultProxy(upstream.url, rate=0.5, seed=seed, delay=0.01) as proxy:
            seen = [_outcome_of(f"{proxy.url}/echo?i={i}") for i in range(30)]
        outcomes = [outcome for _, _, outcome in proxy.events]
        runs.append(outcomes)

        # The documented algorithm: one random() per request, then choice(faults) if below rate.
        rng = random.Random(seed)
        assert outcomes == [rng.choice(DEFAULT_FAULTS) if rng.random() < 0.5 else "forward" for _ in range(30)]
        # What the client observed matches each decision.
        client_view = {"forward": "ok", "delay": "ok", "reset_before": "reset", "reset_after": "reset"}
        assert seen == [client_view.get(o, o) for o in outcomes]
        # stats agree with the event log.
        expected = Counter(o for o in outcomes if o != "forward")
        expected["requests"] = 30
        expected["forwarded"] = sum(o in ("forward", "delay", "cut", "reset_after") for o in outcomes)
        assert proxy.stats == expected
    assert runs[0] == runs[1]
    assert runs[0] != runs[2]
    assert len(set(runs[0])) >= 4  # a real mix of faults, not a degenerate run


def test_only_paths_limits_faults_without_consuming_draws(upstream: Upstream) -> None:
    with FaultProxy(upstream.url, rate=1.0, faults=("429",), only_paths=r"^/count$") as proxy:
        assert requests.get(proxy.url + "/echo", timeout=10).status_code == 200
        assert requests.get(proxy.url + "/echo?x=/count", timeout=10).status_code == 200  # query ignored
        assert requests.post(proxy.url + "/count", json={}, timeout=10).status_code == 429
        assert proxy.stats == Counter({"requests": 3, "forwarded": 2, "429": 1})
        assert [o for _, _, o in proxy.events] == ["forward", "forward", "429"]
    # Non-matching requests don't draw, so the matching ones get the same faults as without them.
    with FaultProxy(upstream.url, rate=0.5, seed=3, faults=("429", "503"), only_paths="^/count") as mixed, \
            FaultProxy(upstream.url, rate=0.5, seed=3, faults=("429", "503"), only_paths="^/count") as pure:
        for i in range(8):
            requests.get(mixed.url + "/echo", timeout=10)
            requests.post(mixed.url + "/count", json={"i": i}, timeout=10)
            requests.post(pure.url + "/count", json={"i": i}, timeout=10)
        assert [e for e in mixed.events if e[1] == "/count"] == list(pure.events)


def test_rate_can_be_changed_at_run_time(upstream: Upstream) -> None:
    with _only("503", upstream) as proxy:
        assert requests.get(proxy.url + "/echo", timeout=10).status_code == 503
        proxy.rate = 0.0  # heal the network
        assert requests.get(proxy.url + "/echo", timeout=10).status_code == 200
        assert proxy.stats == Counter({"requests": 2, "503": 1, "forwarded": 1})


def test_unreachable_upstream_is_a_plain_502() -> None:
    with socket.socket() as s:  # a port that was free a moment ago: nothing listens there
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with FaultProxy(f"http://127.0.0.1:{port}", rate=0.0) as proxy:
        r = requests.get(proxy.url + "/echo", timeout=10)
        assert proxy.stats == Counter({"requests": 1, "upstream_error": 1})
    assert r.status_code == 502
    assert "Upstream unreachable" in r.json()["detail"]


# ------------------------------------------------------------------------------- robustness, lifecycle


def test_survives_client_misbehaviour(upstream: Upstream) -> None:
    with FaultProxy(upstream.url, rate=0.0) as proxy:
        addr = ("127.0.0.1", _port(proxy))
        with socket.create_connection(addr) as sock:  # connects, says nothing, leaves
            pass
        with socket.create_connection(addr) as sock:  # half a head, then leaves
            sock.sendall(b"GET /echo HTTP/1.1\r\nHo")
        with socket.create_connection(addr, timeout=5) as sock:  # garbage
            sock.sendall(b"NOT HTTP AT ALL\r\n\r\n")
            assert sock.recv(100).startswith(b"HTTP/1.1 400 ")
        with socket.create_connection(addr, timeout=5) as sock:  # a transfer coding we don't support
            sock.sendall(b"POST /count HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n")
            assert sock.recv(100).startswith(b"HTTP/1.1 501 ")
        # A download abandoned after the first chunk: the proxy's send fails, quietly.
        r = requests.get(proxy.url + "/big", stream=True, timeout=10)
        next(r.iter_content(1024))
        r.close()
        # ... and it still serves.
        assert requests.get(proxy.url + "/big", timeout=10).content == BIG
    assert _proxy_threads() == []


def test_stop_is_quick_with_requests_in_flight(upstream: Upstream) -> None:
    proxy = FaultProxy(upstream.url, rate=1.0, faults=("delay",), delay=30.0).start()
    errors: list[BaseException] = []

    def slow_request() -> None:
        try:
            requests.get(proxy.url + "/echo", timeout=20)
        except requests.RequestException as exc:
            errors.append(exc)

    client = threading.Thread(target=slow_request)
    client.start()
    idle = socket.create_connection(("127.0.0.1", _port(proxy)))
    deadline = time.monotonic() + 5
    while proxy.stats["delay"] < 1 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert proxy.stats["delay"] == 1

    t0 = time.monotonic()
    proxy.stop()
    assert time.monotonic() - t0 < 1.5
    client.join(timeout=5)
    idle.close()
    assert not client.is_alive()
    assert len(errors) == 1 and isinstance(errors[0], requests.ConnectionError)  # closed with no answer
    assert _proxy_threads() == []
    with pytest.raises(requests.ConnectionError):  # nothing listens any more
        requests.get(proxy.url + "/echo", timeout=2)
    proxy.stop()  # idempotent


def test_arguments_are_validated(upstream: Upstream) -> None:
    with pytest.raises(ValueError):
        FaultProxy(upstream.url, faults=("429", "teapot"))
    with pytest.raises(ValueError):
        FaultProxy(upstream.url, faults=())
    with pytest.raises(ValueError):
        FaultProxy(upstream.url, rate=1.5)
    with pytest.raises(ValueError):
        FaultProxy("https://127.0.0.1:1")
    with pytest.raises(RuntimeError):
        _ = FaultProxy(upstream.url).url
