"""Running jobs: a dispatcher thread feeding a ``concurrent.futures`` executor.

The dispatcher claims queued jobs (``queued → running``) only as fast as the executor has
room, so the database, not an in-memory queue, is the queue: a crash loses nothing, and
:meth:`Store.recover` re-queues what was running. Each job renders into a private work
folder and its zip is written atomically (temporary file, fsync, rename), so a result is
either whole or absent. A worker lost mid-job (killed, out of memory) breaks the pool; its
jobs are queued again, up to ``max_attempts``.

Any :class:`concurrent.futures.Executor` can run the jobs; by default a pool of
``spawn``-ed processes, one per core.
"""

from __future__ import annotations

import functools
import logging
import multiprocessing
import os
import secrets
import shutil
import tempfile
import threading
import zipfile
from collections.abc import Callable
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

import orjson

from .store import Store

__all__ = ["Runner", "execute_job", "write_zip_atomically"]

log = logging.getLogger(__name__)

# Already-compressed formats are stored as they are: deflating them costs time for nothing.
_STORED = {".png", ".jpg", ".jpeg", ".mp4", ".zip", ".npz", ".parquet"}


def write_zip_atomically(src: Path, dest: Path, root: str) -> None:
    """Zip the files under ``src`` as ``root/<relative path>`` into ``dest``, atomically."""
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    try:
        with open(tmp, "wb") as fh:
            with zipfile.ZipFile(fh, "w") as zf:
                for path in sorted(p for p in src.rglob("*") if p.is_file()):
                    method = zipfile.ZIP_STORED if path.suffix.lower() in _STORED else zipfile.ZIP_DEFLATED
                    zf.write(path, f"{root}/{path.relative_to(src).as_posix()}", compress_type=method)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    dir_fd = os.open(dest.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def execute_job(job_id: str, generator: str, params: dict[str, Any], preview: bool, seed: int,
                data_dir: str) -> int:
    """Render one job and write ``results/<job_id>.zip``; returns the samples rendered.

    Runs in a worker process, so it takes only plain, picklable arguments.
    """
    import numpy as np

    from . import generators

    gen = generators.get(generator)
    if gen is None:
        raise LookupError(f"generator {generator!r} is not installed on this worker")
    root = Path(data_dir)
    work = Path(tempfile.mkdtemp(prefix=f"{job_id}.", dir=root / "work"))
    try:
        out = work / job_id
        out.mkdir()
        samples = int(gen.render(params, preview, out, np.random.default_rng(seed)))
        write_zip_atomically(out, root / "results" / f"{job_id}.zip", job_id)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return samples


def _init_worker() -> None:
    # A worker must not outlive a service killed with SIGKILL (Linux only; best effort).
    try:
        import ctypes
        import signal

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
    # One core per worker: the pool already uses every core.
    try:
        import cv2

        cv2.setNumThreads(1)
    except ImportError:
        pass


def process_pool(workers: int) -> Executor:
    """The default executor: ``workers`` spawned processes."""
    return ProcessPoolExecutor(
        max_workers=workers, mp_context=multiprocessing.get_context("spawn"), initializer=_init_worker
    )


class Runner:
    """Feeds queued jobs to an executor and records how they end.

    Parameters
    ----------
    store : Store
        The service's database.
    data_dir : Path
        Where ``results/`` and ``work/`` live.
    workers : int
        How many jobs may run at once.
    executor_factory : callable, optional
        ``workers -> Executor``; a process pool by default.
    max_attempts : int
        How many times a job whose worker was lost is tried before it fails.
    """

    def __init__(
        self,
        store: Store,
        data_dir: Path,
        workers: int,
        executor_factory: Callable[[int], Executor] = process_pool,
        max_attempts: int = 3,
    ) -> None:
        self.store = store
        self.data_dir = Path(data_dir)
        self.workers = max(1, workers)
        self.max_attempts = max_attempts
        self._factory = executor_factory
        self._executor: Executor | None = None
        self._inflight: dict[str, Future[int]] = {}
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._broken = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def start(self) -> None:
        (self.data_dir / "results").mkdir(parents=True, exist_ok=True)
        work = self.data_dir / "work"
        shutil.rmtree(work, ignore_errors=True)  # leftovers of a crash are never results
        work.mkdir(parents=True)
        for stale in (self.data_dir / "results").glob(".*.tmp"):
            stale.unlink(missing_ok=True)
        recovered = self.store.recover()
        if recovered:
            log.warning("re-queued %d job(s) left running by a previous crash", recovered)
        self._thread = threading.Thread(target=self._loop, name="infinityframe-runner", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        """New jobs were queued: look now rather than at the next tick."""
        self._wake.set()

    def stop(self) -> None:
        """Stop claiming jobs; jobs still running are re-queued for the next start."""
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
        with self._lock:
            for job_id in list(self._inflight):
                self.store.requeue(job_id)
            self._inflight.clear()

    def _loop(self) -> None:
        while not self._stopping.is_set():
            self._wake.clear()
            try:
                self._tick()
            except Exception:  # the runner must keep going; the job states say what happened
                log.exception("runner tick failed")
            self._wake.wait(0.5)

    def _tick(self) -> None:
        if self._broken.is_set() or self._executor is None:
            if self._executor is not None:
                self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = self._factory(self.workers)
            self._broken.clear()
        with self._lock:
            free = self.workers - len(self._inflight)
        for row in self.store.claim(free):
            params = orjson.loads(row["params"])
            future = self._executor.submit(
                execute_job, row["id"], row["generator"], params, bool(row["is_preview"]),
                int(row["seed"]), str(self.data_dir),
            )
            with self._lock:
                self._inflight[row["id"]] = future
            future.add_done_callback(functools.partial(self._done, row["id"], row["attempts"]))

    def _done(self, job_id: str, attempts: int, future: Future[int]) -> None:
        if self._stopping.is_set():
            return  # stop() re-queues whatever is in flight
        try:
            samples = future.result()
        except BrokenProcessPool:
            self._broken.set()
            if attempts >= self.max_attempts:
                self.store.fail(job_id, f"the worker was lost {attempts} times")
            else:
                self.store.requeue(job_id)
        except Exception as err:
            log.warning("job %s failed: %s", job_id, err)
            self.store.fail(job_id, f"{type(err).__name__}: {err}")
        else:
            self.store.succeed(job_id, samples)
        finally:
            with self._lock:
                self._inflight.pop(job_id, None)
            self._wake.set()
