"""A fault-injecting HTTP/1.1 proxy on loopback, for resilience tests of the client.

Put a :class:`FaultProxy` between the client and a real local HTTP/1.1 service and point the
client at ``proxy.url``. Each request is either forwarded cleanly or hit by one fault that
mimics something a real network or load balancer does:

``"429"``
    Throttling. Answered by the proxy (never forwarded) with ``429 Too Many Requests``,
    ``Retry-After: <retry_after>`` and a JSON ``detail`` body. Tests that the client backs off
    and retries, honouring ``Retry-After``.
``"503"`` / ``"502"`` / ``"504"`` / ``"500"``
    An overloaded or broken gateway, or a server error. Answered by the proxy (never forwarded) with
    that status and a JSON ``detail`` body; ``503`` also carries ``Retry-After`` (as real services
    often send it). ``"504"`` and ``"500"`` are available but not in the default fault list.
``"reset_before"``
    The connection dies before the request reaches the service: the proxy reads the request,
    then closes the client socket with ``SO_LINGER`` 0, which sends a TCP RST. Safe to retry.
``"reset_after"``
    The connection dies after the service did the work: the request is forwarded, the whole
    response is read from upstream (so e.g. a POST really created a batch), then the client gets
    a RST and no response. Only idempotent retries (``Idempotency-Key``) keep effects exactly-once.
``"drop"``
    The request is swallowed: the proxy reads it, never forwards it and closes the connection
    cleanly (FIN) without a byte of response, as a load balancer dropping a request does. The
    client sees the server disconnect with no answer. Safe to retry. Not in the default list.
``"cut"``
    A response truncated mid-body: the proxy sends the status line and headers with the full
    ``Content-Length``, then only the first half of the body (at least one byte short), then
    closes cleanly (FIN). Responses with an empty body (``HEAD``, ``204``, ``304``, ``Content-Length: 0``)
    are cut inside their status line instead, since there is no body to shorten.
``"delay"``
    A slow network: sleep ``delay`` seconds, then forward cleanly. Tests client timeouts/latency.

Decisions are drawn from ``random.Random(seed)`` under a lock, one ``random()`` (then one
``choice(faults)`` if below ``rate``) per request in the order request heads are read, so a run is
reproducible given the same request order. With ``only_paths``
set, requests whose path does not match are forwarded without drawing, so interleaved unrelated
traffic does not shift the fault sequence of the matching requests.

Protocol notes: one client request per connection (every response carries ``Connection: close``
and the client socket is closed after it; ``requests`` reconnects transparently), and one fresh
upstream connection per request. The client's ``Host`` header is forwarded unchanged, so absolute
URLs built by the upstream point back at the proxy. Request bodies may use ``Content-Length`` or
``Transfer-Encoding: chunked`` (relayed as-is); other transfer codings are refused with ``501``.
Response bodies are streamed (``Content-Length``, chunked or close-delimited), so multi-MB
downloads work. ``Expect: 100-continue`` is answered by the proxy itself. Only plain ``http://``
upstreams are supported; ``CONNECT`` and absolute-form proxying are not.
"""

from __future__ import annotations

import collections
import contextlib
import json
import logging
import random
import re
import socket
import struct
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from types import TracebackType
from urllib.parse import urlsplit

__all__ = ["DEFAULT_FAULTS", "FAULTS", "FaultProxy"]

_log = logging.getLogger(__name__)

# Fault kinds answered by the proxy itself: status, reason phrase, JSON detail.
_STATUS_FAULTS: dict[str, tuple[int, str, str]] = {
    "429": (429, "Too Many Requests", "Request was throttled (injected)."),
    "502": (502, "Bad Gateway", "Bad gateway (injected)."),
    "503": (503, "Service Unavailable", "Service unavailable (injected)."),
    "504": (504, "Gateway Timeout", "Gateway timeout (injected)."),
    "500": (500, "Internal Server Error", "Internal server error (injected)."),
}
#: Every fault kind this proxy knows.
FAULTS: frozenset[str] = frozenset({*_STATUS_FAULTS, "cut", "reset_before", "reset_after", "drop", "delay"})
#: The faults used when none are given.
DEFAULT_FAULTS: tuple[str, ...] = ("429", "503", "502", "cut", "reset_before", "reset_after", "delay")

