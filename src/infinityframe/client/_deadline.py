"""Overall deadlines for requests: a server that trickles bytes is cut off in bounded time.

``requests``' read timeout bounds each wait for the socket, not the whole reply: a server
sending one byte every few seconds keeps a request alive for as long as it likes, in the
status line, the headers or the body. A :class:`Deadline` is a budget for one request or
download, its retries included. While an attempt runs under :meth:`Deadline.watch`, the
connection pools (through :class:`WatchedAdapter`) tell the watch which connection the
attempt is using; when the budget runs out a watchdog thread shuts that socket down, which
wakes the blocked read with an error. The transport then sees :attr:`Deadline.expired` and
reports the deadline, not a network failure. The retries (:mod:`._retry`) find the request's
deadline with :func:`current_deadline` and never start a wait it cannot afford.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["Deadline", "DeadlineExceeded", "attach", "current_deadline", "detach"]

_current = threading.local()  # the request (deadline) and the attempt (watch) this thread is running, if any
_RESHUT = 0.05  # once expired, seconds between shutting whichever socket the attempt uses now


class DeadlineExceeded(Exception):
    """The budget ran out (internal: the transport words the user's error)."""


class Deadline:
    """A time budget for one request or download, shared by its attempts.

    Examples
    --------
    >>> budget = Deadline(300)
    >>> budget.remaining() > 299
    True
    """

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.at = time.monotonic() + seconds
        self.expired = False

    def remaining(self) -> float:
        return self.at - time.monotonic()

    def spend(self) -> None:
        """Mark the budget spent: what is left cannot pay for another attempt."""
        self.expired = True

    @contextmanager
    def active(self) -> Iterator[Deadline]:
        """Make this the deadline of the request this thread runs (:func:`current_deadline`)."""
        previous = getattr(_current, "deadline", None)
        _current.deadline = self
        try:
            yield self
        finally:
            _current.deadline = previous

    def check(self) -> None:
        """Raise :class:`DeadlineExceeded` once the budget is spent."""
        if self.expired or self.remaining() <= 0:
            self.expired = True
            raise DeadlineExceeded

    @contextmanager
    def watch(self) -> Iterator[None]:
        """Run one attempt under the watchdog: its socket is shut down when the budget ends."""
        self.check()
        watch = _Watch(self)
        previous = getattr(_current, "watch", None)
        _current.watch = watch
        watch.start()
        try:
            yield
        finally:
            watch.stop()
            _current.watch = previous


class _Watch:
    def __init__(self, deadline: Deadline) -> None:
        self.deadline = deadline
        self.lock = threading.Lock()
        self.conn: Any = None
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="infinityframe-deadline", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        with self.lock:
            self.conn = None
        self._stopped.set()

    def attach(self, conn: Any) -> None:
        with self.lock:
            self.conn = conn

    def detach(self, conn: Any) -> None:
        # The connection goes back to the pool: from now on it is another request's.
        with self.lock:
            if self.conn is conn:
                self.conn = None

    def _run(self) -> None:
        if self._stopped.wait(max(0.0, self.deadline.remaining())):
            return
        self.deadline.expired = True
        while True:  # the attempt may be between connections (connecting, redirected): keep at it
            with self.lock:
                _shut(self.conn)
            if self._stopped.wait(_RESHUT):
                return


def _shut(conn: Any) -> None:
    sock = getattr(conn, "sock", None)
    sock = sock if isinstance(sock, socket.socket) else getattr(sock, "socket", None)
    if isinstance(sock, socket.socket):
        # The plain socket's shutdown, also under TLS: it wakes a read blocked in another thread.
        # OSError: not connected yet, or already closed.
        with contextlib.suppress(OSError):
            socket.socket.shutdown(sock, socket.SHUT_RDWR)


def current_deadline() -> Deadline | None:
    """The deadline of the request this thread is running (inside :meth:`Deadline.active`), if any."""
    found: Deadline | None = getattr(_current, "deadline", None)
    return found


def attach(conn: Any) -> None:
    """A connection pool hands ``conn`` to this thread's attempt: watch it."""
    watch = getattr(_current, "watch", None)
    if watch is not None:
        watch.attach(conn)


def detach(conn: Any) -> None:
    """``conn`` goes back to its pool: no longer this attempt's."""
    watch = getattr(_current, "watch", None)
    if watch is not None:
        watch.detach(conn)
