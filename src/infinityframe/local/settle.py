"""Recording how a job ended, tried again while the database cannot take it: never left ``running``.

A job that finished rendering still has to change state (``running → succeeded | failed``, or
back to ``queued``), and that change is what releases its reservation and charges its samples.
SQLite can refuse it for a while — another process holds the write lock past the store's
bounded wait, the disk is full — so the runner does not change states from the executor's
callback (where an exception would be lost and the job stay ``running``). It hands each ending
to a :class:`Settler`, and its own thread records them, trying again with a growing pause.

Retries are bounded: a success that still cannot be recorded after :data:`ATTEMPTS` tries is
turned into a re-queue (its zip is on disk, but only the database can charge it; rendering it
again is the safe way). A failure or a re-queue is tried until it lands — each releases the
reservation. If the service stops first, the job stays ``running`` in the database and
:meth:`~infinityframe.local.store.Store.recover` queues it at the next start, as after a crash.

Examples
--------
>>> from infinityframe.local.store import NewJob, Store
>>> store = Store(tmp_path / "service.db")
>>> account = store.authenticate(store.create_account("alice", 1000))
>>> created = store.create_batch(account.id, "one job", "shapes-v0.1.0", False, [NewJob({"num_images": 4}, 1, 4)])
>>> [job["id"] for job in store.claim(1)] == created.ids  # the runner takes it: running
True
>>> settler = Settler(store)
>>> settler.add(Ending(created.ids[0], "succeed", samples=4))
>>> settler.settle_due()
>>> store.job(account.id, created.ids[0], False)["state"], store.balance(account.id)
('succeeded', 996)
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from .store import Store

__all__ = ["ATTEMPTS", "BACKOFF", "MAX_BACKOFF", "Ending", "Settler"]

log = logging.getLogger(__name__)

ATTEMPTS = 5
"""Tries to record a success before the job is queued to render again instead."""
BACKOFF = 0.1
"""Seconds before the second try; each later pause doubles, up to :data:`MAX_BACKOFF`."""
MAX_BACKOFF = 5.0

Action = Literal["succeed", "fail", "requeue"]


@dataclass
class Ending:
    """How one job ended, waiting to be recorded.

    ``action`` is ``"succeed"`` (with ``samples``), ``"fail"`` (with ``error``) or ``"requeue"``.
    """

    job_id: str
    action: Action
    samples: int = 0
    error: str = ""
    tries: int = 0
    due: float = 0.0  # time.monotonic() of the next try


class Settler:
    """Endings not yet recorded, and the retrying that records them.

    :meth:`add` may be called from any thread (an executor's callback); :meth:`settle_due`
    and :meth:`settle_once` from the runner's thread or its ``stop``. An ending is taken out
    while it is being tried, so two callers never record the same one twice.

    Parameters
    ----------
    store : Store
        The service's database.
    attempts, backoff, max_backoff : optional
        :data:`ATTEMPTS`, :data:`BACKOFF` and :data:`MAX_BACKOFF` when omitted.
    """

    def __init__(self, store: Store, attempts: int | None = None, backoff: float | None = None,
                 max_backoff: float | None = None) -> None:
        self.store = store
        self.attempts = ATTEMPTS if attempts is None else max(1, attempts)
        self.backoff = BACKOFF if backoff is None else backoff
        self.max_backoff = MAX_BACKOFF if max_backoff is None else max_backoff
        self._waiting: dict[str, Ending] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        with self._lock:
            return len(self._waiting)

    def add(self, ending: Ending) -> None:
        """Record ``ending`` at the next :meth:`settle_due`."""
        with self._lock:
            self._waiting[ending.job_id] = ending

    def next_due(self, default: float) -> float:
        """Seconds until the next ending is due, at most ``default``."""
        with self._lock:
            if not self._waiting:
                return default
            soonest = min(e.due for e in self._waiting.values())
        return max(0.0, min(default, soonest - time.monotonic()))

    def settle_due(self, stop: Callable[[], bool] = lambda: False) -> None:
        """Try every ending that is due; those the database refuses wait for their next turn.

        ``stop`` is asked between endings, so a service that is stopping is not held up by a
        database that makes each try wait.
        """
        now = time.monotonic()
        with self._lock:
            due = [self._waiting.pop(job_id) for job_id, e in list(self._waiting.items()) if e.due <= now]
        for i, ending in enumerate(due):
            if stop():
                with self._lock:
                    for rest in due[i:]:
                        self._waiting.setdefault(rest.job_id, rest)
                return
            if not self._try(ending, final=False):
                with self._lock:
                    self._waiting.setdefault(ending.job_id, ending)

    def settle_once(self) -> list[str]:
        """One last try for every ending (a refused success: one re-queue); returns the jobs left ``running``."""
        with self._lock:
            endings = list(self._waiting.values())
            self._waiting.clear()
        return [e.job_id for e in endings if not self._try(e, final=True)]

    def _try(self, ending: Ending, final: bool) -> bool:
        """Record ``ending``; False (and ``ending`` updated for its next try) if the database refused."""
        try:
            self._record(ending)
        except sqlite3.Error as err:
            ending.tries += 1
            if ending.action == "succeed" and (final or ending.tries >= self.attempts):
                log.warning("job %s rendered, but its success could not be recorded after %d tries (%s); it is "
                            "queued to render again instead", ending.job_id, ending.tries, err)
                ending.action, ending.tries = "requeue", 0
                if final:
                    return self._try(ending, final=True)
            elif final:
                log.warning("job %s: could not record that it %s (%s); it stays 'running' until the next start "
                            "queues it again", ending.job_id, _DONE[ending.action], err)
            elif ending.tries == 1:
                log.warning("job %s: could not record that it %s (%s); trying again", ending.job_id,
                            _DONE[ending.action], err)
            ending.due = time.monotonic() + min(self.max_backoff, self.backoff * 2 ** max(0, ending.tries - 1))
            return False
        if ending.tries:
            log.warning("job %s: recorded that it %s after %d failed tries", ending.job_id, _DONE[ending.action],
                        ending.tries)
        return True

    def _record(self, ending: Ending) -> None:
        if ending.action == "succeed":
            self.store.succeed(ending.job_id, ending.samples)
        elif ending.action == "fail":
            self.store.fail(ending.job_id, ending.error)
        else:
            self.store.requeue(ending.job_id)


_DONE: dict[Action, str] = {"succeed": "succeeded", "fail": "failed", "requeue": "was queued again"}
