"""Starting and stopping the local service, in this process or as ``infinityframe serve``.

The data dir (mode 0700 when the service makes it) holds everything the service knows:
``service.db`` (SQLite, WAL), ``results/`` (one zip per finished job), ``signing.key`` and
``token`` (the default account's API key, so the same token keeps working across restarts),
each created 0600; ``service.lock`` (held while a service runs: one service per data dir, see
:mod:`.lock`) and ``service.json`` (its URL, while it runs).

Stopping — :meth:`Service.stop`, the context's exit, the interpreter's exit, SIGINT or SIGTERM
of ``infinityframe serve`` — stops the runner before its pool: running jobs go back to the
queue, queued ones stay queued, and every worker process ends. The next start picks them up.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import orjson
import requests
import uvicorn

from .app import ServiceState, create_app
from .executors import check as check_executor
from .identity import service_id
from .lock import DataDirInUseError, ServiceLock
from .private import create_private, private_dir, write_private
from .ratelimit import RateLimiter
from .runner import Runner
from .signing import Signer
from .store import Store, new_token

__all__ = ["DEFAULT_BALANCE", "DataDirInUseError", "Service", "default_data_dir", "find_running", "in_process_app",
           "serve"]

log = logging.getLogger(__name__)

DEFAULT_BALANCE = 1_000_000
DEFAULT_ACCOUNT = "default"


def default_data_dir() -> Path:
    """``$INFINITYFRAME_DATA_DIR``, else ``$XDG_DATA_HOME/infinityframe`` (``~/.local/share/infinityframe``)."""
    if env := os.environ.get("INFINITYFRAME_DATA_DIR"):
        return Path(env).expanduser()
    base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / "infinityframe"


@dataclass
class ServiceConfig:
    data_dir: Path
    host: str = "127.0.0.1"
    port: int = 0
    workers: int | None = None
    rate_limit: float | None = 100.0
    burst: int | None = None
    balance: int = DEFAULT_BALANCE
    max_body_bytes: int = 64 * 1024 * 1024
    url_ttl: float = 3600.0
    executor: str = "process"
    # Proxies whose X-Forwarded-For / -Proto headers are believed (uvicorn's forwarded_allow_ips,
    # e.g. "127.0.0.1"). None: no header is, so a client cannot pick the address the failed-token
    # throttle counts against.
    forwarded_allow_ips: str | None = None


def find_running(data_dir: Path) -> tuple[str, str] | None:
    """The URL and token of a live service on ``data_dir`` (in any process), if there is one.

    A service records its URL in ``service.json`` while it runs; the record counts only if
    its process is alive and the URL answers as an infinityframe service.
    """
    try:
        record = orjson.loads((data_dir / "service.json").read_bytes())
        token = (data_dir / "token").read_text().strip()
        os.kill(int(record["pid"]), 0)
        answer = requests.get(f"{record['url']}/", timeout=2).json()
    except (OSError, ValueError, KeyError, TypeError, requests.RequestException):
        return None
    ours = service_id(Path(data_dir))
    if answer.get("service") != "infinityframe local service" or not ours or answer.get("instance") != ours:
        return None
    return str(record["url"]), token


def _open_state(cfg: ServiceConfig) -> tuple[ServiceState, str]:
    """Open (or create) the data dir; returns the shared state and the default account's token."""
    private_dir(cfg.data_dir)
    create_private(cfg.data_dir / "service.db")  # SQLite keeps the mode, and gives it to -wal and -shm
    store = Store(cfg.data_dir / "service.db")
    token_file = cfg.data_dir / "token"
    token = token_file.read_text().strip() if token_file.exists() else ""
    if store.account_by_name(DEFAULT_ACCOUNT) is None:
        token = store.create_account(DEFAULT_ACCOUNT, cfg.balance, token or None)
    elif not token or store.authenticate(token) is None:
        # The token file was lost: the stored hash cannot give the token back, so issue a new one.
        token = new_token()
        store.set_token(DEFAULT_ACCOUNT, token)
    write_private(token_file, token.encode())
    runner = Runner(store, cfg.data_dir, cfg.workers, executor=cfg.executor)
    state = ServiceState(
        store=store,
        signer=Signer.from_data_dir(cfg.data_dir, cfg.url_ttl),
        runner=runner,
        data_dir=cfg.data_dir,
        limiter=RateLimiter(cfg.rate_limit, cfg.burst),
        max_body_bytes=cfg.max_body_bytes,
        service_id=service_id(cfg.data_dir, create=True) or "",
    )
    return state, token


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto=IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY on an accepted connection only when its
    # socket says TCP (accepted sockets copy the listener's proto). Without it, Nagle's algorithm
    # and delayed ACKs put a 40 ms floor under every request on a keep-alive connection.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def http_config(app: Any, forwarded_allow_ips: str | None = None) -> uvicorn.Config:
    """The uvicorn settings the service is served with (also what ``bench_batch_post.py``'s echo uses)."""
    return uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off", timeout_graceful_shutdown=2,
                          proxy_headers=forwarded_allow_ips is not None, forwarded_allow_ips=forwarded_allow_ips)


