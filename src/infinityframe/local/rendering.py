"""Rendering one job into its result zip, in this process or in a worker's.

The process pool (:func:`process_pool`) spawns workers that never re-run the user's script;
each runs :func:`execute_job`: the generator renders into a private work folder
(:func:`rendered`), and the folder is zipped and written atomically (temporary file, fsync,
rename), so a result is either whole or absent. :mod:`.runner` dispatches jobs to an
executor (:mod:`.executors`), which calls these.
"""

from __future__ import annotations

import contextlib
import functools
import io
import multiprocessing
import os
import shutil
import sys
import tempfile
import threading
import types
import zipfile
from collections.abc import Iterator
from concurrent.futures import Executor, ProcessPoolExecutor
from pathlib import Path
from typing import Any

from .private import write_private

__all__ = ["execute_job", "process_pool", "rendered", "write_bytes_atomically", "write_zip_atomically", "zip_bytes"]

# Already-compressed formats are stored as they are: deflating them costs time for nothing.
_STORED = {".png", ".jpg", ".jpeg", ".mp4", ".zip", ".npz", ".parquet"}


def _zip_folder(fh: Any, src: Path, root: str) -> None:
    with zipfile.ZipFile(fh, "w") as zf:
        for path in sorted(p for p in src.rglob("*") if p.is_file()):
            method = zipfile.ZIP_STORED if path.suffix.lower() in _STORED else zipfile.ZIP_DEFLATED
            zf.write(path, f"{root}/{path.relative_to(src).as_posix()}", compress_type=method)


def write_zip_atomically(src: Path, dest: Path, root: str) -> None:
    """Zip the files under ``src`` as ``root/<relative path>`` into ``dest``, atomically."""
    write_private(dest, functools.partial(_zip_folder, src=src, root=root))


def zip_bytes(src: Path, root: str) -> bytes:
    """The zip :func:`write_zip_atomically` would write, as bytes (a remote worker's result)."""
    buf = io.BytesIO()
    _zip_folder(buf, src, root)
    return buf.getvalue()


def write_bytes_atomically(data: bytes, dest: Path) -> None:
    """Write ``data`` to ``dest`` through a fsynced temporary file and a rename."""
    write_private(dest, data)


@contextlib.contextmanager
def rendered(job_id: str, generator: str, params: dict[str, Any], preview: bool, seed: int,
             work_root: Path) -> Iterator[tuple[Path, int]]:
    """Render one job into a private folder under ``work_root``; yields the folder and the samples.

    The folder is named ``job_id`` and removed afterwards. Every executor renders through this,
    so a job's output depends only on its generator, parameters and seed.
    """
    import numpy as np

    from . import faults, generators

    gen = generators.get(generator)
    if gen is None:
        raise LookupError(f"generator {generator!r} is not installed on this worker")
    faults.inject(job_id)  # a testing aid, off unless $INFINITYFRAME_FAIL_RATE is set
    work = Path(tempfile.mkdtemp(prefix=f"{job_id}.", dir=work_root))
    try:
        out = work / job_id
        out.mkdir()
        samples = int(gen.render(params, preview, out, np.random.default_rng(seed)))
        yield out, samples
    finally:
        shutil.rmtree(work, ignore_errors=True)


def execute_job(job_id: str, generator: str, params: dict[str, Any], preview: bool, seed: int,
                data_dir: str) -> int:
    """Render one job and write ``results/<job_id>.zip``; returns the samples rendered.

    Runs in a worker process (or thread) that sees ``data_dir``, so it takes only plain,
    picklable arguments.
    """
    root = Path(data_dir)
    with rendered(job_id, generator, params, preview, seed, root / "work") as (out, samples):
        write_zip_atomically(out, root / "results" / f"{job_id}.zip", job_id)
    return samples


def _init_worker(parent: int) -> None:
    import signal

    # Ctrl-C in a terminal signals the whole foreground group, workers included: a worker would
    # die mid-job (failing it with KeyboardInterrupt) or print a traceback. The service ends its
    # workers itself when it stops. (SIGINT stayed blocked from the spawn until now: _WorkerProcess.)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    # A worker must not outlive a service killed with SIGKILL (Linux only; best effort).
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
    # The death signal covers only a parent that dies from now on: a service killed while this
    # worker was still starting has left it to init already, and nothing would ever end it.
    if os.getppid() != parent:
        os._exit(0)
    # Rendering is background work: the process that asked for it (a notebook, a script drawing
    # the previews while the videos render) keeps the upper hand on a busy core.
    with contextlib.suppress(OSError, AttributeError):
        os.nice(_WORKER_NICENESS)
    # One core per worker: the pool already uses every core.
    try:
        import cv2

        cv2.setNumThreads(1)
    except ImportError:
        pass


_main_swap = threading.Lock()
_WORKER_NICENESS = 5
# Run by path in every spawned worker before its task is unpickled (see _main_hidden).
_WORKER_ENTRY = str(Path(__file__).resolve().with_name("_worker.py"))


@contextlib.contextmanager
def _sigint_blocked() -> Iterator[None]:
    """Block SIGINT in this thread while a worker is spawned: the child starts with it blocked.

    A blocked signal stays blocked across fork and exec, so a Ctrl-C while the worker is still
    importing (before :func:`_init_worker` ignores SIGINT) cannot end it with a traceback. Other
    threads, the main one included, still take SIGINT as before.
    """
    import signal

    if not hasattr(signal, "pthread_sigmask"):  # pragma: no cover - Windows
        yield
        return
    before = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, before)


@contextlib.contextmanager
def _main_hidden() -> Iterator[None]:
    """Hide the user's ``__main__`` from :mod:`multiprocessing` while a worker is spawned.

    A spawned child re-runs the parent's main script (as ``__mp_main__``) before it does
    anything else. For a notebook or a guarded script that is harmless, but a plain script that
    calls ``Session.local()`` and submits at top level would submit again from every worker.
    The workers only ever run this package's code, so they need nothing from ``__main__``:
    they run :mod:`._worker` in its place, which keeps the package's front door (pandas,
    polars, the client) out of a process that only renders.
    """
    with _main_swap:
        main = sys.modules.get("__main__")
        stand_in = types.ModuleType("__main__")
        stand_in.__file__ = _WORKER_ENTRY
        sys.modules["__main__"] = stand_in
        try:
            yield
        finally:
            if main is not None:
                sys.modules["__main__"] = main


class _WorkerProcess(multiprocessing.context.SpawnProcess):
    @staticmethod
    def _Popen(process_obj: Any) -> Any:
        # The child's start-up data (including the main script's path) is gathered right here.
        with _main_hidden(), _sigint_blocked():
            return multiprocessing.context.SpawnProcess._Popen(process_obj)


class _WorkerContext(multiprocessing.context.SpawnContext):
    Process = _WorkerProcess


def process_pool(workers: int) -> Executor:
    """The default executor: ``workers`` spawned processes that never re-run the user's script."""
    return ProcessPoolExecutor(max_workers=workers, mp_context=_WorkerContext(), initializer=_init_worker,
                               initargs=(os.getpid(),))
