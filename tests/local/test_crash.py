"""kill -9 the service in the middle of a batch, restart it: nothing is lost, run twice or charged twice."""

from __future__ import annotations

import sqlite3
import time
import zipfile
from pathlib import Path

import requests

from _service import RunningService, start_service, wait_for_batch

JOBS = 40


def progress(svc: RunningService, batch_id: str) -> tuple[int, int]:
    runs = svc.get(f"batch/{batch_id}/summary/").json()["job_runs"]
    return sum(r["state"] == "succeeded" for r in runs), sum(r["in_progress"] for r in runs)


def kill_when(svc: RunningService, batch_id: str, done_at_least: int) -> int:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        done, in_progress = progress(svc, batch_id)
        if done >= done_at_least and in_progress:
            svc.kill()
            return done
        time.sleep(0.05)
    raise AssertionError("the batch never reached the kill point")


def test_kill_9_mid_batch_then_restart(tmp_path: Path) -> None:
    svc = start_service(tmp_path, "--workers", "2", "--rate-limit", "0")
    initial = svc.get("account/").json()["balance"]
    body = {"name": "crash", "job_runs": [
        {"name": "shapes-v0.1.0", "is_preview": False,
         "param_values": {"num_images": 6, "num_objects": 8, "image_width": 384, "image_height": 384,
                          "lighting_power": 10.0 * i}}
        for i in range(JOBS)
    ]}
    batch_id = svc.post("batch/", body).json()["id"]

    killed_at = [kill_when(svc, batch_id, 3)]
    svc = start_service(tmp_path, "--workers", "2", "--rate-limit", "0")
    killed_at.append(kill_when(svc, batch_id, killed_at[0] + 5))
    svc = start_service(tmp_path, "--workers", "2", "--rate-limit", "0")
    try:
        runs = wait_for_batch(svc, batch_id)
        assert killed_at[0] < JOBS and killed_at[1] < JOBS, "the kills must land mid-batch"
        assert [r["state"] for r in runs] == ["succeeded"] * JOBS

        # every result zip is whole, holds exactly its own job folder, and no temp file is left
        results = tmp_path / "results"
        assert sorted(p.stem for p in results.glob("*.zip")) == sorted(str(r["id"]) for r in runs)
        assert list(results.glob(".*")) == []
        for run in runs:
            data = requests.get(str(run["result_url"]), timeout=30).content
            path = tmp_path / "check.zip"
            path.write_bytes(data)
            with zipfile.ZipFile(path) as zf:
                assert zf.testzip() is None
                assert {n.split("/")[0] for n in zf.namelist()} == {run["id"]}
                assert f"{run['id']}/labels.json" in zf.namelist()

        # charged exactly once per job, and the ledger balances
        actual = sum(int(r["samples"]) for r in runs)  # type: ignore[call-overload]
        assert actual == JOBS * 6
        assert svc.get("account/").json()["balance"] == initial - actual
        db = sqlite3.connect(tmp_path / "service.db")
        charges = db.execute("SELECT job_id, COUNT(*) FROM ledger WHERE kind = 'charge' GROUP BY job_id").fetchall()
        assert len(charges) == JOBS and {n for _, n in charges} == {1}
        releases = db.execute("SELECT COUNT(*) FROM ledger WHERE kind = 'release'").fetchone()[0]
        assert releases == JOBS
        attempts = [a for (a,) in db.execute("SELECT attempts FROM jobs")]
        assert max(attempts) >= 2, "some job was running at a kill and ran again"
    finally:
        svc.stop()
