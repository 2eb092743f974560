"""A quiet, orderly shutdown: no traceback, no stranded job, no process left behind — and one service per data dir.

Every case runs real processes on a real data dir in ``tmp_path``: a user script in a fresh
interpreter (``Session.local``, submit, exit), ``infinityframe serve`` stopped by SIGTERM or
SIGINT, ``infinityframe status`` on a data dir with queued jobs, and a second service started
on a data dir in use. Jobs left unfinished must be ``queued`` (not failed, not ``running``)
and finish at the next start.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests

import infinityframe as inf
from _procs import alive, descendants, no_process_outlives, wait_gone
from _service import RunningService, start_service, wait_for_batch
from infinityframe.local.server import DataDirInUseError, find_running

SHAPES = "shapes-v0.1.0"
# big enough that a batch of them is still rendering when the process is stopped
HEAVY = {"num_images": 8, "image_width": 512, "image_height": 512, "num_objects": 8, "background": "NOISE"}
JOBS = 10

SUBMIT_AND_EXIT = textwrap.dedent(f"""
    import infinityframe as inf

    sesh = inf.Session.local({SHAPES!r})
    batch = sesh.submit([dict({HEAVY!r}, lighting_power=10.0 * i) for i in range({JOBS})], name="left queued")
    print(batch.id, flush=True)
    # no wait: the script ends with its jobs queued, one or two of them rendering
