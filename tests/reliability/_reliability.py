"""What the reliability suite shares: the profile, the invariants every run checks, and its report.

Profiles: ``quick`` (the default, what CI runs) and ``long``, chosen with
``INFINITYFRAME_RELIABILITY=long``. With ``INFINITYFRAME_RELIABILITY_REPORT=<file>`` every run
appends one JSON line (what was tried and the counts that held) to that file; docs/reliability.md
is written from the long profile's report.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
import zipfile
import zlib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SHAPES = "shapes-v0.1.0"


@dataclass(frozen=True)
class Profile:
    name: str
    fault_seeds: tuple[int, ...]  # per fault rate
    fault_jobs: int
    kill_seeds: tuple[int, ...]
    kill_jobs: int
    kills_per_run: int
    client_kill_seeds: tuple[int, ...]
    client_kill_jobs: int
    fuzz_examples: int
    schemathesis_examples: int
    million_rows: bool


QUICK = Profile("quick", fault_seeds=(1,), fault_jobs=12, kill_seeds=(1,), kill_jobs=12, kills_per_run=2,
                client_kill_seeds=(1,), client_kill_jobs=6, fuzz_examples=40, schemathesis_examples=5,
                million_rows=False)
LONG = Profile("long", fault_seeds=tuple(range(1, 9)), fault_jobs=80, kill_seeds=tuple(range(1, 11)), kill_jobs=40,
               kills_per_run=3, client_kill_seeds=tuple(range(1, 7)), client_kill_jobs=12, fuzz_examples=1000,
               schemathesis_examples=100, million_rows=True)


def profile() -> Profile:
    name = os.environ.get("INFINITYFRAME_RELIABILITY", "quick").strip().lower() or "quick"
    if name not in ("quick", "long"):
        raise ValueError(f"INFINITYFRAME_RELIABILITY must be 'quick' or 'long', not {name!r}")
    return LONG if name == "long" else QUICK


PROFILE = profile()


def report(kind: str, **fields: Any) -> None:
    """Append one run's record to the report file, if one was asked for."""
    path = os.environ.get("INFINITYFRAME_RELIABILITY_REPORT")
    if not path:
        return
    record = {"kind": kind, "profile": PROFILE.name, "time": time.time(), **fields}
    with open(path, "a") as fh:
        fh.write(json.dumps(record, default=str) + "\n")


# -- the invariants ---------------------------------------------------------------------------------

def files_of(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}


def _zip_members(archive: Path, job_id: str) -> dict[str, int]:
    """``{path inside the job folder: CRC-32}`` of a result zip, which must be whole and hold only its job."""
    with zipfile.ZipFile(archive) as zf:
        assert zf.testzip() is None, f"{archive.name}: a member fails its CRC"
        infos = [i for i in zf.infolist() if not i.is_dir()]
        assert {i.filename.split("/", 1)[0] for i in infos} == {job_id}, f"{archive.name} holds another job"
        return {i.filename.split("/", 1)[1]: i.CRC for i in infos}


def check_batch(data_dir: Path, token_account: str, batch_id: str, *, num_jobs: int, submissions: int = 1,
                folder: Path | None = None) -> dict[str, int]:
    """Check what must hold once a batch has ended; returns counts for the report.

    - one batch per submission: the account holds exactly ``submissions`` batches;
    - every job finished exactly once: succeeded, one release of its estimate and one charge of
      the samples it rendered in the ledger;
    - the ledger balances: nothing reserved, balance = granted - sum of the samples rendered;
    - every result zip is whole (CRCs) and holds only its job's folder; no temporary file is left;
    - with ``folder``: every job folder there is whole, file for file and CRC for CRC.
    """
    db = sqlite3.connect(data_dir / "service.db", timeout=30)
    db.row_factory = sqlite3.Row
    try:
        account = db.execute("SELECT id FROM accounts WHERE name = ?", (token_account,)).fetchone()
        assert account is not None, f"no account {token_account!r}"
        account_id = account["id"]
        batches = db.execute("SELECT id FROM batches WHERE account_id = ?", (account_id,)).fetchall()
        assert len(batches) == submissions, f"{len(batches)} batches for {submissions} submission(s)"
        assert batch_id in {b["id"] for b in batches}
        jobs = db.execute("SELECT * FROM jobs WHERE batch_id = ? ORDER BY position", (batch_id,)).fetchall()
        assert len(jobs) == num_jobs, f"{len(jobs)} jobs, expected {num_jobs}"
        states = Counter(j["state"] for j in jobs)
        assert states == Counter({"succeeded": num_jobs}), states
        ledger = db.execute("SELECT * FROM ledger WHERE account_id = ?", (account_id,)).fetchall()
        per_job: dict[str, Counter[str]] = {}
        for row in ledger:
            if row["job_id"] is not None:
                per_job.setdefault(row["job_id"], Counter())[row["kind"]] += 1
        for job in jobs:
            kinds = per_job.get(job["id"], Counter())
            assert kinds == Counter({"release": 1, "charge": 1}), f"job {job['id']}: ledger rows {dict(kinds)}"
            charge = next(r for r in ledger if r["job_id"] == job["id"] and r["kind"] == "charge")
            release = next(r for r in ledger if r["job_id"] == job["id"] and r["kind"] == "release")
            assert charge["amount"] == -job["samples"] and job["samples"] > 0
            assert release["amount"] == job["estimated_samples"]
        reserves = [r for r in ledger if r["kind"] == "reserve" and r["batch_id"] == batch_id]
        assert len(reserves) == 1, f"{len(reserves)} reservations for one batch"
        assert reserves[0]["amount"] == -sum(j["estimated_samples"] for j in jobs)
        totals: Counter[str] = Counter()
        for row in ledger:
            totals[row["kind"]] += row["amount"]
        assert totals["reserve"] + totals["release"] == 0, "samples are still reserved at rest"
        rendered = sum(j["samples"] for j in jobs)
        assert sum(totals.values()) == totals["grant"] - rendered, "balance != granted - rendered"
        attempts = [j["attempts"] for j in jobs]
    finally:
        db.close()

    results = data_dir / "results"
    assert list(results.glob(".*")) == [], "temporary files left in results/"
    members = {j["id"]: _zip_members(results / f"{j['id']}.zip", j["id"]) for j in jobs}
    if folder is not None:
        assert (folder / "batch_id.txt").read_text() == batch_id
        assert not (folder / ".infinityframe-partial").exists(), "the staging folder was left behind"
        for job_id, expected in members.items():
            job_folder = folder / job_id
            assert files_of(job_folder) == set(expected), f"job folder {job_id} is not whole"
            for name, crc in expected.items():
                assert zlib.crc32((job_folder / name).read_bytes()) == crc, f"{job_id}/{name} differs"
    return {"jobs": num_jobs, "samples": rendered, "reruns": sum(a - 1 for a in attempts)}
