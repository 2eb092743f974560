"""A job whose ending meets a locked database: recorded after retrying, or queued again — never left ``running``.

Real parts throughout: the runner, a real Store on a real SQLite file, real rendering into a
real zip, and the lock held by a second connection (``BEGIN IMMEDIATE``), as another process
would. Only the pool is gated, so the test can take the lock while the job renders.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from infinityframe.local import generators, settle
from infinityframe.local.generators.base import validate_job
from infinityframe.local.runner import Runner
from infinityframe.local.store import Created, NewJob, Store

SHAPES = "shapes-v0.1.0"
JOB = {"num_images": 1, "image_width": 64, "image_height": 64}


class GatedPool(ThreadPoolExecutor):
    """A thread pool whose jobs start only once ``gate`` is set."""

    def __init__(self, workers: int, gate: threading.Event) -> None:
        super().__init__(workers, thread_name_prefix="gated-job")
        self.gate = gate

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        return super().submit(self._gated, fn, *args, **kwargs)

    def _gated(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        assert self.gate.wait(60), "the test never opened the gate"
        return fn(*args, **kwargs)


@dataclass
class World:
    path: Path
    store: Store
    account_id: int
    job_id: str
    gate: threading.Event

    def runner(self) -> Runner:
        return Runner(self.store, self.path.parent, workers=1,
                      executor_factory=lambda n: GatedPool(n, self.gate))

    def job(self) -> sqlite3.Row:
        db = sqlite3.connect(self.path, timeout=30)
        db.row_factory = sqlite3.Row
        try:
            row: sqlite3.Row = db.execute("SELECT * FROM jobs WHERE id = ?", (self.job_id,)).fetchone()
            return row
        finally:
            db.close()

    def wait_state(self, state: str, timeout: float = 60) -> sqlite3.Row:
        deadline = time.monotonic() + timeout
        while (row := self.job())["state"] != state:
            assert time.monotonic() < deadline, f"job {self.job_id} is {row['state']!r}, never {state!r}"
            time.sleep(0.02)
        return row


def make_world(tmp_path: Path, generator: str = SHAPES) -> World:
    path = tmp_path / "service.db"
    store = Store(path, busy_timeout=0.2)  # a short wait per try, so the retries are what the test sees
    token = store.create_account("alice", 1000)
    account = store.authenticate(token)
    assert account is not None
    params, problems = validate_job(generators.get(SHAPES), 0, JOB)  # completed, as the service stores it
    assert params is not None and not problems
    created = store.create_batch(account.id, "locked", generator, False, [NewJob(params, 7, 1)])
    assert isinstance(created, Created)
    (job,) = store.jobs_of_batch(created.batch["id"], "id")
    return World(path, store, account.id, job["id"], threading.Event())


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    w = make_world(tmp_path)
    yield w
    w.gate.set()
    w.store.close()


class Lock:
    """The database's write lock, held by a connection of its own (as another process would)."""

    def __init__(self, path: Path) -> None:
        self.db = sqlite3.connect(path, isolation_level=None, timeout=30)
        self.db.execute("BEGIN IMMEDIATE")

    def release(self) -> None:
        if self.db.in_transaction:
            self.db.execute("ROLLBACK")
        self.db.close()


@contextmanager
def running(world: World) -> Iterator[Runner]:
    """A runner on the world's one job, stopped at the block's end."""
    runner = world.runner()
    runner.start()
    try:
        yield runner
    finally:
        runner.stop()


@contextmanager
def locked_as_it_ends(world: World) -> Iterator[None]:
    """The job rendering, the database locked, then the job let go: it ends while the lock is held.

    The lock is released at the block's end.
    """
    world.wait_state("running")
    lock = Lock(world.path)
    try:
        world.gate.set()
        yield
    finally:
        lock.release()


def wait_logged(caplog: pytest.LogCaptureFixture, text: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not any(text in r.getMessage() for r in caplog.records):
        assert time.monotonic() < deadline, f"never logged {text!r}; logged: {[r.getMessage() for r in caplog.records]}"
        time.sleep(0.02)


def wait_for_file(path: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < deadline, f"{path.name} never appeared"
        time.sleep(0.02)


def books(world: World) -> dict[str, int]:
    return world.store.ledger_totals(world.account_id)


def test_a_success_refused_by_a_locked_database_is_recorded_once_it_frees(
        world: World, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="infinityframe")
    with running(world):
        with locked_as_it_ends(world):
            wait_for_file(world.path.parent / "results" / f"{world.job_id}.zip")  # it rendered
            time.sleep(1.0)  # hold the lock through several tries (each waits 0.2 s)
            assert world.job()["state"] == "running"  # nothing could change yet
        row = world.wait_state("succeeded", timeout=30)
    assert row["samples"] == 1 and row["attempts"] == 1, "recorded, not rendered again"
    assert books(world) == {"grant": 1000, "reserve": -1, "release": 1, "charge": -1}
    messages = [r.getMessage() for r in caplog.records]
    assert any(f"job {world.job_id}: could not record that it succeeded" in m for m in messages)
    assert any(f"job {world.job_id}: recorded that it succeeded after" in m for m in messages)


def test_a_success_refused_past_the_retries_is_queued_again_and_charged_once(
        world: World, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(settle, "ATTEMPTS", 2)
    caplog.set_level(logging.WARNING, logger="infinityframe")
    with running(world):
        with locked_as_it_ends(world):
            wait_logged(caplog, "it is queued to render again instead")
            time.sleep(0.5)  # the re-queue is refused a few times too
            assert world.job()["state"] == "running"
        row = world.wait_state("succeeded")
    assert row["attempts"] == 2, "queued again, then rendered a second time"
    assert books(world) == {"grant": 1000, "reserve": -1, "release": 1, "charge": -1}, "charged once"


def test_a_failure_refused_by_a_locked_database_still_releases_its_reservation(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    world = make_world(tmp_path, generator="no-such-generator")  # the job itself fails (LookupError)
    caplog.set_level(logging.WARNING, logger="infinityframe")
    try:
        with running(world):
            with locked_as_it_ends(world):
                wait_logged(caplog, f"job {world.job_id}: could not record that it failed")
                assert world.job()["state"] == "running"
            row = world.wait_state("failed")
    finally:
        world.store.close()
    assert "LookupError" in row["error"]
    assert books(world) == {"grant": 1000, "reserve": -1, "release": 1}, "released, nothing charged"


def test_a_stop_while_locked_leaves_the_job_to_the_next_start(
        world: World, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="infinityframe")
    with running(world) as runner, locked_as_it_ends(world):
        wait_logged(caplog, f"job {world.job_id}: could not record that it succeeded")
        runner.stop()  # one last try each, refused: no exception, the job stays running in the database
        assert world.job()["state"] == "running"
        assert any("until the next start queues it again" in r.getMessage() for r in caplog.records)
    with running(world):  # recovery queues it; it renders once more and is charged once
        row = world.wait_state("succeeded")
    assert row["attempts"] == 2
    assert books(world) == {"grant": 1000, "reserve": -1, "release": 1, "charge": -1}