_RETRY_AFTER_STATUSES = frozenset({429, 503})
_IO_CHUNK = 64 * 1024
_MAX_LINE = 64 * 1024  # bound on a head / chunk-size line, so garbage input cannot eat memory
# Per-connection headers that must not be relayed: we rewrite the connection handling ourselves.
_HOP_BY_HOP = frozenset({"connection", "keep-alive", "proxy-connection"})
_NO_BODY_STATUSES = frozenset({204, 304})


class _BadMessage(Exception):
    """Malformed HTTP, or the peer closed in the middle of a message."""


class _Unsupported(_BadMessage):
    """Valid HTTP this proxy does not handle (a transfer coding other than chunked)."""


@dataclass
class _Head:
    """A parsed request or response head; header names and values kept as sent (latin-1)."""

    start: str
    headers: list[tuple[str, str]]

    def get(self, name: str) -> str | None:
        """The last value of header *name* (case-insensitive), or None."""
        found = None
        for key, value in self.headers:
            if key.lower() == name:
                found = value
        return found

    def without(self, *names: str) -> list[tuple[str, str]]:
        """The headers minus those named (lower-case names)."""
        return [(k, v) for k, v in self.headers if k.lower() not in names]


def _parse_head(raw: bytes) -> _Head:
    # latin-1 maps every byte to one code point, so re-encoding is byte-identical.
    lines = raw.decode("latin-1").split("\r\n")
    start, header_lines = lines[0], [line for line in lines[1:] if line]
    headers: list[tuple[str, str]] = []
    for line in header_lines:
        name, sep, value = line.partition(":")
        if not sep or not name or name != name.strip():
            # Includes obsolete line folding, which no modern peer sends.
            raise _BadMessage(f"bad header line {line!r}")
        headers.append((name, value.strip()))
    return _Head(start, headers)


def _encode_head(start: str, headers: Sequence[tuple[str, str]]) -> bytes:
    return (start + "\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers) + "\r\n").encode("latin-1")


class _Reader:
    """Buffered reads of HTTP/1.1 framing from a blocking socket."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._buf = bytearray()

    def _fill(self) -> bool:
        data = self._sock.recv(_IO_CHUNK)
        self._buf += data
        return bool(data)

    def read_head(self) -> bytes | None:
        """Bytes through the blank line that ends a head; None on EOF before any byte."""
        while True:
            end = self._buf.find(b"\r\n\r\n")
            if end >= 0:
                head = bytes(self._buf[: end + 4])
                del self._buf[: end + 4]
                return head
            if len(self._buf) > _MAX_LINE:
                raise _BadMessage("head too large")
            if not self._fill():
                if not self._buf:
                    return None
                raise _BadMessage("EOF inside a head")

    def _readline(self) -> bytes:
        while True:
            i = self._buf.find(b"\n")
            if i >= 0:
                line = bytes(self._buf[: i + 1])
                del self._buf[: i + 1]
                return line
            if len(self._buf) > _MAX_LINE:
                raise _BadMessage("line too long")
            if not self._fill():
                raise _BadMessage("EOF inside chunked framing")

    def iter_exact(self, n: int) -> Iterator[bytes]:
        """Exactly *n* bytes, in pieces; raises on a premature EOF."""
        while n > 0:
            if not self._buf and not self._fill():
                raise _BadMessage(f"EOF with {n} body bytes missing")
            piece = bytes(self._buf[:n])
            del self._buf[: len(piece)]
            n -= len(piece)
            yield piece

    def iter_until_close(self) -> Iterator[bytes]:
        """Everything until the peer closes (a close-delimited response body)."""
        while self._buf or self._fill():
            piece = bytes(self._buf)
            self._buf.clear()
            yield piece

    def iter_chunked(self, *, raw: bool) -> Iterator[bytes]:
        """A chunked body: the framing as received if *raw*, else just the decoded data."""
        while True:
            line = self._readline()
            try:
                size = int(line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                raise _BadMessage(f"bad chunk size line {line!r}") from None
            if raw:
                yield line
            if size == 0:
                break
            yield from self.iter_exact(size)
            crlf = b"".join(self.iter_exact(2))
            if crlf != b"\r\n":
                raise _BadMessage("chunk not followed by CRLF")
            if raw:
                yield crlf
        while True:  # trailer section, ended by an empty line
            line = self._readline()
            if raw:
                yield line
            if line in (b"\r\n", b"\n"):
                return

    def iter_body(self, framing: tuple[str, int], *, raw: bool) -> Iterator[bytes]:
        """A body framed as :func:`_request_framing` / :func:`_response_framing` say."""
        kind, length = framing
        if kind == "length":
            yield from self.iter_exact(length)
        elif kind == "chunked":
            yield from self.iter_chunked(raw=raw)
        elif kind == "close":
            yield from self.iter_until_close()


def _content_length(head: _Head) -> int:
    value = head.get("content-length")
    if value is None:
        return 0
    if not value.isdigit():
        raise _BadMessage(f"bad Content-Length {value!r}")
    return int(value)


def _is_chunked(head: _Head) -> bool:
    codings = [c.strip().lower() for c in (head.get("transfer-encoding") or "").split(",") if c.strip()]
    if codings and codings != ["chunked"]:
        raise _Unsupported(f"unsupported Transfer-Encoding {codings}")
    return bool(codings)


def _request_framing(head: _Head) -> tuple[str, int]:
    if _is_chunked(head):  # Transfer-Encoding wins over Content-Length (RFC 9112 §6.3)
        return ("chunked", 0)
    return ("length", _content_length(head))


def _response_framing(head: _Head, status: int, method: str) -> tuple[str, int]:
    if method == "HEAD" or status < 200 or status in _NO_BODY_STATUSES:
        return ("none", 0)
    if _is_chunked(head):
        return ("chunked", 0)
    if head.get("content-length") is not None:
        return ("length", _content_length(head))
    return ("close", 0)


def _status_of(head: _Head) -> int:
    parts = head.start.split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
        raise _BadMessage(f"bad status line {head.start!r}")
    return int(parts[1])


def _reset(sock: socket.socket) -> None:
    """Close *sock* with a TCP RST instead of a FIN (linger on, timeout 0)."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def _close_gracefully(sock: socket.socket) -> None:
    """Send FIN after everything written, so the client reads the full (or cut) response."""
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_WR)
    sock.close()


