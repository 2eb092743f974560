"""Files and folders only the service's own user may read.

A secret is never readable by anyone else, not even for a moment: it is written to a temporary
name created with mode 0600 (``O_CREAT | O_EXCL``, so no other file is reused), then renamed
into place. The data dir is made 0700, so the database and the results under it are private too.

Examples
--------
>>> write_private(tmp_path / "token", b"0123")
True
>>> oct((tmp_path / "token").stat().st_mode & 0o777)
'0o600'
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

__all__ = ["create_private", "private_dir", "write_private"]


def private_dir(path: Path) -> Path:
    """``path`` as a folder; made with mode 0700 (and its missing parents) if it does not exist."""
    Path(path).mkdir(mode=0o700, parents=True, exist_ok=True)
    return Path(path)


def write_private(path: Path, data: bytes | Callable[[BinaryIO], object], *, replace: bool = True) -> bool:
    """Write ``data`` to ``path`` (mode 0600) atomically and durably; returns whether it was written.

    ``data`` is the bytes, or a function that writes them to the open file (a zip streamed in).
    The file is fsynced before the rename and its folder after it, so a crash leaves the old
    file or the whole new one. With ``replace=False`` a file already at ``path`` is kept
    (another process wrote it first) and False is returned.
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            if callable(data):
                data(fh)
            else:
                fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        if replace:
            os.replace(tmp, path)
        else:
            try:
                os.link(tmp, path)  # fails rather than replace a file that is already there
            except FileExistsError:
                return False
    finally:
        tmp.unlink(missing_ok=True)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
    return True


def create_private(path: Path) -> None:
    """Create an empty ``path`` with mode 0600 unless it exists (SQLite gives its -wal and -shm files its mode)."""
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
