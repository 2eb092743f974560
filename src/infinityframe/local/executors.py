"""Where the local service renders its jobs: a process pool, a thread pool or a Dask cluster.

The :class:`~infinityframe.local.runner.Runner` owns the queue (the database), the job
states, the ledger and the recovery rules; an executor only renders. Whatever runs a job, it
renders through :func:`~infinityframe.local.rendering.rendered`, with the seed the service
stored for it, so its output depends only on its parameters (and ``state``).

``"process"``
    The default: ``spawn``-ed worker processes, one per core, each writing its job's zip into
    the data dir atomically. Shutting down ends them at once (the runner re-queues their jobs);
    none outlives the service, even one killed with SIGKILL while a worker was starting.
``"thread"``
    Threads of the service's own process; no start-up cost, but the GIL and OpenCV's own
    threads share the cores. Handy for debugging and small machines.
``"dask://HOST:PORT"``
    A ``dask.distributed`` scheduler. Each job is one Dask task that renders into the
    worker's temporary folder and returns ``(samples, zip bytes)``; the *service* writes the
    zip into ``results/`` atomically, so the workers need no shared storage. A worker lost
    mid-job is retried by Dask on another worker; if Dask gives up (``KilledWorker``) or the
    scheduler drops the task, the service queues the job again. Either way the job's state
    moves to ``succeeded``, and it is charged, exactly once. Needs ``pip install
    'infinityframe[dask]'`` on the service and infinityframe on every worker.

Examples
--------
>>> parse("process"), parse("dask://10.0.0.5:8786")
('process', 'dask://10.0.0.5:8786')
"""

from __future__ import annotations

import contextlib
import functools
import os
import tempfile
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import InfinityError
from .rendering import execute_job, process_pool, rendered, write_bytes_atomically, zip_bytes

__all__ = [
    "DaskExecutor",
    "ExecutorError",
    "JobExecutor",
    "JobSpec",
    "PoolExecutor",
    "WorkerLostError",
    "check",
    "custom_pool",
    "factory",
    "parse",
    "render_remote",
]

_DASK_SCHEME = "dask://"
_INSTALL_DASK = "pip install 'infinityframe[dask]'"
CONNECT_TIMEOUT = 10.0
"""Seconds the service waits for a Dask scheduler when it starts."""


class ExecutorError(InfinityError):
    """The executor asked for cannot be used: a malformed name, Dask not installed, a scheduler out of reach."""


class WorkerLostError(InfinityError):
    """The worker running a job went away (killed, out of memory, cut off); the job is queued again."""


@dataclass(frozen=True)
class JobSpec:
    """What a worker needs to render one job: plain values only, so it pickles anywhere."""

    job_id: str
    generator: str
    params: dict[str, Any]
    preview: bool
    seed: int
    attempt: int = 1


def parse(spec: str) -> str:
    """Check an executor name and return it in canonical form.

    Parameters
    ----------
    spec : str
        ``"process"``, ``"thread"`` or ``"dask://HOST:PORT"``.

    Raises
    ------
    ExecutorError
        For anything else, or ``dask://`` without a host and port.

    Examples
    --------
    >>> parse(" Thread ")
    'thread'
    """
    text = str(spec).strip()
    if text.lower() in ("process", "thread"):
        return text.lower()
    if text.lower().startswith(_DASK_SCHEME):
        address = text[len(_DASK_SCHEME):]
        host, sep, port = address.rpartition(":")
        if not sep or not host or not port.isdigit() or "/" in address:
            raise ExecutorError(f"executor {spec!r}: a Dask scheduler is named dask://HOST:PORT, "
                                "e.g. dask://127.0.0.1:8786 (the address `dask scheduler` prints, tcp:// "
                                "replaced by dask://).")
        return f"{_DASK_SCHEME}{address}"
    raise ExecutorError(f"unknown executor {spec!r}: use 'process' (the default), 'thread' or "
                        "'dask://HOST:PORT' (a dask.distributed scheduler).")


def check(spec: str) -> str:
    """:func:`parse`, and for ``dask://`` also check that dask.distributed is installed.

    Examples
    --------
    >>> check("process")
    'process'
    """
    name = parse(spec)
    if name.startswith(_DASK_SCHEME):
        _import_distributed()
    return name


def _import_distributed() -> Any:
    try:
        import distributed
    except ImportError as err:
        raise ExecutorError(f"the dask:// executor needs dask.distributed, which is not installed: "
                            f"{_INSTALL_DASK} (on the service and on every worker).") from err
    return distributed