class FaultProxy:
    """A loopback HTTP/1.1 proxy that injects faults into a fraction of the requests.

    Args:
        upstream: ``http://host:port`` of the real service.
        rate: probability that a request is hit by a fault; an attribute, change it at run time
            (e.g. ``proxy.rate = 0`` to heal the network).
        seed: seed of the ``random.Random`` deciding which requests are hit and by what.
        faults: fault kinds to choose from uniformly (repeat one to weight it); see :data:`FAULTS`.
        delay: seconds slept by the ``"delay"`` fault.
        retry_after: ``Retry-After`` value sent with injected 429 and 503; None omits the header.
        only_paths: regex (``re.search`` on the request path, query excluded); when set, only
            matching requests can be hit, the rest are forwarded without consuming a random draw.
        timeout: socket timeout for each client and upstream read/write, in seconds.

    Attributes:
        url: ``http://127.0.0.1:<port>`` once started.
        stats: counts of each injected fault, plus ``"requests"`` (requests read from clients),
            ``"forwarded"`` (requests sent upstream) and ``"upstream_error"`` (upstream unreachable,
            answered with a non-injected 502).
        events: ``(method, target, outcome)`` per request in decision order, outcome being a fault
            kind or ``"forward"``; handy to compare runs or debug a failing workflow.
    """

    def __init__(
        self,
        upstream: str,
        *,
        rate: float = 0.3,
        seed: int = 0,
        faults: Sequence[str] = DEFAULT_FAULTS,
        delay: float = 0.3,
        retry_after: str | None = "0",
        only_paths: str | None = None,
        timeout: float = 60.0,
    ) -> None:
        parts = urlsplit(upstream)
        if parts.scheme != "http" or not parts.hostname:
            raise ValueError(f"upstream must be an http://host:port URL, got {upstream!r}")
        unknown = sorted(set(faults) - FAULTS)
        if unknown or not faults:
            raise ValueError(f"faults must be a non-empty sequence of {sorted(FAULTS)}, got {list(faults)}")
        if not 0.0 <= rate <= 1.0:
            raise ValueError(f"rate must be within [0, 1], got {rate}")
        self.upstream = upstream
        self._upstream_addr = (parts.hostname, parts.port or 80)
        self.rate = rate
        self.faults: tuple[str, ...] = tuple(faults)
        self.delay = delay
        self.retry_after = retry_after
        self.only_paths: re.Pattern[str] | None = re.compile(only_paths) if only_paths is not None else None
        self.timeout = timeout
        self.stats: collections.Counter[str] = collections.Counter()
        self.events: collections.deque[tuple[str, str, str]] = collections.deque(maxlen=100_000)
        self._rng = random.Random(seed)
        self._lock = threading.Lock()  # guards _rng, stats, events, _open, _workers
        self._stopping = threading.Event()
        self._listener: socket.socket | None = None
        self._accept_thread: threading.Thread | None = None
        self._url: str | None = None
        # Sockets in use by workers, so stop() can shut them down and unblock their recv/send.
        self._open: set[socket.socket] = set()
        self._workers: set[threading.Thread] = set()

    # ----------------------------------------------------------------------------- lifecycle

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``; only valid once started."""
        if self._url is None:
            raise RuntimeError("FaultProxy not started")
        return self._url

    def start(self) -> FaultProxy:
        """Bind 127.0.0.1 on a free port and serve in background threads."""
        if self._listener is not None:
            raise RuntimeError("FaultProxy already started")
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", 0))
        listener.listen(128)
        # accept() with a short timeout lets the accept loop notice stop(): closing a socket from
        # another thread does not reliably wake a blocked accept() on Linux.
        listener.settimeout(0.1)
        self._listener = listener
        self._stopping.clear()
        self._url = f"http://127.0.0.1:{listener.getsockname()[1]}"
        self._accept_thread = threading.Thread(target=self._accept_loop, name="faultproxy-accept", daemon=True)
        self._accept_thread.start()
        return self

    def stop(self) -> None:
        """Stop accepting, abort in-flight connections and join the threads (about a second at most)."""
        self._stopping.set()
        if self._accept_thread is not None:
            self._accept_thread.join(timeout=1.0)
            self._accept_thread = None
        if self._listener is not None:
            self._listener.close()
            self._listener = None
        with self._lock:
            open_socks, workers = list(self._open), list(self._workers)
        for sock in open_socks:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)  # wakes a worker blocked in recv/sendall
        deadline = time.monotonic() + 1.0
        for worker in workers:
            worker.join(timeout=max(0.0, deadline - time.monotonic()))

    def __enter__(self) -> FaultProxy:
        # Also accept an already started proxy: ``with FaultProxy(...).start() as proxy:``.
        return self if self._listener is not None else self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"FaultProxy({self.upstream!r}, url={self._url!r}, rate={self.rate}, faults={self.faults})"

    # ----------------------------------------------------------------------------- serving

    def _accept_loop(self) -> None:
        listener = self._listener
        assert listener is not None
        while not self._stopping.is_set():
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return  # listener closed
            client.settimeout(self.timeout)
            worker = threading.Thread(target=self._serve, args=(client,), name="faultproxy-conn", daemon=True)
            with self._lock:
                self._open.add(client)
                self._workers.add(worker)
            worker.start()

    def _serve(self, client: socket.socket) -> None:
        """Run one client connection; never lets an exception escape the thread."""
        try:
            self._handle(client)
        except (OSError, _BadMessage) as exc:  # disconnects, resets, timeouts, garbage
            _log.debug("faultproxy connection ended: %r", exc)
        except Exception:
            _log.exception("faultproxy: unexpected error")
        finally:
            client.close()
            with self._lock:
                self._open.discard(client)
                self._workers.discard(threading.current_thread())

    def _decide(self, method: str, target: str) -> str:
        path = urlsplit(target).path or target
        with self._lock:
            self.stats["requests"] += 1
            if self.only_paths is not None and not self.only_paths.search(path):
                outcome = "forward"
            elif self._rng.random() < self.rate:
                outcome = self._rng.choice(self.faults)
            else:
                outcome = "forward"
            if outcome != "forward":
                self.stats[outcome] += 1
            self.events.append((method, target, outcome))
        return outcome

    def _handle(self, client: socket.socket) -> None:
        reader = _Reader(client)
        raw = reader.read_head()
        if raw is None:
            return  # connected and left without a request
        try:
            head = _parse_head(raw)
            method, target, version = head.start.split(" ")
            framing = _request_framing(head)
        except _Unsupported as exc:
            self._answer(client, 501, "Not Implemented", str(exc))
            return
        except (_BadMessage, ValueError) as exc:
            self._answer(client, 400, "Bad Request", f"Malformed request (proxy): {exc}")
            return
        expect_continue = (head.get("expect") or "").lower() == "100-continue"
        if expect_continue:
            # Answer it here: the client must send its body whatever the fault (an injected
            # response may never involve the upstream), and "Expect" is then dropped upstream so
            # the client never gets a second interim response.
            client.sendall(f"{version} 100 Continue\r\n\r\n".encode("latin-1"))
        outcome = self._decide(method, target)

        if outcome in _STATUS_FAULTS or outcome in ("reset_before", "drop"):
            # Drain the body first: closing a socket with unread input sends RST, which could
            # destroy an injected response before the client reads it.
            for _ in reader.iter_body(framing, raw=True):
                pass
            if outcome == "reset_before":
                _reset(client)
            elif outcome == "drop":
                _close_gracefully(client)
            else:
                status, reason, detail = _STATUS_FAULTS[outcome]
                self._answer(client, status, reason, detail)
            return
        if outcome == "delay" and self._stopping.wait(self.delay):
            return  # stop() called while sleeping

        try:
            upstream = socket.create_connection(self._upstream_addr, timeout=self.timeout)
        except OSError as exc:
            with self._lock:
                self.stats["upstream_error"] += 1
            self._answer(client, 502, "Bad Gateway", f"Upstream unreachable (proxy): {exc}")
            return
        with self._lock:
            self._open.add(upstream)
        try:
            self._forward(client, reader, upstream, head, method, framing, outcome, expect_continue)
        finally:
            upstream.close()
            with self._lock:
                self._open.discard(upstream)

    def _forward(
        self,
        client: socket.socket,
        reader: _Reader,
        upstream: socket.socket,
        head: _Head,
        method: str,
        framing: tuple[str, int],
        outcome: str,
        expect_continue: bool,
    ) -> None:
        # Same request line, same headers (Host included), but one request per upstream connection.
        drop = (_HOP_BY_HOP | {"expect"}) if expect_continue else _HOP_BY_HOP
        upstream.sendall(_encode_head(head.start, [*head.without(*drop), ("Connection", "close")]))
        for piece in reader.iter_body(framing, raw=True):  # chunked framing relayed as received
            upstream.sendall(piece)
        with self._lock:
            self.stats["forwarded"] += 1

        up = _Reader(upstream)
        while True:
            raw = up.read_head()
            if raw is None:
                raise _BadMessage("upstream closed without a response")
            resp = _parse_head(raw)
            status = _status_of(resp)
            if not 100 <= status < 200 or status == 101:
                break  # skip interim responses; the client already had its 100 Continue from us
        resp_framing = _response_framing(resp, status, method)

        if outcome == "reset_after":
            for _ in up.iter_body(resp_framing, raw=True):  # upstream finishes its work
                pass
            _reset(client)
            return
        if outcome == "cut":
            body = b"".join(up.iter_body(resp_framing, raw=False))
            if body and resp_framing[0] != "none":
                # Re-frame with the true full Content-Length so the client can detect the cut,
                # whatever framing upstream used (a close-delimited body could not be detected).
                headers = [
                    *resp.without(*_HOP_BY_HOP, "content-length", "transfer-encoding"),
                    ("Content-Length", str(len(body))),
                    ("Connection", "close"),
                ]
                client.sendall(_encode_head(resp.start, headers) + body[: len(body) // 2])
            else:
                # No body to shorten. Cutting later in the header block goes unnoticed (http.client
                # accepts headers ended by EOF), so cut the status line itself: the client sees a
                # malformed status line from a connection that then closes.
                start = resp.start.encode("latin-1")
                client.sendall(start[: len(start) // 2])
            _close_gracefully(client)
            return

        # Clean forward (also after "delay"): stream the body through, framing untouched.
        client.sendall(_encode_head(resp.start, [*resp.without(*_HOP_BY_HOP), ("Connection", "close")]))
        for piece in up.iter_body(resp_framing, raw=True):
            client.sendall(piece)
        _close_gracefully(client)

    def _answer(self, client: socket.socket, status: int, reason: str, detail: str) -> None:
        """Send a JSON error response made by the proxy itself, then close."""
        body = json.dumps({"detail": detail}).encode()
        headers = [("Content-Type", "application/json"), ("Content-Length", str(len(body))), ("Connection", "close")]
        retry_after = self.retry_after
        if status in _RETRY_AFTER_STATUSES and retry_after is not None:
            headers.append(("Retry-After", retry_after))
        client.sendall(_encode_head(f"HTTP/1.1 {status} {reason}", headers) + body)
        _close_gracefully(client)
