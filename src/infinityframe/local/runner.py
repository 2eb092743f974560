"""Running jobs: a dispatcher thread feeding an executor (process pool, thread pool or Dask).

The dispatcher claims queued jobs (``queued → running``) only as fast as the executor has
room, so the database, not an in-memory queue, is the queue: a crash loses nothing, and
:meth:`Store.recover` re-queues what was running. Each job renders into a private work
folder and its zip is written atomically (temporary file, fsync, rename), so a result is
either whole or absent. A worker lost mid-job (killed, out of memory) is queued again, up to
``max_attempts``; the state machine and the ledger guard that a job ends, and is charged, once.
How a job ended is recorded by the runner's own thread, tried again while the database is busy
(:mod:`.settle`), so no job is left ``running`` because one write was refused.

Stopping (``Service.stop``, the context's exit, the interpreter's exit) stops the dispatcher
first, then the executor: a process pool's workers end at once, jobs they were rendering go
back to the queue, and queued jobs stay queued for the next start. At interpreter exit this
happens before :mod:`concurrent.futures` shuts its pools (see :func:`_stop_runners_at_exit`).

Where jobs render is :mod:`.executors`' business: by default a pool of ``spawn``-ed
processes, one per core; ``"thread"``; or ``"dask://HOST:PORT"``, a Dask cluster.
"""

from __future__ import annotations

import atexit
import concurrent.futures.process  # imported (their exit hooks registered) before ours: see below
import concurrent.futures.thread  # noqa: F401
import functools
import logging
import shutil
import sqlite3
import threading
import weakref
from collections.abc import Callable
from concurrent.futures import CancelledError, Executor, Future
from pathlib import Path

import orjson

from . import executors
from .executors import JobExecutor, JobSpec
from .settle import Ending, Settler
from .store import Store

__all__ = ["Runner"]

log = logging.getLogger(__name__)


# concurrent.futures stops its pools from a hook it registers with threading._register_atexit
# (CPython-internal, 3.9+): it runs at threading._shutdown, before any atexit handler, so a
# runner stopped by atexit would meanwhile tick into a dead pool ("cannot schedule new futures
# after shutdown", a traceback per tick). Those hooks run last-registered first, and both
# concurrent.futures modules are imported above, so a hook registered here runs before theirs.
_running: weakref.WeakSet[Runner] = weakref.WeakSet()
_exit_hook = threading.Lock()
_exit_hooked = False


def _stop_runners_at_exit() -> None:
    """Stop every runner still running, while its pool still takes work (the interpreter is exiting)."""
    for runner in list(_running):
        runner.stop()


def _hook_interpreter_exit() -> None:
    global _exit_hooked
    with _exit_hook:
        if _exit_hooked:
            return
        register = getattr(threading, "_register_atexit", None) or atexit.register
        try:
            register(_stop_runners_at_exit)
        except RuntimeError:  # the interpreter is already shutting down: there is no exit left to hook
            return
        _exit_hooked = True