class JobExecutor(ABC):
    """Renders jobs for the runner.

    :meth:`submit` returns a future whose result is the job's samples once
    ``results/<job_id>.zip`` is in place, or whose exception says why not; :meth:`lost`
    tells a lost worker (queue the job again) from a failed job.
    """

    name: str = ""

    @abstractmethod
    def submit(self, job: JobSpec) -> Future[int]:
        """Start rendering ``job``."""

    @abstractmethod
    def capacity(self) -> int:
        """How many jobs may be in flight at once now."""

    def lost(self, err: BaseException) -> bool:
        """Whether ``err`` means the job's worker was lost rather than that the job failed."""
        return isinstance(err, WorkerLostError)

    @property
    def broken(self) -> bool:
        """Whether this executor can take no more jobs, so the runner should make a new one."""
        return False

    @abstractmethod
    def shutdown(self) -> None:
        """Stop, without waiting; jobs not finished are the runner's to re-queue."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r})"


class PoolExecutor(JobExecutor):
    """A :class:`concurrent.futures.Executor` whose workers write into the data dir themselves."""

    def __init__(self, pool: Executor, workers: int, data_dir: Path, name: str) -> None:
        self._pool = pool
        self._workers = workers
        self._data_dir = str(data_dir)
        self._broken = False
        self.name = name

    def submit(self, job: JobSpec) -> Future[int]:
        future: Future[int] = self._pool.submit(execute_job, job.job_id, job.generator, job.params, job.preview,
                                                job.seed, self._data_dir)
        future.add_done_callback(self._check)  # added before the runner's, so it runs first
        return future

    def _check(self, future: Future[int]) -> None:
        if not future.cancelled() and isinstance(future.exception(), BrokenProcessPool):
            self._broken = True

    def capacity(self) -> int:
        return self._workers

    def lost(self, err: BaseException) -> bool:
        return isinstance(err, (BrokenProcessPool, WorkerLostError))

    @property
    def broken(self) -> bool:
        return self._broken

    def shutdown(self) -> None:
        if isinstance(self._pool, ProcessPoolExecutor):
            _end_workers(self._pool)
        else:
            self._pool.shutdown(wait=False, cancel_futures=True)


def _end_workers(pool: ProcessPoolExecutor) -> None:
    """End a process pool's workers now, and reap them: the runner re-queues the jobs they held.

    Waiting for them instead would hold a stopping service for as long as its longest job,
    and at interpreter exit a worker left rendering is a process left behind. A worker still
    starting is ended too: left to finish starting after the pool is gone, it would print a
    traceback (its queue's semaphore no longer exists).
    """
    terminate = getattr(pool, "terminate_workers", None)  # Python 3.14+
    if terminate is not None:
        terminate()
    else:
        for process in list((pool._processes or {}).values()):  # shutdown() forgets them: read first
            with contextlib.suppress(OSError, ValueError, AttributeError):  # exited already, or closed
                process.terminate()
    # The pool's own thread sees its workers gone, settles their futures (the runner re-queues
    # those jobs), reaps the processes and ends; this waits for it.
    pool.shutdown(wait=True, cancel_futures=True)


def render_remote(job: JobSpec) -> tuple[int, bytes]:
    """Render ``job`` in this (remote) worker's temporary folder; returns ``(samples, zip bytes)``.

    The task a Dask worker runs. OpenCV is held to one thread, as in the process pool: the
    cluster already runs one task per worker thread.
    """
    try:
        import cv2

        cv2.setNumThreads(1)
    except ImportError:  # pragma: no cover - opencv is a dependency
        pass
    with rendered(job.job_id, job.generator, job.params, job.preview, job.seed,
                  Path(tempfile.gettempdir())) as (out, samples):
        return samples, zip_bytes(out, job.job_id)


class DaskExecutor(JobExecutor):
    """Jobs as tasks of a ``dask.distributed`` cluster; the service writes their zips.

    Parameters
    ----------
    address : str
        ``dask://HOST:PORT`` (or ``tcp://HOST:PORT``).
    data_dir : Path
        The service's data dir; zips go to ``results/``.
    workers : int, optional
        Jobs in flight at once; by default twice the cluster's worker threads (read again
        every few seconds, so workers may come and go), so no worker waits for the service
        between two jobs.
    timeout : float, optional
        Seconds to wait for the scheduler when connecting; :data:`CONNECT_TIMEOUT` by default.
    """

    def __init__(self, address: str, data_dir: Path, workers: int | None = None,
                 timeout: float | None = None) -> None:
        distributed = _import_distributed()
        timeout = CONNECT_TIMEOUT if timeout is None else timeout
        self.name = address
        tcp = "tcp://" + address[len(_DASK_SCHEME):] if address.startswith(_DASK_SCHEME) else address
        try:
            self._client = distributed.Client(tcp, timeout=timeout, set_as_default=False)
        except (OSError, TimeoutError) as err:
            raise ExecutorError(f"could not reach the Dask scheduler at {tcp} within {timeout:g} s ({err}); "
                                "start one with `dask scheduler` and its workers with `dask worker "
                                f"{tcp}`, or choose --executor process.") from err
        self._killed_worker: type[BaseException] = distributed.KilledWorker
        self._comm_closed: type[BaseException] = distributed.comm.CommClosedError
        self._results = Path(data_dir) / "results"
        self._workers = workers
        self._threads = (0, 0.0)  # (worker threads, when read)
        self._pending: dict[str, tuple[Any, Future[int]]] = {}
        self._lock = threading.Lock()
        self._closed = False

    def submit(self, job: JobSpec) -> Future[int]:
        out: Future[int] = Future()
        out.set_running_or_notify_cancel()
        # A new key per attempt: a re-queued job never meets its earlier attempt's task.
        key = f"infinityframe-{job.job_id}-{job.attempt}"
        task = self._client.submit(render_remote, job, key=key, pure=False, retries=0)
        with self._lock:
            self._pending[key] = (task, out)  # the client forgets a task nobody holds
        task.add_done_callback(functools.partial(self._finished, job, key, out))
        return out

    def _finished(self, job: JobSpec, key: str, out: Future[int], task: Any) -> None:
        """Runs in the client's callback thread: fetch the zip, write it, settle ``out``."""
        try:
            if task.status == "cancelled":
                raise WorkerLostError(f"the Dask scheduler dropped job {job.job_id} (attempt {job.attempt})")
            samples, data = task.result()
            if self._closed:
                raise WorkerLostError(f"the service stopped before job {job.job_id}'s result was saved")
            write_bytes_atomically(data, self._results / f"{job.job_id}.zip")
        except Exception as err:
            if self._claim(key):
                out.set_exception(self._explain(err, job))
        else:
            if self._claim(key):
                out.set_result(int(samples))

    def _claim(self, key: str) -> bool:
        """Whether this caller settles ``key``'s future (:meth:`shutdown` may have settled it already)."""
        with self._lock:
            return self._pending.pop(key, None) is not None

    def _explain(self, err: Exception, job: JobSpec) -> Exception:
        if isinstance(err, WorkerLostError):
            return err
        if isinstance(err, (self._killed_worker, self._comm_closed, TimeoutError)):
            return WorkerLostError(f"Dask lost the workers of job {job.job_id}: {type(err).__name__}: {err}")
        if isinstance(err, ModuleNotFoundError) and "infinityframe" in str(err):
            return ExecutorError(f"job {job.job_id}: infinityframe is not installed on the Dask worker that took "
                                 f"it ({err}); install the same infinityframe version on every worker.")
        return err

    def capacity(self) -> int:
        if self._workers:
            return self._workers
        threads, when = self._threads
        if time.monotonic() - when > 2.0:
            threads = sum(self._client.nthreads().values())
            self._threads = (threads, time.monotonic())
        return max(1, 2 * threads)

    @property
    def broken(self) -> bool:
        return str(self._client.status) in ("closing", "closed")

    def shutdown(self) -> None:
        self._closed = True
        with self._lock:
            pending = list(self._pending.values())
            self._pending.clear()
        try:
            if pending:
                self._client.cancel([task for task, _ in pending])
            self._client.close(timeout=5)
        except Exception:  # a scheduler already gone leaves nothing to close
            pass
        # A closed client may never call back, so settle every job still out here: the runner
        # queues it again rather than holding it ``running`` (and a slot) until a restart.
        for task, out in pending:
            out.set_exception(WorkerLostError(f"the Dask executor was shut down before task {task.key} finished"))


