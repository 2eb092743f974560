"""Test helpers: which processes a test started, and whether any outlived it (Linux ``/proc``).

A process started by a test may be re-parented to init (or a subreaper) by the time the test
ends — that is what a leaked worker looks like — so walking parent links from the test
process would miss it. Instead each test marks its environment with a fresh tag, which every
process it starts inherits (directly or through a service and its pool): afterwards, any
process still running with that tag in its ``/proc/<pid>/environ`` outlived the test.
"""

from __future__ import annotations

import os
import signal
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

TAG = "TEST_PROCESS_TAG_OF_INFINITYFRAME"  # not INFINITY…: tests/test_cli.py's cli() drops those
PROC = Path("/proc")


@dataclass(frozen=True)
class Proc:
    pid: int
    ppid: int
    state: str
    cmdline: str

    def __str__(self) -> str:
        return f"pid {self.pid} (parent {self.ppid}, state {self.state}): {self.cmdline[:160]}"


def _stat(pid: int) -> tuple[str, int] | None:
    try:
        fields = (PROC / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return fields[0], int(fields[1])


def processes() -> Iterator[Proc]:
    """Every process this user can see, zombies and all."""
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        found = _stat(int(entry.name))
        if found is None:
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:
            cmdline = ""
        yield Proc(int(entry.name), found[1], found[0], cmdline)


def _environ(pid: int) -> bytes:
    try:
        return (PROC / str(pid) / "environ").read_bytes()
    except OSError:
        return b""


def tagged(tag: str) -> list[Proc]:
    """Live processes (not zombies) started with ``TAG=tag`` in their environment, other than this one."""
    marker = f"{TAG}={tag}".encode()
    return [p for p in processes()
            if p.pid != os.getpid() and p.state != "Z" and marker in _environ(p.pid).split(b"\0")]


def descendants(pid: int) -> list[Proc]:
    """The live processes below ``pid`` now (children, grandchildren, …)."""
    procs = list(processes())
    below: list[Proc] = []
    parents = {pid}
    while True:
        new = [p for p in procs if p.ppid in parents and p not in below and p.state != "Z"]
        if not new:
            return below
        below += new
        parents = {p.pid for p in new}


def alive(pids: list[int]) -> list[Proc]:
    """Which of ``pids`` still run (zombies do not count)."""
    wanted = set(pids)
    return [p for p in processes() if p.pid in wanted and p.state != "Z"]


def wait_gone(find: Callable[[], list[Proc]], grace: float) -> list[Proc]:
    """Call ``find()`` until it returns nothing or ``grace`` seconds pass; returns what it last found."""
    deadline = time.monotonic() + grace
    while True:
        left = find()
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.1)


def _own_resource_tracker() -> int | None:
    # multiprocessing's resource tracker is one per interpreter, started on first need and meant
    # to live as long as this (the test) process: it is not something a test leaked.
    from multiprocessing import resource_tracker

    pid = getattr(resource_tracker._resource_tracker, "_pid", None)
    return pid if isinstance(pid, int) else None


@contextmanager
def no_process_outlives(grace: float = 10.0) -> Iterator[str]:
    """Tag the environment for the block; afterwards, fail if a process it started still runs.

    Survivors are killed (so one leak does not spill into the next test) and named in the error.
    """
    tag = uuid.uuid4().hex
    before = os.environ.get(TAG)
    os.environ[TAG] = tag

    def survivors() -> list[Proc]:
        own = _own_resource_tracker()
        return [p for p in tagged(tag) if p.pid != own]

    passed = False
    try:
        yield tag
        passed = True
    finally:
        if before is None:
            os.environ.pop(TAG, None)
        else:
            os.environ[TAG] = before
        left = wait_gone(survivors, grace if passed else 1.0)
        for proc in left:
            with suppress(OSError):
                os.kill(proc.pid, signal.SIGKILL)
    if left:
        raise AssertionError(f"{len(left)} process(es) outlived the test by {grace:g} s:\n"
                             + "\n".join(f"  {p}" for p in left))
