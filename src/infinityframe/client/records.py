"""Submission records: re-running a notebook cell reattaches to its batch instead of paying twice.

A submission's content key is a hash of what makes it the same request: the server, the
generator, preview or not, the batch name and every job's parameters (canonical JSON). The key
is sent as the ``Idempotency-Key`` of the batch POST, and kept, with the batch id it created,
in a small SQLite file in the user cache dir, so a second submission of the same content —
after a kernel restart, from another process — finds the batch and reattaches.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import time
from collections.abc import Sequence
from contextlib import closing
from pathlib import Path
from typing import Any

import orjson

from .._sqlite import connect

__all__ = ["SubmissionRecords", "cache_dir", "content_key"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS submissions (
    key        TEXT PRIMARY KEY,
    batch_id   TEXT NOT NULL,
    server     TEXT NOT NULL,
    generator  TEXT NOT NULL,
    name       TEXT NOT NULL,
    num_jobs   INTEGER NOT NULL,
    created    REAL NOT NULL
);
"""


def cache_dir() -> Path:
    """``$INFINITYFRAME_CACHE_DIR``, else ``$XDG_CACHE_HOME/infinityframe`` (``~/.cache/infinityframe``)."""
    if env := os.environ.get("INFINITYFRAME_CACHE_DIR"):
        return Path(env).expanduser()
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "infinityframe"


def content_key(server: str, generator: str, preview: bool, name: str, jobs: Sequence[dict[str, Any]]) -> str:
    """The hash that makes two submissions the same one (64 hex characters)."""
    canonical = orjson.dumps(
        {"server": server.rstrip("/"), "generator": generator, "preview": bool(preview), "name": name,
         "jobs": list(jobs)},
        option=orjson.OPT_SORT_KEYS | orjson.OPT_SERIALIZE_NUMPY,
    )
    return hashlib.sha256(canonical).hexdigest()


class SubmissionRecords:
    """Content key → batch id, in ``submissions.db`` under :func:`cache_dir`.

    Each call opens its own short connection, so several processes can share the file.
    """

    def __init__(self, path: Path | None = None) -> None:
        self.path = Path(path) if path is not None else cache_dir() / "submissions.db"

    def __repr__(self) -> str:
        return f"SubmissionRecords({str(self.path)!r})"

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        return connect(self.path, _SCHEMA)

    def get(self, key: str) -> str | None:
        """The batch id recorded for ``key``, if any."""
        with closing(self._connect()) as db:
            row = db.execute("SELECT batch_id FROM submissions WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def put(self, key: str, batch_id: str, *, server: str, generator: str, name: str, num_jobs: int) -> None:
        with closing(self._connect()) as db:
            db.execute(
                "INSERT OR REPLACE INTO submissions (key, batch_id, server, generator, name, num_jobs, created) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (key, batch_id, server.rstrip("/"), generator, name, num_jobs, time.time()),
            )

    def forget(self, key: str) -> None:
        with closing(self._connect()) as db:
            db.execute("DELETE FROM submissions WHERE key = ?", (key,))
