"""The local service's state: one SQLite file (WAL) under the data dir.

Tables: ``accounts`` (hashed tokens), ``batches``, ``jobs``, ``batch_bodies`` and an append-only
``ledger``.

A batch is accepted in one transaction that writes its ``batches`` row, its reservation in the
ledger and ONE ``batch_bodies`` row holding every job by column (ids, parameters as one JSON
object of columns, seeds, estimates; a body written by an older version holds each job's
parameters as a line of text, and is read as such); the reply is sent from what was written.
The body is expanded into ``jobs`` rows afterwards, in a transaction of its own that inserts
them (``INSERT OR IGNORE`` by job id) and deletes the body: right after the reply, before the
runner claims jobs, and before any read of jobs. A crash between the two leaves the body, which
the next start expands; so every job is stored exactly once whenever the process dies.

A job moves ``queued → running → succeeded | failed``, or ``queued → cancelled``; a crash
sends ``running`` back to ``queued`` (:meth:`Store.recover`). Every transition is a guarded
``UPDATE … WHERE state = …`` inside one transaction with its ledger rows, so a job can finish
only once and is charged only once, whatever the runner does twice.

The ledger is the balance. Submitting a batch reserves its estimate (one ``reserve`` row);
each job that ends releases its own estimate and, when it succeeded, is charged what it
actually rendered. So at rest ``balance = granted − Σ actual samples``. A store adds up only
the rows written since it last read an account's sums (:meth:`Store.ledger_totals`), so a
submit does not cost every job the account ever ran.

A database that cannot be used just now — another process holds its write lock past the
bounded wait, or the disk is full — raises :class:`StoreUnavailable` (the transaction rolled
back, nothing changed), which the service answers 503 with ``Retry-After``. Reads use their
own connections, so in WAL mode a held write lock never blocks them.
"""

from __future__ import annotations

import hashlib
import secrets
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from .._sqlite import connect
from .faults import holding_bodies
from .jobtexts import EncodedJobs

__all__ = ["COLUMNS", "Account", "Created", "NewJob", "NewJobs", "Store", "StoreUnavailable", "hash_token", "isoformat",
           "job_seed", "new_token"]