""")


@pytest.fixture(autouse=True)
def _no_process_left_behind() -> Iterator[None]:
    with no_process_outlives(grace=15.0):
        yield


def env_for(tmp_path: Path) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("INFINITY_", "INFINITYFRAME_"))}
    return {**clean, "INFINITYFRAME_DATA_DIR": str(tmp_path / "data"),
            "INFINITYFRAME_CACHE_DIR": str(tmp_path / "cache"), "PYTHONUNBUFFERED": "1"}


def states(data_dir: Path) -> dict[str, int]:
    db = sqlite3.connect(data_dir / "service.db", timeout=30)
    try:
        return dict(db.execute("SELECT state, COUNT(*) FROM jobs GROUP BY state").fetchall())
    finally:
        db.close()


def attempts(data_dir: Path) -> list[int]:
    db = sqlite3.connect(data_dir / "service.db", timeout=30)
    try:
        return [int(a) for (a,) in db.execute("SELECT attempts FROM jobs ORDER BY rowid")]
    finally:
        db.close()


def assert_left_queued(data_dir: Path) -> dict[str, int]:
    """Nothing lost, nothing stuck: every unfinished job is queued, none failed or running."""
    found = states(data_dir)
    assert set(found) <= {"queued", "succeeded"}, found
    assert found.get("queued", 0) > 0, f"every job finished before the stop: nothing was tested ({found})"
    return found


def finish_at_next_start(data_dir: Path, batch_id: str) -> None:
    svc = start_service(data_dir, "--workers", "2", "--rate-limit", "0")
    try:
        runs = wait_for_batch(svc, batch_id, timeout=240)
    finally:
        svc.stop()
    assert [r["state"] for r in runs] == ["succeeded"] * JOBS


def submit_and_exit(tmp_path: Path) -> tuple[str, subprocess.CompletedProcess[str]]:
    script = tmp_path / "submit_and_exit.py"
    script.write_text(SUBMIT_AND_EXIT)
    out = subprocess.run([sys.executable, str(script)], env=env_for(tmp_path), capture_output=True, text=True,
                         timeout=240, check=False)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip().splitlines()[-1], out


def test_a_script_exiting_with_queued_jobs_is_quiet_and_they_finish_at_the_next_start(tmp_path: Path) -> None:
    batch_id, out = submit_and_exit(tmp_path)
    assert "Traceback" not in out.stderr, out.stderr
    assert "cannot schedule new futures" not in out.stderr
    assert_left_queued(tmp_path / "data")
    assert not (tmp_path / "data" / "service.json").exists(), "a stopped service is not announced"
    finish_at_next_start(tmp_path / "data", batch_id)


def test_status_on_a_data_dir_with_queued_jobs_is_quiet(tmp_path: Path) -> None:
    batch_id, _ = submit_and_exit(tmp_path)
    assert_left_queued(tmp_path / "data")
    status = subprocess.run([sys.executable, "-m", "infinityframe.cli", "status", batch_id],
                            env=env_for(tmp_path), capture_output=True, text=True, timeout=240, check=False)
    assert status.returncode == 0, status.stderr
    assert f"{JOBS} job(s):" in status.stdout
    assert "Traceback" not in status.stderr, status.stderr
    assert_left_queued(tmp_path / "data")
    finish_at_next_start(tmp_path / "data", batch_id)


def submit_heavy(svc: RunningService) -> str:
    body = {"name": "stopped", "job_runs": [
        {"name": SHAPES, "param_values": {**HEAVY, "lighting_power": 10.0 * i}} for i in range(JOBS)]}
    answer = svc.post("batch/", body)
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"])


def wait_for(svc: RunningService, batch_id: str, state: str) -> None:
    """Until a job of the batch is in ``state`` (``succeeded``: the pool's workers are up and busy)."""
    deadline = time.monotonic() + 120
    while not any(r["state"] == state for r in svc.get(f"batch/{batch_id}/summary/").json()["job_runs"]):
        assert time.monotonic() < deadline, f"no job ever {state}"
        time.sleep(0.02)


def workers_of(svc: RunningService) -> list[int]:
    return [p.pid for p in descendants(svc.proc.pid) if "spawn_main" in p.cmdline]


def serve_in_its_own_group(data_dir: Path) -> RunningService:
    """``infinityframe serve`` leading a process group of its own, as a shell runs it in a terminal."""
    return start_service(data_dir, "--workers", "2", "--rate-limit", "0", new_session=True)


def sigterm(svc: RunningService) -> None:
    svc.proc.send_signal(signal.SIGTERM)  # `kill PID`


def ctrl_c(svc: RunningService) -> None:
    os.killpg(svc.proc.pid, signal.SIGINT)  # a terminal's Ctrl-C: the whole foreground group, workers too


@pytest.mark.parametrize("stop", [sigterm, ctrl_c], ids=["SIGTERM", "Ctrl-C"])
def test_serve_stopped_by_a_signal_is_quiet_ends_its_workers_and_keeps_its_jobs(
        tmp_path: Path, stop: Callable[[RunningService], None]) -> None:
    data_dir = tmp_path / "data"
    svc = serve_in_its_own_group(data_dir)
    try:
        batch_id = submit_heavy(svc)
        wait_for(svc, batch_id, "succeeded")  # the others render, or wait, in live workers
        below = [p.pid for p in descendants(svc.proc.pid)]
        assert workers_of(svc), "the pool has no worker processes"
        stop(svc)
        svc.proc.wait(timeout=60)
    finally:
        svc.stop()
    output = svc.output()  # stdout and stderr, merged
    assert svc.proc.returncode == 0, output
    assert "Traceback" not in output and "KeyboardInterrupt" not in output, output
    assert not wait_gone(lambda: alive(below), grace=10.0), "a worker outlived its service"
    assert_left_queued(data_dir)  # none failed: the Ctrl-C reached the workers but ended no job
    assert not (data_dir / "service.json").exists()
    finish_at_next_start(data_dir, batch_id)


# -- one service per data dir ------------------------------------------------------------------------

def test_a_second_service_on_a_busy_data_dir_is_refused_naming_the_first(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    first = start_service(data_dir, "--workers", "2", "--rate-limit", "0")
    try:
        batch_id = submit_heavy(first)
        wait_for(first, batch_id, "running")
        announced = (data_dir / "service.json").read_text()

        second = subprocess.run(
            [sys.executable, "-m", "infinityframe.cli", "serve", "--data-dir", str(data_dir), "--port", "0"],
            capture_output=True, text=True, timeout=60, check=False)
        assert second.returncode == 1, second.stdout + second.stderr
        assert f"pid {first.proc.pid}" in second.stderr and first.url in second.stderr, second.stderr
        assert "Traceback" not in second.stderr
        assert "token" not in second.stdout, "the refused service never started"

        with pytest.raises(DataDirInUseError, match=f"pid {first.proc.pid}") as refused:  # in this process too
            inf.serve(data_dir, executor="thread")
        assert refused.value.pid == first.proc.pid and refused.value.url == first.url

        # ...while the ways in that look for a running service find the first one instead
        assert find_running(data_dir) == (first.url, first.token)
        assert inf.Session.local(SHAPES, data_dir=data_dir).server == first.url

        assert (data_dir / "service.json").read_text() == announced, "service.json still names the first"
        runs = wait_for_batch(first, batch_id, timeout=240)
    finally:
        first.stop()
    assert [r["state"] for r in runs] == ["succeeded"] * JOBS
    assert attempts(data_dir) == [1] * JOBS, "no job was queued again or rendered twice"


def test_the_lock_goes_with_the_service_however_it_ends(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    with inf.serve(data_dir, executor="thread", workers=1), \
            pytest.raises(DataDirInUseError, match=f"pid {os.getpid()}"):
        inf.serve(data_dir, executor="thread", workers=1)
    with inf.serve(data_dir, executor="thread", workers=1):  # a clean stop lets it go
        pass
    svc = start_service(data_dir, "--workers", "1")
    svc.kill()  # so does kill -9: the kernel drops the lock with the process
    with inf.serve(data_dir, executor="thread", workers=1) as again:
        assert requests.get(f"{again.url}/", timeout=10).ok