class Runner:
    """Feeds queued jobs to an executor and records how they end.

    Parameters
    ----------
    store : Store
        The service's database.
    data_dir : Path
        Where ``results/`` and ``work/`` live.
    workers : int, optional
        How many jobs may run at once; by default the executor's own width (one per core for
        the pools, twice the cluster's threads for Dask).
    executor : str, optional
        ``"process"`` (the default), ``"thread"`` or ``"dask://HOST:PORT"``; see
        :func:`infinityframe.local.executors.parse`.
    executor_factory : callable, optional
        ``workers -> concurrent.futures.Executor``, for a custom pool; overrides ``executor``.
    max_attempts : int
        How many times a job whose worker was lost is tried before it fails.
    """

    def __init__(
        self,
        store: Store,
        data_dir: Path,
        workers: int | None = None,
        executor_factory: Callable[[int], Executor] | None = None,
        max_attempts: int = 3,
        *,
        executor: str = "process",
    ) -> None:
        self.store = store
        self.data_dir = Path(data_dir)
        self.workers = max(1, workers) if workers else None
        self.max_attempts = max_attempts
        self._factory: Callable[[], JobExecutor] = (
            functools.partial(executors.custom_pool, executor_factory, self.data_dir, self.workers)
            if executor_factory is not None else executors.factory(executor, self.data_dir, self.workers)
        )
        self._executor: JobExecutor | None = None
        self._inflight: dict[str, Future[int]] = {}
        self._settler = Settler(store)
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()  # guards _inflight and _swept
        self._swept = False  # stop() has re-queued what was in flight: later endings are moot
        self._stop_lock = threading.Lock()
        self._stopped = False
        self._db_trouble = False

    def start(self) -> None:
        """Re-queue what a crash left running, make the executor and start dispatching."""
        (self.data_dir / "results").mkdir(mode=0o700, parents=True, exist_ok=True)
        work = self.data_dir / "work"
        shutil.rmtree(work, ignore_errors=True)  # leftovers of a crash are never results
        work.mkdir(mode=0o700, parents=True)
        for stale in (self.data_dir / "results").glob(".*.tmp"):
            stale.unlink(missing_ok=True)
        recovered = self.store.recover()
        if recovered:
            log.warning("re-queued %d job(s) left running by a previous crash", recovered)
        self._executor = self._factory()  # now, so that an unreachable cluster fails the start
        _hook_interpreter_exit()
        _running.add(self)
        self._thread = threading.Thread(target=self._loop, name="infinityframe-runner", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        """New jobs were queued: look now rather than at the next tick."""
        self._wake.set()

    def stop(self) -> None:
        """Stop claiming jobs, then end the executor; jobs still running are re-queued for the next start.

        Queued jobs stay queued. A process pool's workers are ended, not waited for; a thread
        executor's jobs cannot be interrupted and finish in the background (their endings are
        moot: they are queued again). Calling it again does nothing.
        """
        with self._stop_lock:
            if self._stopped:
                return
            self._stopping.set()
            self._wake.set()
            if self._thread is not None:
                # A tick waits at most one bounded database write; it gives up after that.
                self._thread.join(timeout=self.store.busy_timeout + 5)
            if self._executor is not None:
                try:
                    self._executor.shutdown()
                except Exception:  # still re-queue what was in flight, below
                    log.exception("the %s executor did not shut down cleanly", self._executor.name)
            with self._lock:
                self._swept = True
                running = list(self._inflight)
                self._inflight.clear()
            for job_id in running:
                self._settler.add(Ending(job_id, "requeue"))
            self._settler.settle_once()  # what it cannot record stays running; the next start re-queues it
            self._stopped = True
            _running.discard(self)

    def _loop(self) -> None:
        while not self._stopping.is_set():
            self._wake.clear()
            try:
                self._settler.settle_due(stop=self._stopping.is_set)
                self._tick()
            except sqlite3.Error as err:
                if self._stopping.is_set():
                    break
                if not self._db_trouble:  # once per outage, not once per tick
                    log.warning("the runner cannot use the database just now (%s); it keeps trying", err)
                self._db_trouble = True
            except Exception:  # the runner must keep going; the job states say what happened
                if self._stopping.is_set():
                    break  # the executor or the store closed under a stop: nothing to report
                log.exception("runner tick failed")
            else:
                if self._db_trouble:
                    log.warning("the runner can use the database again")
                self._db_trouble = False
            self._wake.wait(self._settler.next_due(0.5))

    def _tick(self) -> None:
        if self._executor is None or self._executor.broken:
            if self._executor is not None:
                self._executor.shutdown()
                self._executor = None
            self._executor = self._factory()
        executor = self._executor
        with self._lock:
            free = executor.capacity() - len(self._inflight)
        if self._stopping.is_set():
            return
        rows = self.store.claim(free)
        for i, row in enumerate(rows):
            job = JobSpec(row["id"], row["generator"], orjson.loads(row["params"]), bool(row["is_preview"]),
                          int(row["seed"]), int(row["attempts"]))
            try:
                if self._stopping.is_set():
                    raise _Stopping
                future = executor.submit(job)
            except Exception:
                for unsent in rows[i:]:  # claimed but never sent: back to the queue, not lost
                    self._settler.add(Ending(unsent["id"], "requeue"))
                if self._stopping.is_set():
                    self._settler.settle_once()  # stop() may have swept already
                    return
                raise
            with self._lock:
                self._inflight[job.job_id] = future
            future.add_done_callback(functools.partial(self._done, executor, job.job_id, job.attempt))

    def _done(self, executor: JobExecutor, job_id: str, attempts: int, future: Future[int]) -> None:
        """The executor's callback: note how the job ended; the runner's thread records it."""
        ending = self._ending(executor, job_id, attempts, future)
        with self._lock:
            if self._swept:
                return  # stop() queued it again already
            self._inflight.pop(job_id, None)
            self._settler.add(ending)
        self._wake.set()

    def _ending(self, executor: JobExecutor, job_id: str, attempts: int, future: Future[int]) -> Ending:
        try:
            samples = future.result()
        except CancelledError:
            return Ending(job_id, "requeue")  # its executor was replaced or stopped before the job started
        except Exception as err:
            if not executor.lost(err):
                log.warning("job %s failed: %s", job_id, err)
                return Ending(job_id, "fail", error=f"{type(err).__name__}: {err}")
            if self._stopping.is_set():
                return Ending(job_id, "requeue")  # the stop ended its worker, not the job
            if attempts >= self.max_attempts:
                return Ending(job_id, "fail", error=f"the worker was lost {attempts} times (last: {err})")
            log.warning("job %s: its worker was lost (%s); queued again", job_id, err)
            return Ending(job_id, "requeue")
        except BaseException as err:  # the job's own odd exception (SystemExit in a thread job): it failed
            return Ending(job_id, "fail", error=f"{type(err).__name__}: {err}")
        return Ending(job_id, "succeed", samples=int(samples))


class _Stopping(Exception):
    """The runner began stopping between claiming jobs and sending them."""
