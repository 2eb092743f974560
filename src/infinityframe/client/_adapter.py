"""The requests adapter every transport mounts: urllib3 pools that are watched and retry.

Its connection pools report each connection an attempt holds to the running
:class:`~._deadline.Deadline` (so a stalled read can be cut), and apply the adapter's
``max_retries`` — a :class:`~._retry.DeadlineRetry` — with a POST made retriable only when it
carries an ``Idempotency-Key`` (:func:`~._retry.for_request`): the pool is the one place that
sees a request's headers and its retries together.
"""

from __future__ import annotations

from typing import Any

from requests.adapters import HTTPAdapter
from urllib3 import PoolManager, ProxyManager
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from ._deadline import attach, detach
from ._retry import for_request

__all__ = ["WatchedAdapter"]


class _Watched(HTTPConnectionPool):
    """A pool whose connections are watched while a request holds them, and whose retries know POSTs."""

    def _get_conn(self, timeout: float | None = None) -> Any:
        conn = super()._get_conn(timeout)
        attach(conn)
        return conn

    def _put_conn(self, conn: Any) -> None:
        detach(conn)
        super()._put_conn(conn)

    def urlopen(  # type: ignore[override]  # HTTPConnectionPool's signature, not RequestMethods'
            self, method: str, url: str, body: Any = None, headers: Any = None, retries: Any = None,
                *args: Any, **kwargs: Any) -> Any:
        return super().urlopen(method, url, body, headers, for_request(retries, method, headers), *args, **kwargs)


class _WatchedHTTPPool(_Watched):
    pass


class _WatchedHTTPSPool(_Watched, HTTPSConnectionPool):
    pass


_POOLS = {"http": _WatchedHTTPPool, "https": _WatchedHTTPSPool}


class WatchedAdapter(HTTPAdapter):
    """``requests``' adapter, with connection pools that report to the running :class:`Deadline`."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self._watch_pools(self.poolmanager)

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> PoolManager:
        manager: PoolManager = super().proxy_manager_for(proxy, **proxy_kwargs)
        if isinstance(manager, ProxyManager):  # a SOCKS manager keeps its own pools, unwatched
            self._watch_pools(manager)
        return manager

    @staticmethod
    def _watch_pools(manager: PoolManager) -> None:
        manager.pool_classes_by_scheme = _POOLS  # type: ignore[assignment]
