"""A database that cannot be used just now is a 503 with ``Retry-After``; anything unforeseen a bare JSON 500.

In-process (``inf.serve``, real HTTP on loopback) with faults injected where a real one cannot
be had: ``OSError(ENOSPC)`` from the store, SQLite's "database or disk is full" from inside a
transaction, an exception nobody foresaw. The same over a real held lock and a real full tmpfs,
against ``infinityframe serve``, is in ``tests/reliability/test_fuzz_service.py``.
"""

from __future__ import annotations

import asyncio
import errno
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

import infinityframe as inf
from infinityframe.local.app import ServiceState, create_app
from infinityframe.local.ratelimit import RateLimiter
from infinityframe.local.server import Service
from infinityframe.local.signing import Signer
from infinityframe.local.store import Store, StoreUnavailable, unavailable

SHAPES = "shapes-v0.1.0"
BATCH = {"name": "n", "job_runs": [{"name": SHAPES, "param_values": {"num_images": 1, "image_width": 64}}]}


@pytest.fixture
def service(tmp_path: Path) -> Iterator[Service]:
    with inf.serve(tmp_path / "service", workers=1, executor="thread", rate_limit=None) as svc:
        yield svc


def call(svc: Service, method: str, path: str, body: Any = None) -> requests.Response:
    return requests.request(method, f"{svc.url}/api/{path}", json=body, timeout=30,
                            headers={"Authorization": f"Token {svc.token}"})


def assert_503(r: requests.Response, *words: str) -> str:
    assert r.status_code == 503, f"{r.status_code}: {r.text[:300]}"
    assert r.headers["content-type"].startswith("application/json")
    assert int(r.headers["Retry-After"]) >= 1
    detail: str = r.json()["detail"]
    assert "safe to retry" in detail and all(w in detail for w in words), detail
    return detail


class TestStore:
    def test_a_held_lock_fails_writes_after_the_bounded_wait_and_never_blocks_reads(self, tmp_path: Path) -> None:
        store = Store(tmp_path / "service.db", busy_timeout=0.3)
        store.create_account("a", 10)
        holder = sqlite3.connect(tmp_path / "service.db", isolation_level=None)
        holder.execute("BEGIN EXCLUSIVE")
        try:
            started = time.monotonic()
            with pytest.raises(StoreUnavailable, match="locked") as info:
                store.grant(1, 5)
            assert time.monotonic() - started < 2.0
            assert isinstance(info.value, sqlite3.OperationalError)  # what callers already catch
            assert info.value.retry_after >= 1
            started = time.monotonic()
            assert store.balance(1) == 10 and store.account_by_name("a") is not None
            assert time.monotonic() - started < 0.2, "a read waited on the writer"
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        store.grant(1, 5)
        assert store.balance(1) == 15
        store.close()

    @pytest.mark.parametrize(("message", "retry_after"), [
        ("database is locked", 2), ("database table is locked", 2), ("database or disk is full", 30),
        ("disk I/O error", 30), ("no such table: jobs", None), ("near \"x\": syntax error", None)])
    def test_which_errors_mean_not_just_now(self, message: str, retry_after: int | None) -> None:
        found = unavailable(sqlite3.OperationalError(message), 5.0)
        assert (found.retry_after if found else None) == retry_after


class DiskFullOnInsert:
    """The store's write connection, except that every INSERT meets a full disk (as SQLite reports it)."""

    def __init__(self, real: sqlite3.Connection) -> None:
        self.real = real

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)

    def execute(self, sql: str, *args: Any) -> Any:
        if sql.lstrip().upper().startswith("INSERT"):
            raise sqlite3.OperationalError("database or disk is full")
        return self.real.execute(sql, *args)

    def executemany(self, sql: str, *args: Any) -> Any:
        return self.execute(sql) if sql.lstrip().upper().startswith("INSERT") else self.real.executemany(sql, *args)