def _exit_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(0)


class Service:
    """A running local service.

    Attributes
    ----------
    url : str
        The base URL, e.g. ``http://127.0.0.1:52113``; pass it as ``server=``.
    token : str
        The default account's API key (hidden in the repr).
    data_dir : pathlib.Path
        Where the database and results live.
    executor : str
        Where jobs render: ``"process"``, ``"thread"`` or ``"dask://HOST:PORT"``.

    Raises
    ------
    DataDirInUseError
        Another service (in this process or another) runs on the data dir; the message names it.

    Examples
    --------
    >>> import infinityframe as inf
    >>> with inf.serve(tmp_path, executor="thread") as service:
    ...     other = inf.Session(service.token, "stickfit-v0.1.0", server=service.url)
    ...     other.estimate(jobs, preview=True)
    [1, 1]
    """

    def __init__(self, cfg: ServiceConfig) -> None:
        cfg.data_dir = Path(cfg.data_dir).expanduser().resolve()
        cfg.executor = check_executor(cfg.executor)  # a bad name fails before anything is opened
        self.data_dir = cfg.data_dir
        self.executor = cfg.executor
        with contextlib.ExitStack() as undo:  # a start that fails half-way leaves nothing open
            self._lock = ServiceLock.acquire(cfg.data_dir)  # before anything in the data dir is touched
            undo.callback(self._lock.release)
            self._state, self.token = _open_state(cfg)
            undo.callback(self._state.store.close)
            self._sock = _bind(cfg.host, cfg.port)
            undo.pop_all()  # opened: stop() lets them go
        host, port = self._sock.getsockname()[:2]
        shown = f"[{host}]" if ":" in host else host
        self.url = f"http://{shown}:{port}"
        self._lock.record(self.url)
        self._server = uvicorn.Server(http_config(create_app(self._state), cfg.forwarded_allow_ips))
        self._thread: threading.Thread | None = None
        self._closed = False

    def __repr__(self) -> str:
        return f"Service(url={self.url!r}, data_dir={str(self.data_dir)!r}, executor={self.executor!r})"

    @property
    def store(self) -> Store:
        """The service's database (for tests and administration)."""
        return self._state.store

    def create_account(self, name: str, balance: int = DEFAULT_BALANCE) -> str:
        """Add an account with ``balance`` samples; returns its token."""
        return self._state.store.create_account(name, balance)

    @property
    def running(self) -> bool:
        """Whether the service is serving requests."""
        return bool(self._server.started) and not self._server.should_exit

    def _announce(self) -> None:
        write_private(self.data_dir / "service.json", orjson.dumps({"url": self.url, "pid": os.getpid()}))

    def start(self) -> Service:
        """Start the runner and the HTTP server in background threads; returns when it answers."""
        assert self._state.runner is not None
        self._start_runner()
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [self._sock]},
                                        name="infinityframe-http", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 30
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the local service at {self.url} did not start")
            time.sleep(0.01)
        self._announce()
        return self

    def run(self) -> None:
        """Serve in the foreground until interrupted (what ``infinityframe serve`` does)."""
        assert self._state.runner is not None
        if threading.current_thread() is threading.main_thread():
            # uvicorn shuts down gracefully on SIGTERM, then re-raises it; a Python handler turns
            # that into SystemExit, so the cleanup below runs instead of the process just dying.
            signal.signal(signal.SIGTERM, _exit_on_sigterm)
        self._start_runner()
        self._announce()
        try:
            self._server.run(sockets=[self._sock])
        finally:
            self._shutdown()

    def _start_runner(self) -> None:
        assert self._state.runner is not None
        try:
            self._state.runner.start()
        except BaseException:  # e.g. a Dask scheduler out of reach: leave nothing open behind
            self._shutdown()
            raise

    def stop(self) -> None:
        """Stop serving; jobs still running are queued again, queued ones stay queued, for the next start.

        The runner stops before its pool, every worker process ends, and the data dir's lock
        is let go. Calling it again does nothing.
        """
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._shutdown()

    def _shutdown(self) -> None:
        if self._closed:
            return
        self._closed = True
        record = self.data_dir / "service.json"
        try:
            if orjson.loads(record.read_bytes()).get("url") == self.url:
                record.unlink()
        except (OSError, ValueError):
            pass
        try:
            if self._state.runner is not None:
                self._state.runner.stop()
        finally:
            self._sock.close()
            self._state.store.close()
            self._lock.release()  # last: nothing of this service touches the data dir after it

    def __enter__(self) -> Service:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()


