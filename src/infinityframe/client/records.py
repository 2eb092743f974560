"""Submission records: re-running a notebook cell reattaches to its batch instead of paying twice.

A submission's content key is a hash of what makes it the same request: the *origin* (which
service, which account), the generator, preview or not, the batch name and every job's
parameters (canonical JSON). The origin is not the URL: the embedded service gets a new port
at every start, so it is named by the stable id it serves (``service_id``, kept in its data
dir), and the cloud by its normalised URL; the account by a one-way digest of the token (the
token itself is never kept). The key is sent as the ``Idempotency-Key`` of the batch POST, and
kept, with the batch id it created, in a small SQLite file in the user cache dir, so a second
submission of the same content — after a kernel restart, from another process — finds the
batch and reattaches. Where those records are gone (another machine, a cleared cache, a kernel
killed between the POST and the record), the service itself answers the same key with the
batch it already created, and charges nothing.

Each submitted job is recorded too, under its own content key (origin, generator, preview or
not, parameters) and with where it came from (the preview it was promoted from, the failed job
it retries). That is what ``dry_run`` reads to say a job was already submitted, and what
``Batch.lineage`` follows where the service cannot say.
"""

from __future__ import annotations

import hashlib
import sqlite3
import time
from collections.abc import Iterable
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from .._paths import cache_dir
from .._sqlite import connect
from ..params.keys import content_key, job_key

__all__ = ["JobRecord", "SubmissionRecords", "account_digest", "cache_dir", "content_key", "job_key",
           "normalised_url", "origin"]

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
CREATE TABLE IF NOT EXISTS jobs (
    job_id          TEXT PRIMARY KEY,
    batch_id        TEXT NOT NULL,
    job_key         TEXT NOT NULL,
    server          TEXT NOT NULL,
    preview         INTEGER NOT NULL,
    parent_job_id   TEXT,
    parent_batch_id TEXT,
    relation        TEXT NOT NULL,
    created         REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS jobs_by_key ON jobs (job_key, created);
CREATE INDEX IF NOT EXISTS jobs_by_parent ON jobs (parent_job_id);
"""


_DEFAULT_PORTS = {"http": 80, "https": 443}


def normalised_url(url: str) -> str:
    """``url`` as one spelling: scheme and host lower-cased, no default port, query or trailing slash."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:
        port = None
    netloc = host if port is None or port == _DEFAULT_PORTS.get(scheme) else f"{host}:{port}"
    return urlunsplit((scheme, netloc, parts.path.rstrip("/"), "", ""))


def account_digest(token: str) -> str:
    """A one-way digest naming the account of ``token`` in the records (never the token itself)."""
    return hashlib.sha256(b"infinityframe account\0" + token.strip().encode()).hexdigest()[:32]


def origin(server: str, token: str, service_id: Any = None) -> str:
    """Which service and which account a submission goes to, the same across restarts and ports.

    ``service_id`` is the id a service says it has (the embedded one serves it with every
    generator's metadata); without one, as for the cloud, the service is its normalised URL.
    """
    ok = isinstance(service_id, str) and 0 < len(service_id) <= 64 and service_id.isascii() and service_id.isalnum()
    service = f"service:{service_id}" if ok else normalised_url(server)
    return f"{service}#{account_digest(token)}"


@dataclass(frozen=True)
class JobRecord:
    """One submitted job as this machine remembers it."""

    job_id: str
    batch_id: str
    job_key: str
    preview: bool
    parent_job_id: str | None
    parent_batch_id: str | None
    relation: str


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

    def put(self, key: str, batch_id: str, *, origin: str, generator: str, name: str, num_jobs: int) -> None:
        with closing(self._connect()) as db:
            db.execute(
                "INSERT OR REPLACE INTO submissions (key, batch_id, server, generator, name, num_jobs, created) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (key, batch_id, origin, generator, name, num_jobs, time.time()),
            )

    def forget(self, key: str) -> None:
        with closing(self._connect()) as db:
            db.execute("DELETE FROM submissions WHERE key = ?", (key,))

    # -- jobs ------------------------------------------------------------------------------------

    def put_jobs(self, records: Iterable[JobRecord], *, origin: str) -> None:
        """Remember submitted jobs; a job already known keeps its first record (and where it came from)."""
        now = time.time()
        rows = [(r.job_id, r.batch_id, r.job_key, origin, int(r.preview), r.parent_job_id,
                 r.parent_batch_id, r.relation, now) for r in records]
        with closing(self._connect()) as db:
            db.execute("BEGIN IMMEDIATE")  # one transaction: a batch of 100,000 jobs is one write, not 100,000
            try:
                db.executemany(
                    "INSERT OR IGNORE INTO jobs (job_id, batch_id, job_key, server, preview, parent_job_id, "
                    "parent_batch_id, relation, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    def _select(self, column: str, values: Iterable[str]) -> list[JobRecord]:
        """Jobs whose ``column`` is one of ``values``, oldest first (in chunks: SQLite limits parameters)."""
        unique = sorted(set(values))
        rows: list[Any] = []
        with closing(self._connect()) as db:
            for start in range(0, len(unique), 500):
                chunk = unique[start : start + 500]
                rows += db.execute(
                    "SELECT job_id, batch_id, job_key, preview, parent_job_id, parent_batch_id, relation, created "
                    f"FROM jobs WHERE {column} IN ({','.join('?' * len(chunk))})", chunk).fetchall()
        rows.sort(key=lambda r: r[7])
        return [JobRecord(r[0], r[1], r[2], bool(r[3]), r[4], r[5], r[6]) for r in rows]

    def jobs_by_key(self, keys: Iterable[str]) -> dict[str, list[JobRecord]]:
        """Every recorded job with one of these content keys, oldest first."""
        found: dict[str, list[JobRecord]] = {}
        for record in self._select("job_key", keys):
            found.setdefault(record.job_key, []).append(record)
        return found

    def jobs(self, job_ids: Iterable[str]) -> list[JobRecord]:
        """The records of those of these jobs this machine submitted."""
        return self._select("job_id", job_ids)

    def job(self, job_id: str) -> JobRecord | None:
        """The record of one job, if this machine submitted it."""
        rows = self.jobs([job_id])
        return rows[0] if rows else None

    def children(self, job_ids: Iterable[str]) -> list[JobRecord]:
        """Jobs recorded as promoted from, or retrying, any of these jobs."""
        return self._select("parent_job_id", job_ids)