class TestOverHttp:
    def test_held_lock_is_503_and_reads_still_answer(self, service: Service) -> None:
        service.store.busy_timeout = 0.5
        holder = sqlite3.connect(service.data_dir / "service.db", isolation_level=None)
        holder.execute("BEGIN EXCLUSIVE")
        try:
            started = time.monotonic()
            assert_503(call(service, "POST", "batch/", BATCH), "locked", "nothing was changed")
            assert time.monotonic() - started < 5.0
            assert call(service, "GET", "account/").status_code == 200
            assert call(service, "GET", "batch/").json() == []
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        assert call(service, "POST", "batch/", BATCH).status_code == 201

    def test_sqlite_disk_full_inside_a_transaction_is_503_and_rolled_back(self, service: Service) -> None:
        store = service.store
        real = store._db
        store._db = DiskFullOnInsert(real)  # type: ignore[assignment]
        try:
            assert_503(call(service, "POST", "batch/", BATCH), "disk", "full")
            assert not real.in_transaction, "the failed transaction was left open"
        finally:
            store._db = real
        assert call(service, "GET", "batch/").json() == []
        assert call(service, "POST", "batch/", BATCH).status_code == 201  # the same connection works again

    def test_enospc_anywhere_is_503(self, service: Service, monkeypatch: pytest.MonkeyPatch) -> None:
        def full(*args: object, **kwargs: object) -> None:
            raise OSError(errno.ENOSPC, "No space left on device", "/private/place/service.db-wal")

        monkeypatch.setattr(service.store, "create_batch", full)  # what a batch POST writes with
        r = call(service, "POST", "batch/", BATCH)
        assert "/private/place" not in assert_503(r, "disk", "full")
        assert r.headers["Retry-After"] == "30"

    @pytest.mark.parametrize("fault", [
        RuntimeError("boom near /private/place with token-like 0123456789abcdef"),
        OSError(errno.EACCES, "Permission denied", "/private/place/results"),
        RecursionError("maximum recursion depth exceeded"),
    ])
    def test_an_unforeseen_fault_is_a_generic_json_500(self, service: Service, monkeypatch: pytest.MonkeyPatch,
                                                       fault: Exception) -> None:
        def broken(*args: object, **kwargs: object) -> None:
            raise fault

        monkeypatch.setattr(service.store, "ledger_totals", broken)
        r = call(service, "GET", "account/")
        assert r.status_code == 500 and r.headers["content-type"].startswith("application/json")
        assert "Retry-After" not in r.headers
        detail = r.json()["detail"]
        assert detail.startswith("Internal error") and "log" in detail
        for secret in ("/private/place", "0123456789abcdef", "Traceback", service.token, type(fault).__name__):
            assert secret not in r.text
        assert call(service, "GET", "batch/").status_code == 200  # one request failed, not the service


class TestThrottleKey:
    """Failed tokens are throttled by the connection's address; the app never reads X-Forwarded-For."""

    @staticmethod
    def status(app: Any, client: tuple[str, int], headers: dict[str, str]) -> int:
        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
                 "scheme": "http", "path": "/api/jobs/", "raw_path": b"/api/jobs/", "query_string": b"",
                 "root_path": "", "client": client, "server": ("127.0.0.1", 8000),
                 "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()]}
        sent: list[dict[str, Any]] = []

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        asyncio.run(app(scope, receive, send))
        return int(next(m["status"] for m in sent if m["type"] == "http.response.start"))

    def test_rotating_forwarded_for_does_not_escape_the_throttle(self, tmp_path: Path) -> None:
        store = Store(tmp_path / "service.db")
        app = create_app(ServiceState(store=store, signer=Signer.from_data_dir(tmp_path), runner=None,
                                      data_dir=tmp_path, limiter=RateLimiter(0.01, burst=3)))
        wrong = {"Authorization": "Token " + "0" * 40}
        seen = [self.status(app, ("10.0.0.1", 5000 + i), {**wrong, "X-Forwarded-For": f"192.0.2.{i}",
                                                           "Forwarded": f"for=192.0.2.{i}",
                                                           "X-Real-IP": f"192.0.2.{i}"})
                for i in range(5)]
        assert seen == [401, 401, 401, 429, 429]
        assert self.status(app, ("10.0.0.2", 5000), wrong) == 401  # another address: its own bucket (the control)
        store.close()