TERMINAL = ("succeeded", "failed", "cancelled")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS accounts (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    token_hash  TEXT NOT NULL UNIQUE,
    created     TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS batches (
    id              TEXT PRIMARY KEY,
    account_id      INTEGER NOT NULL REFERENCES accounts(id),
    name            TEXT NOT NULL,
    generator       TEXT NOT NULL,
    is_preview      INTEGER NOT NULL,
    num_jobs        INTEGER NOT NULL,
    created         TEXT NOT NULL,
    created_ts      REAL NOT NULL,
    idempotency_key TEXT,
    request_hash    TEXT,
    UNIQUE (account_id, idempotency_key)
);
CREATE INDEX IF NOT EXISTS batches_account ON batches (account_id, created_ts);
CREATE TABLE IF NOT EXISTS jobs (
    id                TEXT PRIMARY KEY,
    batch_id          TEXT NOT NULL REFERENCES batches(id),
    account_id        INTEGER NOT NULL,
    position          INTEGER NOT NULL,
    generator         TEXT NOT NULL,
    is_preview        INTEGER NOT NULL,
    params            TEXT NOT NULL,
    seed              INTEGER NOT NULL,
    state             TEXT NOT NULL CHECK (state IN ('queued','running','succeeded','failed','cancelled')),
    estimated_samples INTEGER NOT NULL,
    samples           INTEGER,
    attempts          INTEGER NOT NULL DEFAULT 0,
    error             TEXT,
    created           TEXT NOT NULL,
    finished          TEXT,
    finished_ts       REAL
);
CREATE INDEX IF NOT EXISTS jobs_batch ON jobs (batch_id, position);
DROP INDEX IF EXISTS jobs_state;
CREATE INDEX IF NOT EXISTS jobs_queue ON jobs (state, is_preview DESC);
CREATE INDEX IF NOT EXISTS jobs_account ON jobs (account_id, is_preview, finished_ts);
CREATE TABLE IF NOT EXISTS batch_bodies (
    batch_id   TEXT PRIMARY KEY REFERENCES batches(id),
    ids        BLOB NOT NULL,
    params     BLOB NOT NULL,
    seeds      BLOB NOT NULL,
    estimates  BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS ledger (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL,
    batch_id   TEXT,
    job_id     TEXT,
    kind       TEXT NOT NULL CHECK (kind IN ('grant','reserve','release','charge')),
    amount     INTEGER NOT NULL,
    created    TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS ledger_account ON ledger (account_id);
CREATE TRIGGER IF NOT EXISTS ledger_no_update BEFORE UPDATE ON ledger
    BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END;
CREATE TRIGGER IF NOT EXISTS ledger_no_delete BEFORE DELETE ON ledger
    BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END;
"""


def isoformat(ts: float | None = None) -> str:
    """An aware ISO-8601 timestamp with a ``+HH:MM`` offset, as the contract requires."""
    return datetime.fromtimestamp(time.time() if ts is None else ts).astimezone().isoformat()


def hash_token(token: str) -> str:
    """Tokens are stored only as their SHA-256."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    """A fresh API key: 40 lowercase hex characters, like the cloud's."""
    return secrets.token_hex(20)


@dataclass(frozen=True)
class Account:
    id: int
    name: str


def job_seed(params_json: bytes) -> int:
    """The render seed of a job that is not a re-run: a hash of its parameters as stored.

    The same parameters render the same output on any worker; a re-run (``state``) takes its
    seed job's seed instead.

    >>> job_seed(b'{"num_images":2}') == job_seed(b'{"num_images":2}')
    True
    """
    return int.from_bytes(hashlib.sha256(params_json).digest()[:8], "big") >> 1


@dataclass(frozen=True)
class NewJob:
    """A validated job ready to be stored: its parameters (or their JSON text, already encoded)."""

    params: dict[str, Any] | str
    seed: int
    estimated_samples: int


@dataclass(frozen=True)
class NewJobs:
    """A batch's validated jobs by column, ready to be stored as one body.

    ``params`` are the jobs' parameters encoded by column (:class:`EncodedJobs`, stored as its
    columns), or each job's parameters as the JSON text the service stores (stored one a line:
    JSON text holds no raw newline); a seed of ``None`` is a hash of the job's parameters
    (:func:`job_seed`), worked out when the body is expanded into job rows.
    """

    params: EncodedJobs | list[bytes]
    seeds: list[int | None]
    estimates: list[int]

    def __len__(self) -> int:
        return self.params.jobs if isinstance(self.params, EncodedJobs) else len(self.params)

    @cached_property
    def stored(self) -> bytes:
        """The jobs' parameters as the body stores them: ``COLUMNS`` and the columns' JSON object,
        or every job's text, one a line."""
        if isinstance(self.params, EncodedJobs):
            return b"".join([COLUMNS, *self.params.body_parts()])  # one copy of the columns, not two
        return b"\n".join(self.params)

    @classmethod
    def of(cls, jobs: Sequence[NewJob]) -> NewJobs:
        """The columns of a list of :class:`NewJob`."""
        return cls([job.params.encode() if isinstance(job.params, str) else orjson.dumps(job.params) for job in jobs],
                   [job.seed for job in jobs], [job.estimated_samples for job in jobs])


COLUMNS = b"columns\n"
"""The tag a body's ``params`` start with when they hold the jobs by column (:attr:`NewJobs.stored`):
a body of jobs one a line starts with a JSON object."""


def stored_job_texts(params: bytes, jobs: int) -> list[bytes]:
    """Each job's parameters as stored, from a body's ``params`` (either form :attr:`NewJobs.stored` writes).

    >>> stored_job_texts(COLUMNS + b'{"n":[1,2]}', 2), stored_job_texts(b'{"n":1}\\n{"n":2}', 2)
    ([b'{"n":1}', b'{"n":2}'], [b'{"n":1}', b'{"n":2}'])
    """
    if params.startswith(COLUMNS):
        return EncodedJobs.from_body(params[len(COLUMNS):], jobs).job_texts()
    return params.split(b"\n")


@dataclass(frozen=True)
class Created:
    """A batch just stored: its row and its jobs' columns (what a reply reads), as written."""

    batch: dict[str, Any]
    id_text: bytes  # the jobs' ids end to end, 36 ASCII characters each
    params: EncodedJobs | list[bytes]  # the jobs' parameters as stored (:attr:`NewJobs.params`)
    estimates: list[int]
    created_ts: float | None = None  # ``batch["created"]`` as a POSIX timestamp (what ``created_ts`` stores)

    @cached_property
    def ids(self) -> list[str]:
        """The jobs' ids."""
        text = self.id_text.decode()
        return [text[i:i + 36] for i in range(0, len(text), 36)]

    @property
    def texts(self) -> list[bytes]:
        """Each job's parameters as stored: JSON text."""
        return self.params.job_texts() if isinstance(self.params, EncodedJobs) else self.params

    @property
    def jobs(self) -> list[dict[str, Any]]:
        """The jobs' rows as :meth:`Store.jobs_of_batch` reads them back (the reply's columns)."""
        b = self.batch
        return [{"id": job_id, "batch_id": b["id"], "generator": b["generator"], "is_preview": b["is_preview"],
                 "params": params.decode(), "state": "queued", "estimated_samples": estimate, "samples": None,
                 "created": b["created"], "finished": None, "error": None}
                for job_id, params, estimate in zip(self.ids, self.texts, self.estimates, strict=True)]


_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
_UUID_DIGITS = np.array([i for i in range(36) if i not in (8, 13, 18, 23)])  # where a UUID's hex digits go


def new_id_text(n: int) -> bytes:
    """``n`` random (version 4) UUIDs as text, end to end (36 ASCII characters each), drawn and
    formatted at once: a 10,000-job batch needs 10,000.

    >>> import uuid
    >>> text = new_id_text(2)
    >>> [uuid.UUID(text[i:i + 36].decode()).version for i in (0, 36)]
    [4, 4]
    """
    raw = np.frombuffer(secrets.token_bytes(16 * n), dtype=np.uint8).reshape(n, 16).copy()
    raw[:, 6] = (raw[:, 6] & 0x0F) | 0x40  # version 4
    raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80  # RFC 4122 variant
    digits = np.empty((n, 32), dtype=np.uint8)
    digits[:, 0::2], digits[:, 1::2] = _HEX[raw >> 4], _HEX[raw & 0x0F]
    text = np.full((n, 36), ord("-"), dtype=np.uint8)
    text[:, _UUID_DIGITS] = digits
    return text.tobytes()


def new_ids(n: int) -> list[str]:
    """``n`` random (version 4) UUIDs as text (:func:`new_id_text`, one string each)."""
    text = new_id_text(n).decode()
    return [text[i:i + 36] for i in range(0, 36 * n, 36)]


_AUTOCHECKPOINT_PAGES = 8192  # 32 MiB of WAL at SQLite's default page size

# SQLite's primary result codes (sqlite3 names them only from Python 3.11 on).
_SQLITE_BUSY, _SQLITE_LOCKED, _SQLITE_IOERR, _SQLITE_FULL = 5, 6, 10, 13


class StoreUnavailable(sqlite3.OperationalError):
    """The database cannot be used just now; nothing was changed and the request is safe to retry.

    A subclass of :class:`sqlite3.OperationalError`, so code that already handles a locked
    database keeps handling it.

    Attributes
    ----------
    reason : str
        What is wrong, in words a user can act on (no paths).
    retry_after : int
        Seconds worth waiting before trying again.
    """

    def __init__(self, reason: str, retry_after: int) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


def unavailable(err: sqlite3.Error, waited: float) -> StoreUnavailable | None:
    """The :class:`StoreUnavailable` an SQLite error amounts to, or ``None`` if it is a genuine fault.

    >>> unavailable(sqlite3.OperationalError("database is locked"), 5.0).retry_after
    2
    """
    code = getattr(err, "sqlite_errorcode", None)
    primary = code & 0xFF if isinstance(code, int) else None
    text = str(err).lower()
    if primary in (_SQLITE_BUSY, _SQLITE_LOCKED) or "locked" in text or "busy" in text:
        return StoreUnavailable(f"the service's database (service.db) stayed locked for {waited:g} s: another "
                                "process or connection holds its write lock", 2)
    if primary == _SQLITE_FULL or "disk is full" in text:
        return StoreUnavailable("the disk holding the service's data dir is full", 30)
    if primary == _SQLITE_IOERR or "disk i/o error" in text:
        return StoreUnavailable("the service could not read or write its database (disk I/O error)", 30)
    return None


class Store:
    """Thread-safe access to the service's SQLite file.

    Writes go through one connection guarded by a lock (SQLite serialises writers anyway);
    each waits at most ``busy_timeout`` seconds in all, for the lock and for SQLite's own
    write lock, then raises :class:`StoreUnavailable`. Reads take a connection of their own
    from a small pool, so a held write lock (WAL) never blocks them. Other processes
    (``infinityframe accounts add``) may use the same file.

    Parameters
    ----------
    path : pathlib.Path
        The database file (``<data_dir>/service.db``).
    busy_timeout : float
        The longest a write waits for the database before giving up.

    Examples
    --------
    >>> store = Store(tmp_path / "service.db", busy_timeout=5.0)
    >>> token = store.create_account("alice", 1000)
    >>> account = store.authenticate(token)
    >>> account.name, store.balance(account.id)
    ('alice', 1000)
    """

    def __init__(self, path: Path, busy_timeout: float = 5.0) -> None:
        self.path = Path(path)
        self.busy_timeout = float(busy_timeout)
        self._lock = threading.RLock()
        self._db = connect(self.path, _SCHEMA, check_same_thread=False)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA synchronous=NORMAL")
        # A 10,000-job batch body is some 1,800 pages: with SQLite's default (1,000) the commit that
        # accepts it would also checkpoint the WAL into the database, fsyncs and all, before the
        # reply. The checkpoint runs after the reply instead (:meth:`expand`); this is the backstop.
        self._db.execute(f"PRAGMA wal_autocheckpoint = {_AUTOCHECKPOINT_PAGES}")
        self._db.execute("PRAGMA foreign_keys=ON")
        self._readers: list[sqlite3.Connection] = []  # idle read connections
        self._readers_lock = threading.Lock()
        self._closed = False
        self._hold_bodies = holding_bodies()  # a testing aid (local/faults.py)
        # By account: the newest ledger row summed and the sums by kind up to it (:meth:`_totals`).
        self._summed: dict[int, tuple[int, Mapping[str, int]]] = {}
        self._summed_lock = threading.Lock()

    def close(self) -> None:
        with self._readers_lock:
            self._closed = True
            idle, self._readers = self._readers, []
        for db in idle:
            db.close()
        with self._lock:
            self._db.close()

    @contextmanager
    def _unavailable_as_such(self) -> Iterator[None]:
        """Turn the SQLite errors that mean "not just now" into :class:`StoreUnavailable`."""
        try:
            yield
        except StoreUnavailable:
            raise
        except sqlite3.OperationalError as err:
            found = unavailable(err, self.busy_timeout)
            if found is None:
                raise
            raise found from err

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        deadline = time.monotonic() + self.busy_timeout
        if not self._lock.acquire(timeout=self.busy_timeout):
            raise StoreUnavailable(f"the service's database (service.db) stayed locked for {self.busy_timeout:g} s: "
                                   "this write queued behind one that is waiting for its lock", 2)
        try:
            db = self._db
            with self._unavailable_as_such():
                db.execute(f"PRAGMA busy_timeout = {max(1, int((deadline - time.monotonic()) * 1000))}")
                db.execute("BEGIN IMMEDIATE")
                try:
                    yield db
                    db.execute("COMMIT")
                except BaseException:
                    if db.in_transaction:  # SQLite rolls back by itself after some errors (a full disk)
                        with suppress(sqlite3.Error):
                            db.execute("ROLLBACK")
                    raise
        finally:
            self._lock.release()

    def _query(self, sql: str, args: Sequence[Any] = ()) -> list[sqlite3.Row]:
        with self._readers_lock:
            db = self._readers.pop() if self._readers else None
        with self._unavailable_as_such():
            if db is None:
                db = sqlite3.connect(self.path, timeout=self.busy_timeout, isolation_level=None,
                                     check_same_thread=False)
                db.row_factory = sqlite3.Row
                db.execute("PRAGMA query_only = ON")
            try:
                return db.execute(sql, args).fetchall()
            finally:
                with self._readers_lock:
                    if self._closed:
                        db.close()
                    else:
                        self._readers.append(db)

    # -- accounts -------------------------------------------------------------------------------

    def create_account(self, name: str, balance: int, token: str | None = None) -> str:
        """Create an account granted ``balance`` samples; returns its token (shown only once)."""
        token = token or new_token()
        now = isoformat()
        with self._tx() as db:
            cur = db.execute(
                "INSERT INTO accounts (name, token_hash, created) VALUES (?, ?, ?)",
                (name, hash_token(token), now),
            )
            db.execute(
                "INSERT INTO ledger (account_id, kind, amount, created) VALUES (?, 'grant', ?, ?)",
                (cur.lastrowid, int(balance), now),
            )
        return token

    def set_token(self, name: str, token: str) -> None:
        """Replace an account's token (the old one stops working at once)."""
        with self._tx() as db:
            db.execute("UPDATE accounts SET token_hash = ? WHERE name = ?", (hash_token(token), name))

    def grant(self, account_id: int, amount: int) -> None:
        with self._tx() as db:
            db.execute(
                "INSERT INTO ledger (account_id, kind, amount, created) VALUES (?, 'grant', ?, ?)",
                (account_id, int(amount), isoformat()),
            )

    def account_by_name(self, name: str) -> Account | None:
        rows = self._query("SELECT id, name FROM accounts WHERE name = ?", (name,))
        return Account(rows[0]["id"], rows[0]["name"]) if rows else None

    def authenticate(self, token: str) -> Account | None:
        rows = self._query("SELECT id, name FROM accounts WHERE token_hash = ?", (hash_token(token),))
        return Account(rows[0]["id"], rows[0]["name"]) if rows else None

    def balance(self, account_id: int) -> int:
        return sum(self._totals(account_id, self._query).values())

    def ledger_totals(self, account_id: int) -> dict[str, int]:
        """The sums of the account's ledger rows, by kind (``grant``, ``reserve``, ``release``, ``charge``)."""
        return dict(self._totals(account_id, self._query))

    def _totals(self, account_id: int, query: Callable[[str, Sequence[Any]], Sequence[Any]]) -> Mapping[str, int]:
        """:meth:`ledger_totals`, read with ``query`` (a reader's, or an open transaction's before
        it writes a ledger row of its own: what is kept must be committed), adding up only the
        rows written since the last time.

        The ledger is append-only and its ids grow in commit order (one writer at a time,
        ``AUTOINCREMENT``), so every row a later read sees that an earlier one did not has a larger
        id: a submit costs the rows settled since the one before it, not every job the account
        ever ran (the whole sum took a median 15 ms of each submit once 120,000 rows had piled up).
        """
        with self._summed_lock:
            newest, totals = self._summed.get(account_id, (0, {}))
        rows = query("SELECT kind, SUM(amount), MAX(id) FROM ledger WHERE account_id = ? AND id > ? GROUP BY kind",
                     (account_id, newest))
        if not rows:
            return totals
        totals = {**totals}
        for kind, added, _ in rows:
            totals[kind] = totals.get(kind, 0) + int(added)
        last = max(row[2] for row in rows)
        with self._summed_lock:
            if self._summed.get(account_id, (0, {}))[0] < last:
                self._summed[account_id] = (last, totals)
        return totals

    # -- batches ---------------------------------------------------------------------------------

    def find_idempotent(self, account_id: int, key: str) -> tuple[str, str] | None:
        """The (batch id, request hash) an Idempotency-Key already created, if any."""
        rows = self._query(
            "SELECT id, request_hash FROM batches WHERE account_id = ? AND idempotency_key = ?",
            (account_id, key),
        )
        return (rows[0]["id"], rows[0]["request_hash"]) if rows else None

    def create_batch(
        self,
        account_id: int,
        name: str,
        generator: str,
        is_preview: bool,
        jobs: Sequence[NewJob] | NewJobs,
        *,
        idempotency_key: str | None = None,
        request_hash: str | None = None,
        draft: Created | None = None,
    ) -> Created | tuple[str, bool] | tuple[None, int]:
        """Store a batch and reserve its estimate, or refuse it.

        Returns :class:`Created` for a new batch: its rows as they were written, so a reply needs
        no second read of them. Returns ``(batch_id, True)`` when the Idempotency-Key had already
        created this batch, and ``(None, balance)`` when the balance is too low. The balance
        check and the reservation happen in one transaction, so two concurrent batches cannot
        both spend the same samples.

        The jobs are written as one body (``batch_bodies``), not as rows: :meth:`expand` turns
        it into job rows, and every read of jobs expands first, so no reader can tell.

        ``draft`` is the batch as :meth:`draft_batch` drew it (its id, its jobs' ids, its creation
        time) for these jobs: a reply can be formatted from it while the batch is stored, and is
        sent only once this returns it as :class:`Created`.
        """
        columns = jobs if isinstance(jobs, NewJobs) else NewJobs.of(jobs)
        n = len(columns)
        required = sum(columns.estimates)
        if draft is None:
            draft = self.draft_batch(name, generator, is_preview, columns.params, columns.estimates)
        elif draft.batch["num_jobs"] != n or draft.estimates != columns.estimates:
            raise ValueError(f"the draft of batch {draft.batch['id']} holds other jobs than the ones to store")
        batch_id, id_text, now = draft.batch["id"], draft.id_text, draft.batch["created"]
        now_ts = draft.created_ts if draft.created_ts is not None else time.time()
        body = (batch_id, id_text, columns.stored,
                np.array([-1 if seed is None else seed for seed in columns.seeds], dtype="<i8").tobytes(),
                np.array(columns.estimates, dtype="<i8").tobytes())
        with self._tx() as db:
            if idempotency_key is not None:
                row = db.execute(
                    "SELECT id FROM batches WHERE account_id = ? AND idempotency_key = ?",
                    (account_id, idempotency_key),
                ).fetchone()
                if row is not None:
                    return row["id"], True
            balance = sum(self._totals(account_id, lambda sql, args: db.execute(sql, args).fetchall()).values())
            if required > balance:
                return None, int(balance)
            db.execute(
                "INSERT INTO batches (id, account_id, name, generator, is_preview, num_jobs, created, "
                "created_ts, idempotency_key, request_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (batch_id, account_id, name, generator, int(is_preview), n, now, now_ts,
                 idempotency_key, request_hash),
            )
            if n:
                db.execute("INSERT INTO batch_bodies (batch_id, ids, params, seeds, estimates) VALUES (?, ?, ?, ?, ?)",
                           body)
            db.execute(
                "INSERT INTO ledger (account_id, batch_id, kind, amount, created) VALUES (?, ?, 'reserve', ?, ?)",
                (account_id, batch_id, -required, now),
            )
        return draft

    @staticmethod
    def draft_batch(name: str, generator: str, is_preview: bool, params: EncodedJobs | list[bytes],
                    estimates: list[int]) -> Created:
        """A batch as :meth:`create_batch` will store it, not stored yet: its id, its jobs' ids
        and its creation time drawn now, its jobs' parameters (:attr:`NewJobs.params`) and
        estimates as given.

        >>> draft = Store.draft_batch("b", "shapes-v0.1.0", False, [b'{"num_images":2}'], [4])
        >>> draft.batch["num_jobs"], len(draft.ids[0]), draft.estimates
        (1, 36, [4])
        """
        n = params.jobs if isinstance(params, EncodedJobs) else len(params)
        now_ts = time.time()
        batch = {"id": str(uuid.uuid4()), "name": name, "created": isoformat(now_ts), "generator": generator,
                 "is_preview": int(is_preview), "num_jobs": n}
        return Created(batch, new_id_text(n), params, estimates, now_ts)

    def expand(self, written: Mapping[str, list[bytes]] | None = None) -> int:
        """Turn every pending batch body into its job rows; returns how many batches were expanded.

        ``written`` may hold, by batch id, each job's parameters as stored, already written (the
        reply wrote them): they are not written again from the body.

        Idempotent and crash-safe: one transaction inserts a body's jobs (``INSERT OR IGNORE`` by
        id) and deletes the body, so a crash leaves either the body or the rows, never both nor
        neither. Costs one read of an empty table when nothing is pending. A closed store expands
        nothing (a reply's expansion may run as the service stops: the next start does it).
        """
        if self._hold_bodies or self._closed or not self._query("SELECT 1 FROM batch_bodies LIMIT 1"):
            return 0
        with self._tx() as db:
            expanded = self._expand(db, written)
        self.checkpoint()
        return expanded

    def checkpoint(self) -> None:
        """Copy what the WAL holds into the database (a passive checkpoint: it waits for no one).

        On a connection of its own, so writes go on meanwhile; a checkpoint that cannot run just
        now is left to the next one, or to SQLite's automatic one.
        """
        with suppress(sqlite3.Error):
            db = sqlite3.connect(self.path, timeout=0, isolation_level=None)
            try:
                db.execute("PRAGMA wal_checkpoint(PASSIVE)")
            finally:
                db.close()

    def _expand(self, db: sqlite3.Connection, written: Mapping[str, list[bytes]] | None = None) -> int:
        """:meth:`expand` inside a write transaction, oldest batch first (claims go by rowid)."""
        if self._hold_bodies:
            return 0
        bodies = db.execute(
            "SELECT b.id, b.account_id, b.generator, b.is_preview, b.created, p.ids, p.params, p.seeds, p.estimates "
            "FROM batch_bodies AS p JOIN batches AS b ON b.id = p.batch_id ORDER BY b.rowid"
        ).fetchall()
        for body in bodies:
            raw_ids = bytes(body["ids"]).decode()
            ids = [raw_ids[i:i + 36] for i in range(0, len(raw_ids), 36)]
            texts = (written or {}).get(body["id"])
            if texts is None or len(texts) != len(ids):
                texts = stored_job_texts(bytes(body["params"]), len(ids))
            seeds = np.frombuffer(body["seeds"], dtype="<i8").tolist()
            estimates = np.frombuffer(body["estimates"], dtype="<i8").tolist()
            batch_id, account_id, generator = body["id"], body["account_id"], body["generator"]
            created = body["created"]
            db.executemany(
                "INSERT OR IGNORE INTO jobs (id, batch_id, account_id, position, generator, is_preview, params, seed, "
                f"state, estimated_samples, created) VALUES (?, ?, ?, ?, ?, {int(body['is_preview'])}, ?, ?, 'queued', "
                "?, ?)",
                [(job_id, batch_id, account_id, i, generator, text.decode(), job_seed(text) if seed < 0 else seed,
                  estimate, created)
                 for i, (job_id, text, seed, estimate) in enumerate(zip(ids, texts, seeds, estimates, strict=True))],
            )
            db.execute("DELETE FROM batch_bodies WHERE batch_id = ?", (batch_id,))
        return len(bodies)

    def batch(self, account_id: int, batch_id: str) -> sqlite3.Row | None:
        rows = self._query("SELECT * FROM batches WHERE id = ? AND account_id = ?", (batch_id, account_id))
        return rows[0] if rows else None

    def batches(self, account_id: int, start_ts: float | None, end_ts: float | None) -> list[sqlite3.Row]:
        return self._query(
            "SELECT * FROM batches WHERE account_id = ? AND created_ts >= ? AND created_ts <= ? "
            "ORDER BY created_ts, rowid",
            (account_id, -1e18 if start_ts is None else start_ts, 1e18 if end_ts is None else end_ts),
        )

    def jobs_of_batch(self, batch_id: str, columns: str = "*") -> list[sqlite3.Row]:
        self.expand()
        return self._query(f"SELECT {columns} FROM jobs WHERE batch_id = ? ORDER BY position", (batch_id,))

    # -- jobs ------------------------------------------------------------------------------------

    def job(self, account_id: int, job_id: str, is_preview: bool | None = None) -> sqlite3.Row | None:
        self.expand()
        sql, args = "SELECT * FROM jobs WHERE id = ? AND account_id = ?", [job_id, account_id]
        if is_preview is not None:
            sql += " AND is_preview = ?"
            args.append(int(is_preview))
        rows = self._query(sql, args)
        return rows[0] if rows else None

    def jobs(self, account_id: int, is_preview: bool, batch_id: str | None = None) -> list[sqlite3.Row]:
        self.expand()
        sql = "SELECT * FROM jobs WHERE account_id = ? AND is_preview = ?"
        args: list[Any] = [account_id, int(is_preview)]
        if batch_id is not None:
            sql += " AND batch_id = ?"
            args.append(batch_id)
        return self._query(sql + " ORDER BY rowid", args)

    def seeds(self, account_id: int, job_ids: Iterable[str]) -> dict[str, int]:
        """The render seeds of the given jobs of this account (for re-runs through ``state``)."""
        ids = sorted(set(job_ids))
        found: dict[str, int] = {}
        if ids:
            self.expand()
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for row in self._query(
                f"SELECT id, seed FROM jobs WHERE account_id = ? AND id IN ({marks})", [account_id, *chunk]
            ):
                found[row["id"]] = int(row["seed"])
        return found

    def claim(self, limit: int) -> list[sqlite3.Row]:
        """Move up to ``limit`` queued jobs to ``running``: previews first, then oldest first.

        A preview is one frame, asked for to decide what to render next: one queued behind a
        batch of videos would wait for all of them. So queued previews go ahead of queued
        videos (never of a job already running); each kind keeps the order it came in
        (index ``jobs_queue``, so a claim reads no more rows than it takes).
        """
        if limit <= 0:
            return []
        with self._tx() as db:
            self._expand(db)
            rows = db.execute(
                "SELECT id FROM jobs WHERE state = 'queued' ORDER BY is_preview DESC, rowid LIMIT ?", (limit,)
            ).fetchall()
            ids = [r["id"] for r in rows]
            db.executemany(
                "UPDATE jobs SET state = 'running', attempts = attempts + 1 WHERE id = ? AND state = 'queued'",
                [(i,) for i in ids],
            )
            marks = ",".join("?" * len(ids))
            return db.execute(f"SELECT * FROM jobs WHERE id IN ({marks}) ORDER BY rowid", ids).fetchall() if ids else []

    def _end(self, db: sqlite3.Connection, job_id: str, from_states: str, state: str,
             samples: int | None, error: str | None) -> bool:
        now_ts = time.time()
        now = isoformat(now_ts)
        cur = db.execute(
            f"UPDATE jobs SET state = ?, samples = ?, error = ?, finished = ?, finished_ts = ? "
            f"WHERE id = ? AND state IN ({from_states})",
            (state, samples, error, now, now_ts, job_id),
        )
        if cur.rowcount != 1:
            return False
        row = db.execute("SELECT account_id, batch_id, estimated_samples FROM jobs WHERE id = ?", (job_id,)).fetchone()
        entries = [("release", row["estimated_samples"])]
        if samples:
            entries.append(("charge", -samples))
        db.executemany(
            "INSERT INTO ledger (account_id, batch_id, job_id, kind, amount, created) VALUES (?, ?, ?, ?, ?, ?)",
            [(row["account_id"], row["batch_id"], job_id, kind, amount, now) for kind, amount in entries],
        )
        return True

    def succeed(self, job_id: str, samples: int) -> bool:
        """``running → succeeded``, charging ``samples``. False if the job was not running."""
        with self._tx() as db:
            return self._end(db, job_id, "'running'", "succeeded", int(samples), None)

    def fail(self, job_id: str, error: str) -> bool:
        """``running → failed``; the reservation is released and nothing is charged."""
        with self._tx() as db:
            return self._end(db, job_id, "'running'", "failed", None, error)

    def requeue(self, job_id: str) -> bool:
        """``running → queued``: the worker was lost, the job will run again."""
        with self._tx() as db:
            return db.execute(
                "UPDATE jobs SET state = 'queued' WHERE id = ? AND state = 'running'", (job_id,)
            ).rowcount == 1

    def cancel_batch(self, account_id: int, batch_id: str) -> int:
        """Cancel the batch's queued jobs (running ones finish). Returns how many were cancelled."""
        with self._tx() as db:
            self._expand(db)
            ids = [
                r["id"] for r in db.execute(
                    "SELECT id FROM jobs WHERE batch_id = ? AND account_id = ? AND state = 'queued'",
                    (batch_id, account_id),
                )
            ]
            return sum(self._end(db, job_id, "'queued'", "cancelled", None, "cancelled by the user")
                       for job_id in ids)

    def recover(self) -> int:
        """After a crash: every job left ``running`` is queued again (and every batch body still
        pending expanded into its jobs). Returns how many were re-queued."""
        with self._tx() as db:
            self._expand(db)
            return db.execute("UPDATE jobs SET state = 'queued' WHERE state = 'running'").rowcount

    def counts(self, account_id: int, start_ts: float, end_ts: float) -> list[sqlite3.Row]:
        """Samples rendered per generator and kind in a time window (usage)."""
        self.expand()
        return self._query(
            "SELECT generator, is_preview, COALESCE(SUM(samples), 0) AS samples FROM jobs "
            "WHERE account_id = ? AND state = 'succeeded' AND finished_ts >= ? AND finished_ts <= ? "
            "GROUP BY generator, is_preview ORDER BY generator",
            (account_id, start_ts, end_ts),
        )
