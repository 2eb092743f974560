"""A client process killed mid-download (SIGKILL, at seeded random points), then resumed.

Each kill leaves only whole job folders; the next run fetches only what is missing, and in the end
every folder is whole and the service's books are untouched by the downloads.
(tests/client/test_download.py has the single-kill case; this one repeats it at random points.)
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from _reliability import PROFILE, SHAPES, check_batch, files_of, report

import infinityframe as inf
from _service import RunningService, extracted_jobs
from infinityframe.client import download as download_module


def finished_folders(folder: Path) -> list[str]:
    if not folder.exists():
        return []
    return sorted(p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))


@pytest.mark.parametrize("seed", PROFILE.client_kill_seeds)
def test_download_killed_at_random_points_then_resumed(service: RunningService, tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    account = f"client-kill-{seed}"
    token = service.add_account(account, 100_000)
    n = PROFILE.client_kill_jobs
    sesh = inf.Session(token, SHAPES, server=service.url)
    # multi-megabyte zips, so a download takes long enough to be interrupted
    jobs = [{"num_images": 8, "image_width": 512, "image_height": 512, "background": "NOISE",
             "num_objects": 2 + i % 5} for i in range(n)]
    batch = sesh.submit(jobs, name=f"client kill {seed}")
    batch.wait(poll=0.1, progress=False)
    folder = tmp_path / "dl"

    kills: list[str] = []
    for _ in range(2 if PROFILE.name == "long" else 1):
        done_before = finished_folders(folder)
        workers = rng.choice([1, 2, 8])
        script = textwrap.dedent(f"""
            import pathlib
            import infinityframe as inf
            from infinityframe.client import download
            sesh = inf.Session({token!r}, {SHAPES!r}, server={service.url!r})
            download.download_batch(sesh.batch({batch.id!r}), pathlib.Path({str(folder)!r}), progress=False,
                                    workers={workers})
        """)
        target = rng.randint(len(done_before), max(len(done_before), n - 4))  # kill once this many exist, plus a little
        proc = subprocess.Popen([sys.executable, "-c", script])
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            if (folder / download_module.STAGING).exists() and len(finished_folders(folder)) >= target:
                time.sleep(rng.uniform(0.0, 0.02))
                break
            time.sleep(0.002)
        landed = proc.poll() is None
        if landed:
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        done = finished_folders(folder)
        kills.append(f"workers={workers}: {len(done)}/{n} folders" if landed else "finished first")
        for job_id in done:  # whatever the kill interrupted, every folder there is whole
            assert files_of(folder / job_id), job_id

    first = finished_folders(folder)
    assert any(k != "finished first" for k in kills), "no kill landed mid-download"
    with extracted_jobs() as fetched:
        batch.download(folder, progress=False)
    assert sorted(fetched) == sorted(set(batch.job_ids) - set(first)), "a whole folder was fetched again"
    counts = check_batch(service.data_dir, account, batch.id, num_jobs=n, folder=folder)
    report("client_kill", seed=seed, kills=kills, resumed=len(fetched), held=True, **counts)
