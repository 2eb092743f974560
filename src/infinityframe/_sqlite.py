"""Opening a SQLite file that other processes may be creating or opening at the same moment."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

__all__ = ["connect"]


def connect(path: Path, schema: str, *, attempts: int = 60, check_same_thread: bool = True) -> sqlite3.Connection:
    """A connection in WAL mode with ``schema`` applied (``CREATE … IF NOT EXISTS`` statements).

    Switching a new file to WAL needs an exclusive lock, and SQLite answers "database is
    locked" at once rather than waiting on the busy timeout when another process holds it;
    so the set-up is retried, with a growing pause, before giving up.
    """
    for attempt in range(1, attempts + 1):
        db = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=check_same_thread)
        try:
            if db.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                db.execute("PRAGMA journal_mode=WAL")
            db.executescript(schema)
            return db
        except sqlite3.OperationalError as err:
            db.close()
            if ("locked" not in str(err) and "busy" not in str(err)) or attempt == attempts:
                raise
            time.sleep(min(0.5, 0.01 * attempt))
    raise AssertionError("unreachable")
