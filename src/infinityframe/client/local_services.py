"""The embedded services this process started for :meth:`Session.local`, one per data dir.

One :class:`LocalServices` registry (:data:`local_services`) holds them: the first session on a
data dir starts its service (or finds one that another process runs there), later sessions on
the same data dir reuse it, and every service it started stops when the interpreter exits.
"""

from __future__ import annotations

import atexit
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from ..local.server import Service

__all__ = ["LocalEndpoint", "LocalServices", "local_services"]

# How long to wait for a service that holds the data dir but does not answer yet (it is starting).
STARTING_GRACE = 30.0


class LocalEndpoint(NamedTuple):
    """Where a local service answers: its URL, the default account's token, and whether it runs here."""

    url: str
    token: str
    in_process: bool

    def __repr__(self) -> str:  # the token stays out of every repr
        return f"LocalEndpoint(url={self.url!r}, in_process={self.in_process})"


class LocalServices:
    """The embedded services started in this process, by data dir.

    Examples
    --------
    >>> registry = LocalServices()
    >>> registry.running(Path("no-such-data-dir")) is None
    True
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._services: dict[Path, Service] = {}

    def __repr__(self) -> str:
        with self._lock:
            return f"LocalServices({sorted(str(root) for root in self._services)})"

    def running(self, root: Path) -> Service | None:
        """The service this process runs on ``root``, if it is serving."""
        with self._lock:
            service = self._services.get(Path(root))
        return service if service is not None and service.running else None

    def endpoint(self, root: Path, executor: str = "process") -> LocalEndpoint:
        """The service on the data dir ``root``: this process's, else another's, else a new one.

        A new one starts with ``executor`` and stops at exit. A data dir holds one service
        (``service.lock``): when another process takes it first, that one is used once it
        answers (within 30 s).
        """
        from ..local.server import DataDirInUseError, find_running, serve

        with self._lock:
            service = self._services.get(root)
            if service is not None and service.running:
                return LocalEndpoint(service.url, service.token, True)
            deadline = time.monotonic() + STARTING_GRACE
            while True:
                if (found := find_running(root)) is not None:
                    return LocalEndpoint(found[0], found[1], False)
                try:
                    service = serve(root, executor=executor)
                except DataDirInUseError:  # another process's service, still starting (or stopping)
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.1)
                    continue
                self._services[root] = service
                return LocalEndpoint(service.url, service.token, True)

    def roots(self) -> set[Path]:
        """The data dirs of the services started here (running or not)."""
        with self._lock:
            return set(self._services)

    def stop(self, roots: Iterable[Path] | None = None) -> None:
        """Stop the services started here on the data dirs ``roots`` (``None``: every one); the next
        :meth:`endpoint` on a stopped one starts afresh.

        Jobs still running are queued again by a clean stop, queued ones stay queued, and both
        finish on the next start.
        """
        with self._lock:
            chosen = list(self._services) if roots is None else [Path(r) for r in roots if Path(r) in self._services]
            services = [self._services.pop(root) for root in chosen]
        for service in services:
            service.stop()


#: The process's one registry. Stopped at exit; the runners stopped already by then, before
#: concurrent.futures' pools (local/runner.py hooks the interpreter's exit earlier than atexit).
local_services = LocalServices()
atexit.register(local_services.stop)