def custom_pool(make: Callable[[int], Executor], data_dir: Path, workers: int | None) -> JobExecutor:
    """A :class:`PoolExecutor` around any ``workers -> concurrent.futures.Executor`` factory."""
    width = workers or os.cpu_count() or 1
    return PoolExecutor(make(width), width, data_dir, getattr(make, "__name__", "custom"))


def factory(spec: str, data_dir: Path, workers: int | None = None) -> Callable[[], JobExecutor]:
    """A function making the executor ``spec`` names (it is made again when it breaks).

    Parameters
    ----------
    spec : str
        ``"process"``, ``"thread"`` or ``"dask://HOST:PORT"``.
    data_dir : Path
        The service's data dir.
    workers : int, optional
        Jobs at once; the executor's default width when omitted.

    Raises
    ------
    ExecutorError
        A malformed ``spec``, or ``dask://`` without dask.distributed installed.

    Examples
    --------
    >>> make = factory("thread", Path("/tmp/data"), workers=2)
    >>> make()
    PoolExecutor('thread')
    """
    name = parse(spec)
    width = workers or os.cpu_count() or 1
    if name == "process":
        return lambda: PoolExecutor(process_pool(width), width, data_dir, "process")
    if name == "thread":
        return lambda: PoolExecutor(ThreadPoolExecutor(width, thread_name_prefix="infinityframe-job"), width,
                                    data_dir, "thread")
    _import_distributed()  # fail now, not at the first job
    return lambda: DaskExecutor(name, data_dir, workers)