@contextlib.contextmanager
def in_process_app(data_dir: str | os.PathLike[str], *, rate_limit: float | None = None, burst: int | None = None,
                   balance: int = DEFAULT_BALANCE, run_jobs: bool = False) -> Iterator[tuple[Any, str]]:
    """The service's application on ``data_dir`` and its default token, served by nothing.

    For tests in this process, through :class:`~infinityframe.client.asgi.ASGIAdapter`: no
    socket, no server thread. Jobs stay queued unless ``run_jobs``, which renders them in
    threads of this process. The data dir's lock is held for the block, as a served one's is.

    Examples
    --------
    >>> with in_process_app("in-process-data") as (app, token):
    ...     type(app).__name__
    'FastAPI'
    """
    cfg = ServiceConfig(Path(data_dir).expanduser().resolve(), rate_limit=rate_limit, burst=burst,
                        balance=balance, executor="thread")
    with contextlib.ExitStack() as stack:
        stack.callback(ServiceLock.acquire(cfg.data_dir).release)
        state, token = _open_state(cfg)
        stack.callback(state.store.close)
        if run_jobs and state.runner is not None:
            state.runner.start()
            stack.callback(state.runner.stop)
        else:
            state.runner = None  # never started: nothing to stop, and the app wakes no one
        yield create_app(state), token


def serve(
    data_dir: str | os.PathLike[str] | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    workers: int | None = None,
    rate_limit: float | None = 100.0,
    balance: int = DEFAULT_BALANCE,
    executor: str = "process",
) -> Service:
    """Start the local Infinity-compatible service in a background thread.

    Parameters
    ----------
    data_dir : path, optional
        Where the database and results are kept; :func:`default_data_dir` when omitted.
    host : str
        The interface to bind; loopback unless you mean to share the service.
    port : int
        0 picks a free port.
    workers : int, optional
        Jobs rendered at once; by default one per core (process and thread executors) or
        twice the Dask cluster's worker threads.
    rate_limit : float or None
        Requests per second per token before the service answers 429; ``None`` for no limit.
    balance : int
        Samples granted to the default account when the data dir is new.
    executor : str
        Where jobs render: ``"process"`` (a pool of worker processes, the default),
        ``"thread"``, or ``"dask://HOST:PORT"`` (a ``dask.distributed`` scheduler; needs
        ``pip install 'infinityframe[dask]'``). See ``docs/scale-out.md``.

    Returns
    -------
    Service
        Running; use as a context manager or call ``.stop()``.

    Raises
    ------
    DataDirInUseError
        Another service runs on ``data_dir`` (in this process or another); the message names its
        pid and URL. ``inf.Session.local()`` reuses that one instead.

    Examples
    --------
    >>> import infinityframe as inf
    >>> with inf.serve("/tmp/infinity-local") as service:   # doctest: +SKIP
    ...     print(service.url)
    http://127.0.0.1:52113
    >>> inf.serve("/tmp/infinity-local", executor="dask://127.0.0.1:8786")   # doctest: +SKIP
    """
    cfg = ServiceConfig(data_dir=Path(data_dir) if data_dir is not None else default_data_dir(),
                        host=host, port=port, workers=workers, rate_limit=rate_limit, balance=balance,
                        executor=executor)
    return Service(cfg).start()
