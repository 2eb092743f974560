"""One service per data dir: ``<data_dir>/service.lock``, held for the service's whole life.

A second service on a data dir in use would wipe the first's ``work/`` folder, queue its
running jobs again (rendering them twice) and repoint ``service.json``. So a service takes an
exclusive ``flock`` on ``service.lock`` before it touches anything, and keeps it until it stops.
The kernel drops the lock when the process ends, however it ends (``kill -9`` included), so a
crash never leaves a stale lock behind. The file says who holds it (pid and URL), for the
refusal's message; only the lock itself counts.

Platforms without :mod:`fcntl` (Windows) get no lock: one service per data dir is then up to you.

Examples
--------
>>> lock = ServiceLock.acquire(tmp_path)
>>> ServiceLock.acquire(tmp_path)  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
infinityframe.local.lock.DataDirInUseError: the data dir ... is in use by another infinityframe service (pid ...
>>> lock.release()
>>> ServiceLock.acquire(tmp_path).release()  # free again
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any

import orjson

from ..errors import InfinityError
from .private import private_dir

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

__all__ = ["LOCK_FILE", "DataDirInUseError", "ServiceLock", "holder"]

LOCK_FILE = "service.lock"


class DataDirInUseError(InfinityError):
    """Another service holds the data dir; it names that service (pid, URL).

    Attributes
    ----------
    pid : int or None
        The other service's process id, if it has written it yet.
    url : str or None
        Its URL, once it listens.
    """

    def __init__(self, message: str, pid: int | None = None, url: str | None = None) -> None:
        super().__init__(message)
        self.pid = pid
        self.url = url


def holder(data_dir: Path) -> dict[str, Any]:
    """What the lock file says about the service holding it (``pid``, ``url``); empty if unreadable."""
    try:
        record = orjson.loads((Path(data_dir) / LOCK_FILE).read_bytes())
    except (OSError, ValueError):
        return {}
    return record if isinstance(record, dict) else {}


class ServiceLock:
    """The exclusive lock a running service holds on its data dir; see the module's docstring."""

    def __init__(self, data_dir: Path, fd: int | None) -> None:
        self.data_dir = Path(data_dir)
        self._fd = fd

    @classmethod
    def acquire(cls, data_dir: Path) -> ServiceLock:
        """Take the data dir's lock (making the dir, mode 0700, if it is new).

        Raises
        ------
        DataDirInUseError
            Another service, in this process or another, holds it.
        """
        root = private_dir(Path(data_dir))
        if fcntl is None:  # pragma: no cover - Windows
            return cls(root, None)
        fd = os.open(root / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise _in_use(root) from None
        except BaseException:
            os.close(fd)
            raise
        lock = cls(root, fd)
        lock.record(None)
        return lock

    @property
    def held(self) -> bool:
        return self._fd is not None

    def record(self, url: str | None) -> None:
        """Write who holds the lock (this process, and ``url`` once the service listens)."""
        if self._fd is None:
            return
        data = orjson.dumps({"pid": os.getpid(), "url": url})
        os.ftruncate(self._fd, 0)
        os.pwrite(self._fd, data, 0)

    def release(self) -> None:
        """Let the data dir go (closing the file drops the lock). Calling it again does nothing."""
        fd, self._fd = self._fd, None
        if fd is None:
            return
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)  # the next holder writes its own record; an empty one names nobody
        os.close(fd)

    def __repr__(self) -> str:
        return f"ServiceLock({str(self.data_dir)!r}, held={self.held})"


def _in_use(root: Path) -> DataDirInUseError:
    record = holder(root)
    pid = record.get("pid") if isinstance(record.get("pid"), int) else None
    url = record.get("url") if isinstance(record.get("url"), str) else None
    who = ", ".join(part for part in (f"pid {pid}" if pid else "", f"at {url}" if url else "starting") if part)
    return DataDirInUseError(
        f"the data dir {root} is in use by another infinityframe service ({who}); a second one would re-run its "
        f"jobs. Use that service (inf.Session.local() and the infinityframe commands find it by themselves), "
        f"stop it first, or choose another data dir.", pid, url)
